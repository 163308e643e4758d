// Package api is the public contract of the shipping context: the
// commands that create and cancel an order's shipment, and the events of
// shipments.
//
// Test rule: shipping to the country "XX" is unavailable; so is all
// shipping while it is switched off through the API.
package api

import "github.com/eventual-go/eventual/examples/shop/kernel"

// UnavailableCountry is the country shipping never reaches.
const UnavailableCountry = "XX"

// Integration events, published on "shipping.events.<name>", keyed by
// order ID.
const (
	SubjectShipmentCreated = "shipping.events.shipment_created"
	TypeShipmentCreated    = "shipping.shipment_created"

	SubjectShipmentCancelled = "shipping.events.shipment_cancelled"
	TypeShipmentCancelled    = "shipping.shipment_cancelled"

	SubjectShipmentShipped = "shipping.events.shipment_shipped"
	TypeShipmentShipped    = "shipping.shipment_shipped"

	SubjectShipmentDelivered = "shipping.events.shipment_delivered"
	TypeShipmentDelivered    = "shipping.shipment_delivered"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "shipping.events.>"
)

// Shipment is what the shipment events carry.
type Shipment struct {
	ShipmentID     string `json:"shipment_id"`
	OrderID        string `json:"order_id"`
	TrackingNumber string `json:"tracking_number"`
}

// Commands, sent to "shipping.commands.<name>"; replies have the
// command's type plus ".done" or ".failed". Each is idempotent per order.
const (
	SubjectCreateShipment    = "shipping.commands.create_shipment"
	TypeCreateShipment       = "shipping.create_shipment"
	TypeShipmentCreatedReply = TypeCreateShipment + ".done"
	TypeShippingUnavailable  = TypeCreateShipment + ".failed"

	SubjectCancelShipment      = "shipping.commands.cancel_shipment"
	TypeCancelShipment         = "shipping.cancel_shipment"
	TypeShipmentCancelledReply = TypeCancelShipment + ".done"

	// CommandsSubjects matches every command of the context.
	CommandsSubjects = "shipping.commands.>"
)

// Item is a quantity of a product to ship.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// CreateShipment prepares the shipment of an order.
type CreateShipment struct {
	OrderID string         `json:"order_id"`
	Address kernel.Address `json:"address"`
	Items   []Item         `json:"items"`
}

// CancelShipment cancels an order's shipment (nothing if there is none,
// or it has shipped: then Reason says so).
type CancelShipment struct {
	OrderID string `json:"order_id"`
}

// ShipmentReply answers the shipping commands.
type ShipmentReply struct {
	OrderID        string `json:"order_id"`
	ShipmentID     string `json:"shipment_id,omitempty"`
	TrackingNumber string `json:"tracking_number,omitempty"`
	Reason         string `json:"reason,omitempty"`
}
