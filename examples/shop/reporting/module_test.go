package reporting_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	catalog "github.com/eventual-go/eventual/examples/shop/catalog/api"
	customers "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillment "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	payments "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	"github.com/eventual-go/eventual/examples/shop/reporting"
	shipping "github.com/eventual-go/eventual/examples/shop/shipping/api"
)

type order struct {
	ID             string               `json:"id"`
	CustomerID     string               `json:"customer_id"`
	CustomerName   string               `json:"customer_name"`
	Status         string               `json:"status"`
	Reason         string               `json:"reason"`
	Total          *kernel.Money        `json:"total"`
	ItemCount      int64                `json:"item_count"`
	StoreIDs       []string             `json:"store_ids"`
	TrackingNumber string               `json:"tracking_number"`
	PaymentStatus  string               `json:"payment_status"`
	PlacedAt       time.Time            `json:"placed_at"`
	Lines          []ordering.OrderLine `json:"lines"`
}

type stats struct {
	Orders   int64            `json:"orders"`
	ByStatus map[string]int64 `json:"by_status"`
	Revenue  []struct {
		Currency          string       `json:"currency"`
		Orders            int64        `json:"orders"`
		Total             kernel.Money `json:"total"`
		AverageOrderValue kernel.Money `json:"average_order_value"`
	} `json:"revenue"`
}

type salesRow struct {
	Key      string       `json:"key"`
	Name     string       `json:"name"`
	Quantity int64        `json:"quantity"`
	Revenue  kernel.Money `json:"revenue"`
}

type sales struct {
	Rows []salesRow `json:"rows"`
}

type product struct {
	ID        string       `json:"id"`
	StoreName string       `json:"store_name"`
	Name      string       `json:"name"`
	SKU       string       `json:"sku"`
	Price     kernel.Money `json:"price"`
}

func eur(minor int64) kernel.Money { return kernel.Money{Minor: minor, Currency: "EUR"} }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// world publishes other contexts' events and counts them, so that a test
// can wait until reporting has taken them all in.
type world struct {
	*platformtest.Harness
	published int
}

func (w *world) publish(subject, typ, key string, v any) {
	w.T.Helper()
	w.Publish(subject, typ, key, v)
	w.published++
}

// publishAt publishes with a message ID of the given time: the source
// time reporting reads from a UUIDv7.
func (w *world) publishAt(at time.Time, subject, typ, key string, v any) {
	w.T.Helper()
	m, err := platform.Message(context.Background(), subject, typ, key, v)
	if err != nil {
		w.T.Fatal(err)
	}
	u := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(u[:6], ms[2:])
	m.ID = u.String()
	if err := w.Transport.Publish(context.Background(), m); err != nil {
		w.T.Fatal(err)
	}
	w.published++
}

// settle waits until every event published is in reporting's log and
// the projections have handled it.
func (w *world) settle() {
	w.T.Helper()
	s := w.Host.Services("reporting")
	ctx := context.Background()
	w.Eventually(fmt.Sprintf("%d events ingested", w.published), func() bool {
		evs, err := eventual.Collect(s.Store.ReadAll(ctx, eventual.ReadAllOptions{}))
		return err == nil && len(evs) == w.published
	})
	head, err := s.Store.HeadPosition(ctx)
	if err != nil {
		w.T.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Projections.WaitForAll(wctx, head); err != nil {
		w.T.Fatal(err)
	}
}

func (w *world) get(path string, out any) {
	w.T.Helper()
	w.Get(path, out, 200)
}

// scenario is a small shop's history.
type scenario struct {
	ada, grace, store, engine, notebook  string
	delivered, rejected, cancelled, late string
	day                                  time.Time
}

func seed(w *world) scenario {
	s := scenario{ada: newID(), grace: newID(), store: newID(), engine: newID(), notebook: newID(),
		delivered: newID(), rejected: newID(), cancelled: newID(), late: newID(),
		day: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)}
	w.publish(customers.SubjectCustomerRegistered, customers.TypeCustomerRegistered, s.ada,
		customers.CustomerRegistered{CustomerID: s.ada, Name: "Ada Lovelace", Email: "ada@example.com"})
	w.publish(catalog.SubjectStoreCreated, catalog.TypeStoreCreated, s.store,
		catalog.StoreCreated{StoreID: s.store, Name: "Corner Books", Location: "Level 1"})
	w.publish(catalog.SubjectProductAdded, catalog.TypeProductAdded, s.engine,
		catalog.ProductAdded{ProductID: s.engine, StoreID: s.store, Name: "Engine Manual", Description: "A treatise on the analytical engine",
			SKU: "AE-1", Price: eur(2500)})
	w.publish(catalog.SubjectProductAdded, catalog.TypeProductAdded, s.notebook,
		catalog.ProductAdded{ProductID: s.notebook, StoreID: s.store, Name: "Notebook", Description: "Squared paper", SKU: "NB-1", Price: eur(300)})

	lines := func(engines, notebooks int64) []ordering.OrderLine {
		var out []ordering.OrderLine
		if engines > 0 {
			out = append(out, ordering.OrderLine{ProductID: s.engine, StoreID: s.store, Name: "Engine Manual", Quantity: engines,
				UnitPrice: eur(2500), Total: eur(2500 * engines)})
		}
		if notebooks > 0 {
			out = append(out, ordering.OrderLine{ProductID: s.notebook, StoreID: s.store, Name: "Notebook", Quantity: notebooks,
				UnitPrice: eur(300), Total: eur(300 * notebooks)})
		}
		return out
	}
	placed := func(id, customer string, l []ordering.OrderLine, total int64, at time.Time) ordering.OrderPlaced {
		return ordering.OrderPlaced{OrderID: id, CustomerID: customer, Lines: l, Subtotal: eur(total), Total: eur(total),
			PlacedAt: at, PaymentToken: "tok_ok"}
	}
	pay := func(order, customer, status string, amount int64) {
		w.publish(payments.SubjectPaymentChanged, payments.TypePaymentChanged, order,
			payments.PaymentChanged{PaymentID: "pay-" + order, OrderID: order, CustomerID: customer, Amount: eur(amount), Status: status})
	}

	// Delivered: the whole journey, in order.
	o := s.delivered
	w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, o, placed(o, s.ada, lines(2, 1), 5300, s.day))
	pay(o, s.ada, payments.PaymentAuthorized, 5300)
	w.publish(shipping.SubjectShipmentCreated, shipping.TypeShipmentCreated, o, shipping.Shipment{ShipmentID: "sh-1", OrderID: o, TrackingNumber: "TRK-0001"})
	pay(o, s.ada, payments.PaymentCaptured, 5300)
	w.publish(ordering.SubjectOrderConfirmed, ordering.TypeOrderConfirmed, o, ordering.OrderConfirmed{OrderID: o, CustomerID: s.ada, Total: eur(5300), TrackingNumber: "TRK-0001"})
	w.publish(fulfillment.SubjectOrderFulfilled, fulfillment.TypeOrderFulfilled, o,
		fulfillment.OrderFulfilled{OrderID: o, CustomerID: s.ada, Total: eur(5300), TrackingNumber: "TRK-0001"})
	w.publish(ordering.SubjectOrderShipped, ordering.TypeOrderShipped, o, ordering.OrderShipped{OrderID: o, CustomerID: s.ada, TrackingNumber: "TRK-0001"})
	w.publish(ordering.SubjectOrderDelivered, ordering.TypeOrderDelivered, o, ordering.OrderDelivered{OrderID: o, CustomerID: s.ada})

	// Rejected: the payment was declined.
	o = s.rejected
	w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, o, placed(o, s.ada, lines(1, 0), 2500, s.day.Add(time.Hour)))
	pay(o, s.ada, payments.PaymentDeclined, 2500)
	w.publish(ordering.SubjectOrderRejected, ordering.TypeOrderRejected, o, ordering.OrderRejected{OrderID: o, CustomerID: s.ada, Reason: "payment declined"})

	// Cancelled after its confirmation: its sale is taken back.
	o = s.cancelled
	w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, o, placed(o, s.ada, lines(0, 4), 1200, s.day.Add(2*time.Hour)))
	w.publish(ordering.SubjectOrderConfirmed, ordering.TypeOrderConfirmed, o, ordering.OrderConfirmed{OrderID: o, CustomerID: s.ada, Total: eur(1200)})
	w.publish(ordering.SubjectOrderCancelled, ordering.TypeOrderCancelled, o, ordering.OrderCancelled{OrderID: o, CustomerID: s.ada, Total: eur(1200), Reason: "changed my mind"})
	pay(o, s.ada, payments.PaymentRefunded, 1200)

	// Out of order: payment, confirmation and shipment before the order
	// was placed, and the customer registered last.
	o = s.late
	pay(o, s.grace, payments.PaymentCaptured, 2800)
	w.publish(ordering.SubjectOrderConfirmed, ordering.TypeOrderConfirmed, o, ordering.OrderConfirmed{OrderID: o, CustomerID: s.grace, Total: eur(2800)})
	w.publish(shipping.SubjectShipmentCreated, shipping.TypeShipmentCreated, o, shipping.Shipment{ShipmentID: "sh-4", OrderID: o, TrackingNumber: "TRK-0004"})
	pay(o, s.grace, payments.PaymentAuthorized, 2800) // late, and older than captured
	w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, o, placed(o, s.grace, lines(1, 1), 2800, s.day.Add(3*time.Hour)))
	w.publish(customers.SubjectCustomerRegistered, customers.TypeCustomerRegistered, s.grace,
		customers.CustomerRegistered{CustomerID: s.grace, Name: "Grace Hopper", Email: "grace@example.com"})
	return s
}

func TestReports(t *testing.T) {
	w := &world{Harness: platformtest.Start(t, reporting.Module{})}
	s := seed(w)
	w.settle()

	var o order
	w.get("/api/reports/orders/"+s.delivered, &o)
	if o.Status != "delivered" || o.CustomerName != "Ada Lovelace" || o.TrackingNumber != "TRK-0001" || o.PaymentStatus != "captured" ||
		o.ItemCount != 3 || len(o.Lines) != 2 || !slices.Equal(o.StoreIDs, []string{s.store}) || o.Total == nil || *o.Total != eur(5300) ||
		!o.PlacedAt.Equal(s.day) {
		t.Errorf("delivered order: %+v", o)
	}
	w.get("/api/reports/orders/"+s.rejected, &o)
	if o.Status != "rejected" || o.Reason != "payment declined" || o.PaymentStatus != "declined" {
		t.Errorf("rejected order: %+v", o)
	}
	w.get("/api/reports/orders/"+s.cancelled, &o)
	if o.Status != "cancelled" || o.Reason != "changed my mind" || o.PaymentStatus != "refunded" {
		t.Errorf("cancelled order: %+v", o)
	}
	o = order{}
	w.get("/api/reports/orders/"+s.late, &o)
	if o.Status != "confirmed" || o.CustomerName != "Grace Hopper" || o.PaymentStatus != "captured" || o.TrackingNumber != "TRK-0004" ||
		!o.PlacedAt.Equal(s.day.Add(3*time.Hour)) || o.ItemCount != 2 {
		t.Errorf("order seen out of order: %+v", o)
	}
	w.Get("/api/reports/orders/nope", nil, 404)

	ids := func(path string) []string {
		var p platform.Page[order]
		w.get(path, &p)
		var out []string
		for _, o := range p.Items {
			out = append(out, o.ID)
		}
		return out
	}
	all := []string{s.late, s.cancelled, s.rejected, s.delivered} // newest first
	for path, want := range map[string][]string{
		"/api/reports/orders":                                                               all,
		"/api/reports/orders?status=confirmed":                                              {s.late},
		"/api/reports/orders?customer_id=" + s.ada:                                          {s.cancelled, s.rejected, s.delivered},
		"/api/reports/orders?store_id=" + s.store:                                           all,
		"/api/reports/orders?store_id=other":                                                nil,
		"/api/reports/orders?from=2026-03-14T11:00:00Z":                                     {s.late, s.cancelled, s.rejected},
		"/api/reports/orders?from=2026-03-14&to=" + url.QueryEscape("2026-03-14T11:00:00Z"): {s.delivered},
		"/api/reports/customers/" + s.grace + "/orders":                                     {s.late},
		"/api/reports/customers/" + s.ada + "/orders?limit=1":                               {s.cancelled},
	} {
		if got := ids(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}

	wantStats := func() {
		t.Helper()
		var st stats
		w.get("/api/reports/stats", &st)
		wantBy := map[string]int64{"placed": 0, "confirmed": 1, "shipped": 0, "delivered": 1, "rejected": 1, "cancelled": 1}
		if st.Orders != 4 || !reflect.DeepEqual(st.ByStatus, wantBy) || len(st.Revenue) != 1 ||
			st.Revenue[0].Orders != 2 || st.Revenue[0].Total != eur(8100) || st.Revenue[0].AverageOrderValue != eur(4050) {
			t.Errorf("stats: %+v", st)
		}
		var sp, ss, sd sales
		w.get("/api/reports/sales?by=product", &sp)
		if want := []salesRow{{s.engine, "Engine Manual", 3, eur(7500)}, {s.notebook, "Notebook", 2, eur(600)}}; !reflect.DeepEqual(sp.Rows, want) {
			t.Errorf("sales by product: %+v, want %+v", sp.Rows, want)
		}
		w.get("/api/reports/sales?by=store", &ss)
		if want := []salesRow{{s.store, "Corner Books", 5, eur(8100)}}; !reflect.DeepEqual(ss.Rows, want) {
			t.Errorf("sales by store: %+v, want %+v", ss.Rows, want)
		}
		w.get("/api/reports/sales?by=day&from=2026-03-01&to=2026-04-01", &sd)
		if want := []salesRow{{"2026-03-14", "", 5, eur(8100)}}; !reflect.DeepEqual(sd.Rows, want) {
			t.Errorf("sales by day: %+v, want %+v", sd.Rows, want)
		}
	}
	wantStats()
	var none sales
	w.get("/api/reports/sales?by=day&from=2026-03-15", &none)
	if len(none.Rows) != 0 {
		t.Errorf("sales after the day: %+v", none.Rows)
	}

	if got := ids("/api/search/orders?q=lovelace"); len(got) != 3 {
		t.Errorf("search Lovelace: %v", got)
	}
	if got := ids("/api/search/orders?q=Grace+HOP"); !slices.Equal(got, []string{s.late}) {
		t.Errorf("search Grace Hop: %v", got)
	}
	if got := ids("/api/search/orders?q=TRK-0001"); !slices.Equal(got, []string{s.delivered}) {
		t.Errorf("search tracking: %v", got)
	}
	if got := ids("/api/search/orders?q=notebook+rejected"); len(got) != 0 {
		t.Errorf("search notebook rejected: %v", got)
	}
	var ps platform.Page[product]
	w.get("/api/search/products?q=treatise", &ps)
	if len(ps.Items) != 1 || ps.Items[0].ID != s.engine || ps.Items[0].StoreName != "Corner Books" || ps.Items[0].Price != eur(2500) {
		t.Errorf("search treatise: %+v", ps.Items)
	}
	w.get("/api/search/products?q=corner", &ps)
	if len(ps.Items) != 2 {
		t.Errorf("search by store name: %+v", ps.Items)
	}

	// Duplicates (new message IDs, same facts) change nothing; nor does a
	// late "placed".
	w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, s.cancelled, ordering.OrderPlaced{OrderID: s.cancelled, CustomerID: s.ada,
		Lines: []ordering.OrderLine{{ProductID: s.notebook, StoreID: s.store, Name: "Notebook", Quantity: 4, UnitPrice: eur(300), Total: eur(1200)}},
		Total: eur(1200), PlacedAt: s.day.Add(2 * time.Hour)})
	w.publish(ordering.SubjectOrderConfirmed, ordering.TypeOrderConfirmed, s.late, ordering.OrderConfirmed{OrderID: s.late, CustomerID: s.grace, Total: eur(2800)})
	w.publish(ordering.SubjectOrderConfirmed, ordering.TypeOrderConfirmed, s.delivered, ordering.OrderConfirmed{OrderID: s.delivered, CustomerID: s.ada, Total: eur(5300)})
	w.publish(payments.SubjectPaymentChanged, payments.TypePaymentChanged, s.delivered,
		payments.PaymentChanged{OrderID: s.delivered, CustomerID: s.ada, Amount: eur(5300), Status: payments.PaymentAuthorized})
	w.publish(customers.SubjectCustomerRegistered, customers.TypeCustomerRegistered, s.grace,
		customers.CustomerRegistered{CustomerID: s.grace, Name: "Grace Hopper", Email: "grace@example.com"})
	w.settle()
	wantStats()
	w.get("/api/reports/orders/"+s.delivered, &o)
	if o.Status != "delivered" || o.PaymentStatus != "captured" {
		t.Errorf("delivered order after duplicates: %+v", o)
	}
	w.get("/api/reports/orders/"+s.cancelled, &o)
	if o.Status != "cancelled" {
		t.Errorf("cancelled order after a late placed: %+v", o)
	}

	// Bad parameters name the parameter.
	for path, field := range map[string]string{
		"/api/reports/orders?status=lost":          "status",
		"/api/reports/orders?limit=501":            "limit",
		"/api/reports/orders?limit=x":              "limit",
		"/api/reports/orders?cursor=garbage":       "cursor",
		"/api/reports/orders?from=yesterday":       "from",
		"/api/reports/orders?to=2026-13-01":        "to",
		"/api/reports/customers/x/orders?limit=-1": "limit",
		"/api/reports/sales?by=week":               "by",
		"/api/reports/sales?from=2026-3-1":         "from",
		"/api/search/orders?q=":                    "q",
		"/api/search/orders?q=%2B%2B":              "q",
		"/api/search/products?q=a&limit=101":       "limit",
	} {
		var p platform.Problem
		if status := w.Do("GET", path, nil, &p); status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%s: %d %+v, want 400 naming %s", path, status, p, field)
		}
	}
}

// A catalog event older than what is known does not overwrite it, even
// when it arrives later.
func TestCatalogOutOfOrder(t *testing.T) {
	w := &world{Harness: platformtest.Start(t, reporting.Module{})}
	store, p := newID(), newID()
	t0 := time.Now().Add(-time.Hour)
	w.publishAt(t0.Add(2*time.Second), catalog.SubjectProductRebranded, catalog.TypeProductRebranded, p,
		catalog.ProductRebranded{ProductID: p, Name: "Difference Engine", Description: "Second edition"})
	w.publishAt(t0.Add(3*time.Second), catalog.SubjectProductPriceChanged, catalog.TypeProductPriceChanged, p,
		catalog.ProductPriceChanged{ProductID: p, Price: eur(900), OldPrice: eur(1000)})
	w.publishAt(t0.Add(time.Second), catalog.SubjectProductAdded, catalog.TypeProductAdded, p,
		catalog.ProductAdded{ProductID: p, StoreID: store, Name: "Engine", Description: "First edition", SKU: "DE-2", Price: eur(1000)})
	w.publishAt(t0.Add(4*time.Second), catalog.SubjectStoreRebranded, catalog.TypeStoreRebranded, store,
		catalog.StoreRebranded{StoreID: store, Name: "Babbage & Co"})
	w.publishAt(t0, catalog.SubjectStoreCreated, catalog.TypeStoreCreated, store, catalog.StoreCreated{StoreID: store, Name: "Babbage"})
	w.settle()

	var ps platform.Page[product]
	w.get("/api/search/products?q=second+edition", &ps)
	if len(ps.Items) != 1 || ps.Items[0].Name != "Difference Engine" || ps.Items[0].Price != eur(900) || ps.Items[0].SKU != "DE-2" ||
		ps.Items[0].StoreName != "Babbage & Co" {
		t.Errorf("product: %+v", ps.Items)
	}
	w.get("/api/search/products?q=first", &ps)
	if len(ps.Items) != 0 {
		t.Errorf("found by its old description: %+v", ps.Items)
	}

	w.publish(catalog.SubjectProductRemoved, catalog.TypeProductRemoved, p, catalog.ProductRemoved{ProductID: p})
	w.settle()
	w.get("/api/search/products?q=engine", &ps)
	if len(ps.Items) != 0 {
		t.Errorf("found after its removal: %+v", ps.Items)
	}
}

// Pages of 10 through 25 orders: newest first, no duplicate, no gap, even
// among orders placed at the same time.
func TestPagination(t *testing.T) {
	w := &world{Harness: platformtest.Start(t, reporting.Module{})}
	customer := newID()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for i := range 25 {
		id := newID()
		want[id] = true
		w.publish(ordering.SubjectOrderPlaced, ordering.TypeOrderPlaced, id, ordering.OrderPlaced{OrderID: id, CustomerID: customer,
			Total: eur(100), PlacedAt: base.Add(time.Duration(i/2) * time.Minute)}) // two by two at the same time
	}
	w.settle()
	for _, path := range []string{"/api/reports/orders?limit=10", "/api/reports/customers/" + customer + "/orders?limit=10"} {
		seen := map[string]bool{}
		var pages []int
		var last *order
		cursor := ""
		for range 5 {
			var p platform.Page[order]
			w.get(path+"&cursor="+url.QueryEscape(cursor), &p)
			pages = append(pages, len(p.Items))
			for _, o := range p.Items {
				if seen[o.ID] {
					t.Errorf("%s: %s twice", path, o.ID)
				}
				seen[o.ID] = true
				if last != nil && (o.PlacedAt.After(last.PlacedAt) || o.PlacedAt.Equal(last.PlacedAt) && o.ID > last.ID) {
					t.Errorf("%s: %s (%v) after %s (%v)", path, o.ID, o.PlacedAt, last.ID, last.PlacedAt)
				}
				last = &o
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(pages, []int{10, 10, 5}) || !reflect.DeepEqual(seen, want) {
			t.Errorf("%s: pages %v, %d orders seen", path, pages, len(seen))
		}
	}
}

// Rebuilding the projections from reporting's log yields the same tables.
func TestRebuild(t *testing.T) {
	w := &world{Harness: platformtest.Start(t, reporting.Module{})}
	seed(w)
	w.settle()
	svc := w.Host.Services("reporting")
	ctx := context.Background()
	// Each table: its columns, and the order of its rows.
	tables := map[string][2]string{
		"reporting_orders": {"id, customer_id, customer_name, status, reason, total_minor, currency, item_count, store_ids, " +
			"tracking_number, placed_at, updated_at, payment_status, lines, product_names, flags", "id"},
		"reporting_order_stores":   {"store_id, order_id, placed_at", "store_id, order_id"},
		"reporting_customers":      {"id, name, email", "id"},
		"reporting_stats":          {"name, currency, value", "name, currency"},
		"reporting_sales":          {"day, product_id, store_id, currency, name, quantity, revenue", "day, product_id, store_id, currency"},
		"reporting_order_search":   {"id, doc", "id"},
		"reporting_stores":         {"id, name, location, participating, name_at, part_at", "id"},
		"reporting_products":       {"id, store_id, name, description, sku, price_minor, currency, removed, info_at, price_at", "id"},
		"reporting_product_search": {"id, doc", "id"},
	}
	dump := func() map[string][]string {
		out := map[string][]string{}
		for table, q := range tables {
			n := len(strings.Split(q[0], ","))
			rows, err := svc.Store.Query(ctx, "SELECT "+q[0]+" FROM "+table+" ORDER BY "+q[1])
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for rows.Next() {
				vals := make([]any, n)
				ptrs := make([]any, n)
				for i := range ptrs {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					_ = rows.Close()
					t.Fatalf("%s: %v", table, err)
				}
				out[table] = append(out[table], fmt.Sprint(vals...))
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	before := dump()
	if len(before["reporting_orders"]) != 4 || len(before["reporting_sales"]) == 0 || len(before["reporting_order_search"]) != 4 {
		t.Fatalf("tables before the rebuild: %v", before)
	}
	for _, name := range []string{"reporting_orders", "reporting_catalog"} {
		if err := svc.Projections.Rebuild(ctx, name); err != nil {
			t.Fatal(err)
		}
		w.Eventually(name+" rebuilt", func() bool {
			st, err := svc.Projections.StatusOf(ctx, name)
			return err == nil && st.Generation == 2 && st.Rebuild == nil
		})
	}
	if after := dump(); !reflect.DeepEqual(after, before) {
		t.Errorf("after the rebuild:\n%v\nbefore:\n%v", after, before)
	}
}
