// Package adapters connects the shipping use cases to the outside: the
// HTTP endpoints and the command handler.
package adapters

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/app"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/domain"
)

// Shipment is an order's shipment as the API shows it.
type Shipment struct {
	ShipmentID     string         `json:"shipment_id,omitempty"`
	OrderID        string         `json:"order_id"`
	TrackingNumber string         `json:"tracking_number,omitempty"`
	Status         string         `json:"status" enum:"created,refused,cancelled,shipped,delivered"`
	Reason         string         `json:"reason,omitempty" description:"Why the shipment was refused."`
	Address        kernel.Address `json:"address"`
	Items          []api.Item     `json:"items"`
	Version        uint64         `json:"version"`
}

func view(s *domain.Shipment) Shipment {
	items := s.Items
	if items == nil {
		items = []api.Item{}
	}
	return Shipment{ShipmentID: s.ShipmentID, OrderID: s.ID(), TrackingNumber: s.TrackingNumber, Status: s.Status,
		Reason: s.Reason, Address: s.Address, Items: items, Version: s.Version()}
}

func viewOr(s *domain.Shipment, err error) (Shipment, error) {
	if err != nil {
		return Shipment{}, err
	}
	return view(s), nil
}

// ByOrder names an order in the path.
type ByOrder struct {
	OrderID string `path:"order_id"`
}

// Availability is whether shipping is switched on.
type Availability struct {
	Available *bool `json:"available" required:"true" description:"false: every new shipment is refused (\"shipping unavailable\")."`
}

// Validate requires the switch.
func (r *Availability) Validate() error {
	var c platform.Check
	c.Require("available", r.Available != nil, "is required")
	return c.Err()
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App) {
	const tag = "shipping"
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/shipments/{order_id}", Summary: "An order's shipment", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByOrder) (Shipment, error) {
			return viewOr(a.Get(ctx, req.OrderID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/shipments/{order_id}/ship", Summary: "Send an order's shipment off (again: no change)", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req ByOrder) (Shipment, error) {
			return viewOr(a.Ship(ctx, req.OrderID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/shipments/{order_id}/deliver", Summary: "Mark a shipped shipment delivered (again: no change)", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req ByOrder) (Shipment, error) {
			return viewOr(a.Deliver(ctx, req.OrderID))
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/shipping/availability", Summary: "Whether shipping is switched on", Tag: tag},
		func(ctx context.Context, _ platform.Empty) (Availability, error) {
			on, err := a.Available(ctx)
			return Availability{Available: &on}, err
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/shipping/availability", Summary: "Switch shipping on or off (a test switch)", Tag: tag},
		func(ctx context.Context, req Availability) (Availability, error) {
			return req, a.SetAvailable(ctx, *req.Available)
		})
}
