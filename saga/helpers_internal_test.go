package saga

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/store/sqlite"
)

// openTestStore opens a SQLite store in a temporary directory, closed at
// the test's end, and runs ddl in it.
func openTestStore(t *testing.T, ddl string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "saga.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, ddl)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

// newTestOrchestrator returns an orchestrator of def on st with an outbox,
// both logging nothing. It does not run: tests call process themselves.
func newTestOrchestrator[D any](t *testing.T, st *sqlite.Store, def *Definition[D], opts ...Option) *Orchestrator[D] {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	ob, err := outbox.New(ctx, st, outbox.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOrchestrator(ctx, st, def, ob, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
