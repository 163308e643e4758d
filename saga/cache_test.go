package saga_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/saga/sagatest"
)

// Clone implements eventual.Cloner: an order holds only values.
func (o order) Clone() order { return o }

// cachedHarness is harness with a state cache, counting the rows its
// loads decode.
func cachedHarness(t *testing.T) (*sagatest.Harness[order], *atomic.Int64) {
	var decoded atomic.Int64
	stop := saga.CountDecodesForTest(func(n int) { decoded.Add(int64(n)) })
	t.Cleanup(stop)
	h := sagatest.New(t, fulfillment(t), saga.WithStateCache(100))
	err := h.Store().InTx(context.Background(), func(tx eventual.Tx) error {
		_, err := tx.Exec(context.Background(), "CREATE TABLE order_log (id TEXT NOT NULL)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, &decoded
}

func TestStateCacheRunsSagasWithoutDecodingTheirRows(t *testing.T) {
	h, decoded := cachedHarness(t)
	h.Start("o-1", order{ID: "o-1", Amount: 4200})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	h.Reply(h.ExpectCommand("payments.authorize"), "payments.authorized", []byte("pay-1"))
	h.Reply(h.ExpectCommand("shipping.create"), "shipping.created", nil)
	h.Reply(h.ExpectCommand("ordering.confirm"), "ordering.confirmed", nil)
	in := h.ExpectStatus("o-1", saga.StatusDone)
	if !in.Data.Reserved || in.Data.PaymentID != "pay-1" || logged(t, h, "o-1") != 1 {
		t.Errorf("instance %+v", in)
	}
	if n := decoded.Load(); n != 0 {
		t.Errorf("%d rows decoded: the cache should have held every state its process wrote", n)
	}

	// A compensation, with a local step failing in its savepoint.
	h.Start("o-2", order{ID: "o-2", FailLocal: true})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	h.Reply(h.ExpectCommand("payments.authorize"), "payments.authorized", []byte("pay-2"))
	h.Reply(h.ExpectCommand("payments.void"), "payments.voided", nil)
	h.Reply(h.ExpectCommand("inventory.release"), "inventory.released", nil)
	in = h.ExpectStatus("o-2", saga.StatusFailed)
	if in.Data.Reserved || logged(t, h, "o-2") != 0 {
		t.Errorf("instance %+v, %d log rows", in, logged(t, h, "o-2"))
	}
}

// TestStateCacheSeesChangesMadeElsewhere changes an instance through a
// second orchestrator on the same database, as another process would: the
// first must work on the changed state, not on the one it cached.
func TestStateCacheSeesChangesMadeElsewhere(t *testing.T) {
	h, decoded := cachedHarness(t)
	ctx := t.Context()
	h.Start("o-1", order{ID: "o-1"})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	authorize := h.ExpectCommand("payments.authorize")

	quiet := slog.New(slog.DiscardHandler)
	ob, err := outbox.New(ctx, h.Store(), outbox.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	other, err := saga.NewOrchestrator(ctx, h.Store(), fulfillment(t), ob, saga.WithLogger(quiet), saga.WithStateCache(100))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	go func() { done <- other.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !other.Running() {
		select {
		case err := <-done:
			t.Fatal(err)
		default:
		}
	}
	if err := other.Repair(ctx, "o-1", saga.RepairCompensate, "elsewhere"); err != nil {
		t.Fatal(err)
	}

	// The payment's reply comes late, to the first: the instance no longer
	// waits for it, and compensates.
	before := decoded.Load()
	h.Reply(authorize, "payments.authorized", []byte("pay-1"))
	if decoded.Load() == before {
		t.Error("the first orchestrator used its cached state, older than the database's")
	}
	h.Reply(h.ExpectCommand("payments.void"), "payments.voided", nil)
	h.Reply(h.ExpectCommand("inventory.release"), "inventory.released", nil)
	h.ExpectStatus("o-1", saga.StatusFailed)
}

func TestStateCacheNeedsCloner(t *testing.T) {
	type plain struct{ N int }
	def, err := saga.Define[plain]("plain").Step("local").
		Local(func(context.Context, eventual.Tx, *plain) error { return nil }).Build()
	if err != nil {
		t.Fatal(err)
	}
	h := sagatest.New(t, fulfillment(t)) // a store and an outbox to try with
	ob, err := outbox.New(t.Context(), h.Store())
	if err != nil {
		t.Fatal(err)
	}
	_, err = saga.NewOrchestrator(t.Context(), h.Store(), def, ob, saga.WithStateCache(10))
	if !errors.Is(err, saga.ErrInvalidOption) {
		t.Fatalf("a state cache for data without Clone: %v, want ErrInvalidOption", err)
	}
	if _, err := saga.NewOrchestrator(t.Context(), h.Store(), def, ob, saga.WithStateCache(-1)); !errors.Is(err, saga.ErrInvalidOption) {
		t.Fatalf("a negative state cache: %v, want ErrInvalidOption", err)
	}
}
