package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/eventual-go/eventual"
)

// openWithLevel opens a store (closed at the test's end) and returns it
// with a function that reads its writer's synchronous level.
func openWithLevel(t *testing.T) (*Store, func() int) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, func() int {
		t.Helper()
		var n int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// Migrations after a no-sync transaction commit at the store's level.
func TestMigrationsAfterANoSyncTransactionFlush(t *testing.T) {
	ctx := context.Background()
	s, level := openWithLevel(t)
	noSync := func() {
		t.Helper()
		if err := s.InTxNoSync(ctx, func(eventual.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := level(); got != 1 {
			t.Fatalf("after InTxNoSync the writer is at %d, want 1", got)
		}
	}
	noSync()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := level(); got != 2 {
		t.Errorf("Migrate ran at synchronous %d, want 2", got)
	}
	noSync()
	component := fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (x INTEGER);\n-- +goose Down\nDROP TABLE t;\n")}}
	if err := s.MigrateComponent(ctx, "test", component); err != nil {
		t.Fatal(err)
	}
	if got := level(); got != 2 {
		t.Errorf("MigrateComponent ran at synchronous %d, want 2", got)
	}
}

// A snapshot commits without waiting for the flush (it holds the writer
// for data the events can rebuild); the next durable transaction flushes
// again.
func TestSnapshotsCommitWithoutTheFlush(t *testing.T) {
	ctx := context.Background()
	s, level := openWithLevel(t)
	if _, err := s.Append(ctx, "s-1", eventual.NoStream, eventual.EventData{Type: "t", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	snap := eventual.Snapshot{StreamID: "s-1", Version: 1, SchemaVersion: 1, Data: []byte(`{"n":1}`), TakenAt: time.Now()}
	if err := s.SaveSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if got := level(); got != 1 {
		t.Errorf("after SaveSnapshot the writer is at synchronous %d, want 1 (NORMAL)", got)
	}
	if got, err := s.LoadSnapshot(ctx, "s-1"); err != nil || got.Version != 1 || string(got.Data) != `{"n":1}` {
		t.Errorf("LoadSnapshot = %+v, %v", got, err)
	}
	if err := s.InTx(ctx, func(eventual.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := level(); got != 2 {
		t.Errorf("a durable transaction after SaveSnapshot ran at synchronous %d, want 2 (FULL)", got)
	}
}
