package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
)

// TestAfterCommitCommentedRollbackTo: SQLite runs a ROLLBACK TO
// that a comment precedes like any other; the function registered after
// the savepoint must be dropped with the row the rollback undid.
func TestAfterCommitCommentedRollbackTo(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ran := false
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		for _, q := range []string{"CREATE TABLE effects (id TEXT)", "SAVEPOINT handler"} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO effects (id) VALUES ('undone')"); err != nil {
			return err
		}
		tx.AfterCommit(func() { ran = true })
		for _, q := range []string{"/* the handler failed */ ROLLBACK TO SAVEPOINT handler", "RELEASE SAVEPOINT handler"} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.QueryRow(ctx, "SELECT COUNT(*) FROM effects").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 && ran {
		t.Error("the rollback undid the row, yet the function registered with it ran after the commit")
	}
}

// TestAppendsAfterCommentedRollbackTo: after a ROLLBACK TO that a
// comment precedes, the transaction goes on from the append the rollback
// undid: an append expecting the undone version is accepted and commits.
func TestAppendsAfterCommentedRollbackTo(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := func(typ string) eventual.EventData { return eventual.EventData{Type: typ, Data: []byte("{}")} }
	var accepted eventual.AppendResult
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "SAVEPOINT handler"); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "s", eventual.NoStream, ev("undone")); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "-- the handler failed\nROLLBACK TO SAVEPOINT handler"); err != nil {
			return err
		}
		// The stream does not exist any more: Exact(1) must be refused.
		r, err := tx.Append(ctx, "s", eventual.Exact(1), ev("on the undone"))
		if err == nil {
			accepted = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var versions []uint64
	for e, err := range s.ReadStream(ctx, "s", eventual.ReadStreamOptions{}) {
		if err != nil {
			versions = nil
			break
		}
		versions = append(versions, e.Version)
	}
	info, ierr := s.StreamInfo(ctx, "s")
	var rows int
	_ = s.QueryRow(ctx, "SELECT COUNT(*) FROM events").Scan(&rows)
	t.Logf("rows in events: %d", rows)
	if accepted.LastVersion != 0 {
		t.Errorf("Exact(1) on a stream the rollback undid was accepted (%+v); committed, the stream reads %v, info %+v, %v",
			accepted, versions, info, ierr)
	}
}
