package postgres_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual"
)

// TestFastPathCatchesStaleKnownHeads makes a store's cached head stale in
// each way another store on the same schema can, and checks that the next
// append through the first store is decided on the real head. append_batch
// checks cached heads cheaply (streams row and the version index, not the
// last event); each case here is one that check must still catch.
func TestFastPathCatchesStaleKnownHeads(t *testing.T) {
	schema := freshSchema(t)
	a, b := open(t, schema), open(t, schema)
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx := t.Context()
	ev := func(typ string) eventual.EventData { return eventual.EventData{Type: typ, Data: []byte(`{}`)} }
	appendN := func(s eventual.Store, stream string, expected eventual.ExpectedVersion, n int) {
		t.Helper()
		evs := make([]eventual.EventData, n)
		for i := range evs {
			evs[i] = ev("e")
		}
		if _, err := s.Append(ctx, stream, expected, evs...); err != nil {
			t.Fatalf("append %d to %s: %v", n, stream, err)
		}
	}
	versions := func(stream string) []uint64 {
		t.Helper()
		var out []uint64
		for e, err := range b.ReadStream(ctx, stream, eventual.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Version)
		}
		return out
	}

	t.Run("appended elsewhere", func(t *testing.T) {
		appendN(a, "appended", eventual.NoStream, 3) // a knows head 3
		appendN(b, "appended", eventual.Exact(3), 1)
		if _, err := a.Append(ctx, "appended", eventual.Exact(3), ev("late")); !errors.Is(err, eventual.ErrConflict) {
			t.Fatalf("append on a stale head: %v, want ErrConflict", err)
		}
		appendN(a, "appended", eventual.Exact(4), 1)
		if got := versions("appended"); len(got) != 5 || got[4] != 5 {
			t.Fatalf("versions %v, want 1..5", got)
		}
	})

	t.Run("truncated elsewhere", func(t *testing.T) {
		appendN(a, "truncated", eventual.NoStream, 3) // a knows head 3
		appendN(b, "truncated", eventual.Exact(3), 2)
		if err := b.TruncateStream(ctx, "truncated", 6); err != nil { // versions 4 and 5 gone too
			t.Fatal(err)
		}
		if _, err := a.Append(ctx, "truncated", eventual.Exact(3), ev("late")); !errors.Is(err, eventual.ErrConflict) {
			t.Fatalf("append on a stale head whose next version was truncated: %v, want ErrConflict", err)
		}
		appendN(a, "truncated", eventual.Exact(5), 1)
		if got := versions("truncated"); len(got) != 1 || got[0] != 6 {
			t.Fatalf("versions %v, want [6]", got)
		}
	})

	t.Run("deleted elsewhere", func(t *testing.T) {
		appendN(a, "deleted", eventual.NoStream, 2) // a knows head 2
		if err := b.DeleteStream(ctx, "deleted", eventual.Exact(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Append(ctx, "deleted", eventual.Exact(2), ev("late")); !errors.Is(err, eventual.ErrStreamDeleted) {
			t.Fatalf("append to a stream deleted elsewhere: %v, want ErrStreamDeleted", err)
		}
	})

	// Known heads go unchecked while no streams row changed; a change made
	// with plain SQL, not through a store, must count as one too.
	t.Run("deleted by SQL elsewhere", func(t *testing.T) {
		appendN(a, "sql-deleted", eventual.NoStream, 2) // a knows head 2
		appendN(a, "sql-deleted", eventual.Exact(2), 1) // and checks nothing: no change since
		err := b.InTx(ctx, func(tx eventual.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE streams SET deleted_at = now() WHERE stream_id = $1", "sql-deleted")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Append(ctx, "sql-deleted", eventual.Exact(3), ev("late")); !errors.Is(err, eventual.ErrStreamDeleted) {
			t.Fatalf("append to a stream deleted by SQL elsewhere: %v, want ErrStreamDeleted", err)
		}
	})
}

// TestEarlierAppendFunctionStillWorks calls the append_batch of migration
// 00004, which processes not yet upgraded call, on a schema migrated past
// it: it must still append, and a change it makes to no streams row must
// not disturb the new function's generations.
func TestEarlierAppendFunctionStillWorks(t *testing.T) {
	schema := freshSchema(t)
	s := open(t, schema)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if _, err := s.Append(ctx, "new", eventual.NoStream, eventual.EventData{Type: "e", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var positions []int64
	err := s.QueryRow(ctx, `SELECT append_batch(42, ARRAY['old']::text[], ARRAY[-1]::bigint[], ARRAY[false],
		ARRAY['old']::text[], ARRAY[1]::bigint[], ARRAY[gen_random_uuid()], ARRAY['e']::text[], ARRAY[0], ARRAY['{}'::bytea],
		ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[],
		ARRAY[NULL]::jsonb[], ARRAY['old']::text[], ARRAY[1]::bigint[], 'eventual_test', now())`).Scan(&positions)
	if err != nil {
		t.Fatalf("the earlier append_batch: %v", err)
	}
	if len(positions) != 1 || positions[0] != 2 {
		t.Fatalf("positions %v, want [2]", positions)
	}
	res, err := s.Append(ctx, "old", eventual.Exact(1), eventual.EventData{Type: "e", Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstPosition != 3 || res.LastVersion != 2 {
		t.Fatalf("append after the earlier function: %+v, want position 3, version 2", res)
	}
}
