// Package memory is an in-memory event store for tests and examples. It
// keeps the same guarantees as the SQL backends and passes the same
// conformance suite (store/storetest), but keeps nothing after the process
// ends.
//
//	store, _ := memory.New()
//	defer store.Close()
//	res, err := store.Append(ctx, "order-1", eventual.NoStream, eventual.EventData{Type: "order.placed"})
//
// Its transactions ([Store.InTx]) support appends and reads but no SQL.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/wake"
	"github.com/eventual-go/eventual/store/internal/decide"
	"github.com/eventual-go/eventual/store/internal/iterate"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// Option configures a Store.
type Option func(*Store) error

// WithMaxEventSize sets the largest accepted event in bytes (see
// eventual.EventSize); the default is eventual.DefaultMaxEventSize.
func WithMaxEventSize(n int) Option {
	return func(s *Store) error {
		if n <= 0 {
			return fmt.Errorf("%w: max event size %d is not positive", eventual.ErrInvalidArgument, n)
		}
		s.maxEventSize = n
		return nil
	}
}

// WithClock sets the clock that stamps RecordedAt; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", eventual.ErrInvalidArgument)
		}
		s.now = now
		return nil
	}
}

// Store is an in-memory eventual.TxStore. Create it with New.
type Store struct {
	maxEventSize int
	now          func() time.Time

	wmu sync.Mutex // held by the one writer at a time; guards next and closed writes

	mu        sync.RWMutex // guards the published state below
	streams   map[string]*stream
	log       []eventual.RecordedEvent // in position order
	ids       map[uuid.UUID]decide.Stored
	next      uint64 // the last position handed out
	closed    bool
	snapshots map[string]eventual.Snapshot

	signal wake.Signal
}

type stream struct {
	version uint64
	first   uint64 // first retained version
	deleted bool
	events  []eventual.RecordedEvent // retained events in version order
}

var (
	_ eventual.TxStore  = (*Store)(nil)
	_ eventual.Notifier = (*Store)(nil)
)

// New returns an empty store.
func New(opts ...Option) (*Store, error) {
	s := &Store{
		maxEventSize: eventual.DefaultMaxEventSize,
		now:          time.Now,
		streams:      make(map[string]*stream),
		ids:          make(map[uuid.UUID]decide.Stored),
		snapshots:    make(map[string]eventual.Snapshot),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Append implements eventual.Store.
func (s *Store) Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error) {
	return plan.First(s.AppendMulti(ctx, eventual.AppendRequest{StreamID: streamID, Expected: expected, Events: events}))
}

// AppendMulti implements eventual.Store.
func (s *Store) AppendMulti(ctx context.Context, appends ...eventual.AppendRequest) ([]eventual.AppendResult, error) {
	var res []eventual.AppendResult
	err := s.InTx(ctx, func(tx eventual.Tx) error {
		var err error
		res, err = tx.AppendMulti(ctx, appends...)
		return err
	})
	return res, err
}

// InTx implements eventual.TxStore. The transaction holds the store's
// writer until fn returns: inside fn, use tx, not the Store, to append.
func (s *Store) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	after, err := s.inTx(ctx, fn)
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// inTx runs the transaction and returns its after-commit functions, to be
// run once the writer is released.
func (s *Store) inTx(ctx context.Context, fn func(tx eventual.Tx) error) ([]func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return nil, eventual.ErrClosed
	}
	tx := &tx{s: s, staged: make(map[string]*stream), ids: make(map[uuid.UUID]decide.Stored), next: s.next}
	if err := fn(tx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(tx.log) == 0 {
		return tx.afterCommit, nil
	}
	s.mu.Lock()
	for id, st := range tx.staged {
		s.streams[id] = st
	}
	s.log = append(s.log, tx.log...)
	maps.Copy(s.ids, tx.ids)
	s.next = tx.next
	s.mu.Unlock()
	s.signal.Notify()
	return tx.afterCommit, nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// ReadStream implements eventual.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return s.readStream(ctx, streamID, opts, nil)
}

// readStream reads a stream, looking first in staged (a transaction's own
// writes) when it is not nil.
func (s *Store) readStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions, staged map[string]*stream) iter.Seq2[eventual.RecordedEvent, error] {
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return iterate.Fail(err)
	}
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	find := func() (*stream, error) {
		if s.closed {
			return nil, eventual.ErrClosed
		}
		st := staged[streamID]
		if st == nil {
			st = s.streams[streamID]
		}
		switch {
		case st == nil:
			return nil, fmt.Errorf("%w: %q", eventual.ErrStreamNotFound, streamID)
		case st.deleted:
			return nil, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		}
		return st, nil
	}
	resolve := func(context.Context) (uint64, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		st, err := find()
		if err != nil {
			return 0, err
		}
		return st.version, nil
	}
	return iterate.Stream(ctx, opts, resolve, func(_ context.Context, from uint64, n int, backward bool, _ int) ([]eventual.RecordedEvent, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		st, err := find()
		if err != nil || len(st.events) == 0 {
			return nil, err
		}
		// st.events[i].Version == base + i
		base := st.events[0].Version
		if !backward {
			i := int(max(from, base) - base)
			if i >= len(st.events) {
				return nil, nil
			}
			return cloneEvents(st.events[i:min(i+n, len(st.events))]), nil
		}
		if from < base {
			return nil, nil
		}
		j := min(int(from-base), len(st.events)-1)
		page := cloneEvents(st.events[max(j-n+1, 0) : j+1])
		slices.Reverse(page)
		return page, nil
	})
}

// ReadAll implements eventual.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventual.ReadAllOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	bounds := func(ctx context.Context) (uint64, uint64, bool, error) {
		head, err := s.HeadPosition(ctx)
		if err != nil {
			return 0, 0, false, err
		}
		return iterate.TimeRange(ctx, opts.Since, opts.Until, head, s.firstAt)
	}
	return iterate.Log(ctx, opts, bounds, func(_ context.Context, lo, hi uint64, n int, backward bool) ([]eventual.RecordedEvent, error) {
		return s.logPage(opts.Filter, lo, hi, n, backward)
	})
}

// logPage returns up to n events of the log with positions in [lo, hi]
// that pass f: the first ones, or the last ones when backward.
func (s *Store) logPage(f eventual.Filter, lo, hi uint64, n int, backward bool) ([]eventual.RecordedEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventual.ErrClosed
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].Position >= lo })
	j := sort.Search(len(s.log), func(i int) bool { return s.log[i].Position > hi }) // end
	var page []eventual.RecordedEvent
	keep := func(ev eventual.RecordedEvent) bool {
		if f.Match(ev.StreamID, ev.Type) {
			page = append(page, cloneEvent(ev))
		}
		return len(page) < n
	}
	if backward {
		for k := j - 1; k >= i && keep(s.log[k]); k-- {
		}
	} else {
		for k := i; k < j && keep(s.log[k]); k++ {
		}
	}
	return page, nil
}

// firstAt returns the first event at or after position x.
func (s *Store) firstAt(_ context.Context, x uint64) (uint64, time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].Position >= x })
	if i == len(s.log) {
		return 0, time.Time{}, fmt.Errorf("no event at or after position %d", x)
	}
	return s.log[i].Position, s.log[i].RecordedAt, nil
}

// Subscribe implements eventual.Store.
func (s *Store) Subscribe(ctx context.Context, opts eventual.SubscribeOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Filter.Validate(); err != nil {
		return iterate.Fail(err)
	}
	live := iterate.Live(len(opts.Filter.Types) > 0 || opts.Filter.StreamPrefix != "", s.HeadPosition,
		func(_ context.Context, from, to uint64, n int) ([]eventual.RecordedEvent, error) {
			return s.logPage(opts.Filter, from, to, n, false)
		})
	return iterate.Subscribe(ctx, opts.From, &s.signal, 0, live)
}

// StreamInfo implements eventual.Store.
func (s *Store) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	return s.streamInfo(ctx, streamID, nil)
}

func (s *Store) streamInfo(ctx context.Context, streamID string, staged map[string]*stream) (eventual.StreamInfo, error) {
	if err := ctx.Err(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.StreamInfo{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return eventual.StreamInfo{}, eventual.ErrClosed
	}
	st := staged[streamID]
	if st == nil {
		st = s.streams[streamID]
	}
	if st == nil {
		return eventual.StreamInfo{}, fmt.Errorf("%w: %q", eventual.ErrStreamNotFound, streamID)
	}
	return eventual.StreamInfo{StreamID: streamID, Version: st.version, FirstVersion: st.first, Deleted: st.deleted}, nil
}

// HeadPosition implements eventual.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, eventual.ErrClosed
	}
	if len(s.log) == 0 {
		return 0, nil
	}
	return s.log[len(s.log)-1].Position, nil
}

// DeleteStream implements eventual.Store.
func (s *Store) DeleteStream(ctx context.Context, streamID string, expected eventual.ExpectedVersion) error {
	return s.changeStream(ctx, streamID, func(st *stream) (func(), error) {
		if st.deleted {
			return nil, nil
		}
		if !expected.Check(st.version, true) {
			return nil, &eventual.ConflictError{StreamID: streamID, Expected: expected, Actual: st.version, Exists: true}
		}
		st.deleted = true
		return nil, nil
	})
}

// TruncateStream implements eventual.Store.
func (s *Store) TruncateStream(ctx context.Context, streamID string, before uint64) error {
	return s.changeStream(ctx, streamID, func(st *stream) (func(), error) {
		if st.deleted {
			return nil, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		}
		if before > st.version+1 {
			return nil, fmt.Errorf("%w: cannot truncate stream %q before version %d: its head is %d", eventual.ErrInvalidArgument, streamID, before, st.version)
		}
		if before <= st.first {
			return nil, nil
		}
		cut := sort.Search(len(st.events), func(i int) bool { return st.events[i].Version >= before })
		dropped := st.events[:cut]
		st.events = slices.Clone(st.events[cut:])
		st.first = before
		return func() {
			gone := make(map[uint64]bool, len(dropped))
			for _, ev := range dropped {
				gone[ev.Position] = true
				delete(s.ids, ev.ID)
			}
			s.log = slices.DeleteFunc(s.log, func(ev eventual.RecordedEvent) bool { return gone[ev.Position] })
		}, nil
	})
}

// changeStream runs change on a copy of the stream's state as the writer
// and, if change succeeds, publishes the copy and runs the publish function
// change returned (if any) under the same lock.
func (s *Store) changeStream(ctx context.Context, streamID string, change func(*stream) (publish func(), err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	closed, old := s.closed, s.streams[streamID]
	s.mu.RUnlock()
	if closed {
		return eventual.ErrClosed
	}
	if old == nil {
		return fmt.Errorf("%w: %q", eventual.ErrStreamNotFound, streamID)
	}
	st := *old
	publish, err := change(&st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[streamID] = &st
	if publish != nil {
		publish()
	}
	return nil
}

// Close implements eventual.Store. Subscriptions end with eventual.ErrClosed.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal.Notify()
	return nil
}

// tx is a transaction: appends are staged and published at commit.
type tx struct {
	s           *Store
	staged      map[string]*stream // new state of the streams written, copy-on-write
	log         []eventual.RecordedEvent
	ids         map[uuid.UUID]decide.Stored
	next        uint64
	afterCommit []func()
}

func (t *tx) AfterCommit(fn func()) { t.afterCommit = append(t.afterCommit, fn) }

var _ eventual.Tx = (*tx)(nil)

func (t *tx) Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error) {
	return plan.First(t.AppendMulti(ctx, eventual.AppendRequest{StreamID: streamID, Expected: expected, Events: events}))
}

func (t *tx) AppendMulti(ctx context.Context, appends ...eventual.AppendRequest) ([]eventual.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	appends, err := eventual.PrepareAppend(appends, t.s.maxEventSize)
	if err != nil {
		return nil, err
	}
	// Decide every append first, so that a failing one writes nothing.
	results := make([]eventual.AppendResult, len(appends))
	write := make([]bool, len(appends))
	t.s.mu.RLock()
	for i, a := range appends {
		st := t.stream(a.StreamID)
		var known decide.Stream
		if st != nil {
			known = decide.Stream{Exists: true, Version: st.version, Deleted: st.deleted}
		}
		stored := make([]*decide.Stored, len(a.Events))
		for j, e := range a.Events {
			if loc, ok := t.stored(e.ID); ok {
				stored[j] = &loc
			}
		}
		outcome, res, err := decide.Append(a, known, stored)
		if err != nil {
			t.s.mu.RUnlock()
			return nil, err
		}
		results[i], write[i] = res, outcome == decide.Write
	}
	t.s.mu.RUnlock()

	var last time.Time
	if n := len(t.log); n > 0 {
		last = t.log[n-1].RecordedAt
	} else if n := len(t.s.log); n > 0 {
		last = t.s.log[n-1].RecordedAt
	}
	now := plan.Recorded(t.s.now(), last)
	for i, a := range appends {
		if !write[i] {
			continue
		}
		old := t.stream(a.StreamID)
		st := &stream{first: 1}
		if old != nil {
			st = &stream{version: old.version, first: old.first, events: slices.Clip(old.events)}
		}
		res := eventual.AppendResult{StreamID: a.StreamID, FirstVersion: st.version + 1, FirstPosition: t.next + 1}
		for _, e := range a.Events {
			t.next++
			st.version++
			ev := eventual.RecordedEvent{
				ID: e.ID, StreamID: a.StreamID, Version: st.version, Position: t.next,
				Type: e.Type, SchemaVersion: e.SchemaVersion, Data: bytes.Clone(e.Data),
				Metadata: cloneMetadata(e.Metadata), RecordedAt: now,
			}
			st.events = append(st.events, ev)
			t.log = append(t.log, ev)
			t.ids[e.ID] = decide.Stored{StreamID: a.StreamID, Version: ev.Version, Position: ev.Position}
		}
		res.LastVersion, res.LastPosition = st.version, t.next
		t.staged[a.StreamID] = st
		results[i] = res
	}
	return results, nil
}

// stream returns the stream's state as the transaction sees it; the caller
// holds s.mu.
func (t *tx) stream(id string) *stream {
	if st, ok := t.staged[id]; ok {
		return st
	}
	return t.s.streams[id]
}

// stored returns where an event ID is stored as the transaction sees it;
// the caller holds s.mu.
func (t *tx) stored(id uuid.UUID) (decide.Stored, bool) {
	if loc, ok := t.ids[id]; ok {
		return loc, true
	}
	loc, ok := t.s.ids[id]
	return loc, ok
}

func (t *tx) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return t.s.readStream(ctx, streamID, opts, t.staged)
}

func (t *tx) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	return t.s.streamInfo(ctx, streamID, t.staged)
}

var errNoSQL = fmt.Errorf("%w: the memory store runs no SQL", eventual.ErrUnsupported)

func (t *tx) Exec(context.Context, string, ...any) (int64, error)          { return 0, errNoSQL }
func (t *tx) Query(context.Context, string, ...any) (eventual.Rows, error) { return nil, errNoSQL }
func (t *tx) QueryRow(context.Context, string, ...any) eventual.Row        { return errRow{} }
func (t *tx) Dialect() eventual.Dialect                                    { return eventual.DialectMemory }

// LockLog implements eventual.Tx: the transaction holds the store's lock
// already.
func (t *tx) LockLog(ctx context.Context) error { return ctx.Err() }

type errRow struct{}

func (errRow) Scan(...any) error { return errNoSQL }

func cloneEvents(evs []eventual.RecordedEvent) []eventual.RecordedEvent {
	out := make([]eventual.RecordedEvent, len(evs))
	for i, ev := range evs {
		out[i] = cloneEvent(ev)
	}
	return out
}

// cloneEvent copies what a reader could modify, so no reader can change the
// store's data.
func cloneEvent(ev eventual.RecordedEvent) eventual.RecordedEvent {
	ev.Data = bytes.Clone(ev.Data)
	ev.Metadata = cloneMetadata(ev.Metadata)
	return ev
}

func cloneMetadata(m eventual.Metadata) eventual.Metadata {
	m.Extra = maps.Clone(m.Extra)
	return m
}

// Appended implements eventual.Notifier.
func (s *Store) Appended() <-chan struct{} { return s.signal.C() }
