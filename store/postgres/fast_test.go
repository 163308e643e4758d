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
}
