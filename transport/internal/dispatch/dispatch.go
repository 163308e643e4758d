// Package dispatch runs the jobs of a subscriber: at most n at once, the
// jobs of one key one at a time in the order they were added, keyless jobs
// in any order. Keys take turns, so a busy key does not starve the others.
// Add blocks while too many jobs wait, which stops a fetch loop from
// fetching more than it can handle.
//
// Workers outlive their key: one done with a key takes the next waiting
// one, or waits up to IdleKeep for one before it exits. A goroutine per
// key would start on a small stack and grow it again for every message
// (copying it each time: a few per cent of a busy shop's CPU).
package dispatch

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// IdleKeep is how long a worker with nothing to do waits for a key before
// it exits.
const IdleKeep = 2 * time.Second

// Dispatcher runs jobs. Create it with New.
type Dispatcher struct {
	mu        sync.Mutex
	space     *sync.Cond // signalled when a queued job starts
	n         int
	limit     int
	running   int // workers with a key
	queued    int
	queues    map[string][]func()
	scheduled map[string]bool // has a running worker or waits in ready
	ready     []string        // keys waiting for a worker, first come first served
	idle      []chan string   // workers waiting for a key, the latest last
	unkeyed   uint64
	jobs      sync.WaitGroup // jobs added and not yet run
	keep      time.Duration  // IdleKeep, shorter in tests
	started   int            // workers started, for tests
}

// New returns a dispatcher that runs up to n jobs at once (at least 1) and
// lets Add wait while limit jobs are queued (at least n).
func New(n, limit int) *Dispatcher {
	n = max(n, 1)
	d := &Dispatcher{n: n, limit: max(limit, n), queues: map[string][]func(){}, scheduled: map[string]bool{}, keep: IdleKeep}
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
	d.jobs.Add(1)
	d.queues[key] = append(d.queues[key], job)
	d.queued++
	if !d.scheduled[key] {
		d.scheduled[key] = true
		d.ready = append(d.ready, key)
	}
	d.start()
}

// start hands ready keys to idle workers, or to new ones, while there are
// free slots; the caller holds mu.
func (d *Dispatcher) start() {
	for d.running < d.n && len(d.ready) > 0 {
		key := d.ready[0]
		d.ready = d.ready[1:]
		d.running++
		if k := len(d.idle); k > 0 {
			c := d.idle[k-1] // the latest: its stack is the likeliest warm
			d.idle = d.idle[:k-1]
			c <- key
			continue
		}
		d.started++
		go d.work(key)
	}
}

// work runs the jobs of key, then of the keys it is handed, until it has
// waited IdleKeep for one in vain.
func (d *Dispatcher) work(key string) {
	var (
		c     chan string
		timer *time.Timer
	)
	for {
		d.mu.Lock()
		d.run(key)
		if c == nil {
			c = make(chan string, 1)
			timer = time.NewTimer(d.keep)
		} else {
			timer.Reset(d.keep)
		}
		d.idle = append(d.idle, c)
		d.mu.Unlock()
		select {
		case key = <-c:
			timer.Stop()
		case <-timer.C:
			d.mu.Lock()
			if i := slices.Index(d.idle, c); i >= 0 {
				d.idle = slices.Delete(d.idle, i, i+1)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			key = <-c // handed one as the time ran out
		}
		if key == "" {
			return // let go (Wait)
		}
	}
}

// run runs the jobs of key, then of ready keys, until none is ready or the
// slots are too many (SetN lowered n); then it gives up its slot. After
// each job, when other keys wait, key queues behind them. The caller holds
// mu, and holds it again when run returns.
func (d *Dispatcher) run(key string) {
	ran := false
	for {
		switch {
		case len(d.queues[key]) == 0:
			delete(d.queues, key)
			delete(d.scheduled, key)
		case ran && len(d.ready) > 0 || d.running > d.n:
			d.ready = append(d.ready, key) // others wait: take turns
		default:
			jobs := d.queues[key]
			job := jobs[0]
			jobs[0] = nil
			d.queues[key] = jobs[1:]
			d.queued--
			d.space.Signal()
			d.mu.Unlock()
			job()
			// Done under mu: once Wait sees the last job done and takes
			// mu, this worker is idle (or busy with a new job), not on
			// its way, so Wait lets it go.
			d.mu.Lock()
			d.jobs.Done()
			ran = true
			continue
		}
		if len(d.ready) == 0 || d.running > d.n {
			d.running--
			return
		}
		key = d.ready[0]
		d.ready = d.ready[1:]
		ran = false
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

// Wait waits until every job added so far has run, and lets the idle
// workers go (a later Add starts new ones).
func (d *Dispatcher) Wait() {
	d.jobs.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.idle {
		c <- ""
	}
	d.idle = nil
}

// Members are the members of a consumer group in one process, each with
// its capacity (its subscription's concurrency) and the messages it is
// handling. The zero value is empty; the caller guards it with its lock.
type Members[M comparable] struct {
	list     []M
	capacity []int
	inflight []int
	next     int // turns among equally free members
}

// Add adds m, which handles up to capacity messages at once.
func (s *Members[M]) Add(m M, capacity int) {
	s.list = append(s.list, m)
	s.capacity = append(s.capacity, capacity)
	s.inflight = append(s.inflight, 0)
}

// Remove takes m out and returns how many members are left.
func (s *Members[M]) Remove(m M) int {
	for i, x := range s.list {
		if x == m {
			s.list = append(s.list[:i], s.list[i+1:]...)
			s.capacity = append(s.capacity[:i], s.capacity[i+1:]...)
			s.inflight = append(s.inflight[:i], s.inflight[i+1:]...)
			break
		}
	}
	return len(s.list)
}

// Len is the number of members.
func (s *Members[M]) Len() int { return len(s.list) }

// All returns the members.
func (s *Members[M]) All() []M { return append([]M(nil), s.list...) }

// Capacity is the sum of the members' capacities: how many messages the
// group handles at once.
func (s *Members[M]) Capacity() int {
	n := 0
	for _, c := range s.capacity {
		n += c
	}
	return n
}

// Pick chooses the member to handle the next message — the one with the
// most free room, taking turns among equals — and counts the message as
// in flight until Done. It returns false when there is no member.
func (s *Members[M]) Pick() (M, bool) {
	best, bestFree := -1, 0
	for k := range s.list {
		i := (s.next + k) % len(s.list)
		if f := s.capacity[i] - s.inflight[i]; best < 0 || f > bestFree {
			best, bestFree = i, f
		}
	}
	if best < 0 {
		var zero M
		return zero, false
	}
	s.next++
	s.inflight[best]++
	return s.list[best], true
}

// Done tells that m finished a message Pick gave it.
func (s *Members[M]) Done(m M) {
	for i, x := range s.list {
		if x == m {
			s.inflight[i]--
			return
		}
	}
}
