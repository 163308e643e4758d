package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/eventual-go/eventual"
)

// The reader pool's reads keep the values the driver hands out for each
// row (store/sqlite/rows.go). A driver that reused a row's buffers for the
// next row would leave every event of a page with the last one's data.
func TestReadKeepsEveryEventsData(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const n = 300
	want := make([]eventual.EventData, n)
	for i := range want {
		md := eventual.Metadata{CorrelationID: fmt.Sprintf("corr-%d", i)}
		if i%3 == 0 {
			md.Extra = map[string]string{"i": fmt.Sprint(i)}
		}
		want[i] = eventual.EventData{Type: fmt.Sprintf("Type%d", i%7),
			Data: bytes.Repeat([]byte{byte('a' + i%26)}, 10+i), Metadata: md}
		if i%5 == 0 {
			want[i].Data = nil
		}
	}
	if _, err := s.Append(ctx, "one", eventual.NoStream, want[:n/2]...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "two", eventual.NoStream, want[n/2:]...); err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []eventual.RecordedEvent, want []eventual.EventData, firstPos uint64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
		}
		for i, e := range got {
			w := want[i]
			if !bytes.Equal(e.Data, w.Data) || (e.Data == nil) != (len(w.Data) == 0) {
				t.Fatalf("%s: event %d: data %q, want %q", what, i, e.Data, w.Data)
			}
			if e.Type != w.Type || e.Metadata.CorrelationID != w.Metadata.CorrelationID ||
				e.Metadata.Extra["i"] != w.Metadata.Extra["i"] || len(e.Metadata.Extra) != len(w.Metadata.Extra) {
				t.Fatalf("%s: event %d: %+v, want %+v", what, i, e, w)
			}
			if e.Position != firstPos+uint64(i) || e.ID == [16]byte{} || e.RecordedAt.IsZero() {
				t.Fatalf("%s: event %d: position %d, ID %s, recorded %s", what, i, e.Position, e.ID, e.RecordedAt)
			}
		}
	}
	all, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	check("ReadAll", all, want, 1)
	two, err := eventual.Collect(s.ReadStream(ctx, "two", eventual.ReadStreamOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	check("ReadStream", two, want[n/2:], n/2+1)
	var live []eventual.RecordedEvent
	for e, err := range s.Subscribe(ctx, eventual.SubscribeOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if live = append(live, e); len(live) == n {
			break
		}
	}
	check("Subscribe", live, want, 1)
}
