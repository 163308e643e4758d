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
)

// Errors of the basket rules.
var (
	// ErrBasketStarted: the basket exists.
	ErrBasketStarted = errors.New("basket already started")
	// ErrNoBasket: the basket was never started.
	ErrNoBasket = errors.New("basket not started")
	// ErrBasketClosed: a basket checked out or cancelled changes no more.
	ErrBasketClosed = errors.New("basket closed")
	// ErrEmptyBasket: an empty basket cannot check out.
	ErrEmptyBasket = errors.New("an empty basket cannot check out")
	// ErrNotInBasket: the product is not in the basket.
	ErrNotInBasket = errors.New("product not in the basket")
	// ErrInvalidProduct: an item needs a product.
	ErrInvalidProduct = errors.New("a product is required")
)

// Statuses of a basket (an order's are api's).
const (
	StatusOpen       = "open"
	StatusCheckedOut = "checked_out"
	StatusCancelled  = "cancelled"
)

// Events of the Basket, as stored.
type (
	// BasketStarted: a customer started shopping.
	BasketStarted struct {
		CustomerID string    `json:"customer_id"`
		At         time.Time `json:"at"`
	}
	// BasketItemAdded: Quantity more of a product, at its price then.
	BasketItemAdded struct {
		ProductID string       `json:"product_id"`
		StoreID   string       `json:"store_id"`
		Name      string       `json:"name"`
		Price     kernel.Money `json:"price"`
		Quantity  int64        `json:"quantity"`
	}
	// BasketItemRemoved: Quantity less of a product (all of it when it
	// reaches 0).
	BasketItemRemoved struct {
		ProductID string `json:"product_id"`
		Quantity  int64  `json:"quantity"`
	}
	// BasketCheckedOut: the basket became order OrderID.
	BasketCheckedOut struct {
		OrderID string    `json:"order_id"`
		At      time.Time `json:"at"`
	}
	// BasketCancelled: the customer gave up.
	BasketCancelled struct {
		At time.Time `json:"at"`
	}
)

func registerBasket(b *codec.Builder) {
	codec.Register[BasketStarted](b, "ordering.basket.started")
	codec.Register[BasketItemAdded](b, "ordering.basket.item_added")
	codec.Register[BasketItemRemoved](b, "ordering.basket.item_removed")
	codec.Register[BasketCheckedOut](b, "ordering.basket.checked_out")
	codec.Register[BasketCancelled](b, "ordering.basket.cancelled")
}

// BasketItem is a product in a basket, with its price when last added.
type BasketItem struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Price     kernel.Money `json:"price"`
	Quantity  int64        `json:"quantity"`
}

// BasketState is a basket's state (what a snapshot keeps).
type BasketState struct {
	CustomerID string       `json:"customer_id"`
	Status     string       `json:"status"`
	Items      []BasketItem `json:"items"`
	OrderID    string       `json:"order_id,omitempty"`
	StartedAt  time.Time    `json:"started_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
}

// Basket is what a customer gathers before checking out: items (a
// product at most once, quantities adding up), then an order.
type Basket struct {
	aggregate.Root
	BasketState
}

// NewBasket returns an empty basket with the ID, not started.
func NewBasket(id string) *Basket {
	b := &Basket{}
	b.SetID(id)
	return b
}

// Clone implements aggregate.Cloner.
func (b *Basket) Clone() *Basket {
	c := *b
	c.Items = slices.Clone(b.Items)
	return &c
}

// SnapshotVersion implements aggregate.Snapshotter.
func (b *Basket) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (b *Basket) MarshalSnapshot() ([]byte, error) { return json.Marshal(b.BasketState) }

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (b *Basket) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, &b.BasketState) }

// Apply implements aggregate.Aggregate.
func (b *Basket) Apply(event any) error {
	switch e := event.(type) {
	case BasketStarted:
		b.CustomerID, b.Status, b.StartedAt, b.UpdatedAt = e.CustomerID, StatusOpen, e.At, e.At
	case BasketItemAdded:
		if i := b.find(e.ProductID); i >= 0 {
			it := &b.Items[i]
			it.Quantity += e.Quantity
			it.StoreID, it.Name, it.Price = e.StoreID, e.Name, e.Price
		} else {
			b.Items = append(b.Items, BasketItem(e))
		}
	case BasketItemRemoved:
		if i := b.find(e.ProductID); i >= 0 {
			b.Items[i].Quantity -= e.Quantity
			if b.Items[i].Quantity <= 0 {
				b.Items = append(b.Items[:i:i], b.Items[i+1:]...)
			}
		}
	case BasketCheckedOut:
		b.Status, b.OrderID, b.UpdatedAt = StatusCheckedOut, e.OrderID, e.At
	case BasketCancelled:
		b.Status, b.UpdatedAt = StatusCancelled, e.At
	default:
		return fmt.Errorf("basket: unknown event %T", event)
	}
	return nil
}

func (b *Basket) find(productID string) int {
	for i, it := range b.Items {
		if it.ProductID == productID {
			return i
		}
	}
	return -1
}

// Quantity returns how many of the product the basket holds.
func (b *Basket) Quantity(productID string) int64 {
	if i := b.find(productID); i >= 0 {
		return b.Items[i].Quantity
	}
	return 0
}

func (b *Basket) open() error {
	switch b.Status {
	case "":
		return ErrNoBasket
	case StatusOpen:
		return nil
	}
	return fmt.Errorf("%w: it is %s", ErrBasketClosed, b.Status)
}

// Start starts the basket of a customer. Errors: ErrBasketStarted,
// ErrInvalidCustomer.
func (b *Basket) Start(customerID string, now time.Time) error {
	if b.Status != "" {
		return ErrBasketStarted
	}
	customerID = strings.TrimSpace(customerID)
	if customerID == "" {
		return ErrInvalidCustomer
	}
	return aggregate.Record(b, BasketStarted{CustomerID: customerID, At: now.UTC()})
}

// AddItem adds quantity of a product (its catalog data in item: the
// product, store, name and unit price); adding a product already there
// adds up the quantities and takes the newer price. Errors: ErrNoBasket,
// ErrBasketClosed, ErrInvalidProduct, ErrInvalidQuantity (also when the
// total would pass MaxQuantity).
func (b *Basket) AddItem(item Item) error {
	if err := b.open(); err != nil {
		return err
	}
	if strings.TrimSpace(item.ProductID) == "" {
		return ErrInvalidProduct
	}
	if item.Quantity < 1 || b.Quantity(item.ProductID)+item.Quantity > MaxQuantity {
		return fmt.Errorf("%w: %d more of product %s", ErrInvalidQuantity, item.Quantity, item.ProductID)
	}
	return aggregate.Record(b, BasketItemAdded{ProductID: item.ProductID, StoreID: item.StoreID, Name: item.Name,
		Price: item.UnitPrice, Quantity: item.Quantity})
}

// RemoveItem removes quantity of a product, or all of it when quantity is
// 0 or at least what the basket holds. Errors: ErrNoBasket,
// ErrBasketClosed, ErrInvalidQuantity (negative), ErrNotInBasket.
func (b *Basket) RemoveItem(productID string, quantity int64) error {
	if err := b.open(); err != nil {
		return err
	}
	if quantity < 0 {
		return fmt.Errorf("%w: %d", ErrInvalidQuantity, quantity)
	}
	held := b.Quantity(productID)
	if held == 0 {
		return fmt.Errorf("%w: %s", ErrNotInBasket, productID)
	}
	if quantity == 0 || quantity > held {
		quantity = held
	}
	return aggregate.Record(b, BasketItemRemoved{ProductID: productID, Quantity: quantity})
}

// Checkout closes the basket as order orderID. Errors: ErrNoBasket,
// ErrBasketClosed, ErrEmptyBasket.
func (b *Basket) Checkout(orderID string, now time.Time) error {
	if err := b.open(); err != nil {
		return err
	}
	if len(b.Items) == 0 {
		return ErrEmptyBasket
	}
	return aggregate.Record(b, BasketCheckedOut{OrderID: orderID, At: now.UTC()})
}

// Cancel gives the basket up; cancelling it again does nothing. Errors:
// ErrNoBasket, ErrBasketClosed (checked out).
func (b *Basket) Cancel(now time.Time) error {
	if b.Status == StatusCancelled {
		return nil
	}
	if err := b.open(); err != nil {
		return err
	}
	return aggregate.Record(b, BasketCancelled{At: now.UTC()})
}

// ItemsToPrice returns the basket's items as items to price: product and
// quantity (the prices are looked up again at checkout).
func (b *Basket) ItemsToPrice() []Item {
	out := make([]Item, len(b.Items))
	for i, it := range b.Items {
		out[i] = Item{ProductID: it.ProductID, StoreID: it.StoreID, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.Price}
	}
	return out
}
