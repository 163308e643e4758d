package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	fulfillment "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	payments "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/domain"
	shipping "github.com/eventual-go/eventual/examples/shop/shipping/api"
)

func eur(minor int64) kernel.Money { return kernel.Money{Minor: minor, Currency: "EUR"} }

func ev(t *testing.T, typ string, at int64, v any) domain.Event {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Event{Type: typ, Data: b, At: at}
}

// permutations calls fn with every order of events.
func permutations(events []domain.Event, fn func([]domain.Event)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(events) {
			fn(events)
			return
		}
		for i := k; i < len(events); i++ {
			events[k], events[i] = events[i], events[k]
			rec(k + 1)
			events[k], events[i] = events[i], events[k]
		}
	}
	rec(0)
}

func fold(t *testing.T, events []domain.Event) *domain.Order {
	t.Helper()
	o := &domain.Order{ID: "o-1"}
	for _, e := range events {
		if err := o.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// The checked types agree with the api packages.
func TestTypes(t *testing.T) {
	for got, want := range map[string]string{
		domain.TypePaymentChanged:    payments.TypePaymentChanged,
		domain.TypeShipmentCreated:   shipping.TypeShipmentCreated,
		domain.TypeShipmentShipped:   shipping.TypeShipmentShipped,
		domain.TypeShipmentDelivered: shipping.TypeShipmentDelivered,
		domain.TypeOrderFulfilled:    fulfillment.TypeOrderFulfilled,
	} {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
}

// Whatever the order the events arrive in, and however often, the order
// ends the same; its statistics and sales too.
func TestOrderIsOrderIndependent(t *testing.T) {
	placedAt := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
	lines := []ordering.OrderLine{
		{ProductID: "p-1", StoreID: "s-2", Name: "Manual", Quantity: 2, UnitPrice: eur(2500), Total: eur(5000)},
		{ProductID: "p-2", StoreID: "s-1", Name: "Notebook", Quantity: 1, UnitPrice: eur(300), Total: eur(300)},
	}
	raw, _ := json.Marshal(lines)
	linesJSON := string(raw)
	tests := []struct {
		name   string
		events []domain.Event
		want   domain.Order
		stats  map[domain.StatKey]int64
		sales  map[domain.SaleKey]domain.Sale
	}{
		{
			name: "delivered",
			events: []domain.Event{
				ev(t, ordering.TypeOrderPlaced, 10, ordering.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", Lines: lines, Total: eur(5300), PlacedAt: placedAt}),
				ev(t, payments.TypePaymentChanged, 20, payments.PaymentChanged{OrderID: "o-1", Status: payments.PaymentAuthorized, Amount: eur(5300)}),
				ev(t, payments.TypePaymentChanged, 30, payments.PaymentChanged{OrderID: "o-1", Status: payments.PaymentCaptured, Amount: eur(5300)}),
				ev(t, ordering.TypeOrderConfirmed, 40, ordering.OrderConfirmed{OrderID: "o-1", CustomerID: "c-1", Total: eur(5300)}),
				ev(t, ordering.TypeOrderShipped, 50, ordering.OrderShipped{OrderID: "o-1", CustomerID: "c-1", TrackingNumber: "TRK"}),
				ev(t, ordering.TypeOrderDelivered, 60, ordering.OrderDelivered{OrderID: "o-1", CustomerID: "c-1"}),
			},
			want: domain.Order{ID: "o-1", CustomerID: "c-1", Status: "delivered", Total: eur(5300), ItemCount: 3, StoreIDs: []string{"s-1", "s-2"},
				TrackingNumber: "TRK", PlacedAt: placedAt.UnixMicro(), UpdatedAt: 60, PaymentStatus: "captured", Lines: linesJSON, ProductNames: "Manual Notebook",
				Flags: domain.SeenPlaced | domain.SeenConfirmed},
			stats: map[domain.StatKey]int64{{Name: "status:delivered"}: 1, {Name: "revenue", Currency: "EUR"}: 5300, {Name: "revenue_orders", Currency: "EUR"}: 1},
			sales: map[domain.SaleKey]domain.Sale{
				{Day: "2026-03-14", ProductID: "p-1", StoreID: "s-2", Currency: "EUR"}: {Name: "Manual", Quantity: 2, Revenue: 5000},
				{Day: "2026-03-14", ProductID: "p-2", StoreID: "s-1", Currency: "EUR"}: {Name: "Notebook", Quantity: 1, Revenue: 300},
			},
		},
		{
			name: "cancelled after its confirmation",
			events: []domain.Event{
				ev(t, ordering.TypeOrderPlaced, 10, ordering.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", Lines: lines, Total: eur(5300), PlacedAt: placedAt}),
				ev(t, ordering.TypeOrderConfirmed, 40, ordering.OrderConfirmed{OrderID: "o-1", CustomerID: "c-1", Total: eur(5300)}),
				ev(t, ordering.TypeOrderCancelled, 50, ordering.OrderCancelled{OrderID: "o-1", CustomerID: "c-1", Total: eur(5300), Reason: "late"}),
				ev(t, payments.TypePaymentChanged, 60, payments.PaymentChanged{OrderID: "o-1", Status: payments.PaymentRefunded, Amount: eur(5300)}),
			},
			want: domain.Order{ID: "o-1", CustomerID: "c-1", Status: "cancelled", Reason: "late", Total: eur(5300), ItemCount: 3,
				StoreIDs: []string{"s-1", "s-2"}, PlacedAt: placedAt.UnixMicro(), UpdatedAt: 60, PaymentStatus: "refunded", Lines: linesJSON, ProductNames: "Manual Notebook",
				Flags: domain.SeenPlaced | domain.SeenConfirmed | domain.SeenCancelled},
			stats: map[domain.StatKey]int64{{Name: "status:cancelled"}: 1},
			sales: nil,
		},
		{
			name: "rejected",
			events: []domain.Event{
				ev(t, ordering.TypeOrderPlaced, 10, ordering.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", Total: eur(100), PlacedAt: placedAt}),
				ev(t, payments.TypePaymentChanged, 20, payments.PaymentChanged{OrderID: "o-1", Status: payments.PaymentDeclined, Amount: eur(100)}),
				ev(t, ordering.TypeOrderRejected, 30, ordering.OrderRejected{OrderID: "o-1", CustomerID: "c-1", Reason: "declined"}),
			},
			want: domain.Order{ID: "o-1", CustomerID: "c-1", Status: "rejected", Reason: "declined", Total: eur(100),
				PlacedAt: placedAt.UnixMicro(), UpdatedAt: 30, PaymentStatus: "declined", Flags: domain.SeenPlaced},
			stats: map[domain.StatKey]int64{{Name: "status:rejected"}: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			permutations(tt.events, func(events []domain.Event) {
				n++
				twice := append(append([]domain.Event{}, events...), events...)
				for _, evs := range [][]domain.Event{events, twice} {
					o := fold(t, evs)
					if !reflect.DeepEqual(*o, tt.want) {
						t.Fatalf("after %v:\n%+v, want\n%+v", types(evs), *o, tt.want)
					}
					if got := o.Stats(); !reflect.DeepEqual(got, tt.stats) {
						t.Fatalf("stats after %v: %v, want %v", types(evs), got, tt.stats)
					}
					if got, err := o.Sales(); err != nil || !reflect.DeepEqual(got, tt.sales) && len(got)+len(tt.sales) > 0 {
						t.Fatalf("sales after %v: %v, want %v", types(evs), got, tt.sales)
					}
				}
			})
			if n < 6 {
				t.Fatalf("%d permutations", n)
			}
		})
	}
}

func types(events []domain.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// Until OrderPlaced, an order is placed at its first event; a late one
// never moves the status back.
func TestLatePlaced(t *testing.T) {
	o := fold(t, []domain.Event{
		ev(t, ordering.TypeOrderConfirmed, 40, ordering.OrderConfirmed{OrderID: "o-1", CustomerID: "c-1", Total: eur(100)}),
		ev(t, payments.TypePaymentChanged, 30, payments.PaymentChanged{OrderID: "o-1", Status: payments.PaymentCaptured, Amount: eur(100)}),
	})
	if o.Status != "confirmed" || o.PlacedAt != 30 || o.Total != eur(100) || o.InSales() {
		t.Fatalf("before placed: %+v", o)
	}
	if err := o.Apply(ev(t, ordering.TypeOrderPlaced, 10, ordering.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", Total: eur(100),
		Lines: []ordering.OrderLine{{ProductID: "p", Quantity: 1, Total: eur(100)}}, PlacedAt: time.UnixMicro(5)})); err != nil {
		t.Fatal(err)
	}
	if sales, err := o.Sales(); err != nil || o.Status != "confirmed" || o.PlacedAt != 5 || len(sales) != 1 {
		t.Fatalf("after placed: %+v", o)
	}
}

func TestProductKeepsTheNewest(t *testing.T) {
	var p domain.Product
	for _, e := range []domain.Event{
		ev(t, "catalog.product_rebranded", 20, map[string]string{"product_id": "p", "name": "New"}),
		ev(t, "catalog.product_added", 10, map[string]any{"product_id": "p", "store_id": "s", "name": "Old", "sku": "X",
			"price": eur(100)}),
		ev(t, "catalog.product_price_changed", 5, map[string]any{"product_id": "p", "price": eur(50)}),
	} {
		if err := p.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	if p.Name != "New" || p.StoreID != "s" || p.SKU != "X" || p.Price != eur(100) {
		t.Errorf("%+v", p)
	}
}

func TestTerms(t *testing.T) {
	for q, want := range map[string][]string{
		"Ada LOVELACE":      {"ada", "lovelace"},
		`"x" OR y* -z NEAR`: {"x", "or", "y", "z", "near"},
		"TRK-0001":          {"trk", "0001"},
		"  ":                nil,
		"café crème":        {"café", "crème"},
	} {
		if got := domain.Terms(q); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
}
