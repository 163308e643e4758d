package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestOrderScenarios runs each scenario of the issue on one shop, each
// with its own customer, store and products.
func TestOrderScenarios(t *testing.T) {
	s := startShop(t)
	statuses := openStream(s, "/api/orders/stream")

	t.Run("happy path to delivered", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		var b struct {
			ID string `json:"id"`
		}
		s.must("POST", "/api/baskets", map[string]string{"customer_id": w.customer}, &b, 201)
		s.must("POST", "/api/baskets/"+b.ID+"/items", map[string]any{"product_id": w.tea, "quantity": 2}, nil, 200)
		s.must("POST", "/api/baskets/"+b.ID+"/items", map[string]any{"product_id": w.cups, "quantity": 1}, nil, 200)
		var o orderView
		s.must("POST", "/api/baskets/"+b.ID+"/checkout", map[string]any{"shipping_address": paris, "payment_token": "tok_visa"}, &o, 201)
		if o.Status != "placed" || o.Total.Minor <= 2*450+1200 {
			t.Fatalf("checked out %+v (want placed, total with tax and shipping)", o)
		}
		if got := settled(s, o.ID); got.Status != "confirmed" || got.TrackingNumber == "" {
			t.Fatalf("order %+v, want confirmed with a tracking number", got)
		}
		if st := sagaDone(s, "fulfillment", o.ID); st != "done" {
			t.Fatalf("saga %s", st)
		}
		if p, _ := paymentOf(s, o.ID); p.Status != "captured" || p.Amount.Minor != o.Total.Minor {
			t.Errorf("payment %+v, want captured %d", p, o.Total.Minor)
		}
		if st := stockOf(s, w.tea); st.Reserved != 2 || st.Available != 98 {
			t.Errorf("tea stock %+v, want 2 reserved", st)
		}
		s.must("POST", "/api/shipments/"+o.ID+"/ship", nil, nil, 200)
		s.eventually("order shipped", func() bool {
			var x orderView
			s.must("GET", "/api/orders/"+o.ID, nil, &x, 200)
			return x.Status == "shipped"
		})
		s.eventually("stock committed", func() bool { st := stockOf(s, w.tea); return st.OnHand == 98 && st.Reserved == 0 })
		s.must("POST", "/api/shipments/"+o.ID+"/deliver", nil, nil, 200)
		s.eventually("order delivered", func() bool {
			var x orderView
			s.must("GET", "/api/orders/"+o.ID, nil, &x, 200)
			return x.Status == "delivered"
		})
		s.eventually("the stream told placed → confirmed → shipped → delivered", func() bool {
			return slices.Equal(statuses(o.ID), []string{"placed", "confirmed", "shipped", "delivered"})
		})
		s.eventually("the customer was told", func() bool {
			var page struct {
				Items []struct {
					Channel string `json:"channel"`
				} `json:"items"`
			}
			s.must("GET", "/api/notifications?order_id="+o.ID, nil, &page, 200)
			return len(page.Items) >= 3 // confirmed, shipped, delivered (email at least)
		})
		s.eventually("reporting shows it delivered", func() bool {
			var r struct {
				Status string `json:"status"`
			}
			return s.do("GET", "/api/reports/orders/"+o.ID, nil, &r) == 200 && r.Status == "delivered"
		})
	})

	t.Run("payment declined: stock released, order rejected with a reason", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		o := placeOrder(s, w, "tok_decline", paris, line(w.tea, 5))
		got := settled(s, o.ID)
		if got.Status != "rejected" || !strings.Contains(got.Reason, "payment declined") {
			t.Fatalf("order %+v, want rejected because the payment was declined", got)
		}
		sagaDone(s, "fulfillment", o.ID)
		if st := stockOf(s, w.tea); st.Reserved != 0 || st.Available != 100 {
			t.Errorf("stock %+v, want all released", st)
		}
		if p, _ := paymentOf(s, o.ID); p.Status != "declined" {
			t.Errorf("payment %+v", p)
		}
	})

	t.Run("out of stock: rejected, nothing reserved", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		o := placeOrder(s, w, "tok_visa", paris, line(w.tea, 1), line(w.cups, 4))
		got := settled(s, o.ID)
		if got.Status != "rejected" || !strings.Contains(got.Reason, "out of stock") {
			t.Fatalf("order %+v, want rejected out of stock", got)
		}
		sagaDone(s, "fulfillment", o.ID)
		if st := stockOf(s, w.tea); st.Reserved != 0 {
			t.Errorf("tea %+v, want nothing reserved", st)
		}
		if _, status := paymentOf(s, o.ID); status != 404 {
			t.Errorf("a payment exists for an order out of stock (status %d)", status)
		}
	})

	t.Run("payment timeout: compensated", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		o := placeOrder(s, w, "tok_timeout", paris, line(w.tea, 3))
		got := settled(s, o.ID)
		if got.Status != "rejected" {
			t.Fatalf("order %+v, want rejected", got)
		}
		if st := sagaDone(s, "fulfillment", o.ID); st != "failed" {
			t.Errorf("saga %s", st)
		}
		if st := stockOf(s, w.tea); st.Reserved != 0 || st.Available != 100 {
			t.Errorf("stock %+v, want all released", st)
		}
	})

	t.Run("shipping unavailable: payment voided, stock released", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		nowhere := map[string]string{"name": "X", "street": "1 Nowhere", "city": "Nowhere", "postal_code": "00000", "country": "XX"}
		o := placeOrder(s, w, "tok_visa", nowhere, line(w.tea, 2))
		got := settled(s, o.ID)
		if got.Status != "rejected" || !strings.Contains(got.Reason, "shipping unavailable") {
			t.Fatalf("order %+v, want rejected, shipping unavailable", got)
		}
		sagaDone(s, "fulfillment", o.ID)
		if p, _ := paymentOf(s, o.ID); p.Status != "voided" && p.Status != "refunded" {
			t.Errorf("payment %+v, want voided", p)
		}
		if st := stockOf(s, w.tea); st.Reserved != 0 || st.Available != 100 {
			t.Errorf("stock %+v, want all released", st)
		}
	})

	t.Run("cancel before shipping: refunded and released", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		o := placeOrder(s, w, "tok_visa", paris, line(w.tea, 4), line(w.cups, 1))
		if got := settled(s, o.ID); got.Status != "confirmed" {
			t.Fatalf("order %+v", got)
		}
		sagaDone(s, "fulfillment", o.ID)
		var c orderView
		s.must("POST", "/api/orders/"+o.ID+"/cancel", map[string]string{"reason": "changed my mind"}, &c, 200)
		if c.Status != "cancelled" {
			t.Fatalf("cancelled %+v", c)
		}
		if st := sagaDone(s, "cancellation", o.ID); st != "done" {
			t.Fatalf("cancellation saga %s", st)
		}
		if p, _ := paymentOf(s, o.ID); p.Status != "refunded" {
			t.Errorf("payment %+v, want refunded", p)
		}
		if st := stockOf(s, w.tea); st.Reserved != 0 || st.Available != 100 {
			t.Errorf("tea %+v, want released", st)
		}
		if st := stockOf(s, w.cups); st.Available != 3 {
			t.Errorf("cups %+v, want released", st)
		}
		var sh struct {
			Status string `json:"status"`
		}
		s.must("GET", "/api/shipments/"+o.ID, nil, &sh, 200)
		if sh.Status != "cancelled" {
			t.Errorf("shipment %+v", sh)
		}
		// Shipped orders cannot be cancelled.
		o2 := placeOrder(s, w, "tok_visa", paris, line(w.tea, 1))
		settled(s, o2.ID)
		s.must("POST", "/api/shipments/"+o2.ID+"/ship", nil, nil, 200)
		s.eventually("shipped", func() bool {
			var x orderView
			s.must("GET", "/api/orders/"+o2.ID, nil, &x, 200)
			return x.Status == "shipped"
		})
		if st := s.do("POST", "/api/orders/"+o2.ID+"/cancel", map[string]string{"reason": "too late"}, nil); st != 409 {
			t.Errorf("cancelling a shipped order: %d, want 409", st)
		}
	})

	t.Run("the same Idempotency-Key places one order", func(t *testing.T) {
		s.t = t
		w := setUp(s)
		key := id()
		body := map[string]any{"customer_id": w.customer, "lines": []any{line(w.tea, 1)}, "shipping_address": paris, "payment_token": "tok_visa"}
		var a, b orderView
		s.must("POST", "/api/orders", body, &a, 201)
		if st := s.do("POST", "/api/orders", body, &b, "Idempotency-Key", key); st != 201 {
			t.Fatalf("first with key: %d", st)
		}
		var c orderView
		if st := s.do("POST", "/api/orders", body, &c, "Idempotency-Key", key); st != 201 || c.ID != b.ID {
			t.Fatalf("again with the key: %d %s, want 201 %s", st, c.ID, b.ID)
		}
		other := map[string]any{"customer_id": w.customer, "lines": []any{line(w.tea, 2)}, "shipping_address": paris, "payment_token": "tok_visa"}
		if st := s.do("POST", "/api/orders", other, nil, "Idempotency-Key", key); st != 422 {
			t.Errorf("the key with another body: %d, want 422", st)
		}
		settled(s, b.ID)
		settled(s, a.ID)
		// Two orders (a, and b once), 1 unit each.
		s.eventually("two units reserved", func() bool { return stockOf(s, w.tea).Reserved == 2 })
	})

	t.Run("API basics", func(t *testing.T) {
		s.t = t
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		s.must("GET", "/openapi.json", nil, &doc, 200)
		for _, p := range []string{"/api/customers", "/api/stores", "/api/stock/{product_id}", "/api/baskets", "/api/orders",
			"/api/orders/{id}", "/api/orders/stream", "/api/payments/{order_id}", "/api/shipments/{order_id}",
			"/api/notifications", "/api/reports/orders", "/api/sagas/{name}/{id}"} {
			if _, ok := doc.Paths[p]; !ok {
				t.Errorf("OpenAPI document lacks %s", p)
			}
		}
		var problem struct {
			Status int `json:"status"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		if st := s.do("POST", "/api/orders", map[string]any{"lines": []any{}}, &problem); st != 400 || len(problem.Errors) == 0 {
			t.Errorf("invalid order: %d %+v", st, problem)
		}
		if st := s.do("GET", "/api/orders/"+id(), nil, nil); st != 404 {
			t.Errorf("unknown order: %d", st)
		}
		resp, err := httpGet(s.base + "/metrics")
		if err != nil || !strings.Contains(resp, "shop_sagas") || !strings.Contains(resp, "shop_outbox_backlog") {
			t.Errorf("metrics: %v\n%.500s", err, resp)
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			if st := s.do("GET", p, nil, nil); st != 200 {
				t.Errorf("%s: %d", p, st)
			}
		}
	})
}
