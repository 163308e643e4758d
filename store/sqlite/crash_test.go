package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/crashtest"
)

const crashEnv = "EVENTUAL_SQLITE_CRASH" // the child's directory and sync level

// TestCrashKeepsAcknowledgedAppends kills a process that appends (SIGKILL,
// three times per sync level), then checks that every append it was told
// had committed is stored whole, and that the database is intact. A killed
// process loses no commit at either level (only a power loss may, at
// NORMAL): that holds for what the walbuf VFS gathers, too, including
// transactions that spill pages to the WAL and rewrite them.
func TestCrashKeepsAcknowledgedAppends(t *testing.T) {
	if env := os.Getenv(crashEnv); env != "" {
		dir, level, _ := strings.Cut(env, "|")
		crashChild(t, dir, Synchronous(level))
		return
	}
	for _, level := range []Synchronous{SyncFull, SyncNormal} {
		t.Run(string(level), func(t *testing.T) {
			dir := t.TempDir()
			crashtest.Kill(t, 3, []string{crashEnv + "=" + dir + "|" + string(level)}, 400*time.Millisecond, 900*time.Millisecond)
			s, err := Open(context.Background(), filepath.Join(dir, "events.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			acks, err := os.Open(filepath.Join(dir, "acks"))
			if err != nil {
				t.Fatal(err)
			}
			defer acks.Close()
			stmt, err := s.DB().Prepare("SELECT stream_id, data FROM events WHERE position = ?")
			if err != nil {
				t.Fatal(err)
			}
			defer stmt.Close()
			n := 0
			lines := bufio.NewScanner(acks)
			for lines.Scan() {
				f := strings.Fields(lines.Text())
				if len(f) != 3 {
					continue // cut short by the kill
				}
				pos, _ := strconv.ParseInt(f[0], 10, 64)
				seq, _ := strconv.Atoi(f[2])
				var stream string
				var data []byte
				if err := stmt.QueryRow(pos).Scan(&stream, &data); err != nil {
					t.Fatalf("acknowledged append at position %d (%s #%d): %v", pos, f[1], seq, err)
				}
				if stream != f[1] || !bytes.Equal(data, crashData(f[1], seq)) {
					t.Fatalf("position %d holds %s (%d bytes), want %s #%d", pos, stream, len(data), f[1], seq)
				}
				n++
			}
			var ok string
			if err := s.DB().QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
				t.Fatalf("integrity check: %q, %v", ok, err)
			}
			if n == 0 {
				t.Fatal("the child acknowledged no append")
			}
			t.Logf("%d acknowledged appends, all stored", n)
		})
	}
}

// crashData is the payload of the seq-th event a crash child appends to a
// stream: recognizable, and of sizes from one to a few pages.
func crashData(stream string, seq int) []byte {
	head := fmt.Sprintf("%s#%d#", stream, seq)
	return bytes.Repeat([]byte(head), (100+seq*97%6000)/len(head)+1)
}

// crashChild appends until it is killed: writers in group commits, and
// now and then a transaction that spills pages, at the given sync level.
// Each append that returned is acknowledged in dir/acks.
func crashChild(t *testing.T, dir string, level Synchronous) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(dir, "events.db"), WithSynchronous(level))
	if err != nil {
		t.Fatal(err)
	}
	acks, err := os.OpenFile(filepath.Join(dir, "acks"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ack := func(res eventual.AppendResult, seq int) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(acks, "%d %s %d\n", res.LastPosition, res.StreamID, seq); err != nil {
			panic(err)
		}
	}
	if err := s.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS pad (k INTEGER PRIMARY KEY, v BLOB)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cycle := crashtest.Cycle()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			stream := fmt.Sprintf("c%d-w%d", cycle, w)
			for seq := 0; ; seq++ {
				res, err := s.Append(ctx, stream, eventual.Any, eventual.EventData{Type: "t", Data: crashData(stream, seq)})
				if err != nil {
					panic(err)
				}
				ack(res, seq)
			}
		})
	}
	wg.Go(func() {
		stream := fmt.Sprintf("c%d-big", cycle)
		for seq := 0; ; seq++ {
			var res eventual.AppendResult
			err := s.InTxNoSync(ctx, func(tx eventual.Tx) error {
				if _, err := tx.Exec(ctx, "PRAGMA cache_size = 4"); err != nil {
					return err
				}
				defer tx.Exec(ctx, "PRAGMA cache_size = -2000")
				if _, err := tx.Exec(ctx, `WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 200)
					INSERT OR REPLACE INTO pad SELECT k, randomblob(1500) FROM n`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "UPDATE pad SET v = randomblob(1500)"); err != nil {
					return err
				}
				var err error
				res, err = tx.Append(ctx, stream, eventual.Any, eventual.EventData{Type: "t", Data: crashData(stream, seq)})
				return err
			})
			if err != nil {
				panic(err)
			}
			ack(res, seq)
		}
	})
	wg.Wait()
}
