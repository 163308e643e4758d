package fulfillment_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	customersapi "github.com/eventual-go/eventual/examples/shop/customers/api"
	"github.com/eventual-go/eventual/examples/shop/fulfillment"
	"github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	inventoryapi "github.com/eventual-go/eventual/examples/shop/inventory/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	paymentsapi "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
)

// world stands in for the other contexts: it answers every command the
// sagas send, by simple rules, and records what it was sent per order.
type world struct {
	t    *testing.T
	tr   transport.Transport
	mu   sync.Mutex
	sent map[string][]string // order ID → command types
}

func newWorld(t *testing.T, h *platformtest.Harness) *world {
	w := &world{t: t, tr: h.Transport, sent: map[string][]string{}}
	for _, ctx := range []string{"customers", "inventory", "payments", "shipping", "ordering"} {
		err := h.Transport.Subscribe(context.Background(), transport.Subscription{Subject: ctx + ".commands.>", Group: "fake-" + ctx, Concurrency: 16}, w.answer)
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) answer(ctx context.Context, d transport.Delivery) error {
	order := d.Key
	w.mu.Lock()
	w.sent[order] = append(w.sent[order], d.Type)
	w.mu.Unlock()
	typ := d.Type + ".done"
	var reply any = map[string]string{"order_id": order}
	switch d.Type {
	case paymentsapi.TypeAuthorizePayment:
		p, err := platform.Decode[paymentsapi.AuthorizePayment](d)
		if err != nil {
			return err
		}
		switch p.Token {
		case paymentsapi.TokenTimeout:
			return nil
		case paymentsapi.TokenDecline:
			typ, reply = d.Type+".failed", paymentsapi.PaymentReply{OrderID: order, Status: paymentsapi.PaymentDeclined, Reason: "card declined"}
		default:
			reply = paymentsapi.PaymentReply{OrderID: order, PaymentID: "pay-" + order, Status: paymentsapi.PaymentAuthorized}
		}
	case shippingapi.TypeCreateShipment:
		reply = shippingapi.ShipmentReply{OrderID: order, ShipmentID: "shp-" + order, TrackingNumber: "TRK-" + order}
	}
	m, err := platform.ReplyMessage(d, typ, reply)
	if err != nil {
		return err
	}
	return w.tr.Publish(ctx, m)
}

func (w *world) commands(order string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent[order])
}

func place(h *platformtest.Harness, token string) string {
	id := uuid.Must(uuid.NewV7()).String()
	eur := func(n int64) kernel.Money { return kernel.Money{Minor: n, Currency: "EUR"} }
	h.Publish(orderingapi.SubjectOrderPlaced, orderingapi.TypeOrderPlaced, id, orderingapi.OrderPlaced{
		OrderID: id, CustomerID: "c-1", PaymentToken: token, Total: eur(1200), PlacedAt: time.Now(),
		Lines:           []orderingapi.OrderLine{{ProductID: "p-1", StoreID: "s-1", Name: "Tea", Quantity: 2, UnitPrice: eur(600), Total: eur(1200)}},
		ShippingAddress: kernel.Address{Name: "Ada", Street: "1 Main St", City: "Paris", PostalCode: "75001", Country: "FR"},
	})
	return id
}

func sagaOf(h *platformtest.Harness, name, id string) map[string]any {
	var s map[string]any
	if h.Do("GET", "/api/sagas/"+name+"/"+id, nil, &s) != 200 {
		return nil
	}
	return s
}

func TestFulfillmentSagaOverTheTransport(t *testing.T) {
	h := platformtest.Start(t, fulfillment.Module{StepTimeout: 300 * time.Millisecond, Attempts: 2, Backoff: 10 * time.Millisecond})
	w := newWorld(t, h)
	fulfilled := h.Collect(api.EventsSubjects)

	t.Run("happy path", func(t *testing.T) {
		id := place(h, "tok_ok")
		h.Eventually("saga done", func() bool { s := sagaOf(h, "fulfillment", id); return s != nil && s["status"] == "done" })
		want := []string{customersapi.TypeAuthorizeCustomer, inventoryapi.TypeReserveStock, paymentsapi.TypeAuthorizePayment,
			shippingapi.TypeCreateShipment, paymentsapi.TypeCapturePayment, orderingapi.TypeConfirmOrder}
		if got := w.commands(id); !slices.Equal(got, want) {
			t.Errorf("commands %v, want %v", got, want)
		}
		h.Eventually("order fulfilled event", func() bool {
			for _, d := range fulfilled.Of(api.TypeOrderFulfilled) {
				if d.Key == id {
					return true
				}
			}
			return false
		})
	})

	t.Run("payment declined compensates", func(t *testing.T) {
		id := place(h, paymentsapi.TokenDecline)
		h.Eventually("saga failed", func() bool { s := sagaOf(h, "fulfillment", id); return s != nil && s["status"] == "failed" })
		want := []string{customersapi.TypeAuthorizeCustomer, inventoryapi.TypeReserveStock, paymentsapi.TypeAuthorizePayment,
			inventoryapi.TypeReleaseStock, orderingapi.TypeRejectOrder}
		if got := w.commands(id); !slices.Equal(got, want) {
			t.Errorf("commands %v, want %v", got, want)
		}
		s := sagaOf(h, "fulfillment", id)
		if data, _ := s["data"].(map[string]any); data["reason"] != "payment declined: card declined" {
			t.Errorf("reason %v", data["reason"])
		}
	})

	t.Run("payment timeout compensates after the attempts", func(t *testing.T) {
		id := place(h, paymentsapi.TokenTimeout)
		h.Eventually("saga failed", func() bool { s := sagaOf(h, "fulfillment", id); return s != nil && s["status"] == "failed" })
		got := w.commands(id)
		// Both attempts, then the timed-out step's own compensation (a
		// late authorization is voided), then the earlier steps'.
		want := []string{customersapi.TypeAuthorizeCustomer, inventoryapi.TypeReserveStock, paymentsapi.TypeAuthorizePayment,
			paymentsapi.TypeAuthorizePayment, paymentsapi.TypeCancelPayment, inventoryapi.TypeReleaseStock, orderingapi.TypeRejectOrder}
		if !slices.Equal(got, want) {
			t.Errorf("commands %v, want %v", got, want)
		}
	})

	t.Run("a placed event delivered twice starts one saga", func(t *testing.T) {
		id := uuid.Must(uuid.NewV7()).String()
		o := orderingapi.OrderPlaced{OrderID: id, CustomerID: "c-1", PaymentToken: "tok_ok",
			Lines: []orderingapi.OrderLine{{ProductID: "p-1", Quantity: 1}}}
		m, err := platform.Message(context.Background(), orderingapi.SubjectOrderPlaced, orderingapi.TypeOrderPlaced, id, o)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := h.Transport.Publish(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		h.Eventually("saga done", func() bool { s := sagaOf(h, "fulfillment", id); return s != nil && s["status"] == "done" })
		if got := w.commands(id); len(got) != 6 {
			t.Errorf("commands %v", got)
		}
	})

	t.Run("cancellation saga", func(t *testing.T) {
		id := uuid.Must(uuid.NewV7()).String()
		h.Publish(orderingapi.SubjectOrderCancelled, orderingapi.TypeOrderCancelled, id, orderingapi.OrderCancelled{OrderID: id, CustomerID: "c-1"})
		h.Eventually("saga done", func() bool { s := sagaOf(h, "cancellation", id); return s != nil && s["status"] == "done" })
		want := []string{shippingapi.TypeCancelShipment, paymentsapi.TypeCancelPayment, inventoryapi.TypeReleaseStock}
		if got := w.commands(id); !slices.Equal(got, want) {
			t.Errorf("commands %v, want %v", got, want)
		}
	})

	t.Run("endpoints", func(t *testing.T) {
		var counts map[string]map[string]int
		h.Get("/api/sagas", &counts, 200)
		if counts["fulfillment"]["done"] < 2 || counts["fulfillment"]["failed"] < 2 {
			t.Errorf("counts %v", counts)
		}
		var page platform.Page[map[string]any]
		h.Get("/api/sagas/fulfillment?status=done&limit=1", &page, 200)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Errorf("page %+v", page)
		}
		h.Get("/api/sagas/nope", nil, 404)
		h.Get("/api/sagas/fulfillment/unknown", nil, 404)
		h.Get("/api/sagas/fulfillment?limit=9999", nil, 400)
		var p platform.Problem
		if st := h.Do("POST", "/api/sagas/fulfillment/x/repair", map[string]string{"op": "fix"}, &p); st != 400 || len(p.Errors) != 2 {
			t.Errorf("repair validation: %d %+v", st, p)
		}
		done := page.Items[0]["id"].(string)
		if st := h.Do("POST", "/api/sagas/fulfillment/"+done+"/repair", map[string]string{"op": "retry", "reason": "test"}, nil); st != 409 {
			t.Errorf("repairing a finished saga: %d", st)
		}
	})
}
