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
	"math"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/wake"
)

// DefaultPageSize is the number of events read per page.
const DefaultPageSize = 1000

// Span is how many events a page of at most n of the positions lo…hi can
// hold: the capacity to make a page's slice with, so that reading a full
// page does not grow it again and again, nor a page of a few events
// reserve room for n. A range open at the top (hi math.MaxInt64 or more:
// a follower's next page, which mostly finds a few new events) gets at
// most OpenSpan: a full page's room for each such read (1,000 events of
// 224 bytes) was a fifth of the bytes a busy shop allocated.
func Span(lo, hi uint64, n int) int {
	if hi < lo || n <= 0 {
		return 0
	}
	if d := hi - lo; d < uint64(n) {
		return int(d) + 1
	}
	if hi >= math.MaxInt64 {
		return min(n, OpenSpan)
	}
	return n
}

// OpenSpan is the most room Span gives a page of an open range.
const OpenSpan = 64

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

// StreamPage reads up to n events of one stream, in version order from
// version from (forward), or in reverse order from version from down
// (backward). expect is how many the stream's head (as resolved) says
// there are, for the page's capacity; a stream may have grown since.
type StreamPage func(ctx context.Context, from uint64, n int, backward bool, expect int) ([]eventual.RecordedEvent, error)

// Stream is ReadStream's iterator: resolve runs before the first page and
// returns the stream's head version, or the stream's error (not found,
// deleted); page reads the events.
func Stream(ctx context.Context, opts eventual.ReadStreamOptions, resolve func(ctx context.Context) (uint64, error), page StreamPage) iter.Seq2[eventual.RecordedEvent, error] {
	var (
		resolved bool
		head     uint64
		next     = opts.From // the next version to read; backward 0: the head
		done     bool
		backward = opts.Direction == eventual.Backward
	)
	return Pages(ctx, opts.Limit, 0, func(ctx context.Context, n int) ([]eventual.RecordedEvent, error) {
		if !resolved {
			var err error
			if head, err = resolve(ctx); err != nil {
				return nil, err
			}
			resolved = true
			if backward && (next == 0 || next > head) {
				next = head
			}
		}
		if done || (backward && next == 0) {
			return nil, nil
		}
		lo, hi := max(next, 1), head // the versions the page can hold
		if backward {
			lo, hi = 1, next
		}
		expect := Span(lo, hi, n)
		page, err := page(ctx, next, n, backward, expect)
		if err != nil || len(page) == 0 {
			return page, err
		}
		last := page[len(page)-1].Version
		if backward {
			next = last - 1
			done = next == 0
		} else {
			next = last + 1
		}
		return page, nil
	})
}

// LogPage reads up to n events of the global log with positions in
// [lo, hi]: the first ones (forward) or the last ones (backward), in that
// order.
type LogPage func(ctx context.Context, lo, hi uint64, n int, backward bool) ([]eventual.RecordedEvent, error)

// Log is ReadAll's iterator: bounds runs before the first page and returns
// the range of positions to read ([lo, hi]; empty when there is none);
// page reads the events, filtering as the backend does.
func Log(ctx context.Context, opts eventual.ReadAllOptions, bounds func(ctx context.Context) (lo, hi uint64, empty bool, err error), page LogPage) iter.Seq2[eventual.RecordedEvent, error] {
	var (
		bounded, empty bool
		lo, hi         uint64
		backward       = opts.Direction == eventual.Backward
	)
	return Pages(ctx, opts.Limit, 0, func(ctx context.Context, n int) ([]eventual.RecordedEvent, error) {
		if !bounded {
			var err error
			if lo, hi, empty, err = bounds(ctx); err != nil {
				return nil, err
			}
			bounded = true
			if backward {
				if opts.From != 0 {
					hi = min(hi, opts.From)
				}
			} else {
				lo = max(lo, opts.From)
			}
		}
		if empty || lo > hi {
			return nil, nil
		}
		page, err := page(ctx, lo, hi, n, backward)
		if err != nil || len(page) == 0 {
			return page, err
		}
		last := page[len(page)-1].Position
		if backward {
			if last == 0 {
				empty = true
			}
			hi = last - 1
		} else {
			lo = last + 1
		}
		return page, nil
	})
}

// TimeRange turns a time range [since, until) (zero: open) into the range
// of positions [lo, hi] of the events recorded in it, within [1, head]. It
// relies on recorded times never going down along the log, which the
// backends keep: f(x), the time of the first event at or after position
// x, then never decreases as x grows, gaps or not, and a lower-bound binary
// search over x finds each end in about log2(head) calls of at (the first
// event at or after position x: its position and time). Times compare at
// microseconds, the precision the backends store.
func TimeRange(ctx context.Context, since, until time.Time, head uint64, at func(ctx context.Context, x uint64) (uint64, time.Time, error)) (lo, hi uint64, empty bool, err error) {
	lo, hi = 1, head
	if head == 0 {
		return 0, 0, true, nil
	}
	// first returns the position of the first event recorded at or after
	// t, or ok false when there is none.
	first := func(t time.Time) (uint64, bool, error) {
		if r := t.Truncate(time.Microsecond); !r.Equal(t) {
			t = r.Add(time.Microsecond)
		}
		if _, recorded, err := at(ctx, head); err != nil || recorded.Before(t) {
			return 0, false, err
		}
		a, b := uint64(1), head
		for a < b {
			mid := a + (b-a)/2
			_, recorded, err := at(ctx, mid)
			if err != nil {
				return 0, false, err
			}
			if recorded.Before(t) {
				a = mid + 1
			} else {
				b = mid
			}
		}
		pos, _, err := at(ctx, a)
		return pos, err == nil, err
	}
	if !since.IsZero() {
		p, ok, err := first(since)
		if err != nil || !ok {
			return 0, 0, true, err
		}
		lo = p
	}
	if !until.IsZero() {
		p, ok, err := first(until)
		if err != nil {
			return 0, 0, true, err
		}
		if ok {
			if p <= lo {
				return 0, 0, true, nil
			}
			hi = p - 1
		}
	}
	return lo, hi, false, nil
}

// LivePageFunc reads up to n events with positions in [from, to], in
// order, filtering as the backend does.
type LivePageFunc func(ctx context.Context, from, to uint64, n int) ([]eventual.RecordedEvent, error)

// Live is the page function of a subscription on a log whose committed
// positions are final (no later commit takes a smaller one). A filtered
// subscription reads up to a head read first, so it moves past the events
// it skipped; an unfiltered one needs no head.
func Live(filtered bool, head func(ctx context.Context) (uint64, error), page LivePageFunc) LiveFetchFunc {
	return func(ctx context.Context, from uint64) (LivePage, error) {
		to := uint64(math.MaxInt64)
		if filtered {
			h, err := head(ctx)
			if err != nil {
				return LivePage{}, err
			}
			if h < from {
				return LivePage{Next: from}, nil
			}
			to = h
		}
		events, err := page(ctx, from, to, DefaultPageSize)
		if err != nil {
			return LivePage{}, err
		}
		lp := LivePage{Events: events, Next: from, More: len(events) == DefaultPageSize}
		switch {
		case lp.More || !filtered:
			if len(events) > 0 {
				lp.Next = events[len(events)-1].Position + 1
			}
		default:
			lp.Next = to + 1
		}
		return lp, nil
	}
}
