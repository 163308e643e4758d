package testdb

import (
	"context"

	"github.com/eventual-go/eventual"
)

// Recorder is a transaction that notes in Seen the text of every
// statement run through its Exec and Query, for tests that count distinct
// statements. It is not safe for concurrent use.
type Recorder struct {
	eventual.Tx
	Seen map[string]bool
}

// Exec implements eventual.Tx.
func (r Recorder) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	r.Seen[query] = true
	return r.Tx.Exec(ctx, query, args...)
}

// Query implements eventual.Tx.
func (r Recorder) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	r.Seen[query] = true
	return r.Tx.Query(ctx, query, args...)
}
