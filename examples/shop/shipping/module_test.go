package shipping_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	"github.com/eventual-go/eventual/examples/shop/shipping"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
)

type shipment struct {
	ShipmentID     string         `json:"shipment_id"`
	OrderID        string         `json:"order_id"`
	TrackingNumber string         `json:"tracking_number"`
	Status         string         `json:"status"`
	Reason         string         `json:"reason"`
	Address        kernel.Address `json:"address"`
	Items          []api.Item     `json:"items"`
	Version        uint64         `json:"version"`
}

var (
	paris = kernel.Address{Name: "Ada", Street: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	items = []api.Item{{ProductID: "p-1", Quantity: 2}}
	trk   = regexp.MustCompile(`^TRK[0-9A-Z]{10}$`)
)

func request(t *testing.T, h *platformtest.Harness, subject, typ, orderID string, v any) (string, api.ShipmentReply) {
	t.Helper()
	d := h.Request(subject, typ, orderID, v)
	var r api.ShipmentReply
	if err := json.Unmarshal(d.Data, &r); err != nil {
		t.Fatal(err)
	}
	return d.Type, r
}

func create(t *testing.T, h *platformtest.Harness, orderID string, addr kernel.Address) (string, api.ShipmentReply) {
	t.Helper()
	return request(t, h, api.SubjectCreateShipment, api.TypeCreateShipment, orderID,
		api.CreateShipment{OrderID: orderID, Address: addr, Items: items})
}

func cancel(t *testing.T, h *platformtest.Harness, orderID string) (string, api.ShipmentReply) {
	t.Helper()
	return request(t, h, api.SubjectCancelShipment, api.TypeCancelShipment, orderID, api.CancelShipment{OrderID: orderID})
}

func TestShipmentLife(t *testing.T) {
	h := platformtest.Start(t, shipping.Module{})
	events := h.Collect(api.EventsSubjects)

	typ, r := create(t, h, "o-1", paris)
	if typ != api.TypeShipmentCreatedReply || r.ShipmentID == "" || !trk.MatchString(r.TrackingNumber) || r.OrderID != "o-1" {
		t.Fatalf("create: %s %+v", typ, r)
	}
	if typ, again := create(t, h, "o-1", paris); typ != api.TypeShipmentCreatedReply || again != r {
		t.Errorf("create again: %s %+v, want %+v", typ, again, r)
	}
	var s shipment
	h.Get("/api/shipments/o-1", &s, 200)
	if s.ShipmentID != r.ShipmentID || s.TrackingNumber != r.TrackingNumber || s.Status != "created" || s.Address != paris ||
		len(s.Items) != 1 || s.Version != 1 {
		t.Errorf("GET %+v", s)
	}
	h.Get("/api/shipments/nope", nil, 404)

	// Delivering before shipping is a conflict; shipping twice is once.
	h.Post("/api/shipments/o-1/deliver", nil, nil, 409)
	h.Post("/api/shipments/o-1/ship", nil, &s, 200)
	if s.Status != "shipped" || s.Version != 2 {
		t.Errorf("shipped %+v", s)
	}
	h.Post("/api/shipments/o-1/ship", nil, &s, 200)
	if s.Version != 2 {
		t.Errorf("shipped again %+v", s)
	}
	// A shipped shipment is not cancelled: ".done" saying why.
	if typ, r := cancel(t, h, "o-1"); typ != api.TypeShipmentCancelledReply || r.Reason != "already shipped" {
		t.Errorf("cancel shipped: %s %+v", typ, r)
	}
	h.Post("/api/shipments/o-1/deliver", nil, &s, 200)
	h.Post("/api/shipments/o-1/deliver", nil, &s, 200)
	if s.Status != "delivered" || s.Version != 3 {
		t.Errorf("delivered %+v", s)
	}
	h.Post("/api/shipments/nope/ship", nil, nil, 404)
	h.Post("/api/shipments/nope/deliver", nil, nil, 404)

	h.Eventually("the integration events", func() bool { return len(events.All()) == 3 })
	want := []string{api.TypeShipmentCreated, api.TypeShipmentShipped, api.TypeShipmentDelivered}
	for i, d := range events.All() {
		var e api.Shipment
		_ = json.Unmarshal(d.Data, &e)
		if d.Type != want[i] || d.Key != "o-1" || e != (api.Shipment{ShipmentID: r.ShipmentID, OrderID: "o-1", TrackingNumber: r.TrackingNumber}) {
			t.Errorf("event %d: %s key %s %+v, want %s", i, d.Type, d.Key, e, want[i])
		}
	}
}

func TestCancelShipment(t *testing.T) {
	h := platformtest.Start(t, shipping.Module{})
	events := h.Collect(api.EventsSubjects)

	_, created := create(t, h, "o-c", paris)
	for range 2 {
		if typ, r := cancel(t, h, "o-c"); typ != api.TypeShipmentCancelledReply || r.Reason != "" || r.ShipmentID != created.ShipmentID {
			t.Errorf("cancel: %s %+v", typ, r)
		}
	}
	// Created again after a cancellation: refused.
	if typ, r := create(t, h, "o-c", paris); typ != api.TypeShippingUnavailable || r.Reason != "cancelled" {
		t.Errorf("create a cancelled shipment: %s %+v", typ, r)
	}
	h.Post("/api/shipments/o-c/ship", nil, nil, 409)
	// Nothing to cancel.
	if typ, r := cancel(t, h, "o-none"); typ != api.TypeShipmentCancelledReply || r.Reason != "" || r.ShipmentID != "" {
		t.Errorf("cancel nothing: %s %+v", typ, r)
	}
	h.Get("/api/shipments/o-none", nil, 404)

	h.Eventually("the integration events", func() bool { return len(events.All()) == 2 })
	if got := events.All(); got[0].Type != api.TypeShipmentCreated || got[1].Type != api.TypeShipmentCancelled {
		t.Errorf("events %s, %s", got[0].Type, got[1].Type)
	}
}

func TestUnavailable(t *testing.T) {
	h := platformtest.Start(t, shipping.Module{})
	events := h.Collect(api.EventsSubjects)

	nowhere := paris
	nowhere.Country = api.UnavailableCountry
	for range 2 {
		if typ, r := create(t, h, "o-xx", nowhere); typ != api.TypeShippingUnavailable || r.Reason != "shipping unavailable to XX" {
			t.Errorf("create to XX: %s %+v", typ, r)
		}
	}
	var s shipment
	h.Get("/api/shipments/o-xx", &s, 200)
	if s.Status != "refused" || s.Reason != "shipping unavailable to XX" || s.TrackingNumber != "" {
		t.Errorf("refused %+v", s)
	}
	h.Post("/api/shipments/o-xx/ship", nil, nil, 409)

	// Switched off: refused; and it stays so for that order once back on.
	var av struct {
		Available *bool `json:"available"`
	}
	h.Get("/api/shipping/availability", &av, 200)
	if av.Available == nil || !*av.Available {
		t.Errorf("availability at first %+v", av)
	}
	h.Post("/api/shipping/availability", map[string]bool{"available": false}, &av, 200)
	if typ, r := create(t, h, "o-off", paris); typ != api.TypeShippingUnavailable || r.Reason != "shipping unavailable" {
		t.Errorf("create while switched off: %s %+v", typ, r)
	}
	h.Get("/api/shipping/availability", &av, 200)
	if *av.Available {
		t.Error("still available")
	}
	h.Post("/api/shipping/availability", map[string]bool{"available": true}, &av, 200)
	if typ, r := create(t, h, "o-off", paris); typ != api.TypeShippingUnavailable || r.Reason != "shipping unavailable" {
		t.Errorf("create again once back on: %s %+v", typ, r)
	}
	if typ, _ := create(t, h, "o-on", paris); typ != api.TypeShipmentCreatedReply {
		t.Errorf("create once back on: %s", typ)
	}
	var p platform.Problem
	if status := h.Do("POST", "/api/shipping/availability", map[string]string{}, &p); status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "available" {
		t.Errorf("no switch: %d %+v", status, p)
	}
	h.Eventually("the created event", func() bool { return len(events.All()) == 1 })
	if d := events.All()[0]; d.Type != api.TypeShipmentCreated || d.Key != "o-on" {
		t.Errorf("event %s %s", d.Type, d.Key)
	}
}
