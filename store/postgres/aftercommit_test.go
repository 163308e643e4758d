package postgres_test

import (
	"context"
	"testing"

	"github.com/eventual-go/eventual"
)

// TestAfterCommitFollowsPostgresSavepoints: statements PostgreSQL
// runs as rollbacks must drop the after-commit functions registered since,
// as they drop the rows written since.
func TestAfterCommitFollowsPostgresSavepoints(t *testing.T) {
	s := open(t, freshSchema(t))
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE effects (id TEXT)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		before []string // savepoints set before the effect
		after  []string // then, after it
	}{
		// "A" and a are two savepoints in PostgreSQL: rolling back to "A"
		// undoes what followed it.
		{"quoted name", []string{`SAVEPOINT "A"`}, []string{`SAVEPOINT a`, `ROLLBACK TO SAVEPOINT "A"`, `RELEASE SAVEPOINT "A"`}},
		{"rollback and chain", nil, []string{"ROLLBACK AND CHAIN"}},
		{"abort", nil, []string{"ABORT"}}, // a synonym of ROLLBACK
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, "DELETE FROM effects"); return err }); err != nil {
				t.Fatal(err)
			}
			ran := false
			err := s.InTx(ctx, func(tx eventual.Tx) error {
				for _, q := range c.before {
					if _, err := tx.Exec(ctx, q); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(ctx, "INSERT INTO effects (id) VALUES ('x')"); err != nil {
					return err
				}
				tx.AfterCommit(func() { ran = true })
				for _, q := range c.after {
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
				t.Errorf("%q undid the row, yet the function registered with it ran after the commit", c.after)
			}
		})
	}
}
