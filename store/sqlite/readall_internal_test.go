package sqlite

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// A forward ReadAll of one page with no time range is one statement, which
// bounds itself: it does not query the head first. The others do.
func TestReadAllOfOnePageQueriesNoHead(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var queries atomic.Int64
	onHeadQuery = func() { queries.Add(1) }
	defer func() { onHeadQuery = nil }()
	for i := range 5 {
		if _, err := s.Append(ctx, "s", eventual.Any, eventual.EventData{Type: []string{"a", "b"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		opts    eventual.ReadAllOptions
		want    int
		queries int64
	}{
		{"one page", eventual.ReadAllOptions{From: 2, Limit: 10}, 4, 0},
		{"one page, filtered", eventual.ReadAllOptions{Limit: 2, Filter: eventual.Filter{Types: []string{"a"}}}, 2, 0},
		{"no limit", eventual.ReadAllOptions{}, 5, 1},
		{"backward", eventual.ReadAllOptions{Direction: eventual.Backward, Limit: 10}, 5, 1},
		{"since", eventual.ReadAllOptions{Limit: 10, Since: time.Now().Add(-time.Hour)}, 5, 1},
	} {
		queries.Store(0)
		got, err := eventual.Collect(s.ReadAll(ctx, c.opts))
		if err != nil || len(got) != c.want || queries.Load() != c.queries {
			t.Errorf("%s: %d events (%v), %d head queries; want %d events, %d queries", c.name, len(got), err, queries.Load(), c.want, c.queries)
		}
	}
}
