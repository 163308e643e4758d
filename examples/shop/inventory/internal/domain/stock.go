// Package domain is the inventory context's model: the Stock of one
// product, which never goes negative and never reserves more than it has.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
)

// Errors of the stock rules. The adapters map them to statuses and
// replies.
var (
	// ErrInvalidQuantity means a quantity that is not positive.
	ErrInvalidQuantity = errors.New("quantity must be positive")
	// ErrNoReason means an adjustment without a reason.
	ErrNoReason = errors.New("an adjustment needs a reason")
	// ErrInsufficientStock is matched by *ShortError.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrBelowReserved means a change that would leave less on hand than
	// is reserved (or less than nothing).
	ErrBelowReserved = errors.New("stock on hand cannot go below what is reserved")
	// ErrNotReserved means releasing or committing more than is reserved.
	ErrNotReserved = errors.New("not that much is reserved")
)

// ShortError tells that a reservation asked for more than is available.
type ShortError struct {
	ProductID string
	Requested int64
	Available int64
}

func (e *ShortError) Error() string {
	return fmt.Sprintf("insufficient stock of %s: %d requested, %d available", e.ProductID, e.Requested, e.Available)
}

// Is makes a *ShortError match ErrInsufficientStock.
func (e *ShortError) Is(target error) bool { return target == ErrInsufficientStock }

// Events of the Stock, as stored.
type (
	// Received: goods arrived.
	Received struct {
		Quantity int64 `json:"quantity"`
	}
	// Adjusted: the count on hand was corrected by Delta (signed).
	Adjusted struct {
		Delta  int64  `json:"delta"`
		Reason string `json:"reason"`
	}
	// Reserved: Quantity set aside for an order.
	Reserved struct {
		OrderID  string `json:"order_id"`
		Quantity int64  `json:"quantity"`
	}
	// Released: an order's reservation given back.
	Released struct {
		OrderID  string `json:"order_id"`
		Quantity int64  `json:"quantity"`
	}
	// Committed: an order's reservation taken out of stock (it shipped).
	Committed struct {
		OrderID  string `json:"order_id"`
		Quantity int64  `json:"quantity"`
	}
)

// Register adds the events to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[Received](b, "inventory.stock.received")
	codec.Register[Adjusted](b, "inventory.stock.adjusted")
	codec.Register[Reserved](b, "inventory.stock.reserved")
	codec.Register[Released](b, "inventory.stock.released")
	codec.Register[Committed](b, "inventory.stock.committed")
}

// Stock is how much of one product the shop has (OnHand) and how much of
// it orders hold (Reserved). Invariant: 0 ≤ Reserved ≤ OnHand. Which order
// holds what is kept by the application, not here: the aggregate stays
// small however many orders reserve it.
type Stock struct {
	aggregate.Root
	OnHand   int64
	Reserved int64
}

// New returns an empty stock of the product with the ID.
func New(productID string) *Stock {
	s := &Stock{}
	s.SetID(productID)
	return s
}

// Clone implements aggregate.Cloner: a stock holds only values.
func (s *Stock) Clone() *Stock { c := *s; return &c }

// Available is what can still be reserved.
func (s *Stock) Available() int64 { return s.OnHand - s.Reserved }

// Apply implements aggregate.Aggregate.
func (s *Stock) Apply(event any) error {
	switch e := event.(type) {
	case Received:
		s.OnHand += e.Quantity
	case Adjusted:
		s.OnHand += e.Delta
	case Reserved:
		s.Reserved += e.Quantity
	case Released:
		s.Reserved -= e.Quantity
	case Committed:
		s.OnHand -= e.Quantity
		s.Reserved -= e.Quantity
	default:
		return fmt.Errorf("stock: unknown event %T", event)
	}
	return nil
}

// Receive adds goods on hand.
func (s *Stock) Receive(quantity int64) error {
	if quantity <= 0 {
		return ErrInvalidQuantity
	}
	return aggregate.Record(s, Received{Quantity: quantity})
}

// Adjust corrects the count on hand by delta (signed), for a reason; it
// never goes below what is reserved. A zero delta changes nothing.
func (s *Stock) Adjust(delta int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return ErrNoReason
	}
	if delta == 0 {
		return nil
	}
	if s.OnHand+delta < s.Reserved {
		return fmt.Errorf("%w: %d on hand %+d would leave less than the %d reserved", ErrBelowReserved, s.OnHand, delta, s.Reserved)
	}
	return aggregate.Record(s, Adjusted{Delta: delta, Reason: reason})
}

// SetOnHand corrects the count on hand to onHand, for a reason.
func (s *Stock) SetOnHand(onHand int64, reason string) error {
	return s.Adjust(onHand-s.OnHand, reason)
}

// Reserve sets quantity aside for an order. Errors: ErrInvalidQuantity,
// *ShortError when less is available.
func (s *Stock) Reserve(orderID string, quantity int64) error {
	if quantity <= 0 {
		return ErrInvalidQuantity
	}
	if quantity > s.Available() {
		return &ShortError{ProductID: s.ID(), Requested: quantity, Available: s.Available()}
	}
	return aggregate.Record(s, Reserved{OrderID: orderID, Quantity: quantity})
}

// Release gives back quantity an order reserved.
func (s *Stock) Release(orderID string, quantity int64) error {
	if err := s.checkReserved(quantity); err != nil {
		return err
	}
	return aggregate.Record(s, Released{OrderID: orderID, Quantity: quantity})
}

// Commit takes quantity an order reserved out of stock: on hand and
// reserved both drop.
func (s *Stock) Commit(orderID string, quantity int64) error {
	if err := s.checkReserved(quantity); err != nil {
		return err
	}
	return aggregate.Record(s, Committed{OrderID: orderID, Quantity: quantity})
}

func (s *Stock) checkReserved(quantity int64) error {
	if quantity <= 0 {
		return ErrInvalidQuantity
	}
	if quantity > s.Reserved {
		return fmt.Errorf("%w: %d asked, %d reserved", ErrNotReserved, quantity, s.Reserved)
	}
	return nil
}

type snapshot struct {
	OnHand   int64 `json:"on_hand"`
	Reserved int64 `json:"reserved"`
}

// SnapshotVersion implements aggregate.Snapshotter.
func (s *Stock) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (s *Stock) MarshalSnapshot() ([]byte, error) {
	return json.Marshal(snapshot{OnHand: s.OnHand, Reserved: s.Reserved})
}

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (s *Stock) UnmarshalSnapshot(data []byte) error {
	var v snapshot
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	s.OnHand, s.Reserved = v.OnHand, v.Reserved
	return nil
}
