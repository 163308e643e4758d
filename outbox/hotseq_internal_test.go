package outbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/transport"
)

// The relay publishes the rows this process added from memory, by the
// seqs Add learned for them (RETURNING on PostgreSQL; on SQLite from
// sqlite_sequence after a plain INSERT). A wrong seq would publish a
// message under another row's number and mark that row sent: a message
// lost. So every row kept in memory must carry the seq and message the
// table holds, through inserts split in chunks, several Adds and appends
// in one transaction, rows deleted before, and savepoints rolled back.
//
// On SQLite the seqs come from the transaction's last inserted rowid, or,
// for a transaction that does not tell it (wrapped), from sqlite_sequence:
// both ways are checked.
func TestHotRowsCarryTheSeqsTheTableHolds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		t.Run("the store's transactions", func(t *testing.T) { checkHotSeqs(t, b, false) })
		t.Run("wrapped transactions", func(t *testing.T) { checkHotSeqs(t, b, true) })
	})
}

// wrappedTx is a transaction that shows nothing but eventual.Tx.
type wrappedTx struct{ eventual.Tx }

func checkHotSeqs(t *testing.T, b testdb.Backend, wrap bool) {
	{
		ctx := context.Background()
		s := b.New(t)
		o, err := New(ctx, s, WithRetention(0))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		batch := func(k int) []transport.Message {
			out := make([]transport.Message, k)
			for i := range out {
				n++
				out[i] = transport.Message{ID: fmt.Sprintf("m-%d", n), Subject: "s", Type: "t", Key: fmt.Sprint(n % 7), Data: []byte(fmt.Sprintf(`{"n":%d}`, n))}
			}
			return out
		}
		txs := []func(tx eventual.Tx) error{
			func(tx eventual.Tx) error { return o.Add(ctx, tx, batch(1)...) },
			func(tx eventual.Tx) error { return o.Add(ctx, tx, batch(3)...) },
			// 700: chunks of 512, 128, 32, 16, 8 and 4.
			func(tx eventual.Tx) error { return o.Add(ctx, tx, batch(700)...) },
			// Several Adds with appends between them.
			func(tx eventual.Tx) error {
				for i := range 5 {
					if _, err := tx.Append(ctx, fmt.Sprintf("st-%d", i), eventual.Any, eventual.EventData{Type: "e", Data: []byte("{}")}); err != nil {
						return err
					}
					if err := o.Add(ctx, tx, batch(i+1)...); err != nil {
						return err
					}
				}
				return nil
			},
			// A savepoint rolled back: its rows are undone (on SQLite their
			// seqs are handed out again), the rows after it kept.
			func(tx eventual.Tx) error {
				if err := o.Add(ctx, tx, batch(2)...); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "SAVEPOINT sp"); err != nil {
					return err
				}
				undone := batch(5)
				if err := o.Add(ctx, tx, undone...); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT sp"); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT sp"); err != nil {
					return err
				}
				return o.Add(ctx, tx, batch(4)...)
			},
		}
		for i, fn := range txs {
			err := s.InTx(ctx, func(tx eventual.Tx) error {
				if _, ok := tx.(lastInsertIDer); !ok && b.Name == "sqlite" && !wrap {
					t.Error("the SQLite store's transaction does not tell its last inserted rowid")
				}
				if wrap {
					tx = wrappedTx{tx}
				}
				return fn(tx)
			})
			if err != nil {
				t.Fatalf("transaction %d: %v", i, err)
			}
			if i == 2 {
				// Rows deleted (as the relay does once they are sent):
				// the next seqs still follow the largest ever used.
				if _, err := o.markSent(ctx, []int64{1, 2, 3, 4}); err != nil {
					t.Fatal(err)
				}
			}
		}
		stored := map[int64]string{}
		err = s.InTx(ctx, func(tx eventual.Tx) error {
			rows, err := tx.Query(ctx, "SELECT seq, id FROM eventual_outbox")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var seq int64
				var id string
				if err := rows.Scan(&seq, &id); err != nil {
					return err
				}
				stored[seq] = id
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		o.hot.mu.Lock()
		hot := append([]hotRow(nil), o.hot.rows...)
		o.hot.mu.Unlock()
		if len(hot) == 0 {
			t.Fatal("no rows kept in memory")
		}
		kept := 0
		for _, r := range hot {
			id, ok := stored[r.seq]
			if !ok {
				continue // marked sent and deleted
			}
			kept++
			if id != r.msg.ID {
				t.Errorf("seq %d: kept in memory as %s, stored as %s", r.seq, r.msg.ID, id)
			}
		}
		if want := len(stored); kept != want {
			t.Errorf("%d of the %d stored rows kept in memory", kept, want)
		}
	}
}
