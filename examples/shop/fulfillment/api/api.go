// Package api is the public contract of the fulfillment context, which
// runs the order fulfillment and cancellation sagas: the events it
// publishes when an order is through.
package api

import "github.com/eventual-go/eventual/examples/shop/kernel"

// Integration events, published on "fulfillment.events.<name>", keyed by
// order ID.
const (
	SubjectOrderFulfilled = "fulfillment.events.order_fulfilled"
	TypeOrderFulfilled    = "fulfillment.order_fulfilled"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "fulfillment.events.>"
)

// OrderFulfilled: the saga took an order through every step; the customer
// can be told.
type OrderFulfilled struct {
	OrderID        string       `json:"order_id"`
	CustomerID     string       `json:"customer_id"`
	Total          kernel.Money `json:"total"`
	PaymentID      string       `json:"payment_id"`
	ShipmentID     string       `json:"shipment_id"`
	TrackingNumber string       `json:"tracking_number"`
}
