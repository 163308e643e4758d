// Package domain is the ordering context's model, free of I/O: the Basket
// and Order aggregates (event-sourced), and the Pricing and ShippingCost
// domain services that price an order.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
)

// Errors of the order rules. The adapters map them to statuses and
// replies.
var (
	// ErrInvalidCustomer: an order or a basket needs a customer.
	ErrInvalidCustomer = errors.New("a customer is required")
	// ErrInvalidPaymentToken: an order needs a payment token.
	ErrInvalidPaymentToken = errors.New("a payment token is required")
	// ErrAlreadyPlaced: the order exists.
	ErrAlreadyPlaced = errors.New("order already placed")
	// ErrNotPlaced: the order does not exist (nothing was placed).
	ErrNotPlaced = errors.New("order not placed")
	// ErrTransition: the order's status does not allow the change. It is
	// matched by the more precise errors below.
	ErrTransition = errors.New("not allowed in the order's status")
	// ErrNotConfirmable: a cancelled or rejected order cannot be confirmed.
	ErrNotConfirmable = fmt.Errorf("%w: cannot confirm", ErrTransition)
	// ErrNotRejectable: a confirmed order (or later) cannot be rejected.
	ErrNotRejectable = fmt.Errorf("%w: cannot reject", ErrTransition)
	// ErrNotCancellable: an order that shipped, was delivered or was
	// rejected cannot be cancelled.
	ErrNotCancellable = fmt.Errorf("%w: cannot cancel", ErrTransition)
	// ErrNotShippable: only a confirmed order ships.
	ErrNotShippable = fmt.Errorf("%w: cannot ship", ErrTransition)
	// ErrNotDeliverable: only a shipped order is delivered.
	ErrNotDeliverable = fmt.Errorf("%w: cannot deliver", ErrTransition)
)

// Events of the Order, as stored.
type (
	// OrderPlaced: the customer placed the order, priced.
	OrderPlaced struct {
		CustomerID      string         `json:"customer_id"`
		Lines           []Line         `json:"lines"`
		Totals          Totals         `json:"totals"`
		DiscountCode    string         `json:"discount_code,omitempty"`
		ShippingAddress kernel.Address `json:"shipping_address"`
		PaymentToken    string         `json:"payment_token"`
		PlacedAt        time.Time      `json:"placed_at"`
	}
	// OrderConfirmed: paid, it will ship.
	OrderConfirmed struct {
		TrackingNumber string    `json:"tracking_number,omitempty"`
		At             time.Time `json:"at"`
	}
	// OrderRejected: it could not be fulfilled.
	OrderRejected struct {
		Reason string    `json:"reason"`
		At     time.Time `json:"at"`
	}
	// OrderCancelled: the customer cancelled it; From is the status it
	// had.
	OrderCancelled struct {
		Reason string    `json:"reason,omitempty"`
		From   string    `json:"from"`
		At     time.Time `json:"at"`
	}
	// OrderShipped: its shipment left.
	OrderShipped struct {
		TrackingNumber string    `json:"tracking_number,omitempty"`
		At             time.Time `json:"at"`
	}
	// OrderDelivered: its shipment arrived.
	OrderDelivered struct {
		At time.Time `json:"at"`
	}
)

// Stored names of the order events.
const (
	EventOrderPlaced    = "ordering.order.placed"
	EventOrderConfirmed = "ordering.order.confirmed"
	EventOrderRejected  = "ordering.order.rejected"
	EventOrderCancelled = "ordering.order.cancelled"
	EventOrderShipped   = "ordering.order.shipped"
	EventOrderDelivered = "ordering.order.delivered"
)

// OrderEvents lists the stored names of the order events.
var OrderEvents = []string{EventOrderPlaced, EventOrderConfirmed, EventOrderRejected, EventOrderCancelled,
	EventOrderShipped, EventOrderDelivered}

// Register adds the events of both aggregates to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[OrderPlaced](b, EventOrderPlaced)
	codec.Register[OrderConfirmed](b, EventOrderConfirmed)
	codec.Register[OrderRejected](b, EventOrderRejected)
	codec.Register[OrderCancelled](b, EventOrderCancelled)
	codec.Register[OrderShipped](b, EventOrderShipped)
	codec.Register[OrderDelivered](b, EventOrderDelivered)
	registerBasket(b)
}

// OrderState is an order's state (what a snapshot keeps).
type OrderState struct {
	CustomerID      string         `json:"customer_id"`
	Status          string         `json:"status"`
	Reason          string         `json:"reason,omitempty"`
	Lines           []Line         `json:"lines"`
	Totals          Totals         `json:"totals"`
	DiscountCode    string         `json:"discount_code,omitempty"`
	ShippingAddress kernel.Address `json:"shipping_address"`
	PaymentToken    string         `json:"payment_token"`
	TrackingNumber  string         `json:"tracking_number,omitempty"`
	PlacedAt        time.Time      `json:"placed_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// Order is a customer's order, from placed to delivered (or rejected, or
// cancelled). Its status is one of the api.Status constants; a new order
// is api.StatusDraft until placed.
type Order struct {
	aggregate.Root
	OrderState
}

// NewOrder returns an empty (draft) order with the ID.
func NewOrder(id string) *Order {
	o := &Order{OrderState: OrderState{Status: api.StatusDraft}}
	o.SetID(id)
	return o
}

// Clone implements aggregate.Cloner.
func (o *Order) Clone() *Order {
	c := *o
	c.Lines = slices.Clone(o.Lines)
	return &c
}

// SnapshotVersion implements aggregate.Snapshotter.
func (o *Order) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (o *Order) MarshalSnapshot() ([]byte, error) { return json.Marshal(o.OrderState) }

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (o *Order) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, &o.OrderState) }

// Apply implements aggregate.Aggregate.
func (o *Order) Apply(event any) error {
	switch e := event.(type) {
	case OrderPlaced:
		o.CustomerID, o.Lines, o.Totals, o.DiscountCode = e.CustomerID, e.Lines, e.Totals, e.DiscountCode
		o.ShippingAddress, o.PaymentToken, o.PlacedAt, o.UpdatedAt = e.ShippingAddress, e.PaymentToken, e.PlacedAt, e.PlacedAt
		o.Status = api.StatusPlaced
	case OrderConfirmed:
		o.Status, o.UpdatedAt = api.StatusConfirmed, e.At
		if e.TrackingNumber != "" {
			o.TrackingNumber = e.TrackingNumber
		}
	case OrderRejected:
		o.Status, o.Reason, o.UpdatedAt = api.StatusRejected, e.Reason, e.At
	case OrderCancelled:
		o.Status, o.Reason, o.UpdatedAt = api.StatusCancelled, e.Reason, e.At
	case OrderShipped:
		o.Status, o.UpdatedAt = api.StatusShipped, e.At
		if e.TrackingNumber != "" {
			o.TrackingNumber = e.TrackingNumber
		}
	case OrderDelivered:
		o.Status, o.UpdatedAt = api.StatusDelivered, e.At
	default:
		return fmt.Errorf("order: unknown event %T", event)
	}
	return nil
}

// Place places the order: a customer, priced lines (see Check for the
// invariants), a valid shipping address and a payment token. Errors:
// ErrAlreadyPlaced, ErrInvalidCustomer, kernel.ErrInvalidAddress,
// ErrInvalidPaymentToken, and Check's.
func (o *Order) Place(customerID string, priced Priced, address kernel.Address, paymentToken string, now time.Time) error {
	if o.Status != api.StatusDraft {
		return ErrAlreadyPlaced
	}
	customerID, paymentToken = strings.TrimSpace(customerID), strings.TrimSpace(paymentToken)
	if customerID == "" {
		return ErrInvalidCustomer
	}
	if err := address.Validate(); err != nil {
		return err
	}
	if paymentToken == "" {
		return ErrInvalidPaymentToken
	}
	if err := Check(priced.Lines, priced.Totals); err != nil {
		return err
	}
	return aggregate.Record(o, OrderPlaced{CustomerID: customerID, Lines: priced.Lines, Totals: priced.Totals,
		DiscountCode: priced.DiscountCode, ShippingAddress: address, PaymentToken: paymentToken, PlacedAt: now.UTC()})
}

// Confirm confirms a placed order with its tracking number. Confirming
// it again (or once it has shipped or was delivered) does nothing.
// Errors: ErrNotPlaced, ErrNotConfirmable (cancelled or rejected).
func (o *Order) Confirm(trackingNumber string, now time.Time) error {
	switch o.Status {
	case api.StatusPlaced:
		return aggregate.Record(o, OrderConfirmed{TrackingNumber: strings.TrimSpace(trackingNumber), At: now.UTC()})
	case api.StatusConfirmed, api.StatusShipped, api.StatusDelivered:
		return nil
	case api.StatusDraft:
		return ErrNotPlaced
	}
	return fmt.Errorf("%w: the order is %s", ErrNotConfirmable, o.Status)
}

// Reject rejects a placed order with a reason. Rejecting an order that is
// rejected or cancelled already does nothing. Errors: ErrNotPlaced,
// ErrNotRejectable (confirmed, shipped or delivered).
func (o *Order) Reject(reason string, now time.Time) error {
	switch o.Status {
	case api.StatusPlaced:
		reason = strings.TrimSpace(reason)
		if reason == "" {
			reason = "rejected"
		}
		return aggregate.Record(o, OrderRejected{Reason: reason, At: now.UTC()})
	case api.StatusRejected, api.StatusCancelled:
		return nil
	case api.StatusDraft:
		return ErrNotPlaced
	}
	return fmt.Errorf("%w: the order is %s", ErrNotRejectable, o.Status)
}

// Cancel cancels the order for the customer, while it is placed or
// confirmed. Cancelling a cancelled order does nothing. Errors:
// ErrNotPlaced, ErrNotCancellable (shipped, delivered or rejected).
func (o *Order) Cancel(reason string, now time.Time) error {
	switch o.Status {
	case api.StatusPlaced, api.StatusConfirmed:
		return aggregate.Record(o, OrderCancelled{Reason: strings.TrimSpace(reason), From: o.Status, At: now.UTC()})
	case api.StatusCancelled:
		return nil
	case api.StatusDraft:
		return ErrNotPlaced
	}
	return fmt.Errorf("%w: the order is %s", ErrNotCancellable, o.Status)
}

// Ship marks a confirmed order shipped. Shipping it again (or once
// delivered) does nothing. Errors: ErrNotPlaced, ErrNotShippable.
func (o *Order) Ship(trackingNumber string, now time.Time) error {
	switch o.Status {
	case api.StatusConfirmed:
		return aggregate.Record(o, OrderShipped{TrackingNumber: strings.TrimSpace(trackingNumber), At: now.UTC()})
	case api.StatusShipped, api.StatusDelivered:
		return nil
	case api.StatusDraft:
		return ErrNotPlaced
	}
	return fmt.Errorf("%w: the order is %s", ErrNotShippable, o.Status)
}

// Deliver marks a shipped order delivered. Delivering it again does
// nothing. Errors: ErrNotPlaced, ErrNotDeliverable.
func (o *Order) Deliver(now time.Time) error {
	switch o.Status {
	case api.StatusShipped:
		return aggregate.Record(o, OrderDelivered{At: now.UTC()})
	case api.StatusDelivered:
		return nil
	case api.StatusDraft:
		return ErrNotPlaced
	}
	return fmt.Errorf("%w: the order is %s", ErrNotDeliverable, o.Status)
}

// Placed returns the integration event of the placed order.
func (o *Order) Placed() api.OrderPlaced {
	lines := make([]api.OrderLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = api.OrderLine{ProductID: l.ProductID, StoreID: l.StoreID, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: l.UnitPrice, Total: l.Total}
	}
	return api.OrderPlaced{OrderID: o.ID(), CustomerID: o.CustomerID, Lines: lines, Subtotal: o.Totals.Subtotal,
		Discount: o.Totals.Discount, Tax: o.Totals.Tax, Shipping: o.Totals.Shipping, Total: o.Totals.Total,
		ShippingAddress: o.ShippingAddress, PaymentToken: o.PaymentToken, DiscountCode: o.DiscountCode, PlacedAt: o.PlacedAt}
}
