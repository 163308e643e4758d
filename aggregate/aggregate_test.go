package aggregate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/store/memory"
)

// Counter is the test aggregate.
type Counter struct {
	aggregate.Root
	Name   string
	N      int64
	Closed bool
}

type Created struct {
	Name string `json:"name"`
}
type Added struct {
	By int64 `json:"by"`
}
type Closed struct{}

var errClosed = errors.New("counter closed")

func NewCounter(id string) *Counter {
	c := &Counter{}
	c.SetID(id)
	return c
}

func (c *Counter) Create(name string) error { return aggregate.Record(c, Created{Name: name}) }

func (c *Counter) Add(n int64) error {
	if c.Closed {
		return errClosed
	}
	return aggregate.Record(c, &Added{By: n}) // a pointer is recorded as the value
}

func (c *Counter) Close() error { return aggregate.Record(c, Closed{}) }

func (c *Counter) Apply(event any) error {
	switch e := event.(type) {
	case Created:
		c.Name = e.Name
	case Added:
		c.N += e.By
	case Closed:
		c.Closed = true
	default:
		return fmt.Errorf("counter: unknown event %T", event)
	}
	return nil
}

// snapshotVersion lets a test pretend the snapshot encoding changed.
var snapshotVersion atomic.Int64

func init() { snapshotVersion.Store(1) }

func (c *Counter) SnapshotVersion() int { return int(snapshotVersion.Load()) }

func (c *Counter) MarshalSnapshot() ([]byte, error) {
	return json.Marshal(map[string]any{"name": c.Name, "n": c.N, "closed": c.Closed})
}

func (c *Counter) UnmarshalSnapshot(data []byte) error {
	var s struct {
		Name   string `json:"name"`
		N      int64  `json:"n"`
		Closed bool   `json:"closed"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	c.Name, c.N, c.Closed = s.Name, s.N, s.Closed
	return nil
}

func registry(t testing.TB) *codec.Registry {
	t.Helper()
	b := codec.New()
	codec.Register[Created](b, "counter.created")
	codec.Register[Added](b, "counter.added")
	codec.Register[Closed](b, "counter.closed")
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newStore(t testing.TB, opts ...memory.Option) *memory.Store {
	t.Helper()
	s, err := memory.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newRepo(t testing.TB, store eventual.Store, opts ...aggregate.Option) *aggregate.Repository[*Counter] {
	t.Helper()
	r, err := aggregate.NewRepository(store, registry(t), "counter", NewCounter, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRecordAndApply(t *testing.T) {
	c := NewCounter("c-1")
	if err := c.Create("beans"); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(3); err != nil {
		t.Fatal(err)
	}
	if c.N != 3 || c.Version() != 2 || c.StoredVersion() != 0 {
		t.Fatalf("N %d version %d stored %d", c.N, c.Version(), c.StoredVersion())
	}
	pending := c.Pending()
	if len(pending) != 2 || pending[1] != (Added{By: 3}) {
		t.Fatalf("pending = %#v", pending)
	}
	if err := aggregate.Record(c, "not an event"); err == nil || len(c.Pending()) != 2 || c.Version() != 2 {
		t.Fatalf("an event Apply refuses was recorded: %v, %d pending", err, len(c.Pending()))
	}
}

func TestSaveAndLoad(t *testing.T) {
	store := newStore(t)
	repo := newRepo(t, store)
	ctx := t.Context()

	if _, err := repo.Load(ctx, "nope"); !errors.Is(err, aggregate.ErrNotFound) || !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("Load of a missing aggregate: %v, want ErrNotFound and ErrStreamNotFound", err)
	}
	c := repo.New("c-1")
	_ = c.Create("beans")
	_ = c.Add(2)
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.StoredVersion() != 2 || len(c.Pending()) != 0 {
		t.Fatalf("after Save: stored %d, pending %d", c.StoredVersion(), len(c.Pending()))
	}
	if err := repo.Save(ctx, c); err != nil {
		t.Fatalf("saving nothing: %v", err)
	}
	_ = c.Add(5)
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := repo.Load(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != "c-1" || got.Name != "beans" || got.N != 7 || got.Version() != 3 || got.StoredVersion() != 3 {
		t.Fatalf("loaded %+v version %d", got, got.Version())
	}
	evs, _ := eventual.Collect(store.ReadStream(ctx, "counter-c-1", eventual.ReadStreamOptions{}))
	if len(evs) != 3 || evs[0].Type != "counter.created" || evs[2].Type != "counter.added" {
		t.Fatalf("stream = %+v", evs)
	}

	// A second new aggregate with the same ID conflicts.
	dup := repo.New("c-1")
	_ = dup.Create("other")
	if err := repo.Save(ctx, dup); !errors.Is(err, eventual.ErrConflict) {
		t.Fatalf("second creation: %v, want ErrConflict", err)
	}
}

func TestConcurrentChangesConflict(t *testing.T) {
	repo := newRepo(t, newStore(t))
	ctx := t.Context()
	c := repo.New("c")
	_ = c.Create("x")
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	a, _ := repo.Load(ctx, "c")
	b, _ := repo.Load(ctx, "c")
	_ = a.Add(1)
	_ = b.Add(2)
	if err := repo.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	var ce *eventual.ConflictError
	if err := repo.Save(ctx, b); !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("stale save: %v, want a conflict at version 2", err)
	}
}

func TestMetadataFromContext(t *testing.T) {
	store := newStore(t)
	repo := newRepo(t, store)
	ctx := eventual.ContextWithMetadata(t.Context(), eventual.Metadata{CorrelationID: "corr-1", CausationID: "cmd-9", UserID: "ada", TenantID: "t1"})
	c := repo.New("m")
	_ = c.Create("x")
	_ = c.Add(1)
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	_ = c.Add(1)
	_ = c.Add(1)
	if err := repo.Save(t.Context(), c); err != nil { // no metadata in ctx
		t.Fatal(err)
	}
	evs, _ := eventual.Collect(store.ReadStream(t.Context(), "counter-m", eventual.ReadStreamOptions{}))
	for _, e := range evs[:2] {
		if m := e.Metadata; m.CorrelationID != "corr-1" || m.CausationID != "cmd-9" || m.UserID != "ada" || m.TenantID != "t1" {
			t.Fatalf("metadata = %+v", m)
		}
	}
	if c1, c2 := evs[2].Metadata.CorrelationID, evs[3].Metadata.CorrelationID; c1 == "" || c1 != c2 || c1 == "corr-1" {
		t.Fatalf("events of one Save without metadata: correlation %q and %q, want one new ID", c1, c2)
	}
}

// lostAck appends but reports a failure once: the acknowledgement was
// lost on the way back.
type lostAck struct {
	eventual.Store
	lost atomic.Bool
}

func (s *lostAck) Append(ctx context.Context, id string, exp eventual.ExpectedVersion, evs ...eventual.EventData) (eventual.AppendResult, error) {
	res, err := s.Store.Append(ctx, id, exp, evs...)
	if err == nil && s.lost.CompareAndSwap(false, true) {
		return eventual.AppendResult{}, errors.New("connection reset")
	}
	return res, err
}

func TestSaveRetryAfterALostAckIsIdempotent(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, &lostAck{Store: mem})
	c := repo.New("r")
	_ = c.Create("x")
	_ = c.Add(4)
	if err := repo.Save(t.Context(), c); err == nil {
		t.Fatal("the lost acknowledgement was not reported")
	}
	if err := repo.Save(t.Context(), c); err != nil {
		t.Fatalf("retry: %v", err)
	}
	evs, _ := eventual.Collect(mem.ReadStream(t.Context(), "counter-r", eventual.ReadStreamOptions{}))
	if len(evs) != 2 || c.StoredVersion() != 2 {
		t.Fatalf("after the retry the stream has %d events (want 2), stored version %d", len(evs), c.StoredVersion())
	}
}

// interloper appends an event to the stream before the first append it
// sees, as a concurrent writer would.
type interloper struct {
	eventual.Store
	done atomic.Bool
}

func (s *interloper) Append(ctx context.Context, id string, exp eventual.ExpectedVersion, evs ...eventual.EventData) (eventual.AppendResult, error) {
	if s.done.CompareAndSwap(false, true) {
		if _, err := s.Store.Append(ctx, id, eventual.Any, eventual.EventData{Type: "counter.added", Data: []byte(`{"by":100}`)}); err != nil {
			return eventual.AppendResult{}, err
		}
	}
	return s.Store.Append(ctx, id, exp, evs...)
}

func TestUpdateRetriesConflicts(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, mem)
	c := repo.New("u")
	_ = c.Create("x")
	if err := repo.Save(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	racy := newRepo(t, &interloper{Store: mem})
	calls := 0
	got, err := racy.Update(t.Context(), "u", func(c *Counter) error {
		calls++
		return c.Add(1)
	})
	if err != nil || calls != 2 || got.N != 101 {
		t.Fatalf("Update: %v after %d calls, N %d; want success on the second, N 101", err, calls, got.N)
	}

	once := newRepo(t, &interloper{Store: mem}, aggregate.WithMaxAttempts(1))
	if _, err := once.Update(t.Context(), "u", func(c *Counter) error { return c.Add(1) }); !errors.Is(err, eventual.ErrConflict) {
		t.Fatalf("one attempt: %v, want ErrConflict", err)
	}
	if _, err := repo.Update(t.Context(), "u", func(c *Counter) error { return errClosed }); !errors.Is(err, errClosed) {
		t.Fatalf("fn's error: %v", err)
	}
	if _, err := repo.Update(t.Context(), "missing", func(*Counter) error { return nil }); !errors.Is(err, aggregate.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

// countingStore counts the events each ReadStream returns.
type countingStore struct {
	eventual.SnapshotStore
	eventual.Store
	read atomic.Int64
}

func (s *countingStore) ReadStream(ctx context.Context, id string, o eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return func(yield func(eventual.RecordedEvent, error) bool) {
		for e, err := range s.Store.ReadStream(ctx, id, o) {
			if err == nil {
				s.read.Add(1)
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

func TestSnapshotsLoadTheSameStateAsAFullReplay(t *testing.T) {
	mem := newStore(t)
	counting := &countingStore{SnapshotStore: mem, Store: mem}
	withSnaps := newRepo(t, counting, aggregate.WithSnapshots(mem, aggregate.EveryNEvents(10)))
	plain := newRepo(t, mem)
	ctx := t.Context()
	c := withSnaps.New("s")
	_ = c.Create("x")
	if err := withSnaps.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range 54 {
		_ = c.Add(int64(i))
		if i%4 == 0 {
			if err := withSnaps.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := withSnaps.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	snap, err := mem.LoadSnapshot(ctx, "counter-s")
	if err != nil || snap.Version < 46 || snap.Version > 55 {
		t.Fatalf("snapshot at version %d, %v; want one within the last 10 of 55", snap.Version, err)
	}
	counting.read.Store(0)
	fromSnap, err := withSnaps.Load(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n := counting.read.Load(); n != int64(55-snap.Version) {
		t.Fatalf("load with a snapshot at %d read %d events, want %d", snap.Version, n, 55-snap.Version)
	}
	full, err := plain.Load(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if fromSnap.Name != full.Name || fromSnap.N != full.N || fromSnap.Closed != full.Closed || fromSnap.Version() != full.Version() {
		t.Fatalf("snapshot + tail: %+v v%d; full replay: %+v v%d", fromSnap, fromSnap.Version(), full, full.Version())
	}
}

func TestSnapshotOfAnOlderEncodingIsReplaced(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, mem, aggregate.WithSnapshots(mem, aggregate.EveryNEvents(5)))
	ctx := t.Context()
	c := repo.New("old")
	_ = c.Create("x")
	for range 6 {
		_ = c.Add(1)
	}
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	if snap, err := mem.LoadSnapshot(ctx, "counter-old"); err != nil || snap.SchemaVersion != 1 {
		t.Fatalf("first snapshot: %+v, %v", snap, err)
	}
	snapshotVersion.Store(2)
	defer snapshotVersion.Store(1)
	got, err := repo.Load(ctx, "old")
	if err != nil || got.N != 6 || got.Version() != 7 {
		t.Fatalf("load ignoring the old snapshot: %+v, %v", got, err)
	}
	if snap, err := mem.LoadSnapshot(ctx, "counter-old"); err != nil || snap.SchemaVersion != 2 || snap.Version != 7 {
		t.Fatalf("snapshot after the load: %+v, %v; want a fresh one of version 2", snap, err)
	}
}

func TestSnapshotThatDoesNotDecodeIsReplaced(t *testing.T) {
	mem := newStore(t)
	var reported []error
	repo := newRepo(t, mem, aggregate.WithSnapshots(mem, aggregate.EveryNEvents(100)),
		aggregate.WithSnapshotErrors(func(err error) { reported = append(reported, err) }))
	ctx := t.Context()
	c := repo.New("bad")
	_ = c.Create("x")
	_ = c.Add(3)
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	_ = mem.SaveSnapshot(ctx, eventual.Snapshot{StreamID: "counter-bad", Version: 2, SchemaVersion: 1, Data: []byte("not json"), TakenAt: time.Now()})
	got, err := repo.Load(ctx, "bad")
	if err != nil || got.N != 3 || len(reported) != 1 {
		t.Fatalf("load: %+v, %v, reported %v", got, err, reported)
	}
	if snap, _ := mem.LoadSnapshot(ctx, "counter-bad"); string(snap.Data) == "not json" {
		t.Fatal("the broken snapshot was not replaced")
	}
}

func TestAsyncSnapshots(t *testing.T) {
	mem := newStore(t)
	repo, err := aggregate.NewRepository(mem, registry(t), "counter", NewCounter,
		aggregate.WithSnapshots(mem, aggregate.EveryNEvents(3)), aggregate.WithAsyncSnapshots())
	if err != nil {
		t.Fatal(err)
	}
	c := repo.New("a")
	_ = c.Create("x")
	_ = c.Add(1)
	_ = c.Add(2)
	if err := repo.Save(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	repo.Close()
	if snap, err := mem.LoadSnapshot(t.Context(), "counter-a"); err != nil || snap.Version != 3 {
		t.Fatalf("after Close: %+v, %v", snap, err)
	}
}

func TestEveryDuration(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := aggregate.EveryDuration(time.Hour)
	for _, tt := range []struct {
		info aggregate.SnapshotInfo
		want bool
	}{
		{aggregate.SnapshotInfo{Version: 1, Now: now}, true},
		{aggregate.SnapshotInfo{Version: 5, LastSnapshotVersion: 3, LastSnapshotAt: now.Add(-time.Minute), Now: now}, false},
		{aggregate.SnapshotInfo{Version: 5, LastSnapshotVersion: 3, LastSnapshotAt: now.Add(-2 * time.Hour), Now: now}, true},
		{aggregate.SnapshotInfo{Version: 3, LastSnapshotVersion: 3, LastSnapshotAt: now.Add(-2 * time.Hour), Now: now}, false},
	} {
		if got := p(tt.info); got != tt.want {
			t.Errorf("EveryDuration(1h)(%+v) = %v", tt.info, got)
		}
	}
}

func TestTemporalLoads(t *testing.T) {
	var clock atomic.Int64
	base := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	mem := newStore(t, memory.WithClock(func() time.Time { return base.Add(time.Duration(clock.Load()) * time.Hour) }))
	repo := newRepo(t, mem, aggregate.WithSnapshots(mem, aggregate.EveryNEvents(2)))
	ctx := t.Context()
	c := repo.New("t")
	_ = c.Create("x") // v1 at 12:00
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 4; i++ { // v2..v5 at 13:00..16:00, adding 1, 2, 3, 4
		clock.Store(i)
		_ = c.Add(i)
		if err := repo.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		version uint64
		want    int64
	}{{1, 0}, {2, 1}, {3, 3}, {4, 6}, {5, 10}} {
		got, err := repo.LoadAt(ctx, "t", tt.version)
		if err != nil || got.N != tt.want || got.Version() != tt.version {
			t.Errorf("LoadAt(%d) = N %d v%d, %v; want N %d", tt.version, got.N, got.Version(), err, tt.want)
		}
	}
	if _, err := repo.LoadAt(ctx, "t", 6); !errors.Is(err, aggregate.ErrNotFound) {
		t.Errorf("LoadAt beyond the head: %v", err)
	}
	for _, tt := range []struct {
		at   time.Time
		want int64
	}{
		{base, 0}, {base.Add(90 * time.Minute), 1}, {base.Add(3 * time.Hour), 6}, {base.Add(100 * time.Hour), 10},
	} {
		got, err := repo.LoadAsOf(ctx, "t", tt.at)
		if err != nil || got.N != tt.want {
			t.Errorf("LoadAsOf(%v) = N %d, %v; want %d", tt.at.Format(time.Kitchen), got.N, err, tt.want)
		}
	}
	if _, err := repo.LoadAsOf(ctx, "t", base.Add(-time.Second)); !errors.Is(err, aggregate.ErrNotFound) {
		t.Errorf("LoadAsOf before the first event: %v", err)
	}
}

func TestLoadFailures(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, mem)
	ctx := t.Context()
	_, _ = mem.Append(ctx, "counter-weird", eventual.NoStream, eventual.EventData{Type: "counter.exploded", Data: []byte(`{}`)})
	if _, err := repo.Load(ctx, "weird"); !errors.Is(err, codec.ErrUnknownType) {
		t.Fatalf("unknown event type: %v", err)
	}
	c := repo.New("cut")
	_ = c.Create("x")
	_ = c.Add(1)
	_ = c.Add(1)
	_ = repo.Save(ctx, c)
	_ = mem.TruncateStream(ctx, "counter-cut", 2)
	if _, err := repo.Load(ctx, "cut"); err == nil {
		t.Fatal("a truncated stream without a snapshot loaded")
	}
	_ = mem.DeleteStream(ctx, "counter-cut", eventual.Any)
	if _, err := repo.Load(ctx, "cut"); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("deleted stream: %v", err)
	}
}

func TestSaveTx(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, mem)
	ctx := t.Context()
	boom := errors.New("boom")
	err := mem.InTx(ctx, func(tx eventual.Tx) error {
		c := repo.New("tx")
		_ = c.Create("x")
		if err := repo.SaveTx(ctx, tx, c); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := repo.Load(ctx, "tx"); !errors.Is(err, aggregate.ErrNotFound) {
		t.Fatalf("rolled back: %v", err)
	}
	err = mem.InTx(ctx, func(tx eventual.Tx) error {
		c := repo.New("tx")
		_ = c.Create("x")
		return repo.SaveTx(ctx, tx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := repo.Load(ctx, "tx"); err != nil || got.Name != "x" {
		t.Fatalf("committed: %+v, %v", got, err)
	}
	// LoadTx sees what the transaction appended before it commits.
	err = mem.InTx(ctx, func(tx eventual.Tx) error {
		c, err := repo.LoadTx(ctx, tx, "tx")
		if err != nil {
			return err
		}
		_ = c.Add(5)
		if err := repo.SaveTx(ctx, tx, c); err != nil {
			return err
		}
		again, err := repo.LoadTx(ctx, tx, "tx")
		if err != nil || again.N != 5 || again.Version() != 2 {
			return fmt.Errorf("LoadTx after SaveTx in one transaction: %+v, %v", again, err)
		}
		if _, err := repo.LoadTx(ctx, tx, "nope"); !errors.Is(err, aggregate.ErrNotFound) {
			return fmt.Errorf("LoadTx of nothing: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewRepositoryRefusesBadArguments(t *testing.T) {
	mem := newStore(t)
	reg := registry(t)
	cases := map[string]func() error{
		"nil store":    func() error { _, err := aggregate.NewRepository(nil, reg, "c", NewCounter); return err },
		"nil registry": func() error { _, err := aggregate.NewRepository(mem, nil, "c", NewCounter); return err },
		"empty kind":   func() error { _, err := aggregate.NewRepository(mem, reg, "", NewCounter); return err },
		"nil constructor": func() error {
			_, err := aggregate.NewRepository[*Counter](mem, reg, "c", nil)
			return err
		},
		"zero attempts": func() error {
			_, err := aggregate.NewRepository(mem, reg, "c", NewCounter, aggregate.WithMaxAttempts(0))
			return err
		},
		"nil snapshot policy": func() error {
			_, err := aggregate.NewRepository(mem, reg, "c", NewCounter, aggregate.WithSnapshots(mem, nil))
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	repo := newRepo(t, mem)
	if _, err := repo.LoadAt(t.Context(), "x", 0); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("LoadAt 0: %v", err)
	}
}

// SaveTx snapshots like Save, but only once the transaction committed.
func TestSaveTxSnapshotsAfterCommit(t *testing.T) {
	mem := newStore(t)
	repo, err := aggregate.NewRepository(mem, registry(t), "counter", NewCounter,
		aggregate.WithSnapshots(mem, aggregate.EveryNEvents(3)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	save := func(id string, fail bool) error {
		return mem.InTx(ctx, func(tx eventual.Tx) error {
			c := repo.New(id)
			_ = c.Create("x")
			_ = c.Add(1)
			_ = c.Add(2)
			if err := repo.SaveTx(ctx, tx, c); err != nil {
				return err
			}
			if fail {
				return errors.New("boom")
			}
			return nil
		})
	}
	if err := save("rolled-back", true); err == nil {
		t.Fatal("want the transaction's error")
	}
	if err := save("committed", false); err != nil {
		t.Fatal(err)
	}
	repo.Close() // waits for the background writes
	if snap, err := mem.LoadSnapshot(ctx, "counter-committed"); err != nil || snap.Version != 3 {
		t.Errorf("committed: %+v, %v", snap, err)
	}
	if snap, err := mem.LoadSnapshot(ctx, "counter-rolled-back"); err == nil {
		t.Errorf("a snapshot of a rolled-back save: %+v", snap)
	}
	// After Close, SaveTx still saves; it just takes no snapshot.
	if err := save("late", false); err != nil {
		t.Fatal(err)
	}
}

// Clone lets repositories WithCache keep counters (all fields are values).
func (c *Counter) Clone() *Counter { cp := *c; return &cp }

// plain is an aggregate that cannot be cloned.
type plain struct{ aggregate.Root }

func (*plain) Apply(any) error { return nil }

func TestCache(t *testing.T) {
	mem := newStore(t)
	counting := &countingStore{Store: mem, SnapshotStore: mem}
	repo := newRepo(t, counting, aggregate.WithCache(10))
	other := newRepo(t, mem) // writes the cache does not see
	ctx := t.Context()
	load := func(wantN int64, wantRead int64) *Counter {
		t.Helper()
		counting.read.Store(0)
		c, err := repo.Load(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if c.N != wantN || counting.read.Load() != wantRead {
			t.Fatalf("loaded N=%d reading %d events, want N=%d reading %d", c.N, counting.read.Load(), wantN, wantRead)
		}
		return c
	}

	c := repo.New("c")
	_ = c.Create("c")
	_ = c.Add(1)
	_ = c.Add(2)
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	load(3, 0) // saved: cached

	// Appended elsewhere: read and applied on the next load.
	if _, err := other.Update(ctx, "c", func(c *Counter) error { return c.Add(10) }); err != nil {
		t.Fatal(err)
	}
	got := load(13, 1)
	if got.Version() != 4 || got.StoredVersion() != 4 {
		t.Fatalf("version %d, stored %d; want 4", got.Version(), got.StoredVersion())
	}

	// What a caller does to its copy stays with it.
	_ = got.Add(100)
	load(13, 0)

	// A transaction that rolls back leaves the cache as it was; one that
	// commits leaves what it saved.
	boom := errors.New("boom")
	change := func(fail error) error {
		return mem.InTx(ctx, func(tx eventual.Tx) error {
			c, err := repo.LoadTx(ctx, tx, "c")
			if err != nil {
				return err
			}
			if err := c.Add(5); err != nil {
				return err
			}
			if err := repo.SaveTx(ctx, tx, c); err != nil {
				return err
			}
			return fail
		})
	}
	if err := change(boom); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	load(13, 0)
	if err := change(nil); err != nil {
		t.Fatal(err)
	}
	load(18, 0)

	// Deleted: the cache does not hide it.
	if err := mem.DeleteStream(ctx, "counter-c", eventual.Any); err != nil {
		t.Fatal(err)
	}
	_, want := other.Load(ctx, "c")
	if _, err := repo.Load(ctx, "c"); want == nil || err == nil || err.Error() != want.Error() {
		t.Fatalf("deleted: %v, want %v", err, want)
	}

	// Bad options.
	if _, err := aggregate.NewRepository(mem, registry(t), "counter", NewCounter, aggregate.WithCache(0)); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("size 0: %v", err)
	}
	newPlain := func(id string) *plain { p := &plain{}; p.SetID(id); return p }
	if _, err := aggregate.NewRepository(mem, registry(t), "plain", newPlain, aggregate.WithCache(1)); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("no Clone: %v", err)
	}
}

// Many goroutines updating a few cached counters at once: every change
// counts once, whichever way the loads went (cache or store).
func TestCacheUnderConcurrentUpdates(t *testing.T) {
	mem := newStore(t)
	repo := newRepo(t, mem, aggregate.WithCache(2), aggregate.WithMaxAttempts(1000))
	ctx := t.Context()
	ids := []string{"a", "b", "c"} // more than the cache holds
	for _, id := range ids {
		c := repo.New(id)
		_ = c.Create(id)
		if err := repo.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				id := ids[(g+i)%len(ids)]
				if i%2 == 0 {
					if _, err := repo.Update(ctx, id, func(c *Counter) error { return c.Add(1) }); err != nil {
						t.Error(err)
					}
					continue
				}
				err := mem.InTx(ctx, func(tx eventual.Tx) error {
					c, err := repo.LoadTx(ctx, tx, id)
					if err != nil {
						return err
					}
					_ = c.Add(1)
					return repo.SaveTx(ctx, tx, c)
				})
				if err != nil && !errors.Is(err, eventual.ErrConflict) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	uncached := newRepo(t, mem)
	var total int64
	for _, id := range ids {
		a, err1 := repo.Load(ctx, id)
		b, err2 := uncached.Load(ctx, id)
		if err1 != nil || err2 != nil || a.N != b.N || a.Version() != b.Version() {
			t.Fatalf("%s: cached N=%d v%d (%v), stored N=%d v%d (%v)", id, a.N, a.Version(), err1, b.N, b.Version(), err2)
		}
		total += b.N
	}
	if total < 16*13 { // the Updates (13 each) cannot fail; transactions may conflict
		t.Fatalf("total %d, want at least %d", total, 16*13)
	}
}
