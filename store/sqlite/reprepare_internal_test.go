package sqlite

import (
	"context"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite/internal/stmtstatus"
)

// The store's paged reads, and the queries rebind writes, stay prepared
// from one run to the next: SQLite prepares a statement again each time
// an integer bound to its "LIMIT ?" changes hands (limitParam).
func TestPagedQueriesAreNotPreparedAgain(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	path := s.Path()
	for range 20 {
		if _, err := s.Append(ctx, "s", eventual.Any, eventual.EventData{Type: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	// Three runs, each with other arguments: position or version from,
	// to (log pages only), and the page size.
	streamRuns := [][]int64{{1, 1, 5}, {1, 6, 5}, {1, 11, 10}}
	logRuns := [][]int64{{1, 20, 5}, {6, 20, 5}, {11, 20, 10}}
	for _, c := range []struct {
		name, query string
		runs        [][]int64
		want        int
	}{
		// The premise: with a plain parameter, every run after the first
		// prepares again. If this starts failing, SQLite changed and the
		// unary plus may go.
		{"plain LIMIT ?", "SELECT position FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?", logRuns, 3},
		{"stream forward", streamPageSQL(false), streamRuns, 0},
		{"stream backward", streamPageSQL(true), [][]int64{{1, 20, 5}, {1, 15, 5}, {1, 10, 10}}, 0},
		{"log forward", logPageSQL("", false), logRuns, 0},
		{"log backward", logPageSQL("", true), logRuns, 0},
		{"rebound", rebind("SELECT position FROM events WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT $3"), logRuns, 0},
		{"rebound with offset", rebind("SELECT position FROM events WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT 3 OFFSET $3"), logRuns, 0},
	} {
		n, err := stmtstatus.Reprepares(path, c.query, c.runs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n != c.want {
			t.Errorf("%s: prepared again %d times in %d runs, want %d: %s", c.name, n, len(c.runs), c.want, c.query)
		}
	}
}
