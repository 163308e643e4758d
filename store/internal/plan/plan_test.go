package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
)

func request(appends ...eventual.AppendRequest) *groupcommit.Request {
	for i := range appends {
		for j := range appends[i].Events {
			if appends[i].Events[j].ID == uuid.Nil {
				appends[i].Events[j].ID = uuid.Must(uuid.NewV7())
			}
		}
	}
	return groupcommit.NewRequest(appends)
}

func newBatch() *Batch {
	b := New()
	next := uint64(100)
	b.NextPosition = func() (uint64, error) { next++; return next, nil }
	return b
}

// A request whose second append conflicts plans nothing, not even its
// first append; the next request still sees the streams as they were.
func TestFailingRequestPlansNothing(t *testing.T) {
	b := newBatch()
	b.Streams["a"] = &Stream{Exists: true, Version: 2}
	bad := request(
		eventual.AppendRequest{StreamID: "a", Expected: eventual.Exact(2), Events: make([]eventual.EventData, 1)},
		eventual.AppendRequest{StreamID: "b", Expected: eventual.StreamExists, Events: make([]eventual.EventData, 1)},
	)
	if err := b.Plan(bad); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(bad.Err, eventual.ErrConflict) || len(b.Rows) != 0 {
		t.Fatalf("err = %v, rows %d; want a conflict and no rows", bad.Err, len(b.Rows))
	}
	good := request(eventual.AppendRequest{StreamID: "a", Expected: eventual.Exact(2), Events: make([]eventual.EventData, 2)})
	if err := b.Plan(good); err != nil || good.Err != nil {
		t.Fatal(err, good.Err)
	}
	if len(b.Rows) != 2 || b.Rows[0].Version != 3 || b.Rows[1].Version != 4 || b.Rows[0].Position != 101 {
		t.Fatalf("rows = %+v", b.Rows)
	}
	if r := good.Results[0]; r.FirstVersion != 3 || r.LastVersion != 4 || r.FirstPosition != 101 || r.LastPosition != 102 {
		t.Fatalf("result = %+v", r)
	}
	if !b.Streams["a"].Changed || b.Streams["a"].Created {
		t.Fatalf("stream a = %+v, want changed, not created", b.Streams["a"])
	}
}

// The retry of an append in the same batch is answered with the first
// one's result; a conflict looks the IDs up before it is reported.
func TestRetryInBatchAndLookupOnConflict(t *testing.T) {
	b := newBatch()
	created := 0
	b.OnCreate = func(id string, st *Stream) error { created++; st.No = 7; return nil }
	looked := 0
	b.Lookup = func(events []eventual.EventData) error { looked++; return nil }
	events := []eventual.EventData{{ID: uuid.Must(uuid.NewV7()), Type: "t"}}
	first := request(eventual.AppendRequest{StreamID: "n", Expected: eventual.NoStream, Events: events})
	again := request(eventual.AppendRequest{StreamID: "n", Expected: eventual.NoStream, Events: events})
	for _, r := range []*groupcommit.Request{first, again} {
		if err := b.Plan(r); err != nil || r.Err != nil {
			t.Fatal(err, r.Err)
		}
	}
	if first.Results[0] != again.Results[0] || len(b.Rows) != 1 {
		t.Fatalf("results %+v and %+v, %d rows; want the same result once", first.Results[0], again.Results[0], len(b.Rows))
	}
	if created != 1 || b.Rows[0].Stream.No != 7 || !b.Streams["n"].Created {
		t.Fatalf("created %d, stream %+v", created, b.Streams["n"])
	}
	stale := request(eventual.AppendRequest{StreamID: "n", Expected: eventual.NoStream, Events: make([]eventual.EventData, 1)})
	if err := b.Plan(stale); err != nil || !errors.Is(stale.Err, eventual.ErrConflict) || looked != 1 {
		t.Fatalf("err %v, request err %v, lookups %d", err, stale.Err, looked)
	}
}

func TestRecordedNeverGoesBack(t *testing.T) {
	last := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Recorded(last.Add(-time.Hour), last); !got.Equal(last) {
		t.Errorf("Recorded before last = %v, want %v", got, last)
	}
	now := last.Add(1500 * time.Nanosecond)
	if got := Recorded(now, last); !got.Equal(last.Add(time.Microsecond)) {
		t.Errorf("Recorded = %v, want truncated to the microsecond", got)
	}
}

func TestRollsBack(t *testing.T) {
	for q, want := range map[string]bool{
		"ROLLBACK TO SAVEPOINT inbox_message": true,
		"  rollback to sp":                    true,
		"\n\tRollback":                        true,
		"RELEASE SAVEPOINT x":                 false,
		"SAVEPOINT x":                         false,
		"ROLL":                                false,
		"INSERT INTO t VALUES ('ROLLBACK')":   false,
	} {
		if got := Classify(q, eventual.DialectSQLite).RollsBack(); got != want {
			t.Errorf("RollsBack(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestLookUpFirst(t *testing.T) {
	noID := eventual.EventData{Type: "t"}
	withID := eventual.EventData{Type: "t", ID: uuid.Must(uuid.NewV7())}
	one := func(expected eventual.ExpectedVersion, events ...eventual.EventData) eventual.AppendRequest {
		return eventual.AppendRequest{StreamID: "a", Expected: expected, Events: events}
	}
	for _, c := range []struct {
		name    string
		appends []eventual.AppendRequest
		want    bool
	}{
		{"no IDs, any version", []eventual.AppendRequest{one(eventual.Any, noID, noID)}, false},
		{"IDs, exact version", []eventual.AppendRequest{one(eventual.Exact(3), withID)}, false},
		{"IDs, no stream", []eventual.AppendRequest{one(eventual.NoStream, withID)}, false},
		{"IDs, any version", []eventual.AppendRequest{one(eventual.Any, noID, withID)}, true},
		{"IDs, stream exists", []eventual.AppendRequest{one(eventual.StreamExists, withID)}, true},
		{"one append of several", []eventual.AppendRequest{one(eventual.Exact(1), withID), {StreamID: "b", Expected: eventual.Any, Events: []eventual.EventData{withID}}}, true},
	} {
		if got := LookUpFirst(c.appends); got != c.want {
			t.Errorf("%s: LookUpFirst = %v, want %v", c.name, got, c.want)
		}
	}
}
