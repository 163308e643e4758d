// Package groupcommit queues concurrent appends and hands them to a commit
// function in batches, so that many appends share one database transaction
// and one durable flush. The commit function decides the outcome of every
// request in a batch separately: a conflicting append fails alone.
package groupcommit

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual"
)

// Request is one Store.Append or Store.AppendMulti call on its way through
// the committer. The commit function sets Results or Err on each request of
// its batch.
type Request struct {
	// Appends are the call's appends, validated and with IDs assigned. A
	// request with several appends must be committed atomically.
	Appends []eventual.AppendRequest
	// Results holds one result per append when Err is nil.
	Results []eventual.AppendResult
	// Err is the request's outcome when it failed.
	Err error

	events int
	state  atomic.Int32
	done   chan struct{}
}

// Events returns the number of events in the request.
func (r *Request) Events() int { return r.events }

// gatherMax bounds how long a worker waits for the callers of its last
// batch to come back (see gather).
const gatherMax = 200 * time.Microsecond

const (
	queued int32 = iota
	taken
	abandoned
)

// CommitFunc commits a batch of requests, setting Results or Err on each.
// It runs on one of the committer's workers; ctx ends when the committer
// is closed and its workers are gone, so bound slow I/O with a timeout.
type CommitFunc func(ctx context.Context, batch []*Request)

// Committer runs the group commit. Create it with New; stop it with Close.
type Committer struct {
	commit    CommitFunc
	maxEvents int
	queue     chan *Request
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	base      context.Context
	cancel    context.CancelFunc
	gatherMax time.Duration
}

// New starts a committer with the given number of workers (at least 1) and
// batch limit (≤ 0 means 1024 events).
func New(commit CommitFunc, workers, maxBatchEvents int) *Committer {
	if workers < 1 {
		workers = 1
	}
	if maxBatchEvents <= 0 {
		maxBatchEvents = 1024
	}
	base, cancel := context.WithCancel(context.Background())
	c := &Committer{
		commit:    commit,
		maxEvents: maxBatchEvents,
		queue:     make(chan *Request),
		closing:   make(chan struct{}),
		base:      base,
		cancel:    cancel,
		gatherMax: gatherMax,
	}
	c.wg.Add(workers)
	for range workers {
		go c.work()
	}
	return c
}

// Do queues appends and waits for their outcome. If ctx ends before a
// worker took the request, Do returns ctx's error and nothing is written;
// once taken, Do waits for the commit and returns its real outcome.
func (c *Committer) Do(ctx context.Context, appends []eventual.AppendRequest) ([]eventual.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Request{Appends: appends, done: make(chan struct{})}
	for _, a := range appends {
		r.events += len(a.Events)
	}
	select {
	case c.queue <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closing:
		return nil, eventual.ErrClosed
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return nil, ctx.Err()
		}
		<-r.done
	}
	return r.Results, r.Err
}

// Close stops taking requests, lets the batches in progress finish and
// waits for the workers. Calls to Do after Close return eventual.ErrClosed.
func (c *Committer) Close() {
	c.closeOnce.Do(func() { close(c.closing) })
	c.wg.Wait()
	c.cancel()
}

// gather adds queued requests to the batch. The callers of the last batch
// come back with their next appends right after its commit; the first of
// them would otherwise be committed alone while the rest are on their way,
// and batches would alternate between one request and all the others. So
// when fewer requests are queued than the last batch held, the worker
// yields until as many have arrived, for at most gatherMax. It does not use
// a timer: sub-millisecond timers sleep a millisecond on some systems. A
// lone caller (last batch of one) never waits.
func (c *Committer) gather(take func(*Request), n *int, events *int, last int) {
	drain := func() {
		for *events < c.maxEvents {
			select {
			case r := <-c.queue:
				take(r)
			default:
				return
			}
		}
	}
	drain()
	if *n >= last {
		return
	}
	deadline := time.Now().Add(c.gatherMax)
	for *n < last && *events < c.maxEvents && time.Now().Before(deadline) {
		runtime.Gosched()
		drain()
	}
}

func (c *Committer) work() {
	defer c.wg.Done()
	batch := make([]*Request, 0, 64)
	last := 1 // requests in the last batch
	for {
		var first *Request
		select {
		case first = <-c.queue:
		case <-c.closing:
			return
		}
		batch = batch[:0]
		events, count := 0, 0
		take := func(r *Request) {
			count++
			if !r.state.CompareAndSwap(queued, taken) {
				close(r.done) // abandoned: its caller has gone
				return
			}
			batch = append(batch, r)
			events += r.events
		}
		take(first)
		c.gather(take, &count, &events, last)
		last = len(batch)
		if len(batch) == 0 {
			continue
		}
		c.commit(c.base, batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}
