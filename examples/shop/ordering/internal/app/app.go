// Package app is the ordering context's use cases: baskets (start, add
// and remove items, check out, cancel), orders (place, cancel), and the
// commands and events that move an order on (confirm, reject, ship,
// deliver). Each change saves the aggregate's events and the integration
// events they publish in one transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// Streams of the aggregates are "<kind>-<id>".
const (
	OrderKind  = "order"
	BasketKind = "basket"
)

// ErrUnorderable is matched by a *ProductError: a product that cannot be
// ordered. It matches platform.ErrUnprocessable (422) too.
var ErrUnorderable = errors.New("product cannot be ordered")

// ProductError names a product that cannot be ordered, and the request
// field that asked for it (empty when it comes from a basket).
type ProductError struct {
	ProductID string
	Field     string
	Reason    string
}

func (e *ProductError) Error() string {
	s := fmt.Sprintf("%s: product %s %s", platform.ErrUnprocessable, e.ProductID, e.Reason)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s
}

// Is makes a *ProductError match ErrUnorderable and
// platform.ErrUnprocessable.
func (e *ProductError) Is(target error) bool {
	return target == ErrUnorderable || target == platform.ErrUnprocessable
}

// Product is a product as the local copy of the catalog knows it.
type Product struct {
	ID      string
	StoreID string
	Name    string
	Price   kernel.Money
	Removed bool
	// StoreParticipating is false when the store left the mall.
	StoreParticipating bool
}

// Catalog reads the local copy of the catalog.
type Catalog interface {
	// Products returns the products known among ids, by ID, read through
	// q (the store, or a transaction).
	Products(ctx context.Context, q eventual.Querier, ids []string) (map[string]Product, error)
}

// App runs the use cases.
type App struct {
	store     platform.Store
	orders    *aggregate.Repository[*domain.Order]
	baskets   *aggregate.Repository[*domain.Basket]
	outbox    *outbox.Outbox
	catalog   Catalog
	pricing   domain.Pricing
	now       func() time.Time
	creates   *platform.Committer // orders placed concurrently share commits
	admission *admission
	// Codec decodes the stored events (for the projections).
	Codec *codec.Registry
}

// New returns the use cases over the module's store and outbox, pricing
// with the local catalog.
func New(store platform.Store, ob *outbox.Outbox, catalog Catalog, maxPending int) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	orders, err := aggregate.NewRepository(store, reg, OrderKind, domain.NewOrder,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(100)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	baskets, err := aggregate.NewRepository(store, reg, BasketKind, domain.NewBasket,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(50)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	return &App{store: store, creates: platform.NewCommitter(store, maxCreateBatch), admission: newAdmission(maxPending), orders: orders, baskets: baskets, outbox: ob, catalog: catalog,
		pricing: domain.DefaultPricing(), now: time.Now, Codec: reg}, nil
}

// ---- Baskets

// StartBasket starts basket id of a customer. Errors: platform.ErrConflict
// when id exists; domain.ErrInvalidCustomer.
func (a *App) StartBasket(ctx context.Context, id, customerID string) (*domain.Basket, error) {
	return platform.Create(ctx, a.store, a.baskets, a.outbox, id, func(b *domain.Basket) ([]transport.Message, error) {
		return nil, b.Start(customerID, a.now())
	})
}

// Basket returns a basket. Errors: platform.ErrNotFound.
func (a *App) Basket(ctx context.Context, id string) (*domain.Basket, error) {
	return platform.Load(ctx, a.baskets, id, "basket "+id)
}

// AddItem adds quantity of a product to a basket, at its current price.
// Errors: platform.ErrNotFound; a *ProductError; the domain's.
func (a *App) AddItem(ctx context.Context, basketID, productID string, quantity int64) (*domain.Basket, error) {
	items, err := a.items(ctx, a.store, []Wanted{{ProductID: productID, Quantity: quantity, Field: "product_id"}})
	if err != nil {
		return nil, err
	}
	return platform.Change(ctx, a.store, a.baskets, a.outbox, basketID, func(b *domain.Basket) ([]transport.Message, error) {
		return nil, b.AddItem(items[0])
	})
}

// RemoveItem removes quantity (0: all) of a product from a basket.
func (a *App) RemoveItem(ctx context.Context, basketID, productID string, quantity int64) (*domain.Basket, error) {
	return platform.Change(ctx, a.store, a.baskets, a.outbox, basketID, func(b *domain.Basket) ([]transport.Message, error) {
		return nil, b.RemoveItem(productID, quantity)
	})
}

// CancelBasket gives a basket up.
func (a *App) CancelBasket(ctx context.Context, basketID string) (*domain.Basket, error) {
	return platform.Change(ctx, a.store, a.baskets, a.outbox, basketID, func(b *domain.Basket) ([]transport.Message, error) {
		return nil, b.Cancel(a.now())
	})
}

// Payment is how an order is shipped and paid.
type Payment struct {
	ShippingAddress kernel.Address
	PaymentToken    string
	DiscountCode    string
}

// Checkout checks a basket out as order orderID, priced at the current
// prices, in one transaction: the basket closes and the order is placed
// (OrderPlaced published). Errors: platform.ErrNotFound; a *ProductError;
// the domain's.
func (a *App) Checkout(ctx context.Context, basketID, orderID string, p Payment) (*domain.Order, error) {
	if err := a.admission.admit(); err != nil {
		return nil, err
	}
	var order *domain.Order
	var err error
	for range 3 {
		err = a.store.InTx(ctx, func(tx eventual.Tx) error {
			b, err := a.baskets.LoadTx(ctx, tx, basketID)
			if errors.Is(err, aggregate.ErrNotFound) {
				return fmt.Errorf("%w: basket %s", platform.ErrNotFound, basketID)
			}
			if err != nil {
				return err
			}
			if err := b.Checkout(orderID, a.now()); err != nil {
				return err
			}
			wanted := make([]Wanted, len(b.Items))
			for i, it := range b.Items {
				wanted[i] = Wanted{ProductID: it.ProductID, Quantity: it.Quantity}
			}
			items, err := a.items(ctx, tx, wanted)
			if err != nil {
				return err
			}
			if err := a.baskets.SaveTx(ctx, tx, b); err != nil {
				return err
			}
			a.admission.placedTx(tx, orderID)
			order, err = platform.CreateTx(ctx, tx, a.orders, a.outbox, orderID, a.place(ctx, b.CustomerID, items, p))
			return err
		})
		if !errors.Is(err, eventual.ErrConflict) {
			break
		}
	}
	return order, err
}

// ---- Orders

// Wanted is a product and quantity asked for; Field names it in the
// request, for errors.
type Wanted struct {
	ProductID string
	Quantity  int64
	Field     string
}

// PlaceOrder places order id of a customer for lines, priced from the
// local catalog, in one transaction with its OrderPlaced (shared with the
// orders placed meanwhile: see create). Lines of the same product add up. Errors: platform.ErrConflict when id exists; a
// *ProductError; the domain's.
func (a *App) PlaceOrder(ctx context.Context, id, customerID string, lines []Wanted, p Payment) (*domain.Order, error) {
	if err := a.admission.admit(); err != nil {
		return nil, err
	}
	merged := make([]Wanted, 0, len(lines))
	at := map[string]int{}
	for _, l := range lines {
		if i, ok := at[l.ProductID]; ok {
			merged[i].Quantity += l.Quantity
			continue
		}
		at[l.ProductID] = len(merged)
		merged = append(merged, l)
	}
	items, err := a.items(ctx, a.store, merged)
	if err != nil {
		return nil, err
	}
	return a.create(ctx, id, a.place(ctx, customerID, items, p))
}

// place prices items and places the order.
func (a *App) place(ctx context.Context, customerID string, items []domain.Item, p Payment) platform.Decide[*domain.Order] {
	return func(o *domain.Order) ([]transport.Message, error) {
		priced, err := a.pricing.Price(items, p.DiscountCode, p.ShippingAddress.Country)
		if err != nil {
			return nil, err
		}
		if err := o.Place(customerID, priced, p.ShippingAddress, p.PaymentToken, a.now()); err != nil {
			return nil, err
		}
		return a.integration(ctx, o)
	}
}

// items looks the products up and returns them as items to price.
// Errors: a *ProductError for a product unknown, removed or of a store
// that left the mall.
func (a *App) items(ctx context.Context, q eventual.Querier, wanted []Wanted) ([]domain.Item, error) {
	ids := make([]string, len(wanted))
	for i, w := range wanted {
		ids[i] = w.ProductID
	}
	products, err := a.catalog.Products(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	items := make([]domain.Item, len(wanted))
	for i, w := range wanted {
		p, ok := products[w.ProductID]
		switch {
		case !ok:
			return nil, &ProductError{ProductID: w.ProductID, Field: w.Field, Reason: "is unknown"}
		case p.Removed:
			return nil, &ProductError{ProductID: w.ProductID, Field: w.Field, Reason: "is no longer sold"}
		case !p.StoreParticipating:
			return nil, &ProductError{ProductID: w.ProductID, Field: w.Field, Reason: "is from store " + p.StoreID + ", which does not take part in the mall"}
		}
		items[i] = domain.Item{ProductID: p.ID, StoreID: p.StoreID, Name: p.Name, Quantity: w.Quantity, UnitPrice: p.Price}
	}
	return items, nil
}

// Order returns an order. Errors: platform.ErrNotFound.
func (a *App) Order(ctx context.Context, id string) (*domain.Order, error) {
	return platform.Load(ctx, a.orders, id, "order "+id)
}

// CancelOrder cancels an order for its customer (OrderCancelled).
// Errors: platform.ErrNotFound; domain.ErrNotCancellable.
func (a *App) CancelOrder(ctx context.Context, id, reason string) (*domain.Order, error) {
	o, err := platform.Change(ctx, a.store, a.orders, a.outbox, id, func(o *domain.Order) ([]transport.Message, error) {
		if err := o.Cancel(reason, a.now()); err != nil {
			return nil, err
		}
		return a.integration(ctx, o)
	})
	if err == nil {
		a.admission.done(id)
	}
	return o, err
}

// integration returns the integration events of the order's pending
// events, keyed by the order's ID.
func (a *App) integration(ctx context.Context, o *domain.Order) ([]transport.Message, error) {
	pending := o.Pending()
	out := make([]transport.Message, 0, len(pending))
	for _, e := range pending {
		var subject, typ string
		var v any
		switch e := e.(type) {
		case domain.OrderPlaced:
			subject, typ, v = api.SubjectOrderPlaced, api.TypeOrderPlaced, o.Placed()
		case domain.OrderConfirmed:
			subject, typ, v = api.SubjectOrderConfirmed, api.TypeOrderConfirmed,
				api.OrderConfirmed{OrderID: o.ID(), CustomerID: o.CustomerID, Total: o.Totals.Total, TrackingNumber: o.TrackingNumber}
		case domain.OrderRejected:
			subject, typ, v = api.SubjectOrderRejected, api.TypeOrderRejected,
				api.OrderRejected{OrderID: o.ID(), CustomerID: o.CustomerID, Reason: e.Reason}
		case domain.OrderCancelled:
			subject, typ, v = api.SubjectOrderCancelled, api.TypeOrderCancelled,
				api.OrderCancelled{OrderID: o.ID(), CustomerID: o.CustomerID, Total: o.Totals.Total, Reason: e.Reason, PreviousStatus: e.From}
		case domain.OrderShipped:
			subject, typ, v = api.SubjectOrderShipped, api.TypeOrderShipped,
				api.OrderShipped{OrderID: o.ID(), CustomerID: o.CustomerID, TrackingNumber: o.TrackingNumber}
		case domain.OrderDelivered:
			subject, typ, v = api.SubjectOrderDelivered, api.TypeOrderDelivered,
				api.OrderDelivered{OrderID: o.ID(), CustomerID: o.CustomerID}
		default:
			return nil, fmt.Errorf("ordering: no integration event for %T", e)
		}
		m, err := platform.Message(ctx, subject, typ, o.ID(), v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
