package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/inbox"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

var errBoom = errors.New("boom")

func TestDuplicateIsSkipped(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b)
		runs := 0
		handle := func(consumer, id string) bool {
			t.Helper()
			handled, err := ib.Handle(ctx, consumer, id, func(tx eventual.Tx) error {
				runs++
				return effect(ctx, tx, consumer, id)
			})
			if err != nil {
				t.Fatal(err)
			}
			return handled
		}
		if !handle("billing", "m-1") {
			t.Error("first delivery: not handled")
		}
		if handle("billing", "m-1") {
			t.Error("second delivery: handled again")
		}
		if !handle("audit", "m-1") {
			t.Error("another consumer: not handled")
		}
		if !handle("billing", "m-2") {
			t.Error("another message: not handled")
		}
		if runs != 3 {
			t.Errorf("fn ran %d times, want 3", runs)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM effects WHERE consumer = 'billing' AND message_id = 'm-1'"); n != 1 {
			t.Errorf("effect written %d times, want once", n)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM eventual_inbox"); n != 3 {
			t.Errorf("%d inbox rows, want 3", n)
		}
	})
}

func TestFailedHandlingRecordsNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b)
		handled, err := ib.Handle(ctx, "billing", "m-1", func(tx eventual.Tx) error {
			if err := effect(ctx, tx, "billing", "m-1"); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom || handled {
			t.Fatalf("Handle: %v, %v; want false and fn's error as it is", handled, err)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM effects"); n != 0 {
			t.Errorf("%d effects of a failed handling", n)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM eventual_inbox"); n != 0 {
			t.Errorf("%d inbox rows of a failed handling", n)
		}
		handled, err = ib.Handle(ctx, "billing", "m-1", func(tx eventual.Tx) error { return effect(ctx, tx, "billing", "m-1") })
		if err != nil || !handled {
			t.Fatalf("retry: %v, %v", handled, err)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM effects"); n != 1 {
			t.Errorf("%d effects after the retry, want 1", n)
		}
	})
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b)
		const n = 16
		var runs, handled atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := ib.Handle(ctx, "billing", "m-1", func(tx eventual.Tx) error {
					runs.Add(1)
					time.Sleep(5 * time.Millisecond) // hold the transaction open a while
					return effect(ctx, tx, "billing", "m-1")
				})
				if err != nil {
					t.Error(err)
				}
				if ok {
					handled.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if runs.Load() != 1 || handled.Load() != 1 {
			t.Errorf("fn ran %d times, %d reported handled; want 1 and 1", runs.Load(), handled.Load())
		}
		if c := count(t, s, "SELECT COUNT(*) FROM effects"); c != 1 {
			t.Errorf("%d effects, want 1", c)
		}
	})
}

func TestHandlerThroughTransport(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b)
		tr, err := inproc.New(inproc.WithDedupWindow(0, 0), inproc.WithLogger(quiet)) // the inbox deduplicates
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		var calls atomic.Int64
		h := ib.Handler(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			calls.Add(1)
			return effect(ctx, tx, d.Group, d.ID)
		})
		for _, group := range []string{"billing", "audit"} {
			if err := tr.Subscribe(ctx, transport.Subscription{Subject: "orders.>", Group: group}, h); err != nil {
				t.Fatal(err)
			}
		}
		m := transport.NewMessage("orders.placed", "order.placed", []byte("{}"))
		for range 3 { // Publish returns once every group handled it
			if err := tr.Publish(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if calls.Load() != 2 {
			t.Errorf("handler ran %d times, want once per group", calls.Load())
		}
		if n := count(t, s, "SELECT COUNT(*) FROM effects WHERE message_id = $1", m.ID); n != 2 {
			t.Errorf("%d effects, want one per group", n)
		}

		// Errors pass through as they are: a terminal one stays terminal.
		term := ib.Handler(func(context.Context, eventual.Tx, transport.Delivery) error { return transport.Terminate(errBoom) })
		err = term(ctx, transport.Delivery{Message: transport.NewMessage("orders.x", "x", nil), Attempt: 1, Group: "billing"})
		if !transport.IsTerminal(err) || !errors.Is(err, errBoom) {
			t.Errorf("terminal error: %v", err)
		}
		err = ib.Handler(nil)(ctx, transport.Delivery{Message: m, Group: "g"})
		if !transport.IsTerminal(err) || !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("nil handler: %v, want a terminal eventual.ErrInvalidArgument", err)
		}
	})
}

func TestCleanup(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b, inbox.WithRetention(24*time.Hour))
		nop := func(eventual.Tx) error { return nil }
		for _, id := range []string{"m-1", "m-2", "m-3"} {
			if _, err := ib.Handle(ctx, "c", id, nop); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := ib.Cleanup(ctx); n != 0 || err != nil {
			t.Fatalf("Cleanup within retention: %d, %v", n, err)
		}
		age := (25 * time.Hour).Microseconds()
		exec(t, s, "UPDATE eventual_inbox SET received_at = received_at - $1 WHERE message_id <> 'm-3'", age)
		if n, err := ib.Cleanup(ctx); n != 2 || err != nil {
			t.Fatalf("Cleanup: %d, %v; want 2", n, err)
		}
		// Forgotten: a (very late) redelivery is handled again.
		if handled, err := ib.Handle(ctx, "c", "m-1", nop); !handled || err != nil {
			t.Errorf("after cleanup: %v, %v", handled, err)
		}
		// Run cleans up at once.
		exec(t, s, "UPDATE eventual_inbox SET received_at = received_at - $1", age)
		background(t, ib.Run)
		eventually(t, "Run cleaned up", func() bool { return count(t, s, "SELECT COUNT(*) FROM eventual_inbox") == 0 })
	})
}

func TestCleanupInChunks(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, ib := setup(t, b)
		exec(t, s, `INSERT INTO eventual_inbox (consumer, message_id, received_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5001)
			SELECT 'c', 'm-' || i, 1 FROM n`)
		if n, err := ib.Cleanup(ctx); n != 5001 || err != nil {
			t.Fatalf("Cleanup: %d, %v; want 5001", n, err)
		}
	})
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	_, ib := setup(t, testdb.SQLite())
	nop := func(eventual.Tx) error { return nil }
	for name, call := range map[string]func() error{
		"empty consumer":   func() error { _, err := ib.Handle(ctx, "", "m", nop); return err },
		"empty message ID": func() error { _, err := ib.Handle(ctx, "c", "", nop); return err },
		"NUL in ID":        func() error { _, err := ib.Handle(ctx, "c", "m\x00", nop); return err },
		"bad UTF-8":        func() error { _, err := ib.Handle(ctx, "\xff", "m", nop); return err },
		"nil fn":           func() error { _, err := ib.Handle(ctx, "c", "m", nil); return err },
	} {
		if err := call(); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("%s: %v, want eventual.ErrInvalidArgument", name, err)
		}
	}
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := inbox.New(ctx, mem); !errors.Is(err, eventual.ErrUnsupported) {
		t.Errorf("New on the memory store: %v, want eventual.ErrUnsupported", err)
	}
	if _, err := inbox.New(ctx, nil); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("New on nil: %v, want eventual.ErrInvalidArgument", err)
	}
	s := testdb.SQLite().New(t)
	for name, opt := range map[string]inbox.Option{
		"zero retention": inbox.WithRetention(0),
		"nil logger":     inbox.WithLogger(nil),
		"nil option":     nil,
	} {
		if _, err := inbox.New(ctx, s, opt); !errors.Is(err, inbox.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// errFail is what effectOrFail returns for a delivery whose data is "fail".
var errFail = errors.New("boom")

// effectOrFail records the delivery's effect, then fails it if its data
// says "fail": the effect must then roll back.
func effectOrFail(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	if err := effect(ctx, tx, d.Group, d.ID); err != nil {
		return err
	}
	if string(d.Data) == "fail" {
		return errFail
	}
	return nil
}

// Batched handles deliveries that come together in one transaction: a
// duplicate is skipped, a failing one rolls back alone, the others
// commit.
func TestBatched(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s, ib := setup(t, b)
		ctx := context.Background()
		h := ib.Batched(effectOrFail, 16)
		var wg sync.WaitGroup
		results := make([]error, 40)
		for i := range 40 {
			wg.Go(func() {
				m := transport.NewMessage("a.b", "t", nil)
				m.ID = fmt.Sprintf("m-%d", i%30) // ten duplicates, of m-0 to m-9
				if i == 12 {
					m.Data = []byte("fail")
				}
				results[i] = h(ctx, transport.Delivery{Message: m, Attempt: 1, Group: "g"})
			})
		}
		wg.Wait()
		for i, err := range results {
			if i == 12 && !errors.Is(err, errFail) {
				t.Errorf("delivery 12: %v, want boom", err)
			}
			if i != 12 && err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
		}
		// Every message but the failing one took effect exactly once.
		n := count(t, s, "SELECT COUNT(*) FROM effects")
		if n != 29 {
			t.Errorf("%d effects, want 29", n)
		}
		if d := count(t, s, "SELECT COUNT(*) FROM (SELECT message_id FROM effects GROUP BY message_id HAVING COUNT(*) > 1) x"); d != 0 {
			t.Errorf("a message took effect twice")
		}
	})
}

// savepoints counts the savepoints that transactions through it take.
type savepoints struct {
	migratingStore
	n atomic.Int64
}

type migratingStore interface {
	eventual.TxStore
	eventual.Migrator
}

func (s *savepoints) InTx(ctx context.Context, fn func(eventual.Tx) error) error {
	return s.migratingStore.InTx(ctx, func(tx eventual.Tx) error { return fn(&savepointTx{tx, &s.n}) })
}

type savepointTx struct {
	eventual.Tx
	n *atomic.Int64
}

func (t *savepointTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if strings.HasPrefix(query, "SAVEPOINT") {
		t.n.Add(1)
	}
	return t.Tx.Exec(ctx, query, args...)
}

// A batch whose handlers all succeed runs without savepoints (a message
// costs its share of one INSERT); one that fails makes the batch run again
// with a savepoint per message.
func TestBatchedTakesSavepointsOnlyWhenAHandlerFails(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s, _ := setup(t, b)
		sp := &savepoints{migratingStore: s.(migratingStore)}
		ib, err := inbox.New(context.Background(), sp, inbox.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		h := ib.Batched(effectOrFail, 16)
		deliver := func(ids ...string) []error {
			errs := make([]error, len(ids))
			var wg sync.WaitGroup
			for i, id := range ids {
				wg.Go(func() {
					m := transport.NewMessage("a.b", "t", nil)
					m.ID = id
					if strings.HasPrefix(id, "fail") {
						m.Data = []byte("fail")
					}
					errs[i] = h(context.Background(), transport.Delivery{Message: m, Attempt: 1, Group: "g"})
				})
			}
			wg.Wait()
			return errs
		}
		for _, err := range deliver("a", "b", "c", "a", "d") {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := sp.n.Load(); n != 0 {
			t.Errorf("%d savepoints for handlers that all succeeded, want none", n)
		}
		errs := deliver("e", "fail-1", "f")
		if !errors.Is(errs[1], errFail) || errs[0] != nil || errs[2] != nil {
			t.Errorf("errors %v, want boom for fail-1 alone", errs)
		}
		if sp.n.Load() == 0 {
			t.Error("a handler failed, and no savepoint isolated it")
		}
		if n := count(t, s, "SELECT COUNT(*) FROM effects"); n != 6 {
			t.Errorf("%d effects, want 6 (a to f, once each)", n)
		}
	})
}
