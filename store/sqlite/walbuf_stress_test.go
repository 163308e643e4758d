package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// Several stores on one file append, spill big transactions to the WAL
// and roll half of them back, and read everything back as they go: every
// event read is whole (its data carries its own checksum), every append
// acknowledged is stored, and the file passes SQLite's integrity check —
// the walbuf VFS's buffers, flushed at commits, reads and lock releases,
// never put one connection's frames over another's.
func TestWALBufferUnderConcurrentWritersAndRollbacks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	const stores = 3
	ss := make([]*Store, stores)
	for i := range ss {
		s, err := Open(ctx, path, WithSynchronous([]Synchronous{SyncFull, SyncNormal}[i%2]))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ss[i] = s
	}
	if err := ss[0].InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE pad (k INTEGER PRIMARY KEY, v BLOB)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sealed := func(n int) []byte { // sha256 of the rest, then the rest
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(rand.IntN(256))
		}
		sum := sha256.Sum256(body)
		return append(sum[:], body...)
	}
	whole := func(data []byte) bool {
		if len(data) < sha256.Size {
			return false
		}
		sum := sha256.Sum256(data[sha256.Size:])
		return bytes.Equal(sum[:], data[:sha256.Size])
	}
	var mu sync.Mutex
	acked := map[uint64][]byte{} // position → data
	ack := func(res eventual.AppendResult, data []byte) {
		mu.Lock()
		acked[res.LastPosition] = data
		mu.Unlock()
	}
	errRollBack := errors.New("roll back")
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { // appends in group commits
			for n := 0; time.Now().Before(deadline); n++ {
				data := sealed(100 + rand.IntN(5000))
				res, err := s.Append(ctx, fmt.Sprintf("s%d-%d", i, n%50), eventual.Any, eventual.EventData{Type: "t", Data: data})
				if err != nil {
					t.Error(err)
					return
				}
				ack(res, data)
			}
		})
		wg.Go(func() { // big transactions that spill, half rolled back
			for n := 0; time.Now().Before(deadline); n++ {
				data := sealed(2000)
				var res eventual.AppendResult
				err := s.InTx(ctx, func(tx eventual.Tx) error {
					if _, err := tx.Exec(ctx, "PRAGMA cache_size = 8"); err != nil {
						return err
					}
					defer tx.Exec(ctx, "PRAGMA cache_size = -2000")
					for range 60 {
						if _, err := tx.Exec(ctx, "INSERT OR REPLACE INTO pad VALUES (?, randomblob(2500))", rand.IntN(400)); err != nil {
							return err
						}
					}
					var err error
					if res, err = tx.Append(ctx, fmt.Sprintf("big-%d", i), eventual.Any, eventual.EventData{Type: "t", Data: data}); err != nil {
						return err
					}
					if n%2 == 0 {
						return errRollBack
					}
					return nil
				})
				switch {
				case err == nil:
					ack(res, data)
				case !errors.Is(err, errRollBack):
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() { // reads everything, again and again
			for time.Now().Before(deadline) {
				for e, err := range s.ReadAll(ctx, eventual.ReadAllOptions{}) {
					if err != nil {
						t.Error(err)
						return
					}
					if !whole(e.Data) {
						t.Errorf("event at %d read back torn (%d bytes)", e.Position, len(e.Data))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	db := recovered(t, path)
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity check: %q, %v", ok, err)
	}
	for pos, want := range acked {
		var got []byte
		if err := db.QueryRowContext(ctx, "SELECT data FROM events WHERE position = ?", pos).Scan(&got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("acknowledged event at %d: %d bytes read back (%v), want %d", pos, len(got), err, len(want))
		}
	}
	t.Logf("%d acknowledged events, all whole", len(acked))
}
