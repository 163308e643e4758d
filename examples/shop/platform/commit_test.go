package platform_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/store/sqlite"
)

// countingStore counts the transactions run on it.
type countingStore struct {
	platform.Store
	txs atomic.Int64
}

func (s *countingStore) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	s.txs.Add(1)
	return s.Store.InTx(ctx, fn)
}

// Many concurrent Do calls share transactions; one that fails fails alone
// and the others commit.
func TestCommitterGroupsAndIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE rows (n INTEGER PRIMARY KEY)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	c := platform.NewCommitter(cs, 64)
	const calls, failing = 400, 7
	errBad := errors.New("bad row")
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			errs[i] = c.Do(ctx, func(ctx context.Context, tx eventual.Tx) error {
				if i == failing {
					return errBad
				}
				_, err := tx.Exec(ctx, "INSERT INTO rows (n) VALUES ($1)", i)
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == failing) != errors.Is(err, errBad) || (i != failing && err != nil) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	var n int
	if err := st.QueryRow(ctx, "SELECT COUNT(*) FROM rows").Scan(&n); err != nil || n != calls-1 {
		t.Errorf("%d rows (%v), want %d", n, err, calls-1)
	}
	if txs := cs.txs.Load(); txs >= calls {
		t.Errorf("%d transactions for %d calls: nothing was grouped", txs, calls)
	} else {
		t.Logf("%d transactions for %d calls", txs, calls)
	}
}
