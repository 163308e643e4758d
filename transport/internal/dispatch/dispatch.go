// Package dispatch runs the jobs of a subscriber: at most n at once, the
// jobs of one key one at a time in the order they were added, keyless jobs
// in any order. Keys take turns, so a busy key does not starve the others.
// Add blocks while too many jobs wait, which stops a fetch loop from
// fetching more than it can handle.
package dispatch

import (
	"strconv"
	"sync"
)

// Dispatcher runs jobs. Create it with New.
type Dispatcher struct {
	mu        sync.Mutex
	space     *sync.Cond // signalled when a queued job starts
	n         int
	limit     int
	running   int
	queued    int
	queues    map[string][]func()
	scheduled map[string]bool // has a running worker or waits in ready
	ready     []string        // keys waiting for a worker, first come first served
	unkeyed   uint64
	wg        sync.WaitGroup
}

// New returns a dispatcher that runs up to n jobs at once (at least 1) and
// lets Add wait while limit jobs are queued (at least n).
func New(n, limit int) *Dispatcher {
	n = max(n, 1)
	d := &Dispatcher{n: n, limit: max(limit, n), queues: map[string][]func(){}, scheduled: map[string]bool{}}
	d.space = sync.NewCond(&d.mu)
	return d
}

// Add queues job under key ("" for none), waiting while the queue is full.
func (d *Dispatcher) Add(key string, job func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.queued >= d.limit {
		d.space.Wait()
	}
	if key == "" {
		d.unkeyed++
		key = "\x00" + strconv.FormatUint(d.unkeyed, 36)
	}
	d.queues[key] = append(d.queues[key], job)
	d.queued++
	if !d.scheduled[key] {
		d.scheduled[key] = true
		d.ready = append(d.ready, key)
	}
	d.start()
}

// start starts workers for ready keys while there are free slots; the
// caller holds mu.
func (d *Dispatcher) start() {
	for d.running < d.n && len(d.ready) > 0 {
		key := d.ready[0]
		d.ready = d.ready[1:]
		d.running++
		d.wg.Add(1)
		go d.work(key)
	}
}

// work runs the jobs of key; when other keys wait for a slot, it gives its
// slot up after each job and queues key behind them.
func (d *Dispatcher) work(key string) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		jobs := d.queues[key]
		if len(jobs) == 0 {
			delete(d.queues, key)
			delete(d.scheduled, key)
			d.running--
			d.start()
			d.mu.Unlock()
			return
		}
		job := jobs[0]
		jobs[0] = nil
		d.queues[key] = jobs[1:]
		d.queued--
		d.space.Signal()
		d.mu.Unlock()

		job()

		d.mu.Lock()
		if len(d.ready) > 0 && len(d.queues[key]) > 0 {
			// Others wait: take turns.
			d.ready = append(d.ready, key)
			d.running--
			d.start()
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// SetN changes how many jobs may run at once (at least 1); jobs already
// running finish.
func (d *Dispatcher) SetN(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n = max(n, 1)
	d.limit = max(d.limit, d.n)
	d.start()
}

// Wait waits until every job added so far has run.
func (d *Dispatcher) Wait() { d.wg.Wait() }
