// Package follow reads the global log after a checkpoint, page by page,
// and waits for news: the loop shared by projections and relays.
//
//	f := follow.New(store, filter)
//	for {
//		news := f.News()
//		page, err := f.Read(ctx, checkpoint, 500)
//		// handle page.Events, then
//		checkpoint = page.Through
//		if !page.Full {
//			f.Wait(ctx, news)
//		}
//	}
package follow

import (
	"context"
	"time"

	"github.com/eventual-go/eventual"
)

// DefaultPoll is how often a follower re-reads without being woken: the
// fallback for stores that do not notify, and for notifications lost.
const DefaultPoll = time.Second

// Follower reads one filtered view of the global log.
type Follower struct {
	store  eventual.Store
	filter eventual.Filter
	poll   time.Duration
}

// New returns a follower of store's log, keeping events that match filter.
func New(store eventual.Store, filter eventual.Filter) *Follower {
	return &Follower{store: store, filter: filter, poll: DefaultPoll}
}

// WithPoll sets the poll interval (at least 1 ms).
func (f *Follower) WithPoll(d time.Duration) *Follower {
	f.poll = max(d, time.Millisecond)
	return f
}

// Page is what Read returns.
type Page struct {
	// Events are the matching events after the checkpoint, in position
	// order.
	Events []eventual.RecordedEvent
	// Through is the position up to which the log has been scanned: every
	// matching event at or below it is in Events or was before the
	// checkpoint. It is the new checkpoint once Events are handled; it can
	// be beyond the last event when the filter skipped the rest.
	Through uint64
	// Full tells that the page hit its limit: there may be more to read
	// at once.
	Full bool
}

// News returns a channel closed when the log may have grown. Take it
// before Read, and Wait on it after a page that was not full.
func (f *Follower) News() <-chan struct{} {
	if n, ok := f.store.(eventual.Notifier); ok {
		return n.Appended()
	}
	return nil
}

// HeadKnower is a store that knows, without a query, a position up to
// which its log is committed (SQLite's Store): a follower reads up to it
// rather than query the head before each page. ok is false while the store
// does not know (it does once a follower took News).
type HeadKnower interface {
	KnownHead() (head uint64, ok bool)
}

// Read returns up to limit matching events after position after.
func (f *Follower) Read(ctx context.Context, after uint64, limit int) (Page, error) {
	// The head is read first: every position at or below a committed head
	// is final, so once the read below comes back short, the log up to it
	// has been seen whole. A head known late is a lower one: the page may
	// end short of the log's end, never beyond what is committed.
	head, known := uint64(0), false
	if k, ok := f.store.(HeadKnower); ok {
		head, known = k.KnownHead()
	}
	if !known {
		var err error
		if head, err = f.store.HeadPosition(ctx); err != nil {
			return Page{Through: after}, err
		}
	}
	if head <= after {
		return Page{Through: after}, nil
	}
	events, err := eventual.Collect(f.store.ReadAll(ctx, eventual.ReadAllOptions{From: after + 1, Limit: limit, Filter: f.filter}))
	if err != nil {
		return Page{Through: after}, err
	}
	p := Page{Events: events, Through: after, Full: limit > 0 && len(events) >= limit}
	if len(events) > 0 {
		p.Through = events[len(events)-1].Position
	}
	if !p.Full {
		p.Through = max(p.Through, head)
	}
	return p, nil
}

// Wait waits until news is closed, the poll interval passed, or ctx ended.
func (f *Follower) Wait(ctx context.Context, news <-chan struct{}) {
	t := time.NewTimer(f.poll)
	defer t.Stop()
	select {
	case <-news:
	case <-t.C:
	case <-ctx.Done():
	}
}
