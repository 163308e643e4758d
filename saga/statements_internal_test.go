package saga

import (
	"context"
	"fmt"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/component"
	"github.com/eventual-go/eventual/internal/testdb"
)

// Instances are selected with a handful of statements whatever the number
// of IDs (lists padded to powers of two by repeating the last ID), so that
// they stay prepared; each instance asked for is found once.
func TestSelectInstancesUsesFewStatements(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		if _, err := component.Migrate(ctx, s, "saga", migrations); err != nil {
			t.Fatal(err)
		}
		const stored = 300
		if err := s.InTx(ctx, func(tx eventual.Tx) error {
			for i := range stored {
				if _, err := tx.Exec(ctx, `INSERT INTO eventual_sagas (name, id, metadata, started_at, updated_at, status, step, attempt, awaiting, due_at, data, error, version)
					VALUES ('s', $1, '', 0, 0, 'running', 0, 0, '', NULL, '{}', '', $2)`, fmt.Sprint(i), i+1); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for n := 1; n <= stored+20; n += 3 {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprint(i) // those from 300 on are missing
			}
			var got map[string]uint64
			err := s.InTx(ctx, func(tx eventual.Tx) error {
				var err error
				got, err = loadVersions(ctx, testdb.Recorder{Tx: tx, Seen: seen}, "s", ids)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := min(n, stored); len(got) != want {
				t.Fatalf("%d IDs: %d instances found, want %d", n, len(got), want)
			}
			for id, v := range got {
				if fmt.Sprint(v-1) != id {
					t.Fatalf("instance %s has version %d", id, v)
				}
			}
		}
		if len(seen) > 10 {
			t.Errorf("%d distinct statements for 1 to %d IDs, want at most 10", len(seen), stored+20)
		}
	})
}
