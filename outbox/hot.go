package outbox

import (
	"cmp"
	"slices"
	"sync"

	"github.com/eventual-go/eventual/transport"
)

// maxHot and maxHotBytes bound the rows kept for the relay (a process
// whose relay does not run keeps no more); past them, rows are read back
// from the table as before.
const (
	maxHot      = 16384
	maxHotBytes = 16 << 20
)

// hotRow is a committed row of the outbox, as this process added it.
type hotRow struct {
	seq int64
	msg transport.Message
}

// bySeq orders rows by seq.
func bySeq(a, b hotRow) int { return cmp.Compare(a.seq, b.seq) }

// hotRows are the rows this process added and committed, in seq order, so
// that its relay publishes them without reading them back. The relay
// takes them only as a run that starts right after the last row it
// published: a row another process added, or one whose transaction's
// AfterCommit has not run yet, leaves a gap, and the relay then reads the
// table, which holds every committed row. So the table stays the truth;
// this only saves reading it.
type hotRows struct {
	mu    sync.Mutex
	max   int
	rows  []hotRow // sorted by seq
	bytes int      // of the rows' data, about
}

// size is about how much memory a row holds.
func (r hotRow) size() int {
	return len(r.msg.Data) + len(r.msg.ID) + len(r.msg.Subject) + len(r.msg.Type) + len(r.msg.Key) + 64
}

// appendHot pairs the seqs an INSERT returned with the messages it
// inserted, in order: seqs are handed out in the order of the VALUES.
// If the returned IDs do not match the messages so paired, nothing is
// kept (the relay reads those rows from the table).
func appendHot(dst, returned []hotRow, msgs []transport.Message) []hotRow {
	if dst == nil && len(returned) == 0 {
		return nil
	}
	slices.SortFunc(returned, bySeq)
	if len(returned) != len(msgs) {
		return dst[:0:0]
	}
	for i, r := range returned {
		if r.msg.ID != msgs[i].ID {
			return dst[:0:0]
		}
		returned[i].msg = msgs[i]
	}
	return append(dst, returned...)
}

// add keeps committed rows, unless that would pass the bound.
func (h *hotRows) add(rows []hotRow) {
	if len(rows) == 0 {
		return
	}
	size := 0
	for _, r := range rows {
		size += r.size()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.rows)+len(rows) > h.max || h.bytes+size > maxHotBytes {
		return
	}
	h.rows, h.bytes = append(h.rows, rows...), h.bytes+size
	if n := len(h.rows) - len(rows); n > 0 && h.rows[n-1].seq > h.rows[n].seq {
		// Transactions' AfterCommit functions ran out of commit order.
		slices.SortFunc(h.rows, bySeq)
	}
}

// take forgets the rows up to after (published) and returns up to n of
// those that follow, if they start at after+1 and have no gap: the next
// rows of the table. ok is false when the table must be read instead.
func (h *hotRows) take(after int64, n int) (b batchRead, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for i < len(h.rows) && h.rows[i].seq <= after {
		h.bytes -= h.rows[i].size()
		i++
	}
	h.rows = h.rows[i:]
	if len(h.rows) == 0 || h.rows[0].seq != after+1 {
		return batchRead{}, false
	}
	for i := 0; i < len(h.rows) && i < n && h.rows[i].seq == after+1+int64(i); i++ {
		b.seqs = append(b.seqs, h.rows[i].seq)
		b.msgs = append(b.msgs, h.rows[i].msg)
	}
	return b, true
}
