// Package app is the catalog context's use cases: open, rebrand and
// enable or disable stores; add, rebrand, reprice and remove their
// products. Each change saves the aggregate's events and the integration
// event it publishes in one transaction. Listings read the tables of the
// catalog projection (package-level Projection), built from the module's
// own log.
package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/catalog/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// App runs the use cases.
type App struct {
	store    platform.Store
	codec    *codec.Registry
	stores   *aggregate.Repository[*domain.Store]
	products *aggregate.Repository[*domain.Product]
	outbox   *outbox.Outbox
}

// New returns the use cases over the module's store and outbox.
func New(store platform.Store, ob *outbox.Outbox) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	stores, err := aggregate.NewRepository(store, reg, storeKind, domain.NewStore, aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	products, err := aggregate.NewRepository(store, reg, productKind, domain.NewProduct, aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	return &App{store: store, codec: reg, stores: stores, products: products, outbox: ob}, nil
}

// Kinds of the aggregates: their streams are "<kind>-<id>".
const (
	storeKind   = "store"
	productKind = "product"
)

// CreateStore opens a store under id. Errors: platform.ErrConflict when
// id exists; the domain's.
func (a *App) CreateStore(ctx context.Context, id, name, location string) (*domain.Store, error) {
	return platform.Create(ctx, a.store, a.stores, a.outbox, id, func(s *domain.Store) ([]transport.Message, error) {
		if err := s.Create(name, location); err != nil {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectStoreCreated, api.TypeStoreCreated, id,
			api.StoreCreated{StoreID: id, Name: s.Name, Location: s.Location}))
	})
}

// RebrandStore renames a store. Errors: platform.ErrNotFound; the
// domain's.
func (a *App) RebrandStore(ctx context.Context, id, name string) (*domain.Store, error) {
	return platform.Change(ctx, a.store, a.stores, a.outbox, id, func(s *domain.Store) ([]transport.Message, error) {
		before := s.Version()
		if err := s.Rebrand(name); err != nil || s.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectStoreRebranded, api.TypeStoreRebranded, id,
			api.StoreRebranded{StoreID: id, Name: s.Name}))
	})
}

// SetParticipation makes a store take part in the mall or not. Errors:
// platform.ErrNotFound.
func (a *App) SetParticipation(ctx context.Context, id string, participating bool) (*domain.Store, error) {
	return platform.Change(ctx, a.store, a.stores, a.outbox, id, func(s *domain.Store) ([]transport.Message, error) {
		before := s.Version()
		if err := s.SetParticipation(participating); err != nil || s.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectStoreParticipationChanged, api.TypeStoreParticipationChanged, id,
			api.StoreParticipationChanged{StoreID: id, Participating: s.Participating}))
	})
}

// GetStore returns a store. Errors: platform.ErrNotFound.
func (a *App) GetStore(ctx context.Context, id string) (*domain.Store, error) {
	return platform.Load(ctx, a.stores, id, "store "+id)
}

// AddProduct puts a new product, id, on sale in store storeID (which must
// exist: it is read in the same transaction). Errors:
// platform.ErrNotFound for an unknown store; the domain's.
func (a *App) AddProduct(ctx context.Context, storeID, id, name, description, sku string, price kernel.Money) (*domain.Product, error) {
	var p *domain.Product
	err := a.store.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := a.stores.LoadTx(ctx, tx, storeID); err != nil {
			if errors.Is(err, aggregate.ErrNotFound) {
				return fmt.Errorf("%w: store %s", platform.ErrNotFound, storeID)
			}
			return err
		}
		var err error
		p, err = platform.CreateTx(ctx, tx, a.products, a.outbox, id, func(p *domain.Product) ([]transport.Message, error) {
			if err := p.Add(storeID, name, description, sku, price); err != nil {
				return nil, err
			}
			return platform.One(platform.Message(ctx, api.SubjectProductAdded, api.TypeProductAdded, id, api.ProductAdded{
				ProductID: id, StoreID: storeID, Name: p.Name, Description: p.Description, SKU: p.SKU, Price: p.Price}))
		})
		return err
	})
	if errors.Is(err, eventual.ErrConflict) {
		err = fmt.Errorf("%w: product %s exists already", platform.ErrConflict, id)
	}
	return p, err
}

// RebrandProduct changes a product's name and description. Errors:
// platform.ErrNotFound; domain.ErrRemoved and the domain's.
func (a *App) RebrandProduct(ctx context.Context, id, name, description string) (*domain.Product, error) {
	return platform.Change(ctx, a.store, a.products, a.outbox, id, func(p *domain.Product) ([]transport.Message, error) {
		before := p.Version()
		if err := p.Rebrand(name, description); err != nil || p.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectProductRebranded, api.TypeProductRebranded, id,
			api.ProductRebranded{ProductID: id, Name: p.Name, Description: p.Description}))
	})
}

// ChangePrice sets a product's price. Errors: platform.ErrNotFound;
// domain.ErrRemoved, domain.ErrCurrencyMismatch and the domain's.
func (a *App) ChangePrice(ctx context.Context, id string, price kernel.Money) (*domain.Product, error) {
	return platform.Change(ctx, a.store, a.products, a.outbox, id, func(p *domain.Product) ([]transport.Message, error) {
		old := p.Price
		before := p.Version()
		if err := p.ChangePrice(price); err != nil || p.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectProductPriceChanged, api.TypeProductPriceChanged, id,
			api.ProductPriceChanged{ProductID: id, Price: p.Price, OldPrice: old}))
	})
}

// RemoveProduct takes a product off sale. Errors: platform.ErrNotFound;
// domain.ErrRemoved.
func (a *App) RemoveProduct(ctx context.Context, id string) (*domain.Product, error) {
	return platform.Change(ctx, a.store, a.products, a.outbox, id, func(p *domain.Product) ([]transport.Message, error) {
		if err := p.Remove(); err != nil {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectProductRemoved, api.TypeProductRemoved, id, api.ProductRemoved{ProductID: id}))
	})
}

// GetProduct returns a product, removed or not. Errors:
// platform.ErrNotFound.
func (a *App) GetProduct(ctx context.Context, id string) (*domain.Product, error) {
	return platform.Load(ctx, a.products, id, "product "+id)
}
