package adapters

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/store/sqlite"
)

// insertRows writes any number of rows with a handful of statements
// (up to 4 rows exactly, then powers of two), so that they stay prepared;
// every row is written.
func TestInsertRowsUsesFewStatements(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	statements := map[string]bool{}
	total := 0
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c INTEGER)"); err != nil {
			return err
		}
		for n := 1; n <= 300; n++ {
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = []any{total + i, fmt.Sprint(i), n}
			}
			total += n
			if err := insertRows(ctx, testdb.Recorder{Tx: tx, Seen: statements}, "INSERT INTO t (a, b, c)", rows, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1, 2, 3 and 4 rows, then powers of two up to 256.
	if len(statements) > 10 {
		t.Errorf("%d distinct statements for 1 to 300 rows, want at most 10", len(statements))
	}
	var n int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != total {
		t.Fatalf("table holds %d rows (%v), want %d", n, err, total)
	}
}

// IN lists come in power-of-two lengths, padded with their last ID, and
// together name every ID.
func TestChunksPadInLists(t *testing.T) {
	for _, n := range []int{1, 3, 4, 600} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint("id-", i)
		}
		seen := map[any]bool{}
		var lens []int
		err := chunks(ids, func(part []any) error {
			lens = append(lens, len(part))
			for _, id := range part {
				seen[id] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lens {
			if l&(l-1) != 0 || l > 512 {
				t.Errorf("%d IDs: a part of %d", n, l)
			}
		}
		if len(seen) != n {
			t.Errorf("%d IDs: %d named (parts %v)", n, len(seen), lens)
		}
	}
}
