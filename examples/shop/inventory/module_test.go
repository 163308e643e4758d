package inventory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/examples/shop/inventory"
	"github.com/eventual-go/eventual/examples/shop/inventory/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
)

type stock struct {
	ProductID string `json:"product_id"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
	Version   uint64 `json:"version"`
}

type reservation struct {
	OrderID string `json:"order_id"`
	State   string `json:"state"`
	Lines   []struct {
		ProductID string `json:"product_id"`
		Quantity  int64  `json:"quantity"`
		State     string `json:"state"`
	} `json:"lines"`
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// receive stocks a new product with quantity and returns its ID.
func receive(h *platformtest.Harness, quantity int64) string {
	h.T.Helper()
	id := newID()
	h.Post("/api/stock/"+id+"/receive", map[string]int64{"quantity": quantity}, nil, 200)
	return id
}

func getStock(h *platformtest.Harness, id string) stock {
	h.T.Helper()
	var s stock
	h.Get("/api/stock/"+id, &s, 200)
	return s
}

func wantStock(t *testing.T, h *platformtest.Harness, id string, onHand, reserved int64) {
	t.Helper()
	s := getStock(h, id)
	if s.OnHand != onHand || s.Reserved != reserved || s.Available != onHand-reserved {
		t.Errorf("stock of %s: %+v, want on hand %d, reserved %d", id, s, onHand, reserved)
	}
}

func command(t *testing.T, h *platformtest.Harness, subject, typ, orderID string, v any) (string, api.StockReply) {
	t.Helper()
	d := h.Request(subject, typ, orderID, v)
	var r api.StockReply
	if err := json.Unmarshal(d.Data, &r); err != nil {
		t.Fatal(err)
	}
	return d.Type, r
}

func reserve(t *testing.T, h *platformtest.Harness, orderID string, lines ...api.Line) (string, api.StockReply) {
	t.Helper()
	return command(t, h, api.SubjectReserveStock, api.TypeReserveStock, orderID, api.ReserveStock{OrderID: orderID, Lines: lines})
}

func release(t *testing.T, h *platformtest.Harness, orderID string) string {
	t.Helper()
	typ, _ := command(t, h, api.SubjectReleaseStock, api.TypeReleaseStock, orderID, api.ReleaseStock{OrderID: orderID})
	return typ
}

func commit(t *testing.T, h *platformtest.Harness, orderID string) string {
	t.Helper()
	typ, _ := command(t, h, api.SubjectCommitStock, api.TypeCommitStock, orderID, api.CommitStock{OrderID: orderID})
	return typ
}

func TestStockOverHTTP(t *testing.T) {
	h := platformtest.Start(t, inventory.Module{})
	events := h.Collect(api.EventsSubjects)

	id := receive(h, 10)
	wantStock(t, h, id, 10, 0)
	var s stock
	h.Post("/api/stock/"+id+"/receive", map[string]int64{"quantity": 5}, &s, 200)
	if s.OnHand != 15 || s.Version != 2 {
		t.Errorf("received %+v", s)
	}
	h.Post("/api/stock/"+id+"/adjust", map[string]any{"delta": -3, "reason": "damaged"}, &s, 200)
	if s.OnHand != 12 {
		t.Errorf("adjusted %+v", s)
	}
	h.Post("/api/stock/"+id+"/adjust", map[string]any{"on_hand": 8, "reason": "counted"}, &s, 200)
	if s.OnHand != 8 || s.Available != 8 {
		t.Errorf("counted %+v", s)
	}

	// Never below what is reserved, never negative.
	if typ, r := reserve(t, h, "o-http", api.Line{ProductID: id, Quantity: 6}); typ != api.TypeStockReserved {
		t.Fatalf("reserve: %s %+v", typ, r)
	}
	var p platform.Problem
	if status := h.Do("POST", "/api/stock/"+id+"/adjust", map[string]any{"delta": -3, "reason": "lost"}, &p); status != 409 {
		t.Errorf("adjust below reserved: %d %+v", status, p)
	}
	if status := h.Do("POST", "/api/stock/"+id+"/adjust", map[string]any{"on_hand": 5, "reason": "counted"}, &p); status != 409 {
		t.Errorf("count below reserved: %d %+v", status, p)
	}
	wantStock(t, h, id, 8, 6)

	// Validation names the fields.
	for name, tt := range map[string]struct {
		path   string
		body   any
		fields []string
	}{
		"zero quantity":   {"/receive", map[string]int64{"quantity": 0}, []string{"quantity"}},
		"negative":        {"/receive", map[string]int64{"quantity": -4}, []string{"quantity"}},
		"no body":         {"/receive", map[string]any{}, []string{"quantity"}},
		"not a number":    {"/receive", map[string]string{"quantity": "x"}, []string{"quantity"}},
		"no reason":       {"/adjust", map[string]any{"delta": 2}, []string{"reason"}},
		"zero delta":      {"/adjust", map[string]any{"delta": 0, "reason": "r"}, []string{"delta"}},
		"both":            {"/adjust", map[string]any{"delta": 1, "on_hand": 3, "reason": "r"}, []string{"delta"}},
		"negative count":  {"/adjust", map[string]any{"on_hand": -1, "reason": "r"}, []string{"on_hand"}},
		"unknown field":   {"/adjust", map[string]any{"delta": 1, "reason": "r", "why": "?"}, []string{"why"}},
		"empty adjusting": {"/adjust", map[string]any{}, []string{"reason", "delta"}},
	} {
		t.Run(name, func(t *testing.T) {
			var p platform.Problem
			status := h.Do("POST", "/api/stock/"+id+tt.path, tt.body, &p)
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
			}
			if status != 400 || fmt.Sprint(got) != fmt.Sprint(tt.fields) {
				t.Errorf("%d %+v, want 400 naming %v", status, p, tt.fields)
			}
		})
	}
	wantStock(t, h, id, 8, 6)

	h.Get("/api/stock/nope", nil, 404)
	h.Get("/api/stock/reservations/nope", nil, 404)
	if status := h.Do("POST", "/api/stock/nope/adjust", map[string]any{"delta": 1, "reason": "r"}, &p); status != 404 {
		t.Errorf("adjust unknown: %d", status)
	}

	h.Eventually("the StockChanged events", func() bool { return len(events.All()) == 5 })
	want := []string{"received", "received", "adjusted", "adjusted", "reserved"}
	for i, d := range events.All() {
		var e api.StockChanged
		_ = json.Unmarshal(d.Data, &e)
		if d.Type != api.TypeStockChanged || d.Key != id || e.Reason != want[i] || e.ProductID != id {
			t.Errorf("event %d: %s key %s %+v, want %s", i, d.Type, d.Key, e, want[i])
		}
	}
	var last api.StockChanged
	_ = json.Unmarshal(events.All()[4].Data, &last)
	if last != (api.StockChanged{ProductID: id, OnHand: 8, Reserved: 6, Available: 2, Reason: "reserved", OrderID: "o-http"}) {
		t.Errorf("reserved event %+v", last)
	}
}

func TestReserveReleaseCommit(t *testing.T) {
	h := platformtest.Start(t, inventory.Module{})
	events := h.Collect(api.EventsSubjects)
	a, b := receive(h, 10), receive(h, 5)

	// Happy path: reserve (same-product lines summed), commit.
	typ, r := reserve(t, h, "o-1", api.Line{ProductID: a, Quantity: 2}, api.Line{ProductID: b, Quantity: 1}, api.Line{ProductID: a, Quantity: 3})
	if typ != api.TypeStockReserved || r.OrderID != "o-1" {
		t.Fatalf("reserve: %s %+v", typ, r)
	}
	wantStock(t, h, a, 10, 5)
	wantStock(t, h, b, 5, 1)
	var res reservation
	h.Get("/api/stock/reservations/o-1", &res, 200)
	if res.State != "reserved" || len(res.Lines) != 2 || res.Lines[0].Quantity+res.Lines[1].Quantity != 6 {
		t.Errorf("reservation %+v", res)
	}
	// Sent again: the same answer, nothing reserved twice.
	if typ, _ := reserve(t, h, "o-1", api.Line{ProductID: a, Quantity: 5}, api.Line{ProductID: b, Quantity: 1}); typ != api.TypeStockReserved {
		t.Errorf("duplicate reserve: %s", typ)
	}
	wantStock(t, h, a, 10, 5)
	if typ := commit(t, h, "o-1"); typ != api.TypeStockCommitted {
		t.Errorf("commit: %s", typ)
	}
	if typ := commit(t, h, "o-1"); typ != api.TypeStockCommitted {
		t.Errorf("duplicate commit: %s", typ)
	}
	wantStock(t, h, a, 5, 0)
	wantStock(t, h, b, 4, 0)
	// Releasing a committed order changes nothing.
	if typ := release(t, h, "o-1"); typ != api.TypeStockReleased {
		t.Errorf("release after commit: %s", typ)
	}
	wantStock(t, h, a, 5, 0)
	h.Get("/api/stock/reservations/o-1", &res, 200)
	if res.State != "committed" {
		t.Errorf("committed reservation %+v", res)
	}

	// Reserve, release, release again; a late reserve is refused.
	if typ, _ := reserve(t, h, "o-2", api.Line{ProductID: a, Quantity: 4}); typ != api.TypeStockReserved {
		t.Fatalf("reserve o-2: %s", typ)
	}
	wantStock(t, h, a, 5, 4)
	for range 2 {
		if typ := release(t, h, "o-2"); typ != api.TypeStockReleased {
			t.Errorf("release: %s", typ)
		}
		wantStock(t, h, a, 5, 0)
	}
	if typ, r := reserve(t, h, "o-2", api.Line{ProductID: a, Quantity: 4}); typ != api.TypeStockUnavailable || r.Reason != "released" {
		t.Errorf("reserve after release: %s %+v", typ, r)
	}
	if typ := commit(t, h, "o-2"); typ != api.TypeStockCommitted {
		t.Errorf("commit after release: %s", typ)
	}
	wantStock(t, h, a, 5, 0)

	// Released before it reserved anything (the saga gave up): a late
	// reserve is refused too.
	if typ := release(t, h, "o-3"); typ != api.TypeStockReleased {
		t.Errorf("release of nothing: %s", typ)
	}
	if typ, r := reserve(t, h, "o-3", api.Line{ProductID: a, Quantity: 1}); typ != api.TypeStockUnavailable || r.Reason != "released" {
		t.Errorf("reserve after an early release: %s %+v", typ, r)
	}
	h.Get("/api/stock/reservations/o-3", &res, 200)
	if res.State != "released" || len(res.Lines) != 0 {
		t.Errorf("early release %+v", res)
	}
	wantStock(t, h, a, 5, 0)

	// A shipped shipment commits its order's reservation, once.
	if typ, _ := reserve(t, h, "o-4", api.Line{ProductID: b, Quantity: 3}); typ != api.TypeStockReserved {
		t.Fatalf("reserve o-4: %s", typ)
	}
	shipped := shippingapi.Shipment{ShipmentID: "s-4", OrderID: "o-4", TrackingNumber: "TRK4"}
	h.Publish(shippingapi.SubjectShipmentShipped, shippingapi.TypeShipmentShipped, "o-4", shipped)
	h.Eventually("the shipped order's stock committed", func() bool { s := getStock(h, b); return s.OnHand == 1 && s.Reserved == 0 })
	h.Publish(shippingapi.SubjectShipmentShipped, shippingapi.TypeShipmentShipped, "o-4", shipped)
	if typ := commit(t, h, "o-4"); typ != api.TypeStockCommitted {
		t.Errorf("commit after shipped: %s", typ)
	}
	wantStock(t, h, b, 1, 0)

	committed := func() int {
		n := 0
		for _, d := range events.Of(api.TypeStockChanged) {
			var e api.StockChanged
			_ = json.Unmarshal(d.Data, &e)
			if e.Reason == "committed" {
				n++
			}
		}
		return n
	}
	h.Eventually("the StockChanged events", func() bool { return committed() == 3 })
}

func TestReserveAllOrNothing(t *testing.T) {
	h := platformtest.Start(t, inventory.Module{})
	a, b := receive(h, 10), receive(h, 2)

	typ, r := reserve(t, h, "o-1", api.Line{ProductID: a, Quantity: 5}, api.Line{ProductID: b, Quantity: 3})
	if want := (api.StockReply{OrderID: "o-1", ProductID: b, Requested: 3, Available: 2, Reason: "insufficient stock"}); typ != api.TypeStockUnavailable || r != want {
		t.Errorf("short: %s %+v, want %+v", typ, r, want)
	}
	wantStock(t, h, a, 10, 0)
	wantStock(t, h, b, 2, 0)
	// Sent again, it answers the same, even though b has stock now.
	h.Post("/api/stock/"+b+"/receive", map[string]int64{"quantity": 5}, nil, 200)
	typ2, r2 := reserve(t, h, "o-1", api.Line{ProductID: a, Quantity: 5}, api.Line{ProductID: b, Quantity: 3})
	if typ2 != typ || r2 != r {
		t.Errorf("duplicate: %s %+v, want %s %+v", typ2, r2, typ, r)
	}
	wantStock(t, h, a, 10, 0)

	typ, r = reserve(t, h, "o-2", api.Line{ProductID: a, Quantity: 1}, api.Line{ProductID: "nothing", Quantity: 1})
	if typ != api.TypeStockUnavailable || r.ProductID != "nothing" || r.Reason != "unknown product" {
		t.Errorf("unknown product: %s %+v", typ, r)
	}
	wantStock(t, h, a, 10, 0)
	for _, lines := range [][]api.Line{nil, {{ProductID: a, Quantity: 0}}, {{Quantity: 1}}} {
		if typ, r := reserve(t, h, "o-3", lines...); typ != api.TypeStockUnavailable || r.Reason == "" {
			t.Errorf("invalid lines %v: %s %+v", lines, typ, r)
		}
	}
	wantStock(t, h, a, 10, 0)
}

func TestConcurrentReservationsNeverOversell(t *testing.T) {
	h := platformtest.Start(t, inventory.Module{})
	id := receive(h, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := transport.NewRequester(ctx, h.Transport, "test.replies.concurrent")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			order := fmt.Sprintf("o-%d", i)
			m, err := platform.Message(ctx, api.SubjectReserveStock, api.TypeReserveStock, order,
				api.ReserveStock{OrderID: order, Lines: []api.Line{{ProductID: id, Quantity: 1}}})
			if err != nil {
				t.Error(err)
				return
			}
			d, err := req.Request(ctx, m)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[d.Type]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[api.TypeStockReserved] != 20 || counts[api.TypeStockUnavailable] != 30 {
		t.Errorf("replies %v, want 20 reserved and 30 unavailable", counts)
	}
	wantStock(t, h, id, 20, 20)
}

func TestSnapshots(t *testing.T) {
	h := platformtest.Start(t, inventory.Module{})
	id := receive(h, 1)
	for range 60 {
		h.Post("/api/stock/"+id+"/receive", map[string]int64{"quantity": 1}, nil, 200)
	}
	st := h.Host.Services("inventory").Store
	// Snapshots are written after their commits, in the background: the
	// last one is within app.SnapshotEvery events of the head (61).
	h.Eventually("a recent snapshot", func() bool {
		s, err := st.LoadSnapshot(context.Background(), "stock-"+id)
		return err == nil && s.Version > 61-10
	})
	wantStock(t, h, id, 61, 0)
	if s := getStock(h, id); s.Version != 61 {
		t.Errorf("version %d", s.Version)
	}
}
