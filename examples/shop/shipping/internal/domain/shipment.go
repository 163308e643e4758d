// Package domain is the shipping context's model: the Shipment aggregate,
// one per order (its ID is the order's), created or refused, cancelled,
// shipped and delivered.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
)

// Errors of the shipment rules.
var (
	// ErrNotShippable: the shipment was cancelled or refused, or there is
	// none.
	ErrNotShippable = errors.New("shipment cannot be shipped")
	// ErrNotShipped: only a shipment that shipped can be delivered.
	ErrNotShipped = errors.New("shipment not shipped")
)

// Statuses of a shipment.
const (
	StatusCreated   = "created"
	StatusRefused   = "refused"
	StatusCancelled = "cancelled"
	StatusShipped   = "shipped"
	StatusDelivered = "delivered"
)

// Reasons a shipment is refused or not cancelled.
const (
	ReasonUnavailable    = "shipping unavailable"
	ReasonCancelled      = "cancelled"
	ReasonAlreadyShipped = "already shipped"
)

// Events of the Shipment, as stored.
type (
	// Created: the shipment is prepared, with its tracking number.
	Created struct {
		ShipmentID     string         `json:"shipment_id"`
		TrackingNumber string         `json:"tracking_number"`
		Address        kernel.Address `json:"address"`
		Items          []api.Item     `json:"items"`
	}
	// Refused: the order cannot be shipped, and why.
	Refused struct {
		Reason string `json:"reason"`
	}
	// Cancelled: the shipment will not leave.
	Cancelled struct{}
	// Shipped: the shipment left.
	Shipped struct{}
	// Delivered: the shipment arrived.
	Delivered struct{}
)

// Register adds the events to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[Created](b, "shipping.created")
	codec.Register[Refused](b, "shipping.refused")
	codec.Register[Cancelled](b, "shipping.cancelled")
	codec.Register[Shipped](b, "shipping.shipped")
	codec.Register[Delivered](b, "shipping.delivered")
}

// Shipment is the shipment of one order; its ID is the order's.
type Shipment struct {
	aggregate.Root
	state
}

// state is what a snapshot keeps.
type state struct {
	ShipmentID     string         `json:"shipment_id,omitempty"`
	TrackingNumber string         `json:"tracking_number,omitempty"`
	Address        kernel.Address `json:"address"`
	Items          []api.Item     `json:"items,omitempty"`
	// Status is one of the Status* constants, "" before any.
	Status string `json:"status"`
	// Reason says why a shipment was refused.
	Reason string `json:"reason,omitempty"`
}

// New returns an empty shipment of the order id.
func New(id string) *Shipment {
	s := &Shipment{}
	s.SetID(id)
	return s
}

// Clone implements aggregate.Cloner.
func (s *Shipment) Clone() *Shipment {
	c := *s
	c.Items = slices.Clone(s.Items)
	return &c
}

// Apply implements aggregate.Aggregate.
func (s *Shipment) Apply(event any) error {
	switch e := event.(type) {
	case Created:
		s.ShipmentID, s.TrackingNumber, s.Address, s.Items = e.ShipmentID, e.TrackingNumber, e.Address, e.Items
		s.Status = StatusCreated
	case Refused:
		s.Status, s.Reason = StatusRefused, e.Reason
	case Cancelled:
		s.Status = StatusCancelled
	case Shipped:
		s.Status = StatusShipped
	case Delivered:
		s.Status = StatusDelivered
	default:
		return fmt.Errorf("shipment: unknown event %T", event)
	}
	return nil
}

// Exists tells whether the shipment was asked for.
func (s *Shipment) Exists() bool { return s.Status != "" }

// Create prepares the shipment of items to addr as shipmentID with its
// tracking number, or refuses it: to api.UnavailableCountry, while
// shipping is not available, or to an invalid address. A shipment asked
// for already is left as it is (see Created for the answer).
func (s *Shipment) Create(shipmentID, tracking string, addr kernel.Address, items []api.Item, available bool) error {
	if s.Exists() {
		return nil
	}
	reason := ""
	switch {
	case addr.Country == api.UnavailableCountry:
		reason = ReasonUnavailable + " to " + addr.Country
	case !available:
		reason = ReasonUnavailable
	default:
		if err := addr.Validate(); err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		return aggregate.Record(s, Refused{Reason: reason})
	}
	return aggregate.Record(s, Created{ShipmentID: shipmentID, TrackingNumber: tracking, Address: addr, Items: items})
}

// Created answers CreateShipment: whether the shipment was created (and
// may have shipped since), or why not.
func (s *Shipment) Created() (bool, string) {
	switch s.Status {
	case StatusCreated, StatusShipped, StatusDelivered:
		return true, ""
	case StatusRefused:
		return false, s.Reason
	case StatusCancelled:
		return false, ReasonCancelled
	}
	return false, "no shipment"
}

// Cancel cancels a shipment that has not shipped. Nothing happens to one
// that does not exist, was refused or cancelled, or has shipped already
// (CancelReason says so).
func (s *Shipment) Cancel() error {
	if s.Status != StatusCreated {
		return nil
	}
	return aggregate.Record(s, Cancelled{})
}

// CancelReason says why a cancellation did not cancel: "already shipped",
// or "" when it did (or there was nothing to cancel).
func (s *Shipment) CancelReason() string {
	if s.Status == StatusShipped || s.Status == StatusDelivered {
		return ReasonAlreadyShipped
	}
	return ""
}

// Ship sends a created shipment off; shipping it again does nothing.
// Errors: ErrNotShippable for a shipment cancelled, refused or missing.
func (s *Shipment) Ship() error {
	switch s.Status {
	case StatusShipped, StatusDelivered:
		return nil
	case StatusCreated:
		return aggregate.Record(s, Shipped{})
	}
	return fmt.Errorf("%w: it is %s", ErrNotShippable, or(s.Status, "missing"))
}

// Deliver marks a shipped shipment delivered; delivering it again does
// nothing. Errors: ErrNotShipped for one that has not shipped.
func (s *Shipment) Deliver() error {
	switch s.Status {
	case StatusDelivered:
		return nil
	case StatusShipped:
		return aggregate.Record(s, Delivered{})
	}
	return fmt.Errorf("%w: it is %s", ErrNotShipped, or(s.Status, "missing"))
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// SnapshotVersion implements aggregate.Snapshotter.
func (s *Shipment) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (s *Shipment) MarshalSnapshot() ([]byte, error) { return json.Marshal(s.state) }

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (s *Shipment) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, &s.state) }
