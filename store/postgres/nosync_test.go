package postgres_test

import (
	"context"
	"testing"

	"github.com/eventual-go/eventual"
)

// InTxNoSync turns synchronous_commit off for its own transaction only;
// InTx, before and after it, keeps the server's setting, and appends made
// in either are stored.
func TestInTxNoSyncRelaxesOnlyItsOwnCommit(t *testing.T) {
	s := open(t, freshSchema(t))
	defer s.Close()
	ctx := context.Background()
	settingIn := func(run func(context.Context, func(eventual.Tx) error) error, stream string) string {
		t.Helper()
		var setting string
		err := run(ctx, func(tx eventual.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&setting); err != nil {
				return err
			}
			_, err := tx.Append(ctx, stream, eventual.NoStream, eventual.EventData{Type: "t"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return setting
	}
	server := settingIn(s.InTx, "a") // the server's setting ("on" by default)
	if got := settingIn(s.InTxNoSync, "b"); got != "off" {
		t.Errorf("InTxNoSync: synchronous_commit %s, want off", got)
	}
	if got := settingIn(s.InTx, "c"); got != server {
		t.Errorf("InTx after InTxNoSync: synchronous_commit %s, want the server's %s", got, server)
	}
	evs, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{}))
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d events stored (%v), want 3", len(evs), err)
	}
}
