// Package iterate turns page-by-page reads into the iterators the event
// store returns: bounded reads (ReadStream, ReadAll) and endless catch-up
// then live subscriptions.
//
// No page holds a database connection while its events are yielded, so a
// consumer may write to the store from inside its loop.
package iterate

import (
	"context"
	"iter"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/wake"
)

// DefaultPageSize is the number of events read per page.
const DefaultPageSize = 1000

// FetchFunc reads the next page of at most n events. It keeps its own
// cursor, advancing it past what it returned.
type FetchFunc func(ctx context.Context, n int) ([]eventual.RecordedEvent, error)

// Pages yields the events of successive pages until a page comes back short
// or limit events were yielded (limit 0: no limit). On error it yields the
// error once and stops.
func Pages(ctx context.Context, limit, pageSize int, fetch FetchFunc) iter.Seq2[eventual.RecordedEvent, error] {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return func(yield func(eventual.RecordedEvent, error) bool) {
		left := limit
		for {
			n := pageSize
			if limit > 0 && left < n {
				n = left
			}
			if err := ctx.Err(); err != nil {
				yield(eventual.RecordedEvent{}, err)
				return
			}
			page, err := fetch(ctx, n)
			if err != nil {
				yield(eventual.RecordedEvent{}, err)
				return
			}
			for _, ev := range page {
				if !yield(ev, nil) {
					return
				}
			}
			left -= len(page)
			if len(page) < n || (limit > 0 && left <= 0) {
				return
			}
		}
	}
}

// Fail returns an iterator that yields err once.
func Fail(err error) iter.Seq2[eventual.RecordedEvent, error] {
	return func(yield func(eventual.RecordedEvent, error) bool) {
		yield(eventual.RecordedEvent{}, err)
	}
}

// LivePage is one read of a subscription.
type LivePage struct {
	// Events are the matching events read, in position order.
	Events []eventual.RecordedEvent
	// Next is the position to read from next time. It may be past the last
	// event returned when the read scanned further without a match.
	Next uint64
	// More tells whether more committed events may follow right away.
	More bool
}

// LiveFetchFunc reads matching events at positions from `from` on, up to a
// page. It must only return events of positions that can no longer be
// preceded by a later commit (the backend's commit-order guarantee).
type LiveFetchFunc func(ctx context.Context, from uint64) (LivePage, error)

// Subscribe yields events from `from` on: everything committed, then each
// new commit as soon as signal wakes it, or at the latest after poll (a
// safety net for wake-ups that cannot reach this process; 0 means no
// polling). It ends when ctx ends, yielding ctx's error, or on a read
// error, yielding it.
func Subscribe(ctx context.Context, from uint64, signal *wake.Signal, poll time.Duration, fetch LiveFetchFunc) iter.Seq2[eventual.RecordedEvent, error] {
	return func(yield func(eventual.RecordedEvent, error) bool) {
		var timer *time.Timer
		if poll > 0 {
			timer = time.NewTimer(poll)
			defer timer.Stop()
		}
		for {
			woken := signal.C()
			if err := ctx.Err(); err != nil {
				yield(eventual.RecordedEvent{}, err)
				return
			}
			page, err := fetch(ctx, from)
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				yield(eventual.RecordedEvent{}, err)
				return
			}
			for _, ev := range page.Events {
				if !yield(ev, nil) {
					return
				}
			}
			if page.Next > from {
				from = page.Next
			}
			if page.More {
				continue
			}
			var tick <-chan time.Time
			if timer != nil {
				timer.Reset(poll)
				tick = timer.C
			}
			select {
			case <-woken:
			case <-tick:
			case <-ctx.Done():
				yield(eventual.RecordedEvent{}, ctx.Err())
				return
			}
		}
	}
}
