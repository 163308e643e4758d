package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

func testReadStream(t *testing.T, b Backend) {
	s := b.open(t)
	// 2,500 events cross several read pages of every backend.
	const n = 2500
	for i := 0; i < n; i += 500 {
		mustAppend(t, s, "long", eventual.Any, evs("e", 500)...)
		mustAppend(t, s, "noise", eventual.Any, ev("noise", i))
	}
	tests := []struct {
		name string
		opts eventual.ReadStreamOptions
		want []uint64
	}{
		{"all forward", eventual.ReadStreamOptions{}, seq(1, n)},
		{"from 1", eventual.ReadStreamOptions{From: 1}, seq(1, n)},
		{"from the middle", eventual.ReadStreamOptions{From: 1001}, seq(1001, n)},
		{"from the last", eventual.ReadStreamOptions{From: n}, []uint64{n}},
		{"from beyond the end", eventual.ReadStreamOptions{From: n + 1}, nil},
		{"limit", eventual.ReadStreamOptions{From: 10, Limit: 5}, seq(10, 14)},
		{"limit across pages", eventual.ReadStreamOptions{From: 900, Limit: 1200}, seq(900, 2099)},
		{"all backward", eventual.ReadStreamOptions{Direction: eventual.Backward}, reverse(seq(1, n))},
		{"backward from the middle", eventual.ReadStreamOptions{Direction: eventual.Backward, From: 1500}, reverse(seq(1, 1500))},
		{"backward from beyond the end", eventual.ReadStreamOptions{Direction: eventual.Backward, From: n + 10}, reverse(seq(1, n))},
		{"backward with limit", eventual.ReadStreamOptions{Direction: eventual.Backward, Limit: 3}, []uint64{n, n - 1, n - 2}},
		{"backward from 1", eventual.ReadStreamOptions{Direction: eventual.Backward, From: 1}, []uint64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readStream(t, s, "long", tt.opts)
			if !equalU64(versions(got), tt.want) {
				t.Fatalf("versions = %s, want %s", short(versions(got)), short(tt.want))
			}
			for _, e := range got {
				if e.StreamID != "long" {
					t.Fatalf("read an event of stream %q", e.StreamID)
				}
			}
		})
	}

	t.Run("stop early", func(t *testing.T) {
		count := 0
		for _, err := range s.ReadStream(testContext(t), "long", eventual.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if count++; count == 1200 {
				break
			}
		}
		if count != 1200 {
			t.Fatalf("read %d events, want to stop at 1200", count)
		}
	})
}

func testReadAll(t *testing.T, b Backend) {
	s := b.open(t)
	var appended []eventual.RecordedEvent
	for i := range 30 {
		stream := fmt.Sprintf("cart-%d", i%3)
		typ := []string{"item.added", "item.removed", "cart.paid"}[i%3]
		if i%5 == 0 {
			stream = fmt.Sprintf("order-%d", i)
		}
		res := mustAppend(t, s, stream, eventual.Any, ev(typ, i))
		appended = append(appended, eventual.RecordedEvent{StreamID: stream, Type: typ, Position: res.LastPosition})
	}
	// 1,200 more events to cross pages.
	for range 3 {
		mustAppend(t, s, "bulk", eventual.Any, evs("bulk", 400)...)
	}
	all := readAll(t, s, eventual.ReadAllOptions{})
	if len(all) != 1230 {
		t.Fatalf("ReadAll returned %d events, want 1230", len(all))
	}
	for i := range all {
		if i > 0 && all[i].Position <= all[i-1].Position {
			t.Fatalf("positions not increasing at %d: %d then %d", i, all[i-1].Position, all[i].Position)
		}
		if i < 30 && (all[i].Position != appended[i].Position || all[i].StreamID != appended[i].StreamID) {
			t.Fatalf("event %d = %q@%d, want %q@%d", i, all[i].StreamID, all[i].Position, appended[i].StreamID, appended[i].Position)
		}
	}
	pos := positions(all)
	match := func(keep func(eventual.RecordedEvent) bool) []uint64 {
		var out []uint64
		for _, e := range all {
			if keep(e) {
				out = append(out, e.Position)
			}
		}
		return out
	}
	tests := []struct {
		name string
		opts eventual.ReadAllOptions
		want []uint64
	}{
		{"from a position", eventual.ReadAllOptions{From: pos[10]}, pos[10:]},
		{"from after the head", eventual.ReadAllOptions{From: pos[len(pos)-1] + 1}, nil},
		{"limit", eventual.ReadAllOptions{From: pos[3], Limit: 4}, pos[3:7]},
		{"limit across pages", eventual.ReadAllOptions{Limit: 1100}, pos[:1100]},
		{"backward", eventual.ReadAllOptions{Direction: eventual.Backward}, reverse(pos)},
		{"backward from a position", eventual.ReadAllOptions{Direction: eventual.Backward, From: pos[20]}, reverse(pos[:21])},
		{"backward with limit", eventual.ReadAllOptions{Direction: eventual.Backward, Limit: 2}, reverse(pos[len(pos)-2:])},
		{"by type", eventual.ReadAllOptions{Filter: eventual.Filter{Types: []string{"cart.paid"}}},
			match(func(e eventual.RecordedEvent) bool { return e.Type == "cart.paid" })},
		{"by two types", eventual.ReadAllOptions{Filter: eventual.Filter{Types: []string{"cart.paid", "item.removed"}}},
			match(func(e eventual.RecordedEvent) bool { return e.Type == "cart.paid" || e.Type == "item.removed" })},
		{"by stream prefix", eventual.ReadAllOptions{Filter: eventual.Filter{StreamPrefix: "order-"}},
			match(func(e eventual.RecordedEvent) bool { return len(e.StreamID) > 6 && e.StreamID[:6] == "order-" })},
		{"by type and prefix", eventual.ReadAllOptions{Filter: eventual.Filter{StreamPrefix: "cart-", Types: []string{"item.added"}}},
			match(func(e eventual.RecordedEvent) bool { return e.Type == "item.added" && e.StreamID[:5] == "cart-" })},
		{"by type backward with limit", eventual.ReadAllOptions{Direction: eventual.Backward, Limit: 2, Filter: eventual.Filter{Types: []string{"item.added"}}},
			reverse(match(func(e eventual.RecordedEvent) bool { return e.Type == "item.added" }))[:2]},
		{"filter matching nothing", eventual.ReadAllOptions{Filter: eventual.Filter{Types: []string{"nope"}}}, nil},
		{"filtered from a position", eventual.ReadAllOptions{From: pos[15], Filter: eventual.Filter{Types: []string{"bulk"}}}, pos[30:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := positions(readAll(t, s, tt.opts))
			if !equalU64(got, tt.want) {
				t.Fatalf("positions = %s, want %s", short(got), short(tt.want))
			}
		})
	}
}

func testReadAllTimeRange(t *testing.T, b Backend) {
	s := b.open(t)
	var cuts []time.Time
	for i := range 3 {
		mustAppend(t, s, fmt.Sprintf("period-%d", i), eventual.NoStream, evs("e", 3)...)
		time.Sleep(20 * time.Millisecond)
		cuts = append(cuts, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
	streamsOf := func(evs []eventual.RecordedEvent) []string {
		var out []string
		for _, e := range evs {
			if len(out) == 0 || out[len(out)-1] != e.StreamID {
				out = append(out, e.StreamID)
			}
		}
		return out
	}
	tests := []struct {
		name string
		opts eventual.ReadAllOptions
		want []string
	}{
		{"since", eventual.ReadAllOptions{Since: cuts[0]}, []string{"period-1", "period-2"}},
		{"until", eventual.ReadAllOptions{Until: cuts[0]}, []string{"period-0"}},
		{"between", eventual.ReadAllOptions{Since: cuts[0], Until: cuts[1]}, []string{"period-1"}},
		{"between backward", eventual.ReadAllOptions{Since: cuts[0], Until: cuts[2], Direction: eventual.Backward}, []string{"period-2", "period-1"}},
		{"after everything", eventual.ReadAllOptions{Since: cuts[2]}, nil},
		{"with a limit", eventual.ReadAllOptions{Since: cuts[0], Limit: 3}, []string{"period-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, s, tt.opts)
			if fmt.Sprint(streamsOf(got)) != fmt.Sprint(tt.want) {
				t.Fatalf("streams = %v, want %v", streamsOf(got), tt.want)
			}
			for _, e := range got {
				if !tt.opts.Matches(e) {
					t.Fatalf("event recorded at %v is outside the range", e.RecordedAt)
				}
			}
		})
	}
}

func reverse(in []uint64) []uint64 {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}

// short prints a long list of numbers by its ends.
func short(v []uint64) string {
	if len(v) <= 12 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%v … %v (%d)", v[:5], v[len(v)-5:], len(v))
}
