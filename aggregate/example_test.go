package aggregate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/store/memory"
)

// Cart is an aggregate: it checks its rules, records events, and applies
// them to its state.
type Cart struct {
	aggregate.Root
	Items      map[string]int
	CheckedOut bool
}

type ItemAdded struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type CheckedOut struct{}

var ErrEmptyCart = errors.New("cart is empty")

func NewCart(id string) *Cart {
	c := &Cart{Items: map[string]int{}}
	c.SetID(id)
	return c
}

func (c *Cart) Add(sku string, qty int) error {
	return aggregate.Record(c, ItemAdded{SKU: sku, Qty: qty})
}

func (c *Cart) CheckOut() error {
	if len(c.Items) == 0 {
		return ErrEmptyCart
	}
	return aggregate.Record(c, CheckedOut{})
}

func (c *Cart) Apply(event any) error {
	switch e := event.(type) {
	case ItemAdded:
		c.Items[e.SKU] += e.Qty
	case CheckedOut:
		c.CheckedOut = true
	default:
		return fmt.Errorf("cart: unknown event %T", event)
	}
	return nil
}

// Snapshots: the state as JSON, version 1 of that encoding.
func (c *Cart) SnapshotVersion() int             { return 1 }
func (c *Cart) MarshalSnapshot() ([]byte, error) { return json.Marshal(c) }
func (c *Cart) UnmarshalSnapshot(b []byte) error { return json.Unmarshal(b, c) }

func cartRegistry() *codec.Registry {
	b := codec.New()
	codec.Register[ItemAdded](b, "cart.item_added")
	codec.Register[CheckedOut](b, "cart.checked_out")
	reg, err := b.Build()
	if err != nil {
		panic(err)
	}
	return reg
}

// Create an aggregate, save it, and change it with optimistic concurrency.
func ExampleRepository() {
	ctx := context.Background()
	store, _ := memory.New()
	carts, _ := aggregate.NewRepository(store, cartRegistry(), "cart", NewCart)

	cart := carts.New("c-1")
	_ = cart.Add("book", 2)
	if err := carts.Save(ctx, cart); err != nil {
		fmt.Println(err)
		return
	}

	// Update loads, runs the command and saves, retrying on conflicts.
	cart, err := carts.Update(ctx, "c-1", func(c *Cart) error { return c.CheckOut() })
	fmt.Println(cart.Items["book"], cart.CheckedOut, cart.Version(), err)

	// Rules are checked before anything is recorded.
	_, err = carts.Update(ctx, "c-2", func(c *Cart) error { return c.CheckOut() })
	fmt.Println(errors.Is(err, aggregate.ErrNotFound))
	// Output:
	// 2 true 2 <nil>
	// true
}

// Snapshots every 100 events: loading reads the snapshot and the events
// after it, not the whole stream.
func ExampleWithSnapshots() {
	ctx := context.Background()
	store, _ := memory.New() // the stores keep snapshots next to the events
	carts, _ := aggregate.NewRepository(store, cartRegistry(), "cart", NewCart,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(100)))

	cart := carts.New("big")
	for range 250 {
		_ = cart.Add("pen", 1)
	}
	_ = carts.Save(ctx, cart)

	snap, _ := store.LoadSnapshot(ctx, carts.StreamID("big"))
	loaded, _ := carts.Load(ctx, "big")
	fmt.Println(snap.Version, loaded.Items["pen"], loaded.Version())

	// The state at an earlier version, from the events alone.
	then, _ := carts.LoadAt(ctx, "big", 10)
	fmt.Println(then.Items["pen"])
	// Output:
	// 250 250 250
	// 10
}
