package adapters

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	catalog "github.com/eventual-go/eventual/examples/shop/catalog/api"
	customers "github.com/eventual-go/eventual/examples/shop/customers/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	payments "github.com/eventual-go/eventual/examples/shop/payments/api"
	shipping "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/store/sqlite"
)

type fixture struct {
	tb     testing.TB
	store  *sqlite.Store
	runner *projection.Runner
	q      *Queries
}

// start runs the projections on a fresh SQLite store in mode.
func start(tb testing.TB, mode SearchMode) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "reporting.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	r, err := projection.NewRunner(st, projection.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Add(Orders(mode), Catalog(mode)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return &fixture{tb: tb, store: st, runner: r, q: &Queries{Store: st, Mode: mode}}
}

// run starts the projections.
func (f *fixture) run() *fixture {
	f.tb.Helper()
	if err := f.runner.Start(context.Background()); err != nil {
		f.tb.Fatal(err)
	}
	return f
}

func (f *fixture) event(typ string, v any) eventual.EventData {
	f.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.tb.Fatal(err)
	}
	return eventual.EventData{Type: typ, Data: b}
}

// append appends to reporting's log as ingestion does, and waits for the
// projections.
func (f *fixture) append(streams map[string][]eventual.EventData) {
	f.tb.Helper()
	ctx := context.Background()
	var reqs []eventual.AppendRequest
	for s, evs := range streams {
		reqs = append(reqs, eventual.AppendRequest{StreamID: s, Events: evs})
	}
	res, err := f.store.AppendMulti(ctx, reqs...)
	if err != nil {
		f.tb.Fatal(err)
	}
	var last uint64
	for _, r := range res {
		last = max(last, r.LastPosition)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.runner.WaitForAll(wctx, last); err != nil {
		f.tb.Fatal(err)
	}
}

var eur100 = kernel.Money{Minor: 100, Currency: "EUR"}

// The LIKE search (PostgreSQL's for now) finds words anywhere, and takes
// LIKE's wildcards literally.
func TestLikeSearch(t *testing.T) {
	f := start(t, SearchLike).run()
	f.append(map[string][]eventual.EventData{
		CustomerStream + "c-1": {f.event(customers.TypeCustomerRegistered, customers.CustomerRegistered{CustomerID: "c-1", Name: "Ada Lovelace"})},
		OrderStream + "o-1": {f.event(ordering.TypeOrderPlaced, ordering.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", Total: eur100,
			Lines: []ordering.OrderLine{{ProductID: "p-1", StoreID: "s-1", Name: "100% Cotton Shirt", Quantity: 1, Total: eur100}}})},
		StoreStream + "s-1": {f.event(catalog.TypeStoreCreated, catalog.StoreCreated{StoreID: "s-1", Name: "Threads"})},
		ProductStream + "p-1": {f.event(catalog.TypeProductAdded, catalog.ProductAdded{ProductID: "p-1", StoreID: "s-1", Name: "Shirt",
			Description: "100% cotton", SKU: "SH_1", Price: eur100})},
	})
	ctx := context.Background()
	for _, tt := range []struct {
		q    []string
		want int
	}{{[]string{"lovelace"}, 1}, {[]string{"ovela", "cotton"}, 1}, {[]string{"placed"}, 1}, {[]string{"1%c"}, 0}, {[]string{"grace"}, 0}} {
		got, err := f.q.SearchOrders(ctx, tt.q, 10)
		if err != nil || len(got) != tt.want {
			t.Errorf("orders %v: %v %v, want %d", tt.q, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		q    []string
		want int
	}{{[]string{"threads"}, 1}, {[]string{"sh", "1"}, 1}, {[]string{"sh%1"}, 0}} {
		got, err := f.q.SearchProducts(ctx, tt.q, 10)
		if err != nil || len(got) != tt.want {
			t.Errorf("products %v: %v %v, want %d", tt.q, got, err, tt.want)
		}
	}
}

// BenchmarkOrdersProjection measures how fast the projections catch up
// with the events of b.N orders (8 events each, as the shop publishes
// them), appended beforehand and interleaved so that each batch has one
// event of each of many orders (the worst case: nothing coalesces).
func BenchmarkOrdersProjection(b *testing.B) {
	for _, mode := range []SearchMode{SearchFTS4, SearchLike} {
		b.Run(mode.String(), func(b *testing.B) { benchOrders(b, mode) })
	}
}

func benchOrders(b *testing.B, mode SearchMode) {
	f := start(b, mode)
	streams := map[string][]eventual.EventData{}
	for range b.N {
		id := uuid.NewString()
		c := uuid.NewString()
		line := ordering.OrderLine{ProductID: "p-1", StoreID: "s-1", Name: "Shirt", Quantity: 1, UnitPrice: eur100, Total: eur100}
		streams[CustomerStream+c] = []eventual.EventData{f.event(customers.TypeCustomerRegistered, customers.CustomerRegistered{CustomerID: c, Name: "Ada " + c[:8]})}
		streams[OrderStream+id] = []eventual.EventData{
			f.event(ordering.TypeOrderPlaced, ordering.OrderPlaced{OrderID: id, CustomerID: c, Lines: []ordering.OrderLine{line}, Total: eur100, PlacedAt: time.Now()}),
			f.event(payments.TypePaymentChanged, payments.PaymentChanged{OrderID: id, Status: payments.PaymentAuthorized, Amount: eur100}),
			f.event(shipping.TypeShipmentCreated, shipping.Shipment{OrderID: id, TrackingNumber: "TRK" + id[:8]}),
			f.event(payments.TypePaymentChanged, payments.PaymentChanged{OrderID: id, Status: payments.PaymentCaptured, Amount: eur100}),
			f.event(ordering.TypeOrderConfirmed, ordering.OrderConfirmed{OrderID: id, CustomerID: c, Total: eur100}),
			f.event(ordering.TypeOrderShipped, ordering.OrderShipped{OrderID: id, CustomerID: c, TrackingNumber: "TRK" + id[:8]}),
			f.event(ordering.TypeOrderDelivered, ordering.OrderDelivered{OrderID: id, CustomerID: c}),
		}
	}
	// Interleave the orders as concurrent traffic does: append in rounds
	// of one event per stream.
	ctx := context.Background()
	for round := 0; ; round++ {
		var reqs []eventual.AppendRequest
		for s, evs := range streams {
			if round < len(evs) {
				reqs = append(reqs, eventual.AppendRequest{StreamID: s, Events: evs[round : round+1]})
			}
		}
		if len(reqs) == 0 {
			break
		}
		for start := 0; start < len(reqs); start += 500 {
			if _, err := f.store.AppendMulti(ctx, reqs[start:min(start+500, len(reqs))]...); err != nil {
				b.Fatal(err)
			}
		}
	}
	head, err := f.store.HeadPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := time.Now()
	f.run()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := f.runner.WaitForAll(wctx, head); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "orders/s")
}

// An FTS document is numbered by the rowid of its item's row, so that a
// batch's new documents go to the end of the FTS tables: replaced as the
// order changes, removed with its product, and found by search throughout.
func TestSearchDocumentsNumberedByTheirRows(t *testing.T) {
	f := start(t, SearchFTS4).run()
	ctx := context.Background()
	line := ordering.OrderLine{ProductID: "p-1", StoreID: "s-1", Name: "Shirt", Quantity: 1, Total: eur100}
	f.append(map[string][]eventual.EventData{
		CustomerStream + "c-1": {f.event(customers.TypeCustomerRegistered, customers.CustomerRegistered{CustomerID: "c-1", Name: "Ada Lovelace"})},
		StoreStream + "s-1":    {f.event(catalog.TypeStoreCreated, catalog.StoreCreated{StoreID: "s-1", Name: "Threads"})},
		ProductStream + "p-1":  {f.event(catalog.TypeProductAdded, catalog.ProductAdded{ProductID: "p-1", StoreID: "s-1", Name: "Shirt", SKU: "SH1", Price: eur100})},
		ProductStream + "p-2":  {f.event(catalog.TypeProductAdded, catalog.ProductAdded{ProductID: "p-2", StoreID: "s-1", Name: "Scarf", SKU: "SC1", Price: eur100})},
	})
	for _, id := range []string{"o-1", "o-2", "o-3"} {
		f.append(map[string][]eventual.EventData{OrderStream + id: {f.event(ordering.TypeOrderPlaced,
			ordering.OrderPlaced{OrderID: id, CustomerID: "c-1", Lines: []ordering.OrderLine{line}, Total: eur100})}})
	}
	f.append(map[string][]eventual.EventData{
		OrderStream + "o-2":   {f.event(ordering.TypeOrderConfirmed, ordering.OrderConfirmed{OrderID: "o-2", CustomerID: "c-1", Total: eur100})},
		ProductStream + "p-2": {f.event(catalog.TypeProductRemoved, catalog.ProductRemoved{ProductID: "p-2"})},
	})
	for _, c := range []struct{ search, rows string }{
		{TableOrderSearch, TableOrders}, {TableProductSearch, TableProducts},
	} {
		// The names are views: the tables are the generation's.
		var search, rows string
		for _, n := range []*string{&search, &rows} {
			name := c.search
			if n == &rows {
				name = c.rows
			}
			if err := f.store.QueryRow(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB $1",
				name+"__g[0-9]*").Scan(n); err != nil {
				t.Fatalf("table of %s: %v", name, err)
			}
		}
		var docs, matched int
		err := f.store.QueryRow(ctx, "SELECT count(*), count(r.id) FROM "+search+" s LEFT JOIN "+rows+
			" r ON r.rowid = s.rowid AND r.id = s.id").Scan(&docs, &matched)
		if err != nil || docs == 0 || docs != matched {
			t.Errorf("%s: %d documents, %d numbered by their row in %s (%v)", c.search, docs, matched, c.rows, err)
		}
	}
	for _, tt := range []struct {
		q    []string
		want int
	}{{[]string{"lovelace"}, 3}, {[]string{"confirmed"}, 1}, {[]string{"placed", "shirt"}, 2}} {
		got, err := f.q.SearchOrders(ctx, tt.q, 10)
		if err != nil || len(got) != tt.want {
			t.Errorf("orders %v: %d found (%v), want %d", tt.q, len(got), err, tt.want)
		}
	}
	if got, err := f.q.SearchProducts(ctx, []string{"threads"}, 10); err != nil || len(got) != 1 || got[0].ID != "p-1" {
		t.Errorf("products of Threads: %+v (%v), want p-1 alone", got, err)
	}
}
