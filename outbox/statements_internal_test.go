package outbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/transport"
)

// Marking rows sent takes a handful of statements whatever the batch
// sizes (powers of two, padded with the last sequence number), so they
// stay prepared in the connection's statement cache.
func TestMarkSentStatementsAreFew(t *testing.T) {
	for _, retain := range []bool{false, true} {
		seen := map[string]bool{}
		for n := 1; n <= maxMarkChunk; n++ {
			q, params := markSentSQL(retain, n)
			if params < n || params >= 2*n && n > 1 {
				t.Fatalf("retain %v, %d rows: %d parameters", retain, n, params)
			}
			if got := strings.Count(q, "$"); got != params+map[bool]int{false: 0, true: 1}[retain] {
				t.Fatalf("retain %v, %d rows: %d placeholders in %q, want %d sequence numbers", retain, n, got, q[:60], params)
			}
			seen[q] = true
		}
		if len(seen) > 11 {
			t.Errorf("retain %v: %d statements for batches of 1 to %d rows", retain, len(seen), maxMarkChunk)
		}
	}
}

// markSent marks exactly the rows named, across statements of padded
// batches, on both backends and with or without retention.
func TestMarkSentMarksTheRowsNamed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		for _, retention := range []time.Duration{0, time.Hour} {
			ctx := context.Background()
			s := b.New(t)
			o, err := New(ctx, s, WithRetention(retention))
			if err != nil {
				t.Fatal(err)
			}
			const total = 1500
			msgs := make([]transport.Message, total)
			for i := range msgs {
				msgs[i] = transport.Message{ID: fmt.Sprintf("m-%d", i), Type: "t", Subject: "s", Data: []byte("{}")}
			}
			if err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx, msgs...) }); err != nil {
				t.Fatal(err)
			}
			// 1,100 rows in one call (two statements: 1,024 and 76
			// padded to 128), then 100 (padded to 128), leaving 300.
			var first, second []int64
			for seq := int64(1); seq <= 1200; seq++ {
				if seq <= 1100 {
					first = append(first, seq)
				} else {
					second = append(second, seq)
				}
			}
			for _, seqs := range [][]int64{first, second} {
				n, err := o.markSent(ctx, seqs)
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(seqs)) {
					t.Fatalf("retention %v: marked %d rows, want %d", retention, n, len(seqs))
				}
			}
			var unsent int64
			if err := s.InTx(ctx, func(tx eventual.Tx) error {
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM eventual_outbox WHERE sent_at IS NULL AND seq > 1200").Scan(&unsent)
			}); err != nil {
				t.Fatal(err)
			}
			if unsent != total-1200 {
				t.Fatalf("retention %v: %d rows after 1,200 unsent, want %d", retention, unsent, total-1200)
			}
		}
	})
}

// Add writes any number of messages with a handful of statements (up to 4
// exactly, then powers of two), and every message gets its row.
func TestAddUsesFewStatements(t *testing.T) {
	ctx := context.Background()
	s := testdb.SQLite().New(t)
	o, err := New(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	total := 0
	for n := 1; n <= 300; n += 7 {
		msgs := make([]transport.Message, n)
		for i := range msgs {
			msgs[i] = transport.Message{ID: fmt.Sprintf("m-%d", total+i), Type: "t", Subject: "s", Data: []byte("{}")}
		}
		total += n
		if err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, testdb.Recorder{Tx: tx, Seen: seen}, msgs...) }); err != nil {
			t.Fatal(err)
		}
	}
	// 1, 2, 3 and 4 rows, then powers of two up to 256.
	if len(seen) > 10 {
		t.Errorf("%d distinct statements for 1 to 300 messages, want at most 10", len(seen))
	}
	var rows int64
	if err := s.InTx(ctx, func(tx eventual.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(DISTINCT id) FROM eventual_outbox").Scan(&rows)
	}); err != nil || rows != int64(total) {
		t.Fatalf("outbox holds %d messages (%v), want %d", rows, err, total)
	}
}
