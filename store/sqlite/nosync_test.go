package sqlite_test

import (
	"context"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
)

// synchronousIn returns the writer's PRAGMA synchronous inside a
// transaction of run (1 NORMAL, 2 FULL), after appending in it.
func synchronousIn(t *testing.T, run func(context.Context, func(eventual.Tx) error) error, stream string) int {
	t.Helper()
	var level int
	err := run(context.Background(), func(tx eventual.Tx) error {
		if _, err := tx.Append(context.Background(), stream, eventual.Any, eventual.EventData{Type: "t", Data: []byte(`{}`)}); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), "PRAGMA synchronous").Scan(&level)
	})
	if err != nil {
		t.Fatal(err)
	}
	return level
}

// InTxNoSync commits without the flush, and every transaction after it
// flushes again: a store opened durable never commits an Append or InTx
// without it.
func TestInTxNoSyncRelaxesOnlyItsOwnCommit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for i, step := range []struct {
		name   string
		run    func(context.Context, func(eventual.Tx) error) error
		stream string
		want   int
	}{
		{"InTx", s.InTx, "a", 2},
		{"InTxNoSync", s.InTxNoSync, "b", 1},
		{"InTxNoSync again", s.InTxNoSync, "b", 1},
		{"InTx after it", s.InTx, "c", 2},
		{"InTxNoSync once more", s.InTxNoSync, "d", 1},
	} {
		if got := synchronousIn(t, step.run, step.stream); got != step.want {
			t.Errorf("step %d, %s: synchronous %d, want %d", i, step.name, got, step.want)
		}
	}
	// The group commit's appends after a no-sync transaction flush too:
	// the level is back when the next transaction starts.
	if _, err := s.Append(ctx, "e", eventual.NoStream, eventual.EventData{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	if got := synchronousIn(t, s.InTx, "f"); got != 2 {
		t.Errorf("after an Append: synchronous %d, want 2", got)
	}
	// Everything committed, either way.
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := s.StreamInfo(ctx, id); err != nil {
			t.Errorf("stream %s: %v", id, err)
		}
	}

	// A store opened with SyncNormal stays at NORMAL.
	n := openStore(t, sqlite.WithSynchronous(sqlite.SyncNormal))
	if a, b := synchronousIn(t, n.InTx, "a"), synchronousIn(t, n.InTxNoSync, "b"); a != 1 || b != 1 {
		t.Errorf("SyncNormal store: InTx %d, InTxNoSync %d, want 1 and 1", a, b)
	}
}
