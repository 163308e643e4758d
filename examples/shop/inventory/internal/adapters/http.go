// Package adapters connects the inventory use cases to the outside: the
// HTTP endpoints, the command handler and the subscription to shipments.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/examples/shop/inventory/internal/app"
	"github.com/eventual-go/eventual/examples/shop/inventory/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Stock is a product's stock as the API shows it.
type Stock struct {
	ProductID string `json:"product_id"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available" description:"On hand minus reserved."`
	Version   uint64 `json:"version"`
}

func view(s *domain.Stock) Stock {
	return Stock{ProductID: s.ID(), OnHand: s.OnHand, Reserved: s.Reserved, Available: s.Available(), Version: s.Version()}
}

// ReceiveRequest adds goods on hand.
type ReceiveRequest struct {
	ProductID string `path:"product_id"`
	Quantity  int64  `json:"quantity" required:"true" minimum:"1" example:"20"`
}

// Validate checks the fields.
func (r *ReceiveRequest) Validate() error {
	var c platform.Check
	c.Require("product_id", strings.TrimSpace(r.ProductID) != "", "is required")
	c.Require("quantity", r.Quantity > 0, "must be positive")
	return c.Err()
}

// AdjustRequest corrects the count on hand: by a signed delta, or to a
// new count (on_hand), for a reason.
type AdjustRequest struct {
	ProductID string `path:"product_id"`
	Delta     int64  `json:"delta,omitempty" description:"Signed change of the count on hand; give it or on_hand." example:"-2"`
	OnHand    *int64 `json:"on_hand,omitempty" description:"The counted quantity on hand; give it or delta." minimum:"0"`
	Reason    string `json:"reason" required:"true" example:"damaged in the warehouse"`
}

// Validate checks the fields.
func (r *AdjustRequest) Validate() error {
	var c platform.Check
	c.Require("product_id", strings.TrimSpace(r.ProductID) != "", "is required")
	c.Require("reason", strings.TrimSpace(r.Reason) != "", "is required")
	switch {
	case r.OnHand == nil:
		c.Require("delta", r.Delta != 0, "must not be 0 (or give on_hand)")
	case r.Delta != 0:
		c.Require("delta", false, "give delta or on_hand, not both")
	default:
		c.Require("on_hand", *r.OnHand >= 0, "must not be negative")
	}
	return c.Err()
}

// ByProduct names a product in the path.
type ByProduct struct {
	ProductID string `path:"product_id"`
}

// ByOrder names an order in the path.
type ByOrder struct {
	OrderID string `path:"order_id"`
}

// ReservationLine is one product of an order's reservation.
type ReservationLine struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
	State     string `json:"state" enum:"reserved,released,committed,failed"`
	Reason    string `json:"reason,omitempty" description:"Why a failed reservation failed."`
	Available int64  `json:"available,omitempty" description:"What was available when a reservation failed."`
}

// Reservation is an order's reservation: its lines and their states.
type Reservation struct {
	OrderID string            `json:"order_id"`
	State   string            `json:"state" enum:"reserved,released,committed,failed" description:"The state of the order's lines: reserved, released, committed, or failed (nothing reserved)."`
	Lines   []ReservationLine `json:"lines"`
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App) {
	const tag = "inventory"
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stock/{product_id}/receive", Summary: "Receive goods of a product", Tag: tag},
		func(ctx context.Context, req ReceiveRequest) (Stock, error) {
			s, err := a.Receive(ctx, req.ProductID, req.Quantity)
			return viewOr(s, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stock/{product_id}/adjust", Summary: "Correct the count on hand of a product", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req AdjustRequest) (Stock, error) {
			var s *domain.Stock
			var err error
			if req.OnHand != nil {
				s, err = a.SetOnHand(ctx, req.ProductID, *req.OnHand, req.Reason)
			} else {
				s, err = a.Adjust(ctx, req.ProductID, req.Delta, req.Reason)
			}
			return viewOr(s, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/stock/{product_id}", Summary: "A product's stock", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByProduct) (Stock, error) {
			s, err := a.Get(ctx, req.ProductID)
			return viewOr(s, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/stock/reservations/{order_id}", Summary: "An order's stock reservation", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByOrder) (Reservation, error) {
			lines, err := a.Reservations(ctx, req.OrderID)
			if err != nil {
				return Reservation{}, err
			}
			out := Reservation{OrderID: req.OrderID, Lines: []ReservationLine{}}
			for _, l := range lines {
				out.State = l.State
				if l.ProductID == "" {
					continue // released before it reserved anything
				}
				out.Lines = append(out.Lines, ReservationLine{ProductID: l.ProductID, Quantity: l.Quantity, State: l.State,
					Reason: l.Reason, Available: l.Available})
			}
			return out, nil
		})
}

// viewOr shows s, or maps the domain's errors to the HTTP ones.
func viewOr(s *domain.Stock, err error) (Stock, error) {
	switch {
	case err == nil:
		return view(s), nil
	case errors.Is(err, domain.ErrInvalidQuantity):
		return Stock{}, &platform.ValidationError{Fields: []platform.FieldError{{Field: "quantity", Message: err.Error()}}}
	case errors.Is(err, domain.ErrNoReason):
		return Stock{}, &platform.ValidationError{Fields: []platform.FieldError{{Field: "reason", Message: err.Error()}}}
	case errors.Is(err, domain.ErrBelowReserved):
		return Stock{}, fmt.Errorf("%w: %w", platform.ErrConflict, err)
	}
	return Stock{}, err
}
