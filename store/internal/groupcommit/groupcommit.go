// Package groupcommit queues concurrent appends and hands them to a commit
// function in batches, so that many appends share one database transaction
// and one durable flush. The commit function decides the outcome of every
// request in a batch separately: a conflicting append fails alone.
//
// A batch is handed over as it forms: the commit function may start writing
// the first requests while the callers of the last batch are still coming
// back with their next ones, and commit once the batch is complete.
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

// NewRequest returns a request outside any committer, for a backend that
// writes appends through the same code in a transaction of the caller.
func NewRequest(appends []eventual.AppendRequest) *Request {
	r := &Request{Appends: appends}
	for _, a := range appends {
		r.events += len(a.Events)
	}
	return r
}

// gatherMax bounds the time a worker waits, per batch, for more requests
// to arrive (see Batch.Wait).
const gatherMax = 200 * time.Microsecond

const (
	queued int32 = iota
	taken
	abandoned
)

// CommitFunc writes and commits a batch, setting Results or Err on each of
// its requests. It reads the requests with Batch.TryNext and Batch.Wait (or
// all at once with Batch.All). It runs on one of the committer's workers;
// ctx ends when the committer is closed and its workers are gone, so bound
// slow I/O with a timeout.
type CommitFunc func(ctx context.Context, b *Batch)

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
	workers   int
	// calls counts the callers inside Do: queued, in a batch, or waiting
	// for its commit.
	calls atomic.Int64
	// The counters of Stats.
	batches, requests, events, busy atomic.Int64
}

// Stats returns the batches run so far, the requests and events they
// held, and the time spent in the commit function.
func (c *Committer) Stats() eventual.GroupCommitStats {
	return eventual.GroupCommitStats{
		Batches: c.batches.Load(),
		Appends: c.requests.Load(),
		Events:  c.events.Load(),
		Busy:    time.Duration(c.busy.Load()),
	}
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
		workers:   workers,
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
	c.calls.Add(1)
	defer c.calls.Add(-1)
	r := NewRequest(appends)
	r.done = make(chan struct{})
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

func (c *Committer) work() {
	defer c.wg.Done()
	expect := 1        // requests the next batch waits for (see Batch.Wait)
	var carry *Request // taken by the last batch but not read: the next one's first
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-c.queue:
			case <-c.closing:
				return
			}
			if !take(first) {
				continue
			}
		}
		b := &Batch{c: c, expect: expect, pending: first, reqs: make([]*Request, 0, expect)}
		start := time.Now()
		c.commit(c.base, b)
		c.busy.Add(int64(time.Since(start)))
		c.batches.Add(1)
		c.requests.Add(int64(len(b.reqs)))
		c.events.Add(int64(b.events))
		carry, b.pending = b.pending, nil
		expect = max(len(b.reqs), 1)
		if c.workers == 1 {
			// Every caller inside Do now is in this batch or queued for
			// the next, so the next batch waits for all of them. Waiting
			// only for as many as this batch held would commit the queued
			// callers without this batch's, who come back a moment later
			// and queue behind: the callers would split into groups that
			// take turns, each paying a commit of its own.
			expect = max(expect, int(c.calls.Load()))
		}
		for _, r := range b.reqs {
			close(r.done)
		}
	}
}

// take claims a request from the queue for a batch; it reports false (and
// releases the request) when its caller has gone.
func take(r *Request) bool {
	if !r.state.CompareAndSwap(queued, taken) {
		close(r.done) // abandoned: its caller has gone
		return false
	}
	return true
}

// Batch is a batch as it forms. Read its requests with TryNext, and Wait for
// more when none is ready; or take them all with All. Every request
// returned belongs to the batch: its Results or Err must be set.
type Batch struct {
	c       *Committer
	pending *Request // taken from the queue but not yet returned
	reqs    []*Request
	events  int
	expect  int           // requests to wait for: the callers inside Do when the last batch committed
	waited  time.Duration // time spent waiting in Wait
}

// TryNext returns the next request of the batch if one is ready, or nil.
// It returns nil once the batch is full.
func (b *Batch) TryNext() *Request {
	if r := b.pending; r != nil {
		b.pending = nil
		b.add(r)
		return r
	}
	for b.events < b.c.maxEvents {
		select {
		case r := <-b.c.queue:
			if take(r) {
				b.add(r)
				return r
			}
		default:
			return nil
		}
	}
	return nil
}

func (b *Batch) add(r *Request) {
	b.reqs = append(b.reqs, r)
	b.events += r.events
}

// Wait reports whether the batch should take more requests, waiting until
// one arrives. The callers of the last batch come back with their next
// appends right after its commit; without waiting, the first of them would
// be committed alone while the rest are on their way, and batches would
// alternate between one request and all the others. So while the batch
// holds fewer requests than there were callers when the last one
// committed (those of the last batch and those queued; with one worker,
// else as many as the last batch held), Wait yields until another
// arrives, spending at most gatherMax per batch waiting. It uses no timer:
// sub-millisecond timers sleep a millisecond on some systems. A lone caller
// (last batch of one) never waits.
func (b *Batch) Wait() bool {
	if b.pending != nil {
		return true
	}
	if b.events >= b.c.maxEvents || len(b.reqs) >= b.expect {
		return false
	}
	start := time.Now()
	defer func() { b.waited += time.Since(start) }()
	for b.waited+time.Since(start) < b.c.gatherMax {
		runtime.Gosched()
		select {
		case r := <-b.c.queue:
			if take(r) {
				b.pending = r
				return true
			}
		default:
		}
	}
	return false
}

// All returns every request of the batch, gathering them first.
func (b *Batch) All() []*Request {
	for {
		for b.TryNext() != nil {
		}
		if !b.Wait() {
			return b.reqs
		}
	}
}

// Requests returns the requests the batch has returned so far.
func (b *Batch) Requests() []*Request { return b.reqs }
