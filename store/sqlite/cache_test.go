package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// openTemp opens a store in a temporary directory, closed when t ends.
func openTemp(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recorder collects the names a test hook reports; take returns them and
// starts afresh.
type recorder struct {
	mu    sync.Mutex
	names []string
}

func (r *recorder) add(names ...string) {
	r.mu.Lock()
	r.names = append(r.names, names...)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.names
	r.names = nil
	return n
}

// event is an event for the tests of this file.
func event() eventual.EventData { return eventual.EventData{Type: "t", Data: []byte(`{}`)} }

// appendUndone appends an event to stream id in tx and rolls it back to a
// savepoint taken just before.
func appendUndone(ctx context.Context, tx eventual.Tx, id string, expected eventual.ExpectedVersion) error {
	if _, err := tx.Exec(ctx, "SAVEPOINT sp"); err != nil {
		return err
	}
	if _, err := tx.Append(ctx, id, expected, event()); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "ROLLBACK TO sp")
	return err
}

// TestStreamCacheFollowsTransactions: InTx reads stream heads from the
// cache, and the cache follows what InTx commits (and forgets what rolls
// back) before any other append is decided on it.
func TestStreamCacheFollowsTransactions(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var reads recorder
	onStreamRead = func(ids []string) { reads.add(ids...) }
	defer func() { onStreamRead = nil }()
	readsOf := reads.take
	ev := event
	appendTo := func(stream string, expected eventual.ExpectedVersion) error {
		_, err := s.Append(ctx, stream, expected, ev())
		return err
	}
	inTx := func(fn func(tx eventual.Tx) error) error { return s.InTx(ctx, fn) }
	fail := errors.New("roll back")

	if err := appendTo("a", eventual.NoStream); err != nil {
		t.Fatal(err)
	}
	readsOf()

	// Known to the cache: the transaction does not read it again.
	if err := inTx(func(tx eventual.Tx) error {
		_, err := tx.Append(ctx, "a", eventual.Exact(1), ev())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r := readsOf(); len(r) != 0 {
		t.Errorf("InTx read %v from the database; the cache knew it", r)
	}
	// The committed head is cached: the group commit decides on version 2.
	if err := appendTo("a", eventual.Exact(2)); err != nil {
		t.Fatalf("append after a committed transaction: %v", err)
	}

	// Rolled back: the cache must not keep version 4.
	if err := inTx(func(tx eventual.Tx) error {
		if _, err := tx.Append(ctx, "a", eventual.Exact(3), ev()); err != nil {
			return err
		}
		return fail
	}); !errors.Is(err, fail) {
		t.Fatal(err)
	}
	if err := appendTo("a", eventual.Exact(3)); err != nil {
		t.Fatalf("append after a rolled back transaction: %v", err)
	}

	// A conflicting append in a transaction that goes on and commits.
	if err := inTx(func(tx eventual.Tx) error {
		if _, err := tx.Append(ctx, "a", eventual.Exact(4), ev()); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "b", eventual.Exact(7), ev()); !errors.Is(err, eventual.ErrConflict) {
			t.Errorf("append to a missing stream at 7: %v", err)
		}
		_, err := tx.Append(ctx, "a", eventual.Exact(5), ev())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := appendTo("a", eventual.Exact(6)); err != nil {
		t.Fatalf("after a transaction that met a conflict: %v", err)
	}
	if err := appendTo("b", eventual.NoStream); err != nil {
		t.Fatalf("b after the failed append in a transaction: %v", err)
	}

	// Deleted: the next append must not trust the cached head.
	if err := s.DeleteStream(ctx, "a", eventual.Exact(7)); err != nil {
		t.Fatal(err)
	}
	if err := appendTo("a", eventual.Any); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("append to a deleted stream: %v", err)
	}
	if err := inTx(func(tx eventual.Tx) error {
		_, err := tx.Append(ctx, "a", eventual.Any, ev())
		return err
	}); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("append to a deleted stream in a transaction: %v", err)
	}

	// Another connection commits: the cache is emptied, and read again.
	other, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Append(ctx, "b", eventual.Exact(1), ev()); err != nil {
		t.Fatal(err)
	}
	readsOf()
	if err := inTx(func(tx eventual.Tx) error {
		_, err := tx.Append(ctx, "b", eventual.Exact(2), ev())
		return err
	}); err != nil {
		t.Fatalf("after another connection appended: %v", err)
	}
	if r := readsOf(); !slices.Contains(r, "b") {
		t.Errorf("after another connection committed, InTx read %v, want b read again", r)
	}
}

// A transaction's read past a stream's head (a cached aggregate catching
// up) is answered without a query when the head is known, and is read
// when it is not: after another connection appended, and for a deleted
// stream.
func TestTxReadPastTheHeadNeedsNoQuery(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var queried recorder
	onTxStreamQuery = func(id string) { queried.add(id) }
	defer func() { onTxStreamQuery = nil }()
	queries := queried.take
	ev := event
	if _, err := s.Append(ctx, "a", eventual.NoStream, ev(), ev()); err != nil {
		t.Fatal(err)
	}
	read := func(tx eventual.Tx, from uint64) ([]uint64, error) {
		var vs []uint64
		for e, err := range tx.ReadStream(ctx, "a", eventual.ReadStreamOptions{From: from}) {
			if err != nil {
				return vs, err
			}
			vs = append(vs, e.Version)
		}
		return vs, nil
	}
	check := func(name string, fn func(tx eventual.Tx) ([]uint64, error), want []uint64, wantQuery bool) {
		t.Helper()
		var got []uint64
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			var err error
			got, err = fn(tx)
			return err
		})
		q := queries()
		if err != nil || !slices.Equal(got, want) || (len(q) > 0) != wantQuery {
			t.Errorf("%s: versions %v (err %v), queried %v; want %v, a query: %v", name, got, err, q, want, wantQuery)
		}
	}
	check("past the head", func(tx eventual.Tx) ([]uint64, error) { return read(tx, 3) }, nil, false)
	check("from the start", func(tx eventual.Tx) ([]uint64, error) { return read(tx, 1) }, []uint64{1, 2}, true)
	check("after its own append", func(tx eventual.Tx) ([]uint64, error) {
		if _, err := tx.Append(ctx, "a", eventual.Exact(2), ev()); err != nil {
			return nil, err
		}
		return read(tx, 3)
	}, []uint64{3}, false) // answered from the append (TestTxReadsItsOwnAppendsWithoutAQuery)
	check("past the head again", func(tx eventual.Tx) ([]uint64, error) { return read(tx, 4) }, nil, false)

	other, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Append(ctx, "a", eventual.Exact(3), ev()); err != nil {
		t.Fatal(err)
	}
	check("after another connection appended", func(tx eventual.Tx) ([]uint64, error) { return read(tx, 4) }, []uint64{4}, true)

	if err := s.DeleteStream(ctx, "a", eventual.Any); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		_, err := read(tx, 9)
		return err
	})
	if !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Errorf("deleted: %v, want ErrStreamDeleted", err)
	}
}

// BenchmarkTxAppends is an inbox batch's shape: one transaction, an
// append to a stream of its own per message, 256 messages.
func BenchmarkTxAppends(b *testing.B) {
	ev := eventual.EventData{Type: "t", Data: []byte(`{"n":1}`)}
	benchTxAppends(b, func(ctx context.Context, tx eventual.Tx, n int) error {
		_, err := tx.Append(ctx, "s-"+strconv.Itoa(n), eventual.NoStream, ev)
		return err
	})
}

// BenchmarkTxAppendsWithIDs appends as an ingesting inbox does: events
// with their own IDs, expecting any version, to streams of a few events
// each; each append looks its event ID up (a retry returns the stored
// result).
func BenchmarkTxAppendsWithIDs(b *testing.B) {
	benchTxAppends(b, func(ctx context.Context, tx eventual.Tx, n int) error {
		ev := eventual.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t", Data: []byte(`{"n":1}`)}
		_, err := tx.Append(ctx, "s-"+strconv.Itoa(n/7), eventual.Any, ev)
		return err
	})
}

// benchTxAppends runs transactions of 256 appends, the nth made by
// appendOne, and reports appends/s.
func benchTxAppends(b *testing.B, appendOne func(ctx context.Context, tx eventual.Tx, n int) error) {
	ctx := context.Background()
	s := openTemp(b, WithSynchronous(SyncNormal))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			for range 256 {
				n++
				if err := appendOne(ctx, tx, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "appends/s")
}

// Appends in a transaction are written together before its next statement
// or its commit. If writing them fails — here a stream cache made to lie,
// so that an insert meets a stored version — the appends had already
// returned success: the transaction must fail as a whole, not commit
// without them.
func TestTxWritesAppendsBeforeItsNextStatementOrFails(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.Append(ctx, "z", eventual.NoStream, event()); err != nil {
		t.Fatal(err)
	}
	count := func(tx eventual.Tx) (n int) {
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := s.InTx(ctx, func(tx eventual.Tx) error {
		for i := range 100 {
			if _, err := tx.Append(ctx, "many-"+strconv.Itoa(i), eventual.NoStream, event()); err != nil {
				return err
			}
		}
		if n := count(tx); n != 101 {
			t.Errorf("the transaction's next statement counts %d events, want 101", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Append(ctx, "fine", eventual.NoStream, event()); err != nil {
			return err
		}
		st, _ := s.cache.get("z")
		s.cache.set("z", cachedStream{no: st.no, version: 0}) // a lie: z is at 1
		if _, err := tx.Append(ctx, "z", eventual.Any, event()); err != nil {
			return err // planned as version 1: accepted, not written yet
		}
		return nil // the commit writes them, and meets z's version 1
	})
	if err == nil {
		t.Fatal("the transaction committed although its appends' rows could not be written")
	}
	if info, err := s.StreamInfo(ctx, "fine"); !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("stream fine: %+v, %v; want it rolled back with the rest", info, err)
	}
	if _, err := s.Append(ctx, "z", eventual.Exact(1), event()); err != nil {
		t.Fatalf("z after the failed transaction: %v", err)
	}
}

// A transaction that knows a stream (its own appends, the stream cache)
// reads its events with one query, not looking the stream up first; one
// that does not know it (after a savepoint rollback, or a stream never
// seen) looks it up.
func TestTxReadOfAKnownStreamSkipsTheLookup(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var looked recorder
	onStreamInfoQuery = func(id string) { looked.add(id) }
	defer func() { onStreamInfoQuery = nil }()
	if _, err := s.Append(ctx, "a", eventual.NoStream, event(), event()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "b", eventual.NoStream, event()); err != nil {
		t.Fatal(err)
	}
	versions := func(tx eventual.Tx, id string, from uint64) []uint64 {
		t.Helper()
		var vs []uint64
		for e, err := range tx.ReadStream(ctx, id, eventual.ReadStreamOptions{From: from}) {
			if err != nil {
				t.Fatalf("read %s: %v", id, err)
			}
			vs = append(vs, e.Version)
		}
		return vs
	}
	err := s.InTx(ctx, func(tx eventual.Tx) error {
		if got := versions(tx, "a", 2); !slices.Equal(got, []uint64{2}) {
			t.Errorf("cached stream from 2: %v, want [2]", got)
		}
		if _, err := tx.Append(ctx, "c", eventual.NoStream, event(), event()); err != nil {
			return err
		}
		if got := versions(tx, "c", 1); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("stream created in the transaction: %v, want [1 2]", got)
		}
		if l := looked.take(); len(l) != 0 {
			t.Errorf("looked up %v, want no lookup of known streams", l)
		}
		if err := appendUndone(ctx, tx, "a", eventual.Exact(2)); err != nil {
			return err
		}
		if got := versions(tx, "a", 1); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("after the rollback: %v, want [1 2]", got)
		}
		if l := looked.take(); !slices.Equal(l, []string{"a"}) {
			t.Errorf("after the rollback looked up %v, want [a]", l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cache.clear()
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if got := versions(tx, "b", 1); !slices.Equal(got, []uint64{1}) {
			t.Errorf("stream not cached: %v, want [1]", got)
		}
		return nil
	})
	if l := looked.take(); err != nil || !slices.Equal(l, []string{"b"}) {
		t.Errorf("stream not cached: looked up %v (%v), want [b]", l, err)
	}
}

// A transaction's read of events it appended itself (a cached aggregate
// one save behind, loaded again) is answered from them, without a query,
// and reads as they do once committed; after a savepoint rollback, or
// from a version it did not append, it queries.
func TestTxReadsItsOwnAppendsWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var queried recorder
	onTxStreamQuery = func(id string) { queried.add(id) }
	defer func() { onTxStreamQuery = nil }()
	if _, err := s.Append(ctx, "a", eventual.NoStream, event()); err != nil {
		t.Fatal(err)
	}
	withMeta := func() eventual.EventData {
		e := event()
		e.Metadata = eventual.Metadata{CorrelationID: "c", Extra: map[string]string{"k": "v"}}
		return e
	}
	read := func(tx eventual.Tx, id string, from uint64) []eventual.RecordedEvent {
		t.Helper()
		got, err := eventual.Collect(tx.ReadStream(ctx, id, eventual.ReadStreamOptions{From: from}))
		if err != nil {
			t.Fatalf("read %s from %d: %v", id, from, err)
		}
		return got
	}
	var inTx []eventual.RecordedEvent
	err := s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Append(ctx, "a", eventual.Exact(1), withMeta(), event()); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "n", eventual.NoStream, event()); err != nil {
			return err
		}
		inTx = read(tx, "a", 2)
		if got := read(tx, "n", 0); len(got) != 1 || got[0].Version != 1 {
			t.Errorf("new stream from the start: %+v", got)
		}
		if q := queried.take(); len(q) != 0 {
			t.Errorf("own appends read with queries of %v", q)
		}
		if got := read(tx, "a", 1); len(got) != 3 {
			t.Errorf("from a version before the transaction: %d events, want 3", len(got))
		}
		if q := queried.take(); !slices.Equal(q, []string{"a"}) {
			t.Errorf("from a version before the transaction: queried %v, want [a]", q)
		}
		if err := appendUndone(ctx, tx, "a", eventual.Exact(3)); err != nil {
			return err
		}
		if got := read(tx, "a", 2); len(got) != 2 || got[1].Version != 3 {
			t.Errorf("after the rollback: %+v, want versions 2 and 3", got)
		}
		if q := queried.take(); !slices.Equal(q, []string{"a"}) {
			t.Errorf("after the rollback: queried %v, want [a]", q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := eventual.Collect(s.ReadStream(ctx, "a", eventual.ReadStreamOptions{From: 2}))
	if err != nil || !reflect.DeepEqual(inTx, stored) {
		t.Errorf("read in the transaction:\n%+v\nonce committed:\n%+v (%v)", inTx, stored, err)
	}
}
