package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Stock is how much of each product the set-up receives: enough for any
// run.
const Stock = 1_000_000_000

// setUp registers the customers, a store and its products with stock, then
// waits until ordering knows the products (it learns them from the
// catalog's events).
func (r *run) setUp(ctx context.Context) error {
	if status, err := r.get(ctx, "/readyz", nil); err != nil || status != http.StatusOK {
		return fmt.Errorf("the shop at %s is not ready (status %d, %v)", r.o.BaseURL, status, err)
	}
	for i := range r.o.Customers {
		var c struct {
			ID string `json:"id"`
		}
		if err := r.create(ctx, "/api/customers", map[string]string{"name": fmt.Sprintf("Customer %d", i),
			"email": fmt.Sprintf("load%d@example.com", i)}, &c); err != nil {
			return err
		}
		r.customers = append(r.customers, c.ID)
	}
	var store struct {
		ID string `json:"id"`
	}
	if err := r.create(ctx, "/api/stores", map[string]string{"name": "Load Store", "location": "Level 1"}, &store); err != nil {
		return err
	}
	for i := range r.o.Products {
		var p struct {
			ID string `json:"id"`
		}
		body := map[string]any{"name": fmt.Sprintf("Product %d", i), "description": "A product of the load test",
			"sku": fmt.Sprintf("LOAD-%04d", i), "price": map[string]any{"minor": 500 + 100*i%5000, "currency": "EUR"}}
		if err := r.create(ctx, "/api/stores/"+store.ID+"/products", body, &p); err != nil {
			return err
		}
		if err := r.create(ctx, "/api/stock/"+p.ID+"/receive", map[string]any{"quantity": Stock}, nil); err != nil {
			return err
		}
		r.products = append(r.products, p.ID)
	}
	// Ordering learns products from the catalog's events: wait until it
	// prices an order of every one of them.
	probe := order{CustomerID: r.customers[0], ShippingAddress: address, PaymentToken: r.o.Token}
	for _, p := range r.products {
		probe.Lines = append(probe.Lines, line{ProductID: p, Quantity: 1})
	}
	body, _ := json.Marshal(probe)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, err := r.post(ctx, "/api/orders", body, nil)
		if err == nil && status == http.StatusCreated {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ordering cannot price the products after 30 s (status %d, %v)", status, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// create POSTs v and wants a 200 or 201.
func (r *run) create(ctx context.Context, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	status, err := r.post(ctx, path, body, out)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("POST %s: status %d", path, status)
	}
	return nil
}
