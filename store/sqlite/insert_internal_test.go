package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// An INSERT of events binds only what differs from row to row: columns
// NULL (or 0) in every row of the statement are literals, recorded_at and
// the first position are bound once. Rows that do set them are stored as
// given, also next to rows that do not, in the same statement.
func TestInsertBindsOnlyWhatRowsDiffer(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type insert struct{ rows, args int }
	var inserts []insert
	onInsert = func(rows, args int) { inserts = append(inserts, insert{rows, args}) }
	defer func() { onInsert = nil }()

	plain := func(n int) []eventual.EventData {
		events := make([]eventual.EventData, n)
		for i := range events {
			events[i] = eventual.EventData{Type: "t", Data: []byte(`{}`),
				Metadata: eventual.Metadata{CorrelationID: "c", CausationID: "k"}}
		}
		return events
	}
	if _, err := s.Append(ctx, "plain", eventual.NoStream, plain(4)...); err != nil {
		t.Fatal(err)
	}
	// 4 rows of stream_no, version, stream_id, event_id, type, data,
	// correlation and causation; then recorded_at and the first position.
	if want := []insert{{4, 2 + 4*8}}; !reflect.DeepEqual(inserts, want) {
		t.Fatalf("inserts (rows, arguments) = %v, want %v", inserts, want)
	}

	inserts = nil
	full := eventual.EventData{Type: "t", SchemaVersion: 3, Data: []byte(`{"a":1}`), Metadata: eventual.Metadata{
		CorrelationID: "c", CausationID: "k", TenantID: "acme", UserID: "u", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		TraceState: "v=1", Extra: map[string]string{"k": "v"}}}
	mixed := []eventual.EventData{full, {Type: "t"}, {Type: "t", Metadata: eventual.Metadata{UserID: "u2"}}, {Type: "t", SchemaVersion: 1}}
	if _, err := s.Append(ctx, "mixed", eventual.NoStream, mixed...); err != nil {
		t.Fatal(err)
	}
	// Every optional column is set in some row: all but position and
	// recorded_at are bound per row.
	if want := []insert{{4, 2 + 4*14}}; !reflect.DeepEqual(inserts, want) {
		t.Fatalf("inserts (rows, arguments) = %v, want %v", inserts, want)
	}
	got, err := eventual.Collect(s.ReadStream(ctx, "mixed", eventual.ReadStreamOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(mixed) {
		t.Fatalf("read %d events, want %d", len(got), len(mixed))
	}
	for i, e := range got {
		w := mixed[i]
		if e.SchemaVersion != w.SchemaVersion || string(e.Data) != string(w.Data) || !reflect.DeepEqual(e.Metadata, w.Metadata) {
			t.Errorf("event %d read back as schema %d, data %q, metadata %+v; want %d, %q, %+v",
				i, e.SchemaVersion, e.Data, e.Metadata, w.SchemaVersion, w.Data, w.Metadata)
		}
	}
}

// An append that meets an event ID already stored, in a batch with others,
// makes the INSERT roll the whole transaction back (INSERT OR ROLLBACK: no
// statement journal to keep); the batch is written again, with every ID
// looked up, and each append gets its own outcome.
func TestStoredIDInABatchRetriesTheBatch(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored := eventual.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t"}
	first, err := s.Append(ctx, "retried", eventual.NoStream, stored)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if w == 0 {
					if res, err := s.Append(ctx, "retried", eventual.Any, stored); err != nil || res != first {
						t.Errorf("retry = %+v, %v; want %+v", res, err, first)
					}
					continue
				}
				if _, err := s.Append(ctx, fmt.Sprintf("w%d", w), eventual.Exact(uint64(i)), eventual.EventData{Type: "t"}); err != nil {
					t.Errorf("append: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for w := 1; w < 8; w++ {
		if got, err := eventual.Collect(s.ReadStream(ctx, fmt.Sprintf("w%d", w), eventual.ReadStreamOptions{})); err != nil || len(got) != 50 {
			t.Fatalf("w%d holds %d events (%v), want 50", w, len(got), err)
		}
	}
	if got, _ := eventual.Collect(s.ReadStream(ctx, "retried", eventual.ReadStreamOptions{})); len(got) != 1 {
		t.Fatalf("retried holds %d events, want 1", len(got))
	}
}
