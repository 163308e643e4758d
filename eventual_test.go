package eventual_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

func TestExpectedVersionCheck(t *testing.T) {
	tests := []struct {
		expected eventual.ExpectedVersion
		current  uint64
		exists   bool
		want     bool
	}{
		{eventual.Any, 0, false, true},
		{eventual.Any, 7, true, true},
		{eventual.NoStream, 0, false, true},
		{eventual.NoStream, 3, true, false},
		{eventual.StreamExists, 0, false, false},
		{eventual.StreamExists, 3, true, true},
		{eventual.Exact(3), 3, true, true},
		{eventual.Exact(3), 4, true, false},
		{eventual.Exact(3), 0, false, false},
		{eventual.Exact(0), 0, false, true}, // Exact(0) is NoStream
		{eventual.Exact(0), 1, true, false},
	}
	for _, tt := range tests {
		if got := tt.expected.Check(tt.current, tt.exists); got != tt.want {
			t.Errorf("%s.Check(%d, %v) = %v, want %v", tt.expected, tt.current, tt.exists, got, tt.want)
		}
	}
	if v, ok := eventual.Exact(5).Version(); !ok || v != 5 {
		t.Errorf("Exact(5).Version() = %d, %v", v, ok)
	}
	if _, ok := eventual.Any.Version(); ok {
		t.Error("Any has a version")
	}
	if (eventual.ExpectedVersion{}) != eventual.Any {
		t.Error("the zero ExpectedVersion is not Any")
	}
}

func TestConflictErrorMatches(t *testing.T) {
	var err error = &eventual.ConflictError{StreamID: "s", Expected: eventual.Exact(2), Actual: 3, Exists: true}
	if !errors.Is(err, eventual.ErrConflict) || errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatal("ConflictError does not match ErrConflict alone")
	}
	want := `eventual: version conflict on stream "s": expected 2, found version 3`
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	err = &eventual.ConflictError{StreamID: "s", Expected: eventual.StreamExists}
	if !strings.HasSuffix(err.Error(), "expected stream exists, found no stream") {
		t.Fatalf("Error() = %q", err.Error())
	}
}

func TestPrepareAppend(t *testing.T) {
	fixed := uuid.Must(uuid.NewV7())
	in := []eventual.EventData{{ID: fixed, Type: "a"}, {Type: "b"}}
	out, err := eventual.PrepareAppend([]eventual.AppendRequest{{StreamID: "s", Events: in}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Events[0].ID != fixed {
		t.Error("a given ID was replaced")
	}
	if id := out[0].Events[1].ID; id == uuid.Nil || id.Version() != 7 {
		t.Errorf("generated ID %s is not a UUIDv7", id)
	}
	if in[1].ID != uuid.Nil {
		t.Error("the caller's slice was modified")
	}

	big := eventual.EventData{Type: "t", Data: make([]byte, 100)}
	if _, err := eventual.PrepareAppend([]eventual.AppendRequest{{StreamID: "s", Events: []eventual.EventData{big}}}, 100); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("event over a 100-byte limit: %v", err)
	}
	if _, err := eventual.PrepareAppend([]eventual.AppendRequest{{StreamID: "s", Events: []eventual.EventData{big}}}, 101); err != nil {
		t.Errorf("event at the limit: %v", err)
	}
	_, err = eventual.PrepareAppend([]eventual.AppendRequest{{StreamID: "s", Events: []eventual.EventData{{Type: "a"}, {Type: ""}}}}, 0)
	if !errors.Is(err, eventual.ErrInvalidArgument) || !strings.Contains(err.Error(), `stream "s" event 1: event type is empty`) {
		t.Errorf("err = %v, want one naming the stream, the event and the reason", err)
	}
}

func TestFilterAndRange(t *testing.T) {
	f := eventual.Filter{Types: []string{"a", "b"}, StreamPrefix: "order-"}
	for _, tt := range []struct {
		stream, typ string
		want        bool
	}{
		{"order-1", "a", true}, {"order-1", "c", false}, {"cart-1", "a", false}, {"order-", "b", true},
	} {
		if got := f.Match(tt.stream, tt.typ); got != tt.want {
			t.Errorf("Match(%q, %q) = %v", tt.stream, tt.typ, got)
		}
	}
	now := time.Now()
	o := eventual.ReadAllOptions{Since: now, Until: now.Add(time.Second)}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{now.Add(-time.Nanosecond), false}, {now, true}, {now.Add(999 * time.Millisecond), true}, {now.Add(time.Second), false},
	} {
		if got := o.Matches(eventual.RecordedEvent{StreamID: "x", Type: "t", RecordedAt: tt.at}); got != tt.want {
			t.Errorf("Matches(at %v) = %v", tt.at.Sub(now), got)
		}
	}
}

func TestContextWithMetadataMerges(t *testing.T) {
	ctx := eventual.ContextWithMetadata(t.Context(), eventual.Metadata{CorrelationID: "c1", UserID: "ada", Extra: map[string]string{"a": "1"}})
	ctx = eventual.ContextWithMetadata(ctx, eventual.Metadata{CausationID: "cmd-2", UserID: "bob", Extra: map[string]string{"b": "2"}})
	m := eventual.MetadataFromContext(ctx)
	if m.CorrelationID != "c1" || m.CausationID != "cmd-2" || m.UserID != "bob" || m.Extra["a"] != "1" || m.Extra["b"] != "2" {
		t.Fatalf("merged metadata = %+v", m)
	}
	m.Extra["a"] = "changed"
	if eventual.MetadataFromContext(ctx).Extra["a"] != "1" {
		t.Fatal("changing the returned Extra changed the context's")
	}
	if !eventual.MetadataFromContext(t.Context()).IsZero() {
		t.Fatal("a context without metadata has some")
	}
}
