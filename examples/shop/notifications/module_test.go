package notifications_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	customersapi "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillmentapi "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/notifications"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	"github.com/eventual-go/eventual/transport"
)

type sent struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	OrderID    string    `json:"order_id"`
	Channel    string    `json:"channel"`
	To         string    `json:"to"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	SentAt     time.Time `json:"sent_at"`
}

// fast retries: the tests wait for dead letters.
func module(s notifications.Sender) notifications.Module {
	return notifications.Module{Sender: s, Attempts: 8, Backoff: 10 * time.Millisecond}
}

func list(h *platformtest.Harness, query string) []sent {
	var page platform.Page[sent]
	h.Get("/api/notifications?"+query, &page, 200)
	return page.Items
}

func register(h *platformtest.Harness, id, name, email, sms string) {
	h.Publish(customersapi.SubjectCustomerRegistered, customersapi.TypeCustomerRegistered, id,
		customersapi.CustomerRegistered{CustomerID: id, Name: name, Email: email, SMSNumber: sms})
}

var total = kernel.Money{Minor: 42_00, Currency: "EUR"}

func TestOrderNotifications(t *testing.T) {
	h := platformtest.Start(t, module(nil))
	dead := h.Collect(notifications.DeadLetters)
	register(h, "c-ada", "Ada", "ada@example.com", "+33612345678")
	register(h, "c-bob", "Bob", "bob@example.com", "")

	h.Publish(fulfillmentapi.SubjectOrderFulfilled, fulfillmentapi.TypeOrderFulfilled, "o-1",
		fulfillmentapi.OrderFulfilled{OrderID: "o-1", CustomerID: "c-ada", Total: total, TrackingNumber: "TRK0123456789"})
	h.Publish(orderingapi.SubjectOrderRejected, orderingapi.TypeOrderRejected, "o-2",
		orderingapi.OrderRejected{OrderID: "o-2", CustomerID: "c-bob", Reason: "out of stock"})
	// Events notifications does not handle are passed over.
	h.Publish(orderingapi.SubjectOrderPlaced, orderingapi.TypeOrderPlaced, "o-1", orderingapi.OrderPlaced{OrderID: "o-1", CustomerID: "c-ada"})
	h.Eventually("the first notifications", func() bool { return len(list(h, "")) == 3 })

	ada := list(h, "customer_id=c-ada")
	if len(ada) != 2 || ada[0].Channel != "email" || ada[1].Channel != "sms" {
		t.Fatalf("Ada's notifications %+v", ada)
	}
	if e := ada[0]; e.To != "ada@example.com" || e.OrderID != "o-1" || e.Subject != "Your order is confirmed" ||
		!strings.Contains(e.Body, "TRK0123456789") || !strings.Contains(e.Body, "Hello Ada") || e.SentAt.IsZero() {
		t.Errorf("email %+v", e)
	}
	if s := ada[1]; s.To != "+33612345678" || !strings.Contains(s.Body, "TRK0123456789") {
		t.Errorf("sms %+v", s)
	}
	bob := list(h, "order_id=o-2")
	if len(bob) != 1 || bob[0].To != "bob@example.com" || bob[0].Subject != "Your order could not be fulfilled" ||
		!strings.Contains(bob[0].Body, "out of stock") {
		t.Errorf("Bob's notifications %+v", bob)
	}

	// The rest of an order's life, after a change of contact.
	h.Publish(customersapi.SubjectContactChanged, customersapi.TypeContactChanged, "c-bob",
		customersapi.ContactChanged{CustomerID: "c-bob", Email: "bob@new.example", SMSNumber: "+4915112345678"})
	h.Eventually("the new contact is used", func() bool {
		h.Publish(orderingapi.SubjectOrderShipped, orderingapi.TypeOrderShipped, "o-3",
			orderingapi.OrderShipped{OrderID: "o-3", CustomerID: "c-bob", TrackingNumber: "TRKAAAAAAAAAA"})
		h.Eventually("o-3 shipped", func() bool { return len(list(h, "order_id=o-3")) > 0 })
		got := list(h, "order_id=o-3")
		return got[len(got)-1].To == "+4915112345678"
	})
	before := len(list(h, "order_id=o-3"))
	h.Publish(orderingapi.SubjectOrderDelivered, orderingapi.TypeOrderDelivered, "o-3", orderingapi.OrderDelivered{OrderID: "o-3", CustomerID: "c-bob"})
	h.Publish(orderingapi.SubjectOrderCancelled, orderingapi.TypeOrderCancelled, "o-4",
		orderingapi.OrderCancelled{OrderID: "o-4", CustomerID: "c-bob", Total: total})
	h.Eventually("delivered and cancelled", func() bool {
		return len(list(h, "order_id=o-3")) == before+2 && len(list(h, "order_id=o-4")) == 2
	})
	o4 := list(h, "order_id=o-4")
	if o4[0].Subject != "Your order is cancelled" || o4[0].To != "bob@new.example" || !strings.Contains(o4[0].Body, "EUR 42.00") {
		t.Errorf("cancelled %+v", o4[0])
	}
	if got := list(h, "order_id=o-3"); got[len(got)-1].Body != "Your order o-3 was delivered. Enjoy!" {
		t.Errorf("delivered %+v", got[len(got)-1])
	}

	// Pages.
	all := list(h, "")
	var page platform.Page[sent]
	h.Get("/api/notifications?limit=2", &page, 200)
	if len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].ID != all[0].ID {
		t.Fatalf("first page %+v", page)
	}
	var next platform.Page[sent]
	h.Get("/api/notifications?limit=2&cursor="+page.NextCursor, &next, 200)
	if len(next.Items) != 2 || next.Items[0].ID != all[2].ID {
		t.Errorf("second page %+v", next)
	}
	var p platform.Problem
	if status := h.Do("GET", "/api/notifications?limit=1000", nil, &p); status != 400 || p.Errors[0].Field != "limit" {
		t.Errorf("limit 1000: %d %+v", status, p)
	}
	if len(dead.All()) != 0 {
		t.Errorf("dead letters %+v", dead.All())
	}
}

func TestFailuresAreRetriedThenDeadLettered(t *testing.T) {
	h := platformtest.Start(t, module(nil))
	dead := h.Collect(notifications.DeadLetters)
	register(h, "c-fail", "Fay", "fail@example.com", "+33612345678")
	register(h, "c-ada", "Ada", "ada@example.com", "")
	h.Eventually("Ada is known", func() bool {
		h.Publish(orderingapi.SubjectOrderDelivered, orderingapi.TypeOrderDelivered, "o-warmup", orderingapi.OrderDelivered{OrderID: "o-warmup", CustomerID: "c-ada"})
		h.Eventually("o-warmup", func() bool { return len(list(h, "order_id=o-warmup")) > 0 || len(dead.All()) > 0 })
		return len(list(h, "order_id=o-warmup")) > 0
	})
	deadBefore := len(dead.All())

	h.Publish(orderingapi.SubjectOrderShipped, orderingapi.TypeOrderShipped, "o-fail",
		orderingapi.OrderShipped{OrderID: "o-fail", CustomerID: "c-fail", TrackingNumber: "TRK1"})
	h.Publish(orderingapi.SubjectOrderShipped, orderingapi.TypeOrderShipped, "o-ada",
		orderingapi.OrderShipped{OrderID: "o-ada", CustomerID: "c-ada", TrackingNumber: "TRK2"})
	h.Publish(orderingapi.SubjectOrderShipped, orderingapi.TypeOrderShipped, "o-nobody",
		orderingapi.OrderShipped{OrderID: "o-nobody", CustomerID: "c-nobody", TrackingNumber: "TRK3"})

	// Ada is told at once, while the failing one is retried.
	h.Eventually("Ada is told", func() bool { return len(list(h, "order_id=o-ada")) == 1 })
	h.Eventually("two dead letters", func() bool { return len(dead.All()) == deadBefore+2 })
	byOrder := map[string]transport.Delivery{}
	for _, d := range dead.All()[deadBefore:] {
		byOrder[d.Key] = d
	}
	if d, ok := byOrder["o-fail"]; !ok || !strings.Contains(d.Metadata.Extra[transport.DeadLetterError], "fail@example.com") ||
		d.Metadata.Extra[transport.DeadLetterAttempts] != "8" || d.Type != orderingapi.TypeOrderShipped {
		t.Errorf("dead letter of fail@: %+v", d)
	}
	if d, ok := byOrder["o-nobody"]; !ok || !strings.Contains(d.Metadata.Extra[transport.DeadLetterError], "unknown customer: c-nobody") {
		t.Errorf("dead letter of an unknown customer: %+v", d)
	}
	// Nothing of the failed event was recorded, not even its SMS.
	if got := list(h, "order_id=o-fail"); len(got) != 0 {
		t.Errorf("recorded for fail@: %+v", got)
	}
	if got := list(h, "order_id=o-nobody"); len(got) != 0 {
		t.Errorf("recorded for nobody: %+v", got)
	}
}

func TestDuplicateEventsAreSentOnce(t *testing.T) {
	h := platformtest.Start(t, module(nil))
	register(h, "c-ada", "Ada", "ada@example.com", "+33612345678")
	m, err := platform.Message(context.Background(), orderingapi.SubjectOrderDelivered, orderingapi.TypeOrderDelivered, "o-1",
		orderingapi.OrderDelivered{OrderID: "o-1", CustomerID: "c-ada"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := h.Transport.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	h.Eventually("the notifications", func() bool { return len(list(h, "order_id=o-1")) == 2 })
	// A later event of the same order is handled after the duplicates.
	h.Publish(orderingapi.SubjectOrderCancelled, orderingapi.TypeOrderCancelled, "o-1", orderingapi.OrderCancelled{OrderID: "o-1", CustomerID: "c-ada", Total: total})
	h.Eventually("the next notifications", func() bool { return len(list(h, "order_id=o-1")) >= 4 })
	if got := list(h, "order_id=o-1"); len(got) != 4 {
		t.Errorf("%d notifications, want 4: %+v", len(got), got)
	}
}

// flaky is an external sender that fails its first SMS.
type flaky struct {
	mu     sync.Mutex
	got    []notifications.Notification
	failed bool
}

func (f *flaky) Send(_ context.Context, n notifications.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n.Channel == notifications.ChannelSMS && !f.failed {
		f.failed = true
		return errors.New("gateway down")
	}
	f.got = append(f.got, n)
	return nil
}

func (f *flaky) sent() []notifications.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notifications.Notification(nil), f.got...)
}

func TestExternalSenderIsAtLeastOnce(t *testing.T) {
	f := &flaky{}
	h := platformtest.Start(t, module(f))
	register(h, "c-ada", "Ada", "fail@example.com", "+33612345678") // the test rule is the default sender's only
	h.Publish(fulfillmentapi.SubjectOrderFulfilled, fulfillmentapi.TypeOrderFulfilled, "o-1",
		fulfillmentapi.OrderFulfilled{OrderID: "o-1", CustomerID: "c-ada", Total: total, TrackingNumber: "TRK0123456789"})
	h.Eventually("recorded", func() bool { return len(list(h, "order_id=o-1")) == 2 })
	// The email went out before the SMS failed, so it went out again
	// with the retry, under the same ID.
	got := f.sent()
	if len(got) != 3 || got[0].ID != got[1].ID || got[0].Channel != "email" || got[2].Channel != "sms" || got[2].To != "+33612345678" {
		t.Errorf("sent %+v", got)
	}
	if rec := list(h, "order_id=o-1"); rec[0].ID != got[0].ID || rec[1].ID != got[2].ID {
		t.Errorf("recorded %+v", rec)
	}
}
