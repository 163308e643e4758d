package outbox

import (
	"slices"
	"strconv"
	"testing"

	"github.com/eventual-go/eventual/transport"
)

func rowsOf(seqs ...int64) []hotRow {
	out := make([]hotRow, len(seqs))
	for i, s := range seqs {
		out[i] = hotRow{seq: s, msg: transport.Message{ID: "m" + strconv.FormatInt(s, 10), Data: []byte("x")}}
	}
	return out
}

func TestHotRows(t *testing.T) {
	h := hotRows{max: 100}
	if _, ok := h.take(0, 10); ok {
		t.Fatal("took rows from nothing")
	}
	h.add(rowsOf(4, 5))
	if _, ok := h.take(0, 10); ok {
		t.Fatal("took rows 4, 5 after 0: rows 1 to 3 are missing")
	}
	h.add(rowsOf(1, 2)) // out of commit order
	b, ok := h.take(0, 10)
	if !ok || !slices.Equal(b.seqs, []int64{1, 2}) {
		t.Fatalf("after 0: %v %v, want 1, 2 (3 is missing)", b.seqs, ok)
	}
	h.add(rowsOf(3))
	b, ok = h.take(2, 2)
	if !ok || !slices.Equal(b.seqs, []int64{3, 4}) || b.msgs[0].ID != "m3" {
		t.Fatalf("after 2, two: %v %v", b.seqs, ok)
	}
	b, ok = h.take(4, 10)
	if !ok || !slices.Equal(b.seqs, []int64{5}) {
		t.Fatalf("after 4: %v %v", b.seqs, ok)
	}
	if _, ok := h.take(5, 10); ok || len(h.rows) != 0 || h.bytes != 0 {
		t.Fatalf("after 5: %d rows, %d bytes left", len(h.rows), h.bytes)
	}

	// Bounded: past max, rows are not kept (the table has them).
	h = hotRows{max: 3}
	h.add(rowsOf(1, 2))
	h.add(rowsOf(3, 4))
	if b, ok := h.take(0, 10); !ok || !slices.Equal(b.seqs, []int64{1, 2}) {
		t.Fatalf("bounded: %v %v", b.seqs, ok)
	}
}

func TestAppendHotPairsSeqsWithMessages(t *testing.T) {
	msgs := []transport.Message{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	returned := []hotRow{{seq: 12, msg: transport.Message{ID: "c"}}, {seq: 10, msg: transport.Message{ID: "a"}}, {seq: 11, msg: transport.Message{ID: "b"}}}
	got := appendHot(nil, returned, msgs)
	if len(got) != 3 || got[0].seq != 10 || got[0].msg.ID != "a" || got[2].seq != 12 || got[2].msg.ID != "c" {
		t.Fatalf("paired %+v", got)
	}
	// IDs that do not pair up: nothing is kept.
	bad := []hotRow{{seq: 10, msg: transport.Message{ID: "b"}}, {seq: 11, msg: transport.Message{ID: "a"}}, {seq: 12, msg: transport.Message{ID: "c"}}}
	if got := appendHot(nil, bad, msgs); len(got) != 0 {
		t.Fatalf("kept %+v", got)
	}
}
