package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

func testDeleteStream(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	mustAppend(t, s, "doomed", eventual.NoStream, evs("e", 3)...)
	mustAppend(t, s, "bystander", eventual.NoStream, ev("e", 1))

	if err := s.DeleteStream(ctx, "never", eventual.Any); !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("delete of a missing stream: %v, want ErrStreamNotFound", err)
	}
	var ce *eventual.ConflictError
	if err := s.DeleteStream(ctx, "doomed", eventual.Exact(2)); !errors.As(err, &ce) || ce.Actual != 3 {
		t.Fatalf("delete with a stale version: %v, want a conflict at version 3", err)
	}
	if err := s.DeleteStream(ctx, "doomed", eventual.Exact(3)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	info, err := s.StreamInfo(ctx, "doomed")
	if err != nil || !info.Deleted || info.Version != 3 {
		t.Fatalf("StreamInfo after delete = %+v, %v; want deleted at version 3", info, err)
	}
	if _, err := s.Append(ctx, "doomed", eventual.Any, ev("e", 4)); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("append to a deleted stream: %v, want ErrStreamDeleted", err)
	}
	if _, err := s.AppendMulti(ctx,
		eventual.AppendRequest{StreamID: "fresh", Events: evs("e", 1)},
		eventual.AppendRequest{StreamID: "doomed", Events: evs("e", 1)},
	); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("multi-append touching a deleted stream: %v, want ErrStreamDeleted", err)
	}
	if _, err := s.StreamInfo(ctx, "fresh"); !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("refused multi-append created a stream: %v", err)
	}
	if _, err := eventual.Collect(s.ReadStream(ctx, "doomed", eventual.ReadStreamOptions{})); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("read of a deleted stream: %v, want ErrStreamDeleted", err)
	}
	if err := s.TruncateStream(ctx, "doomed", 2); !errors.Is(err, eventual.ErrStreamDeleted) {
		t.Fatalf("truncate of a deleted stream: %v, want ErrStreamDeleted", err)
	}
	if err := s.DeleteStream(ctx, "doomed", eventual.Exact(1)); err != nil {
		t.Fatalf("deleting a deleted stream again: %v, want nil", err)
	}
	if n := len(readAll(t, s, eventual.ReadAllOptions{Filter: eventual.Filter{StreamPrefix: "doomed"}})); n != 3 {
		t.Fatalf("the global log holds %d events of the deleted stream, want all 3", n)
	}
	mustAppend(t, s, "bystander", eventual.Exact(1), ev("e", 2))
}

func testTruncateStream(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	mustAppend(t, s, "trunc", eventual.NoStream, evs("e", 10)...)
	mustAppend(t, s, "other", eventual.NoStream, evs("o", 2)...)

	if err := s.TruncateStream(ctx, "never", 2); !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("truncate of a missing stream: %v, want ErrStreamNotFound", err)
	}
	if err := s.TruncateStream(ctx, "trunc", 4); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	if got := versions(readStream(t, s, "trunc", eventual.ReadStreamOptions{})); !equalU64(got, seq(4, 10)) {
		t.Fatalf("versions after truncation = %v, want 4..10", got)
	}
	if got := versions(readStream(t, s, "trunc", eventual.ReadStreamOptions{Direction: eventual.Backward})); !equalU64(got, reverse(seq(4, 10))) {
		t.Fatalf("versions backward after truncation = %v, want 10..4", got)
	}
	if info, err := s.StreamInfo(ctx, "trunc"); err != nil || info.FirstVersion != 4 || info.Version != 10 {
		t.Fatalf("StreamInfo = %+v, %v; want first 4, version 10", info, err)
	}
	if got := versions(readAll(t, s, eventual.ReadAllOptions{Filter: eventual.Filter{StreamPrefix: "trunc"}})); !equalU64(got, seq(4, 10)) {
		t.Fatalf("global log holds versions %v of the stream, want 4..10", got)
	}
	sub := subscribe(t, s, eventual.SubscribeOptions{})
	if got := sub.take(t, 9); got[0].Version != 4 {
		t.Fatalf("subscription starts with version %d, want 4", got[0].Version)
	}

	// Versions go on after a truncation.
	if res := mustAppend(t, s, "trunc", eventual.Exact(10), ev("e", 11)); res.LastVersion != 11 {
		t.Fatalf("append after truncation landed at %d, want 11", res.LastVersion)
	}
	if err := s.TruncateStream(ctx, "trunc", 2); err != nil {
		t.Fatalf("truncating less than before: %v, want nil", err)
	}
	if err := s.TruncateStream(ctx, "trunc", 13); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Fatalf("truncating beyond the next version: %v, want ErrInvalidArgument", err)
	}
	if err := s.TruncateStream(ctx, "trunc", 12); err != nil {
		t.Fatalf("truncating everything: %v", err)
	}
	if got := readStream(t, s, "trunc", eventual.ReadStreamOptions{}); len(got) != 0 {
		t.Fatalf("fully truncated stream reads %d events", len(got))
	}
	if info, err := s.StreamInfo(ctx, "trunc"); err != nil || info.FirstVersion != 12 || info.Version != 11 {
		t.Fatalf("StreamInfo = %+v, %v; want first 12, version 11", info, err)
	}
	mustAppend(t, s, "trunc", eventual.Exact(11), ev("e", 12))
	if got := versions(readStream(t, s, "trunc", eventual.ReadStreamOptions{Direction: eventual.Backward})); !equalU64(got, []uint64{12}) {
		t.Fatalf("versions = %v, want [12]", got)
	}
	if n := len(readStream(t, s, "other", eventual.ReadStreamOptions{})); n != 2 {
		t.Fatalf("truncation touched another stream: it has %d events", n)
	}
}

func testTransactions(t *testing.T, b Backend) {
	s, ok := b.open(t).(eventual.TxStore)
	if !ok {
		t.Log("the backend is not an eventual.TxStore: nothing to test")
		return
	}
	ctx := testContext(t)
	sub := subscribe(t, s, eventual.SubscribeOptions{})

	t.Run("commit", func(t *testing.T) {
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "tx-a", eventual.NoStream, evs("a", 2)...); err != nil {
				return err
			}
			res, err := tx.AppendMulti(ctx,
				eventual.AppendRequest{StreamID: "tx-a", Expected: eventual.Exact(2), Events: evs("a", 1)},
				eventual.AppendRequest{StreamID: "tx-b", Expected: eventual.NoStream, Events: evs("b", 1)})
			if err != nil {
				return err
			}
			if res[0].LastVersion != 3 {
				return fmt.Errorf("second append in the tx landed at %d, want 3", res[0].LastVersion)
			}
			// The transaction sees its own writes; others do not.
			if info, err := tx.StreamInfo(ctx, "tx-a"); err != nil || info.Version != 3 {
				return fmt.Errorf("tx StreamInfo = %+v, %v; want version 3", info, err)
			}
			if got, err := eventual.Collect(tx.ReadStream(ctx, "tx-a", eventual.ReadStreamOptions{})); err != nil || len(got) != 3 {
				return fmt.Errorf("tx ReadStream = %d events, %v; want 3", len(got), err)
			}
			if _, err := s.StreamInfo(ctx, "tx-a"); !errors.Is(err, eventual.ErrStreamNotFound) {
				return fmt.Errorf("an uncommitted stream is visible outside the tx: %v", err)
			}
			sub.quiet(t)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := sub.take(t, 4); got[3].StreamID != "tx-b" {
			t.Fatalf("after commit the subscription got %q last, want tx-b", got[3].StreamID)
		}
		if info, err := s.StreamInfo(ctx, "tx-a"); err != nil || info.Version != 3 {
			t.Fatalf("StreamInfo after commit = %+v, %v", info, err)
		}
	})

	// A transaction whose fn fails, or whose context ends before the
	// commit, writes nothing; the store goes on normally, and a rolled
	// back stream can be created again.
	boom := errors.New("boom")
	for _, c := range []struct {
		name, stream string
		end          func(cancel context.CancelFunc) error // how fn ends
		want         error
	}{
		{"rollback", "tx-c", func(context.CancelFunc) error { return boom }, boom},
		{"context cancelled inside", "tx-cancel", func(cancel context.CancelFunc) error { cancel(); return nil }, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			headBefore := head(t, s)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			err := s.InTx(cctx, func(tx eventual.Tx) error {
				if _, err := tx.Append(cctx, c.stream, eventual.NoStream, evs("c", 2)...); err != nil {
					return err
				}
				return c.end(cancel)
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("InTx = %v, want %v", err, c.want)
			}
			if _, err := s.StreamInfo(ctx, c.stream); !errors.Is(err, eventual.ErrStreamNotFound) {
				t.Fatalf("rolled back stream exists: %v", err)
			}
			if h := head(t, s); h != headBefore {
				t.Fatalf("rollback moved the head from %d to %d", headBefore, h)
			}
			sub.quiet(t)
			mustAppend(t, s, c.stream, eventual.NoStream, ev("c", 1))
			sub.take(t, 1)
		})
	}

	t.Run("store and transaction on one stream", func(t *testing.T) {
		// The store appends (and may remember the stream's version), a
		// transaction appends and commits, one appends and rolls back: the
		// store must see the first and not the second.
		mustAppend(t, s, "tx-mixed", eventual.NoStream, ev("m", 1))
		mustAppend(t, s, "tx-mixed", eventual.Exact(1), ev("m", 2))
		if err := s.InTx(ctx, func(tx eventual.Tx) error {
			_, err := tx.Append(ctx, "tx-mixed", eventual.Exact(2), ev("m", 3))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "tx-mixed", eventual.Exact(2), ev("stale", 0)); !errors.Is(err, eventual.ErrConflict) {
			t.Fatalf("append with the version before the transaction: %v, want ErrConflict", err)
		}
		mustAppend(t, s, "tx-mixed", eventual.Exact(3), ev("m", 4))
		boom := errors.New("boom")
		if err := s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "tx-mixed", eventual.Exact(4), ev("m", 5)); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		mustAppend(t, s, "tx-mixed", eventual.Exact(4), ev("m", 5))
		sub.take(t, 5)
	})

	t.Run("after commit", func(t *testing.T) {
		var ran []string
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "first") })
			tx.AfterCommit(func() {
				// The writer is free again: the store takes appends.
				if _, err := s.Append(ctx, "tx-after", eventual.Any, ev("after", 1)); err != nil {
					t.Errorf("append in an after-commit function: %v", err)
				}
				ran = append(ran, "second")
			})
			_, err := tx.Append(ctx, "tx-after", eventual.Any, ev("in", 1))
			return err
		})
		if err != nil || fmt.Sprint(ran) != "[first second]" {
			t.Fatalf("InTx = %v, after-commit functions ran %v", err, ran)
		}
		ran = nil
		_ = s.InTx(ctx, func(tx eventual.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "rolled back") })
			return errors.New("boom")
		})
		if len(ran) != 0 {
			t.Fatalf("after a rollback: %v ran", ran)
		}
		sub.take(t, 2)
	})

	t.Run("lock the log", func(t *testing.T) {
		// While a transaction holds the log's lock, appends wait for its
		// end.
		done := make(chan error, 1)
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if err := tx.LockLog(ctx); err != nil {
				return err
			}
			if err := tx.LockLog(ctx); err != nil { // again: no-op
				return err
			}
			go func() {
				_, err := s.Append(ctx, "tx-locked", eventual.Any, ev("l", 1))
				done <- err
			}()
			select {
			case err := <-done:
				return fmt.Errorf("an append went through while the log was locked (err %v)", err)
			case <-time.After(100 * time.Millisecond):
			}
			_, err := tx.Append(ctx, "tx-locked-inside", eventual.NoStream, ev("l", 1))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the append waiting for the lock: %v", err)
		}
		sub.take(t, 2)
	})

	t.Run("many appends in one transaction", func(t *testing.T) {
		// As an inbox batch does: one Append per message, new and known
		// streams, an event appended twice (written once), a conflict
		// that the transaction survives, and reads of its own writes.
		dup := withID(ev("dup", 1))
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			for i := range 30 {
				stream := fmt.Sprintf("tx-many-%d", i%4)
				if _, err := tx.Append(ctx, stream, eventual.Any, ev("many", i)); err != nil {
					return fmt.Errorf("append %d: %w", i, err)
				}
			}
			for range 2 {
				if _, err := tx.Append(ctx, "tx-many-dup", eventual.Any, dup); err != nil {
					return fmt.Errorf("append the same event: %w", err)
				}
			}
			if _, err := tx.Append(ctx, "tx-many-0", eventual.Exact(3), ev("stale", 0)); !errors.Is(err, eventual.ErrConflict) {
				return fmt.Errorf("stale append: %v, want ErrConflict", err)
			}
			res, err := tx.Append(ctx, "tx-many-0", eventual.Exact(8), ev("many", 30))
			if err != nil || res.LastVersion != 9 {
				return fmt.Errorf("append after a conflict: %+v, %v", res, err)
			}
			var n int
			for _, err := range tx.ReadStream(ctx, "tx-many-1", eventual.ReadStreamOptions{}) {
				if err != nil {
					return err
				}
				n++
			}
			if n != 8 {
				return fmt.Errorf("read %d events of tx-many-1 in the transaction, want 8", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for stream, want := range map[string]int{"tx-many-0": 9, "tx-many-1": 8, "tx-many-2": 7, "tx-many-3": 7, "tx-many-dup": 1} {
			if got := len(readStream(t, s, stream, eventual.ReadStreamOptions{})); got != want {
				t.Errorf("%s: %d events, want %d", stream, got, want)
			}
		}
		sub.take(t, 32)
	})

	t.Run("conflict inside", func(t *testing.T) {
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			_, err := tx.Append(ctx, "tx-a", eventual.Exact(1), ev("a", 9))
			return err
		})
		if !errors.Is(err, eventual.ErrConflict) {
			t.Fatalf("InTx = %v, want ErrConflict", err)
		}
	})

	t.Run("sql", func(t *testing.T) {
		if refusesSQL(t, s, "SELECT 1") {
			return
		}
		table := fmt.Sprintf("storetest_rows_%d", rand.Uint64()%1e12)
		exec := func(tx eventual.Tx, q string, args ...any) {
			t.Helper()
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() {
			_ = s.InTx(context.Background(), func(tx eventual.Tx) error {
				_, err := tx.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
				return err
			})
		})
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			exec(tx, "CREATE TABLE "+table+" (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
			exec(tx, "INSERT INTO "+table+" (id, n) VALUES ($1, $2)", "kept", 1)
			_, err := tx.Append(ctx, "tx-sql", eventual.NoStream, ev("sql", 1))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err = s.InTx(ctx, func(tx eventual.Tx) error {
			exec(tx, "INSERT INTO "+table+" (id, n) VALUES ($1, $2)", "lost", 2)
			if _, err := tx.Append(ctx, "tx-sql", eventual.Exact(1), ev("sql", 2)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		err = s.InTx(ctx, func(tx eventual.Tx) error {
			var n int64
			// Placeholders out of order and used twice.
			if err := tx.QueryRow(ctx, "SELECT n FROM "+table+" WHERE n = $2 AND id = $1 AND $2 = n", "kept", 1).Scan(&n); err != nil || n != 1 {
				return fmt.Errorf("committed row: %d, %v", n, err)
			}
			if err := tx.QueryRow(ctx, "SELECT n FROM "+table+" WHERE id = $1", "lost").Scan(&n); !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("rolled back row: %v, want sql.ErrNoRows", err)
			}
			rows, err := tx.Query(ctx, "SELECT id FROM "+table+" ORDER BY id")
			if err != nil {
				return err
			}
			defer rows.Close()
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if fmt.Sprint(ids) != "[kept]" {
				return fmt.Errorf("rows = %v, want [kept]", ids)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if q, ok := s.(eventual.Querier); ok {
			// Read outside any transaction: committed rows only.
			var n int64
			if err := q.QueryRow(ctx, "SELECT n FROM "+table+" WHERE id = $1 AND n = $2", "kept", 1).Scan(&n); err != nil || n != 1 {
				t.Fatalf("Querier.QueryRow: %d, %v", n, err)
			}
			if err := q.QueryRow(ctx, "SELECT n FROM "+table+" WHERE id = $1", "lost").Scan(&n); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("Querier.QueryRow of a rolled back row: %v, want sql.ErrNoRows", err)
			}
			rows, err := q.Query(ctx, "SELECT id FROM "+table+" WHERE n >= $1", 0)
			if err != nil {
				t.Fatal(err)
			}
			count := 0
			for rows.Next() {
				count++
			}
			if err := rows.Close(); err != nil || count != 1 {
				t.Fatalf("Querier.Query: %d rows, %v", count, err)
			}
		}
		// A failing statement fails the transaction (on PostgreSQL it
		// aborts it): nothing of it is kept.
		err = s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "tx-sql", eventual.Exact(1), ev("sql", 3)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "THIS IS NOT SQL")
			return err
		})
		if err == nil {
			t.Fatal("bad SQL returned no error")
		}
		if info, err := s.StreamInfo(ctx, "tx-sql"); err != nil || info.Version != 1 {
			t.Fatalf("tx-sql = %+v, %v; want version 1", info, err)
		}
	})

	t.Run("appends undone by a savepoint rollback", func(t *testing.T) {
		// The inbox and the saga isolate each message in a savepoint: what
		// a failed handler appended is undone, and the transaction goes on
		// from what is really stored.
		if refusesSQL(t, s, "SAVEPOINT storetest") { // no savepoints without SQL
			return
		}
		exec := func(tx eventual.Tx, q string) error {
			_, err := tx.Exec(ctx, q)
			return err
		}
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "tx-sp-x", eventual.NoStream, ev("sp", 1)); err != nil {
				return err
			}
			if err := exec(tx, "SAVEPOINT storetest"); err != nil {
				return err
			}
			if _, err := tx.Append(ctx, "tx-sp-x", eventual.Exact(1), ev("sp", 2)); err != nil {
				return err
			}
			if _, err := tx.Append(ctx, "tx-sp-y", eventual.NoStream, ev("sp", 3)); err != nil {
				return err
			}
			if err := exec(tx, "ROLLBACK TO SAVEPOINT storetest"); err != nil {
				return err
			}
			if err := exec(tx, "RELEASE SAVEPOINT storetest"); err != nil {
				return err
			}
			r, err := tx.Append(ctx, "tx-sp-x", eventual.Any, ev("sp", 4))
			if err == nil && r.LastVersion != 2 {
				t.Errorf("after the rollback to the savepoint, the stream continued at %d, want 2", r.LastVersion)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := versions(mustCollect(t, s.ReadStream(ctx, "tx-sp-x", eventual.ReadStreamOptions{}))); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("versions %v, want [1 2]", got)
		}
		if _, err := s.Append(ctx, "tx-sp-x", eventual.Exact(2), ev("sp", 5)); err != nil {
			t.Errorf("append after the transaction: %v", err)
		}
		if _, err := s.Append(ctx, "tx-sp-y", eventual.NoStream, ev("sp", 6)); err != nil {
			t.Errorf("the stream created in the undone part: %v", err)
		}
		all := mustCollect(t, s.ReadAll(ctx, eventual.ReadAllOptions{}))
		if p := positions(all); !slices.IsSorted(p) {
			t.Errorf("positions out of order: %v", p)
		}
	})

	t.Run("appends retried in a transaction", func(t *testing.T) {
		// An inbox that ingests events appends them with their own IDs,
		// expecting any version; an aggregate with its own IDs too,
		// expecting no stream, then exact versions. A retry, in a later
		// transaction, returns what the first stored.
		one, two := []eventual.EventData{withID(ev("r", 1))}, []eventual.EventData{withID(ev("r", 2)), withID(ev("r", 3))}
		for _, c := range []struct {
			stream   string
			expected [2]eventual.ExpectedVersion
		}{
			{"tx-retry", [2]eventual.ExpectedVersion{eventual.Any, eventual.Any}},
			{"tx-retry-exact", [2]eventual.ExpectedVersion{eventual.NoStream, eventual.Exact(1)}},
		} {
			evs := [][]eventual.EventData{one, two}
			if c.stream != "tx-retry" {
				evs = [][]eventual.EventData{{withID(ev("r", 1))}, {withID(ev("r", 2)), withID(ev("r", 3))}}
			}
			var first []eventual.AppendResult
			for attempt := range 2 {
				var got []eventual.AppendResult
				err := s.InTx(ctx, func(tx eventual.Tx) error {
					for i, e := range evs {
						r, err := tx.Append(ctx, c.stream, c.expected[i], e...)
						if err != nil {
							return err
						}
						got = append(got, r)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s, attempt %d: %v", c.stream, attempt+1, err)
				}
				if attempt == 0 {
					first = got
				} else if !slices.Equal(got, first) {
					t.Fatalf("%s: the retry returned %+v, want the first results %+v", c.stream, got, first)
				}
			}
			if got := versions(mustCollect(t, s.ReadStream(ctx, c.stream, eventual.ReadStreamOptions{}))); !slices.Equal(got, []uint64{1, 2, 3}) {
				t.Errorf("%s: versions %v, want [1 2 3]", c.stream, got)
			}
		}
	})

	t.Run("every form of rollback undoes after-commit functions and appends", func(t *testing.T) {
		// A caller's own rollback statements, however written, must undo
		// what was registered and planned since, as the database undoes
		// what was written: the functions must not run, and the
		// transaction must go on from what is really stored.
		if refusesSQL(t, s, "SAVEPOINT storetest") {
			return
		}
		var dialect eventual.Dialect
		_ = s.InTx(ctx, func(tx eventual.Tx) error { dialect = tx.Dialect(); return nil })
		type form struct {
			name          string
			before, after []string // savepoints set before the effect; statements after it
			appends       bool     // the transaction goes on appending after it
		}
		forms := []form{
			{"comment before", []string{"SAVEPOINT handler"}, []string{"/* the handler failed */ ROLLBACK TO SAVEPOINT handler", "RELEASE SAVEPOINT handler"}, true},
			{"line comment before", []string{"SAVEPOINT handler"}, []string{"-- the handler failed\nROLLBACK TO SAVEPOINT handler"}, true},
		}
		if dialect == eventual.DialectPostgres {
			forms = append(forms,
				// "A" and a are two savepoints there: rolling back to "A"
				// undoes what followed it.
				form{"quoted name", []string{`SAVEPOINT "A"`}, []string{`SAVEPOINT a`, `ROLLBACK TO SAVEPOINT "A"`, `RELEASE SAVEPOINT "A"`}, true},
				form{"rollback and chain", nil, []string{"ROLLBACK AND CHAIN"}, false},
				form{"abort", nil, []string{"ABORT"}, false}, // a synonym of ROLLBACK
			)
		}
		exec := func(tx eventual.Tx, qs ...string) error {
			for _, q := range qs {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}
		if err := s.InTx(ctx, func(tx eventual.Tx) error {
			return exec(tx, "CREATE TABLE IF NOT EXISTS storetest_effects (id TEXT)")
		}); err != nil {
			t.Fatal(err)
		}
		for i, f := range forms {
			t.Run(f.name, func(t *testing.T) {
				stream := fmt.Sprintf("tx-forms-%d", i)
				ran := false
				var accepted eventual.AppendResult
				err := s.InTx(ctx, func(tx eventual.Tx) error {
					if err := exec(tx, append([]string{"DELETE FROM storetest_effects"}, f.before...)...); err != nil {
						return err
					}
					if err := exec(tx, "INSERT INTO storetest_effects (id) VALUES ('x')"); err != nil {
						return err
					}
					if f.appends {
						if _, err := tx.Append(ctx, stream, eventual.NoStream, ev("undone", 1)); err != nil {
							return err
						}
					}
					tx.AfterCommit(func() { ran = true })
					if err := exec(tx, f.after...); err != nil {
						return err
					}
					if f.appends {
						// The stream does not exist any more: Exact(1) must be refused.
						if r, err := tx.Append(ctx, stream, eventual.Exact(1), ev("on the undone", 2)); err == nil {
							accepted = r
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				n := 0 // without a Querier, the database undid the row
				if q, ok := s.(eventual.Querier); ok {
					if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM storetest_effects").Scan(&n); err != nil {
						t.Fatal(err)
					}
				}
				if n == 0 && ran {
					t.Errorf("%q undid the row, yet the function registered with it ran after the commit", f.after)
				}
				if accepted.LastVersion != 0 {
					t.Errorf("Exact(1) on a stream the rollback undid was accepted (%+v)", accepted)
				}
			})
		}
	})

	t.Run("after-commit functions undone by a savepoint rollback", func(t *testing.T) {
		// What a failed handler registered to run after the commit (the
		// outbox: "publish these rows") must go with what it wrote, or the
		// commit announces rows that were never committed.
		if refusesSQL(t, s, "SAVEPOINT storetest") {
			return
		}
		var ran []string
		note := func(tx eventual.Tx, what string) { tx.AfterCommit(func() { ran = append(ran, what) }) }
		exec := func(tx eventual.Tx, q string) error {
			_, err := tx.Exec(ctx, q)
			return err
		}
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			note(tx, "before")
			for _, q := range []string{"SAVEPOINT outer_sp", "SAVEPOINT inner_sp"} {
				if err := exec(tx, q); err != nil {
					return err
				}
				note(tx, "in "+q)
			}
			// Undo both, keep outer_sp; then what follows it counts again.
			if err := exec(tx, "ROLLBACK TO SAVEPOINT outer_sp"); err != nil {
				return err
			}
			note(tx, "after the rollback")
			if err := exec(tx, "RELEASE SAVEPOINT outer_sp"); err != nil {
				return err
			}
			if err := exec(tx, "SAVEPOINT kept"); err != nil {
				return err
			}
			note(tx, "in a released savepoint")
			return exec(tx, "RELEASE SAVEPOINT kept")
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"before", "after the rollback", "in a released savepoint"}
		if !slices.Equal(ran, want) {
			t.Errorf("ran after commit: %q, want %q", ran, want)
		}
	})
}

func testClose(t *testing.T, b Backend) {
	s := b.New(t, Options{MaxEventSize: DefaultMaxEventSize})
	ctx := testContext(t)
	mustAppend(t, s, "c", eventual.NoStream, ev("e", 1))
	ended := make(chan error, 1)
	go func() {
		var last error
		for _, err := range s.Subscribe(ctx, eventual.SubscribeOptions{}) {
			last = err
		}
		ended <- last
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "c", eventual.Any, ev("e", 2)); !errors.Is(err, eventual.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{})); !errors.Is(err, eventual.ErrClosed) {
		t.Fatalf("ReadAll after Close: %v, want ErrClosed", err)
	}
	if _, err := s.StreamInfo(ctx, "c"); !errors.Is(err, eventual.ErrClosed) {
		t.Fatalf("StreamInfo after Close: %v, want ErrClosed", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, eventual.ErrClosed) {
			t.Fatalf("subscription ended with %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end when the store closed")
	}
}

// refusesSQL reports whether s is the memory store, which runs no SQL,
// after checking that it refuses query with eventual.ErrUnsupported.
func refusesSQL(t *testing.T, s eventual.TxStore, query string) bool {
	t.Helper()
	ctx := testContext(t)
	var dialect eventual.Dialect
	_ = s.InTx(ctx, func(tx eventual.Tx) error { dialect = tx.Dialect(); return nil })
	if dialect != eventual.DialectMemory {
		return false
	}
	err := s.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, query)
		return err
	})
	if !errors.Is(err, eventual.ErrUnsupported) {
		t.Fatalf("%s on the memory store: %v, want ErrUnsupported", query, err)
	}
	return true
}
