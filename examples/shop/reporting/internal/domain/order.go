// Package domain is the reporting context's rules for folding other
// contexts' integration events into read models: how an order's status,
// payment, tracking and totals follow from the events whatever order they
// arrive in, what an order adds to the statistics and to the sales, and
// how products and stores keep their latest state. It does no I/O.
//
// Every rule here is a merge that does not depend on the order of arrival
// and that a duplicate leaves unchanged: statuses only move up a rank,
// fields that can change carry the source time of their last change, and
// statistics and sales are a function of an order's current state (so a
// projection adds After − Before, never an event's own increment).
package domain

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
)

// Event is an event of reporting's own log: another context's integration
// event, as ingested.
type Event struct {
	// Type is the integration event's type, like "ordering.order_placed".
	Type string
	// Data is its JSON payload.
	Data []byte
	// At is when the source published it, in Unix microseconds.
	At int64
}

// statusRank orders the statuses of an order: an order only moves to a
// higher rank, so a late event never moves it back. Rejected and
// cancelled are final.
var statusRank = map[string]int{
	ordering.StatusPlaced:    1,
	ordering.StatusConfirmed: 2,
	ordering.StatusShipped:   3,
	ordering.StatusDelivered: 4,
	ordering.StatusRejected:  5,
	ordering.StatusCancelled: 5,
}

// Statuses are the order statuses reporting knows, in rank order.
var Statuses = []string{ordering.StatusPlaced, ordering.StatusConfirmed, ordering.StatusShipped,
	ordering.StatusDelivered, ordering.StatusRejected, ordering.StatusCancelled}

// paymentRank orders payment statuses the same way.
var paymentRank = map[string]int{
	"authorized": 1,
	"declined":   2,
	"captured":   2,
	"voided":     3,
	"refunded":   3,
}

// Flags record which facts of an order have been seen.
type Flags int

// The facts.
const (
	// SeenPlaced: the OrderPlaced event (lines, placed_at) is known.
	SeenPlaced Flags = 1 << iota
	// SeenConfirmed: the order was confirmed (or shipped or delivered,
	// which imply it).
	SeenConfirmed
	// SeenCancelled: the order was cancelled.
	SeenCancelled
)

// Order is an order as reporting knows it, folded from the events of
// ordering, payments, shipping and fulfillment (and the customer's name
// from customers).
type Order struct {
	ID             string
	CustomerID     string
	CustomerName   string
	Status         string // "" until an ordering event is seen
	Reason         string
	Total          kernel.Money // Currency "" while unknown
	ItemCount      int64
	StoreIDs       []string // sorted
	TrackingNumber string
	// PlacedAt is when the order was placed (Unix µs); until OrderPlaced
	// is seen, the earliest source time of its events.
	PlacedAt      int64
	UpdatedAt     int64 // the latest source time of its events
	PaymentStatus string
	// Lines are the order's lines as JSON ([]ordering.OrderLine), ""
	// until OrderPlaced is seen: kept encoded, since they never change and
	// are seldom needed (DecodeLines).
	Lines string
	// ProductNames are the lines' product names, for the search.
	ProductNames string
	Flags        Flags
}

// DecodeLines returns the order's lines.
func (o *Order) DecodeLines() ([]ordering.OrderLine, error) {
	if o.Lines == "" {
		return nil, nil
	}
	var lines []ordering.OrderLine
	if err := json.Unmarshal([]byte(o.Lines), &lines); err != nil {
		return nil, fmt.Errorf("reporting: order %s lines: %w", o.ID, err)
	}
	return lines, nil
}

// Clone returns a deep copy of o.
func (o *Order) Clone() *Order {
	c := *o
	c.StoreIDs = slices.Clone(o.StoreIDs)
	return &c
}

// orderFields are the fields every event about an order may carry.
type orderFields struct {
	CustomerID     string        `json:"customer_id"`
	Total          *kernel.Money `json:"total"`
	Amount         *kernel.Money `json:"amount"`
	TrackingNumber string        `json:"tracking_number"`
	Reason         string        `json:"reason"`
	Status         string        `json:"status"`
}

// Apply folds an event into o. Events of unknown types change nothing.
// Errors: a payload that does not decode.
func (o *Order) Apply(e Event) error {
	var f orderFields
	if err := json.Unmarshal(e.Data, &f); err != nil {
		return fmt.Errorf("reporting: decode %s: %w", e.Type, err)
	}
	if o.CustomerID == "" {
		o.CustomerID = f.CustomerID
	}
	o.seen(e.At)
	switch e.Type {
	case ordering.TypeOrderPlaced:
		var p ordering.OrderPlaced
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return fmt.Errorf("reporting: decode %s: %w", e.Type, err)
		}
		o.placed(p)
		o.setStatus(ordering.StatusPlaced, "")
	case ordering.TypeOrderConfirmed:
		o.Flags |= SeenConfirmed
		o.setStatus(ordering.StatusConfirmed, "")
		o.setTotal(f.Total)
		o.setTracking(f.TrackingNumber)
	case ordering.TypeOrderRejected:
		o.setStatus(ordering.StatusRejected, f.Reason)
	case ordering.TypeOrderCancelled:
		o.Flags |= SeenCancelled
		o.setStatus(ordering.StatusCancelled, f.Reason)
		o.setTotal(f.Total)
	case ordering.TypeOrderShipped:
		o.Flags |= SeenConfirmed
		o.setStatus(ordering.StatusShipped, "")
		o.setTracking(f.TrackingNumber)
	case ordering.TypeOrderDelivered:
		o.Flags |= SeenConfirmed
		o.setStatus(ordering.StatusDelivered, "")
	case TypePaymentChanged:
		if paymentRank[f.Status] >= paymentRank[o.PaymentStatus] && f.Status != "" {
			o.PaymentStatus = f.Status
		}
		o.setTotal(f.Amount)
	case TypeShipmentCreated, TypeShipmentShipped, TypeShipmentDelivered, TypeOrderFulfilled:
		o.setTracking(f.TrackingNumber)
		o.setTotal(f.Total)
	}
	return nil
}

// Types of the other contexts' events an Order folds, besides ordering's
// (kept here as plain strings so that the rules read in one place; the
// projection subscribes with the api constants, and a test checks they
// agree).
const (
	TypePaymentChanged    = "payments.payment_changed"
	TypeShipmentCreated   = "shipping.shipment_created"
	TypeShipmentShipped   = "shipping.shipment_shipped"
	TypeShipmentDelivered = "shipping.shipment_delivered"
	TypeOrderFulfilled    = "fulfillment.order_fulfilled"
)

func (o *Order) seen(at int64) {
	if at > o.UpdatedAt {
		o.UpdatedAt = at
	}
	if o.Flags&SeenPlaced == 0 && at > 0 && (o.PlacedAt == 0 || at < o.PlacedAt) {
		o.PlacedAt = at
	}
}

func (o *Order) placed(p ordering.OrderPlaced) {
	if o.Flags&SeenPlaced != 0 {
		return
	}
	o.Flags |= SeenPlaced
	o.CustomerID = p.CustomerID
	o.Lines = ""
	if len(p.Lines) > 0 {
		b, _ := json.Marshal(p.Lines) // plain structs: cannot fail
		o.Lines = string(b)
	}
	names := make([]string, 0, len(p.Lines))
	for _, l := range p.Lines {
		if l.Name != "" {
			names = append(names, l.Name)
		}
	}
	o.ProductNames = strings.Join(names, " ")
	o.Total = p.Total
	if !p.PlacedAt.IsZero() {
		o.PlacedAt = p.PlacedAt.UnixMicro()
	}
	o.ItemCount = 0
	stores := map[string]bool{}
	for _, l := range p.Lines {
		o.ItemCount += l.Quantity
		if l.StoreID != "" {
			stores[l.StoreID] = true
		}
	}
	o.StoreIDs = o.StoreIDs[:0]
	for s := range stores {
		o.StoreIDs = append(o.StoreIDs, s)
	}
	slices.Sort(o.StoreIDs)
}

// setStatus moves the status up to s, if s ranks higher; the reason goes
// with the status that gives it.
func (o *Order) setStatus(s, reason string) {
	if statusRank[s] > statusRank[o.Status] {
		o.Status = s
		if reason != "" {
			o.Reason = reason
		}
	}
}

// setTotal fills the total while OrderPlaced has not given it.
func (o *Order) setTotal(m *kernel.Money) {
	if m != nil && m.Currency != "" && o.Total.Currency == "" {
		o.Total = *m
	}
}

func (o *Order) setTracking(n string) {
	if n != "" && o.TrackingNumber == "" {
		o.TrackingNumber = n
	}
}

// Counted reports whether the order counts as a sale: confirmed (or
// further) and not cancelled. Its revenue counts once its total is known,
// its lines once OrderPlaced is seen.
func (o *Order) Counted() bool {
	return o.Flags&SeenConfirmed != 0 && o.Flags&SeenCancelled == 0
}

// StatKey names a statistic: "status:<status>" (no currency), "revenue"
// and "revenue_orders" (per currency).
type StatKey struct{ Name, Currency string }

// Stats returns what o adds to the statistics: one order of its status;
// its total and one order to the revenue of its currency while Counted.
func (o *Order) Stats() map[StatKey]int64 {
	out := map[StatKey]int64{}
	if o.Status != "" {
		out[StatKey{Name: "status:" + o.Status}] = 1
	}
	if o.Counted() && o.Total.Currency != "" {
		out[StatKey{Name: "revenue", Currency: o.Total.Currency}] = o.Total.Minor
		out[StatKey{Name: "revenue_orders", Currency: o.Total.Currency}] = 1
	}
	return out
}

// SaleKey is a row of the sales: a product of a store on a day (the day
// the order was placed, UTC), in a currency.
type SaleKey struct{ Day, ProductID, StoreID, Currency string }

// Sale is a quantity sold and its revenue (line totals, before discount,
// tax and shipping, which belong to the order and not to a product).
type Sale struct {
	Name              string
	Quantity, Revenue int64
}

// InSales reports whether o's lines count in the sales: Counted, and its
// lines known. As the lines never change, o adds the same to the sales as
// long as InSales does not change.
func (o *Order) InSales() bool {
	return o.Counted() && o.Flags&SeenPlaced != 0
}

// Sales returns what o adds to the sales: its lines while InSales.
// Errors: lines that do not decode.
func (o *Order) Sales() (map[SaleKey]Sale, error) {
	if !o.InSales() {
		return nil, nil
	}
	lines, err := o.DecodeLines()
	if err != nil {
		return nil, err
	}
	day := Day(o.PlacedAt)
	out := map[SaleKey]Sale{}
	for _, l := range lines {
		k := SaleKey{Day: day, ProductID: l.ProductID, StoreID: l.StoreID, Currency: l.Total.Currency}
		s := out[k]
		s.Name = l.Name
		s.Quantity += l.Quantity
		s.Revenue += l.Total.Minor
		out[k] = s
	}
	return out, nil
}

// Day is the UTC date of a Unix-µs time, as YYYY-MM-DD.
func Day(micros int64) string {
	return time.UnixMicro(micros).UTC().Format(time.DateOnly)
}

// SearchDoc is the text an order is found by: its ID, customer's name,
// products' names, status and tracking number.
func (o *Order) SearchDoc() string {
	parts := []string{o.ID, o.CustomerName, o.Status, o.TrackingNumber, o.ProductNames}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}
