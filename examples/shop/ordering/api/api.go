// Package api is the public contract of the ordering context: orders'
// lives as integration events carrying what others need (lines, totals,
// address, payment token), and the commands the fulfillment saga sends to
// confirm or reject an order.
package api

import (
	"time"

	"github.com/eventual-go/eventual/examples/shop/kernel"
)

// Integration events, published on "ordering.events.<name>", keyed by
// order ID.
const (
	SubjectOrderPlaced = "ordering.events.order_placed"
	TypeOrderPlaced    = "ordering.order_placed"

	SubjectOrderConfirmed = "ordering.events.order_confirmed"
	TypeOrderConfirmed    = "ordering.order_confirmed"

	SubjectOrderRejected = "ordering.events.order_rejected"
	TypeOrderRejected    = "ordering.order_rejected"

	SubjectOrderCancelled = "ordering.events.order_cancelled"
	TypeOrderCancelled    = "ordering.order_cancelled"

	SubjectOrderShipped = "ordering.events.order_shipped"
	TypeOrderShipped    = "ordering.order_shipped"

	SubjectOrderDelivered = "ordering.events.order_delivered"
	TypeOrderDelivered    = "ordering.order_delivered"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "ordering.events.>"
)

// Statuses of an order.
const (
	StatusDraft     = "draft"
	StatusPlaced    = "placed"
	StatusConfirmed = "confirmed"
	StatusShipped   = "shipped"
	StatusDelivered = "delivered"
	StatusCancelled = "cancelled"
	StatusRejected  = "rejected"
)

// OrderLine is a line of an order, priced when the order was placed.
type OrderLine struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Quantity  int64        `json:"quantity"`
	UnitPrice kernel.Money `json:"unit_price"`
	Total     kernel.Money `json:"total"`
}

// OrderPlaced: a customer placed an order; the fulfillment saga starts
// from it.
type OrderPlaced struct {
	OrderID         string         `json:"order_id"`
	CustomerID      string         `json:"customer_id"`
	Lines           []OrderLine    `json:"lines"`
	Subtotal        kernel.Money   `json:"subtotal"`
	Discount        kernel.Money   `json:"discount"`
	Tax             kernel.Money   `json:"tax"`
	Shipping        kernel.Money   `json:"shipping"`
	Total           kernel.Money   `json:"total"`
	ShippingAddress kernel.Address `json:"shipping_address"`
	PaymentToken    string         `json:"payment_token"`
	PlacedAt        time.Time      `json:"placed_at"`
	// DiscountCode is the code the discount came from, if any.
	DiscountCode string `json:"discount_code,omitempty"`
}

// OrderConfirmed: the order is paid and will ship.
type OrderConfirmed struct {
	OrderID        string       `json:"order_id"`
	CustomerID     string       `json:"customer_id"`
	Total          kernel.Money `json:"total"`
	TrackingNumber string       `json:"tracking_number,omitempty"`
}

// OrderRejected: the order could not be fulfilled, and why.
type OrderRejected struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Reason     string `json:"reason"`
}

// OrderCancelled: the customer cancelled a confirmed order before it
// shipped; its payment is refunded and its stock released.
type OrderCancelled struct {
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Total      kernel.Money `json:"total"`
	Reason     string       `json:"reason,omitempty"`
	// PreviousStatus is the status the order had: placed (not yet
	// confirmed: the fulfillment saga, still running, compensates) or
	// confirmed.
	PreviousStatus string `json:"previous_status,omitempty"`
}

// OrderShipped and OrderDelivered follow the shipment.
type OrderShipped struct {
	OrderID        string `json:"order_id"`
	CustomerID     string `json:"customer_id"`
	TrackingNumber string `json:"tracking_number"`
}

// OrderDelivered: the shipment arrived.
type OrderDelivered struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
}

// Commands, sent to "ordering.commands.<name>"; replies have the
// command's type plus ".done" or ".failed".
const (
	SubjectConfirmOrder  = "ordering.commands.confirm_order"
	TypeConfirmOrder     = "ordering.confirm_order"
	TypeOrderConfirmDone = TypeConfirmOrder + ".done"
	// TypeOrderConfirmFailed: the order can no longer be confirmed (it
	// was cancelled meanwhile).
	TypeOrderConfirmFailed = TypeConfirmOrder + ".failed"

	SubjectRejectOrder  = "ordering.commands.reject_order"
	TypeRejectOrder     = "ordering.reject_order"
	TypeOrderRejectDone = TypeRejectOrder + ".done"

	// CommandsSubjects matches every command of the context.
	CommandsSubjects = "ordering.commands.>"
)

// ConfirmOrder confirms a placed order. Idempotent.
type ConfirmOrder struct {
	OrderID        string `json:"order_id"`
	TrackingNumber string `json:"tracking_number,omitempty"`
}

// RejectOrder rejects a placed order with a reason. Idempotent; an order
// already rejected or cancelled answers ".done" too, and so does an
// unknown order (Reason "unknown order") and an order confirmed or further
// on (not rejected: the reply's Status says what it is and Reason why),
// since the saga's compensation has no failure reply.
type RejectOrder struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// OrderReply answers the ordering commands.
type OrderReply struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}
