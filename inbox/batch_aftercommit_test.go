package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/transport"
)

// TestBatchedAfterCommit: the after-commit functions of a batch's
// handlers run once for each delivery that committed, never for one
// whose handler failed (rolled back to its savepoint), and not for the
// rolled-back first run of the batch.
func TestBatchedAfterCommit(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s, ib := setup(t, b)
		ctx := context.Background()
		var mu sync.Mutex
		ran := map[string]int{}
		h := ib.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			if err := effect(ctx, tx, d.Group, d.ID); err != nil {
				return err
			}
			tx.AfterCommit(func() { mu.Lock(); ran[d.ID]++; mu.Unlock() })
			if string(d.Data) == "fail" {
				return errBoom
			}
			return nil
		}, 16)
		var wg sync.WaitGroup
		errs := make([]error, 48)
		for i := range errs {
			wg.Go(func() {
				m := transport.NewMessage("a.b", "t", nil)
				m.ID = fmt.Sprintf("m-%d", i%40)
				if i%40 == 7 || i%40 == 21 {
					m.Data = []byte("fail")
				}
				errs[i] = h(ctx, transport.Delivery{Message: m, Attempt: 1, Group: "g"})
			})
		}
		wg.Wait()
		for i, err := range errs {
			failing := i%40 == 7 || i%40 == 21
			if failing != errors.Is(err, errBoom) {
				t.Errorf("delivery %d: %v", i, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range 40 {
			id := fmt.Sprintf("m-%d", i)
			want := 1
			if i == 7 || i == 21 {
				want = 0
			}
			if ran[id] != want {
				t.Errorf("%s: after-commit ran %d times, want %d", id, ran[id], want)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM effects WHERE message_id = $1", id); n != int64(want) {
				t.Errorf("%s: %d effects, want %d", id, n, want)
			}
		}
	})
}
