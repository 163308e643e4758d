package e2e

import (
	"sync"
	"testing"
)

// TestKilledMidSaga kills the shop (SIGKILL) while sagas are under way and
// restarts it on the same data: every order still completes, each payment
// is captured once, and exactly the confirmed orders' stock stays
// reserved — with commits flushed to disk (full) and without (normal: a
// process crash loses nothing either).
func TestKilledMidSaga(t *testing.T) {
	for _, sync := range []string{"full", "normal"} {
		t.Run(sync, func(t *testing.T) { killedMidSaga(t, "SHOP_SQLITE_SYNC="+sync) })
	}
}

func killedMidSaga(t *testing.T, env ...string) {
	s := startShop(t, env...)
	w := setUp(s)
	const orders = 40
	ids := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() { ids[i] = placeOrder(s, w, "tok_visa", paris, line(w.tea, 2)).ID })
	}
	wg.Wait()
	confirmed := 0
	for _, id := range ids {
		var o orderView
		s.must("GET", "/api/orders/"+id, nil, &o, 200)
		if o.Status == "confirmed" {
			confirmed++
		}
	}
	s.kill()
	t.Logf("killed with %d of %d orders confirmed", confirmed, orders)

	s.start()
	for _, id := range ids {
		if o := settled(s, id); o.Status != "confirmed" {
			t.Errorf("order %s: %+v, want confirmed", id, o)
		}
		if st := sagaDone(s, "fulfillment", id); st != "done" {
			t.Errorf("saga of %s: %s", id, st)
		}
	}
	for _, id := range ids {
		var o orderView
		s.must("GET", "/api/orders/"+id, nil, &o, 200)
		if p, status := paymentOf(s, id); status != 200 || p.Status != "captured" || p.Amount.Minor != o.Total.Minor {
			t.Errorf("payment of %s: %d %+v, want captured %d", id, status, p, o.Total.Minor)
		}
	}
	var invoices struct {
		Items []struct {
			OrderID string `json:"order_id"`
		} `json:"items"`
	}
	s.must("GET", "/api/invoices?customer_id="+w.customer+"&limit=500", nil, &invoices, 200)
	per := map[string]int{}
	for _, in := range invoices.Items {
		per[in.OrderID]++
	}
	for _, id := range ids {
		if per[id] != 1 {
			t.Errorf("order %s has %d invoices, want 1", id, per[id])
		}
	}
	if st := stockOf(s, w.tea); st.Reserved != 2*orders || st.OnHand != 100 {
		t.Errorf("tea stock %+v, want %d reserved of 100", st, 2*orders)
	}
}
