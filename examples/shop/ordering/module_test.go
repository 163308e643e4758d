package ordering_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	catalogapi "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
)

type line struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Quantity  int64        `json:"quantity"`
	UnitPrice kernel.Money `json:"unit_price"`
	Total     kernel.Money `json:"total"`
}

type order struct {
	ID              string         `json:"id"`
	CustomerID      string         `json:"customer_id"`
	Status          string         `json:"status"`
	Reason          string         `json:"reason"`
	Lines           []line         `json:"lines"`
	Subtotal        kernel.Money   `json:"subtotal"`
	Discount        kernel.Money   `json:"discount"`
	Tax             kernel.Money   `json:"tax"`
	Shipping        kernel.Money   `json:"shipping"`
	Total           kernel.Money   `json:"total"`
	ShippingAddress kernel.Address `json:"shipping_address"`
	TrackingNumber  string         `json:"tracking_number"`
	PlacedAt        time.Time      `json:"placed_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	Version         uint64         `json:"version"`
}

type basket struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	OrderID    string `json:"order_id"`
	Items      []struct {
		ProductID string       `json:"product_id"`
		Quantity  int64        `json:"quantity"`
		Price     kernel.Money `json:"price"`
	} `json:"items"`
}

var paris = map[string]string{"name": "Ada", "street": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "fr"}

// seed publishes the catalog as the catalog context would, and waits until
// the local copy has it: store s-1 with p-1 (15.00) and p-2 (2.50), p-4
// removed; store s-2 out of the mall with p-3.
func seed(t *testing.T, h *platformtest.Harness) {
	eur := func(m int64) kernel.Money { return kernel.Money{Minor: m, Currency: "EUR"} }
	h.Publish(catalogapi.SubjectStoreCreated, catalogapi.TypeStoreCreated, "s-1", catalogapi.StoreCreated{StoreID: "s-1", Name: "Books"})
	h.Publish(catalogapi.SubjectStoreCreated, catalogapi.TypeStoreCreated, "s-2", catalogapi.StoreCreated{StoreID: "s-2", Name: "Gone"})
	h.Publish(catalogapi.SubjectStoreParticipationChanged, catalogapi.TypeStoreParticipationChanged, "s-2",
		catalogapi.StoreParticipationChanged{StoreID: "s-2", Participating: false})
	for _, p := range []catalogapi.ProductAdded{
		{ProductID: "p-1", StoreID: "s-1", Name: "Dune", SKU: "D1", Price: eur(1000)},
		{ProductID: "p-2", StoreID: "s-1", Name: "Bookmark", SKU: "B1", Price: eur(250)},
		{ProductID: "p-3", StoreID: "s-2", Name: "Elsewhere", SKU: "E1", Price: eur(100)},
		{ProductID: "p-4", StoreID: "s-1", Name: "Old", SKU: "O1", Price: eur(100)},
	} {
		h.Publish(catalogapi.SubjectProductAdded, catalogapi.TypeProductAdded, p.ProductID, p)
	}
	h.Publish(catalogapi.SubjectProductPriceChanged, catalogapi.TypeProductPriceChanged, "p-1",
		catalogapi.ProductPriceChanged{ProductID: "p-1", Price: eur(1500), OldPrice: eur(1000)})
	h.Publish(catalogapi.SubjectProductRemoved, catalogapi.TypeProductRemoved, "p-4", catalogapi.ProductRemoved{ProductID: "p-4"})
	st := h.Host.Services("ordering").Store
	h.Eventually("the catalog is copied", func() bool {
		var n int
		err := st.QueryRow(context.Background(), `SELECT COUNT(*) FROM ordering_products p JOIN ordering_stores s ON s.store_id = p.store_id
			WHERE (p.product_id = 'p-1' AND p.price_amount = 1500) OR (p.product_id = 'p-2') OR (p.product_id = 'p-4' AND p.removed)
			OR (p.product_id = 'p-3' AND NOT s.participating)`).Scan(&n)
		return err == nil && n == 4
	})
}

type sse struct {
	Event string
	ID    string
	Data  struct {
		OrderID string    `json:"order_id"`
		Status  string    `json:"status"`
		Reason  string    `json:"reason"`
		At      time.Time `json:"at"`
	}
}

// stream reads the server-sent events of path until the test ends,
// resuming after lastEventID if given.
func stream(t *testing.T, h *platformtest.Harness, path string, lastEventID ...string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", h.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range lastEventID {
		req.Header.Set("Last-Event-ID", id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sse, 1024)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sse
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "event: "):
				ev.Event = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "id: "):
				ev.ID = strings.TrimPrefix(l, "id: ")
			case strings.HasPrefix(l, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev.Data)
			case l == "" && ev.Event != "":
				ch <- ev
				ev = sse{}
			}
		}
	}()
	return ch
}

// position parses an SSE event ID.
func position(t *testing.T, id string) uint64 {
	t.Helper()
	p, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatalf("event ID %q: %v", id, err)
	}
	return p
}

// next returns the next status of order id on ch.
func next(t *testing.T, ch <-chan sse, id string) sse {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream closed")
			}
			if ev.Data.OrderID == id {
				if ev.Event != "status" {
					t.Errorf("event %q, want status", ev.Event)
				}
				return ev
			}
		case <-timeout:
			t.Fatalf("no status of order %s", id)
		}
	}
}

func placeBody(lines ...map[string]any) map[string]any {
	return map[string]any{"customer_id": "c-1", "lines": lines, "shipping_address": paris, "payment_token": "tok_visa"}
}

func problem(t *testing.T, h *platformtest.Harness, method, path string, body any, want int) platform.Problem {
	t.Helper()
	var p platform.Problem
	if got := h.Do(method, path, body, &p); got != want {
		t.Fatalf("%s %s: %d %+v, want %d", method, path, got, p, want)
	}
	return p
}

func fields(p platform.Problem) map[string]bool {
	out := map[string]bool{}
	for _, f := range p.Errors {
		out[f.Field] = true
	}
	return out
}

func TestOrdering(t *testing.T) {
	h := platformtest.Start(t, ordering.Module{})
	events := h.Collect(api.EventsSubjects)
	all := stream(t, h, "/api/orders/stream")
	seed(t, h)

	t.Run("basket", func(t *testing.T) {
		var b basket
		h.Post("/api/baskets", map[string]string{"customer_id": "c-1"}, &b, 201)
		if b.ID == "" || b.Status != "open" || b.CustomerID != "c-1" {
			t.Fatalf("started %+v", b)
		}
		items := "/api/baskets/" + b.ID + "/items"
		h.Post(items, map[string]any{"product_id": "p-1", "quantity": 2}, &b, 200)
		h.Post(items, map[string]any{"product_id": "p-1", "quantity": 1}, &b, 200)
		h.Post(items, map[string]any{"product_id": "p-2", "quantity": 10}, &b, 200)
		h.Post(items+"/p-2/remove", map[string]any{"quantity": 4}, &b, 200)
		if len(b.Items) != 2 || b.Items[0].Quantity != 3 || b.Items[0].Price.Minor != 1500 || b.Items[1].Quantity != 6 {
			t.Fatalf("items %+v", b.Items)
		}
		h.Post(items+"/p-2/remove", nil, &b, 200)
		if len(b.Items) != 1 {
			t.Fatalf("after removing all of p-2: %+v", b.Items)
		}
		problem(t, h, "POST", items+"/p-2/remove", nil, 404)

		if p := problem(t, h, "POST", items, map[string]any{"product_id": "p-3", "quantity": 1}, 422); !strings.Contains(p.Detail, "p-3") {
			t.Errorf("store out of the mall: %+v", p)
		}
		problem(t, h, "POST", items, map[string]any{"product_id": "p-4", "quantity": 1}, 422)
		problem(t, h, "POST", items, map[string]any{"product_id": "nope", "quantity": 1}, 422)
		if p := problem(t, h, "POST", items, map[string]any{"product_id": "p-1", "quantity": 0}, 400); !fields(p)["quantity"] {
			t.Errorf("zero quantity: %+v", p)
		}
		problem(t, h, "POST", "/api/baskets/nope/items", map[string]any{"product_id": "p-1", "quantity": 1}, 404)
		problem(t, h, "POST", "/api/baskets", map[string]any{}, 400)
		h.Get("/api/baskets/nope", nil, 404)

		checkout := "/api/baskets/" + b.ID + "/checkout"
		p := problem(t, h, "POST", checkout, map[string]any{"shipping_address": map[string]string{"country": "France"}}, 400)
		for _, f := range []string{"shipping_address.name", "shipping_address.street", "shipping_address.city",
			"shipping_address.postal_code", "shipping_address.country", "payment_token"} {
			if !fields(p)[f] {
				t.Errorf("checkout without address: no error for %s in %+v", f, p.Errors)
			}
		}
		var o order
		h.Post(checkout, map[string]any{"shipping_address": paris, "payment_token": "tok_visa", "discount_code": "save10"}, &o, 201)
		// 3 × 15.00 = 45.00, −4.50 (SAVE10), +8.10 tax (20 %), +7.90 shipping (4.90 + 3 × 1.00).
		if o.Status != api.StatusPlaced || o.CustomerID != "c-1" || len(o.Lines) != 1 || o.Subtotal.Minor != 4500 ||
			o.Discount.Minor != 450 || o.Tax.Minor != 810 || o.Shipping.Minor != 790 || o.Total.Minor != 4500-450+810+790 ||
			o.ShippingAddress.Country != "FR" || o.Lines[0].StoreID != "s-1" || o.Lines[0].Name != "Dune" {
			t.Errorf("checked out %+v", o)
		}
		h.Get("/api/baskets/"+b.ID, &b, 200)
		if b.Status != "checked_out" || b.OrderID != o.ID {
			t.Errorf("basket after checkout %+v", b)
		}
		problem(t, h, "POST", items, map[string]any{"product_id": "p-1", "quantity": 1}, 409)
		problem(t, h, "POST", checkout, map[string]any{"shipping_address": paris, "payment_token": "tok"}, 409)
		problem(t, h, "POST", "/api/baskets/"+b.ID+"/cancel", nil, 409)

		var empty basket
		h.Post("/api/baskets", map[string]string{"customer_id": "c-2"}, &empty, 201)
		problem(t, h, "POST", "/api/baskets/"+empty.ID+"/checkout", map[string]any{"shipping_address": paris, "payment_token": "tok"}, 422)
		h.Post("/api/baskets/"+empty.ID+"/cancel", nil, &empty, 200)
		h.Post("/api/baskets/"+empty.ID+"/cancel", nil, &empty, 200)
		if empty.Status != "cancelled" {
			t.Errorf("cancelled basket %+v", empty)
		}
		problem(t, h, "POST", "/api/baskets/nope/checkout", map[string]any{"shipping_address": paris, "payment_token": "tok"}, 404)
	})

	place := func(lines ...map[string]any) order {
		t.Helper()
		var o order
		h.Post("/api/orders", placeBody(lines...), &o, 201)
		return o
	}
	confirm := func(id string) (string, api.OrderReply) {
		t.Helper()
		d := h.Request(api.SubjectConfirmOrder, api.TypeConfirmOrder, id, api.ConfirmOrder{OrderID: id, TrackingNumber: "TRK-" + id})
		var r api.OrderReply
		if err := json.Unmarshal(d.Data, &r); err != nil {
			t.Fatal(err)
		}
		return d.Type, r
	}
	reject := func(id, reason string) (string, api.OrderReply) {
		t.Helper()
		d := h.Request(api.SubjectRejectOrder, api.TypeRejectOrder, id, api.RejectOrder{OrderID: id, Reason: reason})
		var r api.OrderReply
		if err := json.Unmarshal(d.Data, &r); err != nil {
			t.Fatal(err)
		}
		return d.Type, r
	}
	get := func(id string) order {
		t.Helper()
		var o order
		h.Get("/api/orders/"+id, &o, 200)
		return o
	}

	// An order in one call: lines of a product add up; bulk discount.
	a := place(map[string]any{"product_id": "p-2", "quantity": 6}, map[string]any{"product_id": "p-2", "quantity": 6})
	// 12 × 2.50 = 30.00, −1.50 bulk, tax 5.70, shipping 4.90 + 12.00.
	if len(a.Lines) != 1 || a.Lines[0].Quantity != 12 || a.Subtotal.Minor != 3000 || a.Discount.Minor != 150 ||
		a.Tax.Minor != 570 || a.Shipping.Minor != 1690 || a.Total.Minor != 3000-150+570+1690 || a.Version != 1 {
		t.Errorf("placed %+v", a)
	}
	if got := get(a.ID); got.Total != a.Total || got.Status != api.StatusPlaced || got.PlacedAt.IsZero() {
		t.Errorf("GET %+v", got)
	}
	h.Get("/api/orders/nope", nil, 404)

	t.Run("placing refused", func(t *testing.T) {
		p := problem(t, h, "POST", "/api/orders", map[string]any{}, 400)
		for _, f := range []string{"customer_id", "lines", "shipping_address.country", "payment_token"} {
			if !fields(p)[f] {
				t.Errorf("empty order: no error for %s in %+v", f, p.Errors)
			}
		}
		p = problem(t, h, "POST", "/api/orders", placeBody(map[string]any{"product_id": "", "quantity": 0}), 400)
		if !fields(p)["lines[0].product_id"] || !fields(p)["lines[0].quantity"] {
			t.Errorf("bad line: %+v", p.Errors)
		}
		body := placeBody(map[string]any{"product_id": "p-1", "quantity": 1})
		body["discount_code"] = "FREE"
		if p := problem(t, h, "POST", "/api/orders", body, 400); !fields(p)["discount_code"] {
			t.Errorf("unknown discount code: %+v", p)
		}
		for _, id := range []string{"p-3", "p-4", "nope"} {
			p := problem(t, h, "POST", "/api/orders", placeBody(map[string]any{"product_id": "p-1", "quantity": 1},
				map[string]any{"product_id": id, "quantity": 1}), 422)
			if !strings.Contains(p.Detail, "product "+id) || !strings.Contains(p.Detail, "lines[1].product_id") {
				t.Errorf("%s: %+v", id, p)
			}
		}
	})

	t.Run("confirm, twice, with the streams", func(t *testing.T) {
		b := place(map[string]any{"product_id": "p-1", "quantity": 1})
		one := stream(t, h, "/api/orders/"+b.ID+"/stream")
		if ev := next(t, one, b.ID); ev.Data.Status != api.StatusPlaced {
			t.Errorf("first of the order's stream: %+v", ev)
		}
		for range 2 {
			if typ, r := confirm(b.ID); typ != api.TypeOrderConfirmDone || r.Status != api.StatusConfirmed || r.OrderID != b.ID {
				t.Errorf("confirm: %s %+v", typ, r)
			}
		}
		if ev := next(t, one, b.ID); ev.Data.Status != api.StatusConfirmed || ev.Data.At.IsZero() {
			t.Errorf("next of the order's stream: %+v", ev)
		}
		placed := next(t, all, b.ID)
		if placed.Data.Status != api.StatusPlaced || placed.ID == "" {
			t.Errorf("first of the stream of all: %+v", placed)
		}
		confirmed := next(t, all, b.ID)
		if confirmed.Data.Status != api.StatusConfirmed || position(t, confirmed.ID) <= position(t, placed.ID) {
			t.Errorf("next of the stream of all: %+v", confirmed)
		}
		if o := get(b.ID); o.Status != api.StatusConfirmed || o.TrackingNumber != "TRK-"+b.ID || o.Version != 2 {
			t.Errorf("confirmed %+v", o)
		}
		h.Get("/api/orders/nope/stream", nil, 404)

		// Shipping moves it on; events that do not apply are ignored.
		h.Publish(shippingapi.SubjectShipmentDelivered, shippingapi.TypeShipmentDelivered, b.ID,
			shippingapi.Shipment{ShipmentID: "sh-1", OrderID: b.ID, TrackingNumber: "TRK"})
		h.Publish(shippingapi.SubjectShipmentShipped, shippingapi.TypeShipmentShipped, b.ID,
			shippingapi.Shipment{ShipmentID: "sh-1", OrderID: b.ID, TrackingNumber: "TRK-2"})
		if ev := next(t, one, b.ID); ev.Data.Status != api.StatusShipped {
			t.Errorf("shipped on the stream: %+v", ev)
		}
		if o := get(b.ID); o.Status != api.StatusShipped || o.TrackingNumber != "TRK-2" || o.Version != 3 {
			t.Errorf("shipped %+v", o)
		}

		// A client that reconnects with the last ID it got is sent what
		// it missed, from the log, then the live changes, each once.
		for _, resumed := range []<-chan sse{
			stream(t, h, "/api/orders/stream", placed.ID),
			stream(t, h, "/api/orders/stream?after="+placed.ID),
			stream(t, h, "/api/orders/"+b.ID+"/stream", placed.ID),
		} {
			if ev := next(t, resumed, b.ID); ev.Data.Status != api.StatusConfirmed || ev.ID != confirmed.ID {
				t.Errorf("resumed after placed: %+v, want %+v", ev, confirmed)
			}
			if ev := next(t, resumed, b.ID); ev.Data.Status != api.StatusShipped {
				t.Errorf("resumed, then: %+v", ev)
			}
		}
		if p := problem(t, h, "GET", "/api/orders/stream?after=yesterday", nil, 400); !fields(p)["after"] {
			t.Errorf("bad resume position: %+v", p)
		}
		problem(t, h, "POST", "/api/orders/"+b.ID+"/cancel", map[string]string{"reason": "late"}, 409)
		h.Publish(shippingapi.SubjectShipmentDelivered, shippingapi.TypeShipmentDelivered, b.ID,
			shippingapi.Shipment{ShipmentID: "sh-1", OrderID: b.ID})
		h.Publish(shippingapi.SubjectShipmentDelivered, shippingapi.TypeShipmentDelivered, "nope",
			shippingapi.Shipment{ShipmentID: "sh-2", OrderID: "nope"})
		h.Eventually("delivered", func() bool { return get(b.ID).Status == api.StatusDelivered })
		problem(t, h, "POST", "/api/orders/"+b.ID+"/cancel", nil, 409)
		if typ, r := reject(b.ID, "too late"); typ != api.TypeOrderRejectDone || r.Status != api.StatusDelivered || r.Reason == "" {
			t.Errorf("reject a delivered order: %s %+v", typ, r)
		}
		if o := get(b.ID); o.Status != api.StatusDelivered || o.Version != 4 {
			t.Errorf("delivered %+v", o)
		}
	})

	t.Run("reject, twice", func(t *testing.T) {
		c := place(map[string]any{"product_id": "p-1", "quantity": 1})
		for range 2 {
			if typ, r := reject(c.ID, "out of stock"); typ != api.TypeOrderRejectDone || r.Status != api.StatusRejected || r.Reason != "out of stock" {
				t.Errorf("reject: %s %+v", typ, r)
			}
		}
		if typ, r := confirm(c.ID); typ != api.TypeOrderConfirmFailed || r.Status != api.StatusRejected || r.Reason != "order is rejected" {
			t.Errorf("confirm a rejected order: %s %+v", typ, r)
		}
		if o := get(c.ID); o.Status != api.StatusRejected || o.Reason != "out of stock" || o.Version != 2 {
			t.Errorf("rejected %+v", o)
		}
		problem(t, h, "POST", "/api/orders/"+c.ID+"/cancel", nil, 409)
		h.Publish(shippingapi.SubjectShipmentShipped, shippingapi.TypeShipmentShipped, c.ID, shippingapi.Shipment{OrderID: c.ID})
		if typ, r := confirm("nope"); typ != api.TypeOrderConfirmFailed || r.Reason != "unknown order" {
			t.Errorf("confirm an unknown order: %s %+v", typ, r)
		}
		if typ, r := reject("nope", "x"); typ != api.TypeOrderRejectDone || r.Reason != "unknown order" {
			t.Errorf("reject an unknown order: %s %+v", typ, r)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		d := place(map[string]any{"product_id": "p-1", "quantity": 1})
		var o order
		h.Post("/api/orders/"+d.ID+"/cancel", map[string]string{"reason": "changed my mind"}, &o, 200)
		if o.Status != api.StatusCancelled || o.Reason != "changed my mind" {
			t.Errorf("cancelled %+v", o)
		}
		h.Post("/api/orders/"+d.ID+"/cancel", map[string]string{"reason": "again"}, &o, 200)
		if o.Version != 2 || o.Reason != "changed my mind" {
			t.Errorf("cancelled twice %+v", o)
		}
		if typ, r := confirm(d.ID); typ != api.TypeOrderConfirmFailed || r.Status != api.StatusCancelled {
			t.Errorf("confirm a cancelled order: %s %+v", typ, r)
		}
		if typ, r := reject(d.ID, "x"); typ != api.TypeOrderRejectDone || r.Status != api.StatusCancelled {
			t.Errorf("reject a cancelled order: %s %+v", typ, r)
		}
		problem(t, h, "POST", "/api/orders/nope/cancel", nil, 404)

		e := place(map[string]any{"product_id": "p-1", "quantity": 1})
		confirm(e.ID)
		h.Post("/api/orders/"+e.ID+"/cancel", nil, &o, 200)
		if o.Status != api.StatusCancelled {
			t.Errorf("cancel a confirmed order: %+v", o)
		}
		h.Eventually("the cancellation", func() bool {
			for _, d := range events.Of(api.TypeOrderCancelled) {
				var c api.OrderCancelled
				_ = json.Unmarshal(d.Data, &c)
				if c.OrderID == e.ID {
					return c.PreviousStatus == api.StatusConfirmed && c.Total == e.Total && d.Key == e.ID
				}
			}
			return false
		})
	})

	// Integration events: one per change, duplicates changing nothing.
	want := map[string]int{api.TypeOrderPlaced: 6, api.TypeOrderConfirmed: 2, api.TypeOrderRejected: 1, api.TypeOrderCancelled: 2,
		api.TypeOrderShipped: 1, api.TypeOrderDelivered: 1}
	h.Eventually("the integration events", func() bool {
		for typ, n := range want {
			if len(events.Of(typ)) != n {
				return false
			}
		}
		return true
	})
	var placed api.OrderPlaced
	for _, d := range events.Of(api.TypeOrderPlaced) {
		if d.Key == a.ID {
			_ = json.Unmarshal(d.Data, &placed)
		}
	}
	if placed.OrderID != a.ID || placed.CustomerID != "c-1" || len(placed.Lines) != 1 || placed.Lines[0].StoreID != "s-1" ||
		placed.Lines[0].Name != "Bookmark" || placed.Lines[0].UnitPrice.Minor != 250 || placed.Total != a.Total ||
		placed.Tax.Minor != 570 || placed.ShippingAddress.City != "Paris" || placed.PaymentToken != "tok_visa" || placed.PlacedAt.IsZero() {
		t.Errorf("OrderPlaced %+v", placed)
	}

	// The streams are in the OpenAPI document.
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	h.Get("/openapi.json", &doc, 200)
	for _, p := range []string{"/api/orders/stream", "/api/orders/{id}/stream"} {
		if _, ok := doc.Paths[p]["get"].Responses["200"].Content["text/event-stream"]; !ok {
			t.Errorf("%s: not documented as text/event-stream: %+v", p, doc.Paths[p])
		}
	}
}

// Orders placed at once share transactions (group commit): each is
// placed once, with its own event, and one refused does not fail the
// others.
func TestPlaceConcurrently(t *testing.T) {
	h := platformtest.Start(t, ordering.Module{})
	events := h.Collect(api.EventsSubjects)
	seed(t, h)
	const n = 60
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := placeBody(map[string]any{"product_id": "p-1", "quantity": 1 + i%3})
			if i%10 == 0 {
				body["discount_code"] = "NOPE" // refused, alone
				var p platform.Problem
				if got := h.Do("POST", "/api/orders", body, &p); got != 400 {
					t.Errorf("bad code: %d %+v", got, p)
				}
				return
			}
			var o order
			if got := h.Do("POST", "/api/orders", body, &o); got != 201 || o.Total.Minor == 0 {
				t.Errorf("place: %d %+v", got, o)
			}
			ids <- o.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("order %s twice", id)
		}
		seen[id] = true
		var o order
		h.Get("/api/orders/"+id, &o, 200)
	}
	if len(seen) != n-n/10 {
		t.Errorf("%d orders placed, want %d", len(seen), n-n/10)
	}
	h.Eventually("one OrderPlaced each", func() bool { return len(events.Of(api.TypeOrderPlaced)) == len(seen) })
}

// Past MaxPending orders being fulfilled, placing one answers 503 at once;
// a confirmed or rejected order makes room again.
func TestAdmissionBoundsPendingOrders(t *testing.T) {
	h := platformtest.Start(t, ordering.Module{MaxPending: 2})
	seed(t, h)
	body := placeBody(map[string]any{"product_id": "p-1", "quantity": 1})
	var a, b order
	h.Post("/api/orders", body, &a, 201)
	h.Post("/api/orders", body, &b, 201)
	if p := problem(t, h, "POST", "/api/orders", body, 503); !strings.Contains(p.Detail, "2 orders") {
		t.Errorf("over the limit: %+v", p)
	}
	// Refused before anything else: a body that is not even JSON, under an
	// Idempotency-Key, gets the 503 (not a 400), and the key stays free.
	refused := rawPost(t, h, "/api/orders", "{not json", "over-the-limit")
	if refused.StatusCode != 503 || refused.Header.Get("Retry-After") == "" {
		t.Errorf("a malformed order over the limit: %d, Retry-After %q; want 503 with Retry-After", refused.StatusCode, refused.Header.Get("Retry-After"))
	}
	resp, err := http.Get(h.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `shop_orders_pending{module="ordering"} 2`) {
		t.Errorf("no shop_orders_pending of 2 in the metrics")
	}
	var bk basket
	h.Post("/api/baskets", map[string]string{"customer_id": "c-1"}, &bk, 201)
	h.Post("/api/baskets/"+bk.ID+"/items", map[string]any{"product_id": "p-1", "quantity": 1}, &bk, 200)
	problem(t, h, "POST", "/api/baskets/"+bk.ID+"/checkout", map[string]any{"shipping_address": paris, "payment_token": "tok_visa"}, 503)

	h.Request(api.SubjectConfirmOrder, api.TypeConfirmOrder, a.ID, api.ConfirmOrder{OrderID: a.ID, TrackingNumber: "TRK-1"})
	if ok := rawPost(t, h, "/api/orders", "{not json", "over-the-limit"); ok.StatusCode != 400 {
		t.Errorf("the key refused over the limit, used again within it: %d, want the 400 of its malformed body", ok.StatusCode)
	}
	var c order
	h.Post("/api/orders", body, &c, 201)
	problem(t, h, "POST", "/api/orders", body, 503)
	h.Request(api.SubjectRejectOrder, api.TypeRejectOrder, b.ID, api.RejectOrder{OrderID: b.ID, Reason: "declined"})
	h.Post("/api/baskets/"+bk.ID+"/checkout", map[string]any{"shipping_address": paris, "payment_token": "tok_visa"}, &c, 201)
}

// rawPost posts body as it is, under an Idempotency-Key.
func rawPost(t *testing.T, h *platformtest.Harness, path, body, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", h.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(platform.IdempotencyHeader, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
