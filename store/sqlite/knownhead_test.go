package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
)

// KnownHead: unknown until the log is followed; then the handle's own
// commits at once, another handle's once its watcher sees them, and never
// a position a rolled-back savepoint took.
func TestKnownHead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path, sqlite.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := eventual.EventData{Type: "t"}
	r, err := s.Append(ctx, "a", eventual.Any, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.KnownHead(); ok {
		t.Fatal("KnownHead known before anything follows the log")
	}
	until := func(what string, want uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			news := s.Appended()
			if h, ok := s.KnownHead(); ok && h == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: KnownHead %d %v, want %d", what, h, ok, want)
			}
			select {
			case <-news:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	until("once followed", r.LastPosition)

	r, err = s.Append(ctx, "a", eventual.Any, ev, ev)
	if h, ok := s.KnownHead(); err != nil || !ok || h != r.LastPosition {
		t.Fatalf("after an append to %d: KnownHead %d %v (%v)", r.LastPosition, h, ok, err)
	}
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		r, err = tx.Append(ctx, "b", eventual.Any, ev)
		return err
	})
	if h, ok := s.KnownHead(); err != nil || !ok || h != r.LastPosition {
		t.Fatalf("after a transaction's append to %d: KnownHead %d %v (%v)", r.LastPosition, h, ok, err)
	}

	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r, err = other.Append(ctx, "c", eventual.Any, ev)
	if err != nil {
		t.Fatal(err)
	}
	until("after another handle's append", r.LastPosition)

	// Rows written, then rolled back to a savepoint: their positions are
	// taken again by the next append, so they were never the head.
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "SAVEPOINT sp"); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "d", eventual.Any, ev, ev); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE events SET type = type WHERE position = 0"); err != nil { // writes the rows
			return err
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO sp"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "RELEASE sp")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.KnownHead(); h > r.LastPosition {
		t.Fatalf("after a rolled-back savepoint: KnownHead %d beyond the log's head %d", h, r.LastPosition)
	}
	next, err := s.Append(ctx, "e", eventual.Any, ev)
	if h, ok := s.KnownHead(); err != nil || !ok || h != next.LastPosition {
		t.Fatalf("after the next append to %d: KnownHead %d %v (%v)", next.LastPosition, h, ok, err)
	}
}
