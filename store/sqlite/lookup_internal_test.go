package sqlite

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// A transaction must not insert a stored event ID (SQLite would roll it
// back), so it looks up where its events are stored — first, only for
// appends whose retry would not meet a version conflict (any version,
// stream exists); the others, as aggregates and sagas append, are looked
// up only after a conflict, and a retry of them still returns what was
// stored. Each lookup was a query of its own.
func TestTxLooksUpEventIDsFirstOnlyWhereARetryMeetsNoConflict(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var looked []uuid.UUID
	onLookup = func(ids []uuid.UUID) { looked = append(looked, ids...) }
	defer func() { onLookup = nil }()
	withID := func() eventual.EventData {
		e := event()
		e.ID = uuid.Must(uuid.NewV7())
		return e
	}
	inTx := func(fn func(tx eventual.Tx) error) error { return s.InTx(ctx, fn) }

	created, next := withID(), withID()
	var first []eventual.AppendResult
	err := inTx(func(tx eventual.Tx) error {
		a, err := tx.Append(ctx, "agg", eventual.NoStream, created)
		if err != nil {
			return err
		}
		b, err := tx.Append(ctx, "agg", eventual.Exact(1), next)
		first = []eventual.AppendResult{a, b}
		if err != nil {
			return err
		}
		_, err = tx.Append(ctx, "gen", eventual.Any, event()) // no ID: nothing to look up
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(looked) != 0 {
		t.Fatalf("looked up %d IDs of appends with no stream, an exact version or no IDs; want none", len(looked))
	}

	// Retried in a later transaction: the conflicts look the IDs up and
	// return what was stored.
	var again []eventual.AppendResult
	err = inTx(func(tx eventual.Tx) error {
		a, err := tx.Append(ctx, "agg", eventual.NoStream, created)
		if err != nil {
			return err
		}
		b, err := tx.Append(ctx, "agg", eventual.Exact(1), next)
		again = []eventual.AppendResult{a, b}
		return err
	})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !slices.Equal(again, first) {
		t.Errorf("the retry returned %+v, want %+v", again, first)
	}
	if !slices.Equal(looked, []uuid.UUID{created.ID, next.ID}) {
		t.Errorf("looked up %v, want each retried ID once", looked)
	}

	// A stale append without IDs is a conflict.
	err = inTx(func(tx eventual.Tx) error {
		_, err := tx.Append(ctx, "agg", eventual.Exact(1), event())
		return err
	})
	if !errors.Is(err, eventual.ErrConflict) {
		t.Fatalf("stale append: %v, want a conflict", err)
	}

	// Any version with IDs: looked up first; a retry returns what was
	// stored.
	looked = nil
	given := withID()
	var results []eventual.AppendResult
	for range 2 {
		err := inTx(func(tx eventual.Tx) error {
			r, err := tx.Append(ctx, "given", eventual.Any, given)
			results = append(results, r)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(looked, []uuid.UUID{given.ID, given.ID}) {
		t.Errorf("looked up %v, want the given ID once a transaction", looked)
	}
	if results[0] != results[1] {
		t.Errorf("the retry returned %+v, want %+v", results[1], results[0])
	}

	// The case given up: an ID stored in another stream, appended with no
	// stream, fails the transaction (its insert), not the append alone;
	// nothing of it is written.
	err = inTx(func(tx eventual.Tx) error {
		if _, err := tx.Append(ctx, "other", eventual.NoStream, given); err != nil {
			return err
		}
		_, err := tx.Append(ctx, "other-2", eventual.NoStream, event())
		return err
	})
	if err == nil {
		t.Fatal("an event ID stored in another stream was appended again")
	}
	for _, id := range []string{"other", "other-2"} {
		if _, err := s.StreamInfo(ctx, id); !errors.Is(err, eventual.ErrStreamNotFound) {
			t.Errorf("stream %s after the failed transaction: %v, want ErrStreamNotFound", id, err)
		}
	}
	// The store goes on.
	if _, err := s.Append(ctx, "after", eventual.NoStream, event()); err != nil {
		t.Fatal(err)
	}
}

// Loading an aggregate that does not exist yet and then saving its first
// events reads the stream once: the append knows what the read found.
// Once the transaction has appended to the stream, or rolled back to a
// savepoint, it reads the stream again.
func TestTxAppendsToAStreamItFoundMissingWithoutReadingItAgain(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var reads []string
	onStreamRead = func(ids []string) { reads = append(reads, ids...) }
	defer func() { onStreamRead = nil }()
	missing := func(tx eventual.Tx, id string) {
		t.Helper()
		for _, err := range tx.ReadStream(ctx, id, eventual.ReadStreamOptions{}) {
			if !errors.Is(err, eventual.ErrStreamNotFound) {
				t.Fatalf("read %s: %v, want ErrStreamNotFound", id, err)
			}
		}
	}

	err := s.InTx(ctx, func(tx eventual.Tx) error {
		missing(tx, "new")
		if _, err := tx.Append(ctx, "new", eventual.NoStream, event()); err != nil {
			return err
		}
		// Appended to: known from the plan, and no longer missing.
		_, err := tx.Append(ctx, "new", eventual.Exact(1), event())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 0 {
		t.Errorf("the appends read %v from the database, want nothing", reads)
	}
	if got := versionsOf(t, s, "new"); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("versions %v, want [1 2]", got)
	}

	// After a rollback to a savepoint, what the transaction knew is read
	// again: the stream created before the savepoint exists.
	reads = nil
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		missing(tx, "sp")
		if _, err := tx.Append(ctx, "sp", eventual.NoStream, event()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT x"); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "sp", eventual.Exact(1), event()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT x"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT x"); err != nil {
			return err
		}
		_, err := tx.Append(ctx, "sp", eventual.Exact(1), event())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := versionsOf(t, s, "sp"); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("versions %v, want [1 2]", got)
	}
	if !slices.Contains(reads, "sp") {
		t.Error("after the rollback to a savepoint the stream was not read again")
	}

	// A stream found missing and then created by another append of the
	// same call conflicts as it should.
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		missing(tx, "twice")
		if _, err := tx.Append(ctx, "twice", eventual.NoStream, event()); err != nil {
			return err
		}
		_, err := tx.Append(ctx, "twice", eventual.NoStream, event())
		return err
	})
	if !errors.Is(err, eventual.ErrConflict) {
		t.Fatalf("second NoStream append: %v, want a conflict", err)
	}
}

func versionsOf(t *testing.T, s *Store, id string) []uint64 {
	t.Helper()
	var out []uint64
	for e, err := range s.ReadStream(context.Background(), id, eventual.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Version)
	}
	return out
}
