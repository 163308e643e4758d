// Package adapters connects the catalog use cases to the outside: the
// HTTP endpoints. (The catalog answers no commands: others keep copies of
// its stores and products from its events.)
package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/examples/shop/catalog/internal/app"
	"github.com/eventual-go/eventual/examples/shop/catalog/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Store is a store as the API shows it.
type Store struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Location      string `json:"location"`
	Participating bool   `json:"participating" description:"Whether the store takes part in the mall (its products can be ordered)."`
	Version       uint64 `json:"version"`
}

// Product is a product as the API shows it.
type Product struct {
	ID          string       `json:"id"`
	StoreID     string       `json:"store_id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	SKU         string       `json:"sku"`
	Price       kernel.Money `json:"price"`
	Removed     bool         `json:"removed"`
	Version     uint64       `json:"version"`
}

func storeView(s *domain.Store) Store {
	return Store{ID: s.ID(), Name: s.Name, Location: s.Location, Participating: s.Participating, Version: s.Version()}
}

func productView(p *domain.Product) Product {
	return Product{ID: p.ID(), StoreID: p.StoreID, Name: p.Name, Description: p.Description, SKU: p.SKU, Price: p.Price,
		Removed: p.Removed, Version: p.Version()}
}

// CreateStoreRequest opens a store.
type CreateStoreRequest struct {
	Name     string `json:"name" required:"true" example:"The Tea House"`
	Location string `json:"location,omitempty" example:"Level 1, unit 12"`
}

// Validate checks the fields.
func (r *CreateStoreRequest) Validate() error {
	var c platform.Check
	c.Require("name", strings.TrimSpace(r.Name) != "", "is required")
	return c.Err()
}

// RebrandStoreRequest renames a store.
type RebrandStoreRequest struct {
	ID   string `path:"id"`
	Name string `json:"name" required:"true" example:"Tea & Co"`
}

// Validate checks the fields.
func (r *RebrandStoreRequest) Validate() error {
	var c platform.Check
	c.Require("name", strings.TrimSpace(r.Name) != "", "is required")
	return c.Err()
}

// ParticipationRequest makes a store take part in the mall or not.
type ParticipationRequest struct {
	ID            string `path:"id"`
	Participating *bool  `json:"participating" required:"true"`
}

// Validate checks the fields.
func (r *ParticipationRequest) Validate() error {
	var c platform.Check
	c.Require("participating", r.Participating != nil, "is required")
	return c.Err()
}

// AddProductRequest puts a product on sale in a store.
type AddProductRequest struct {
	StoreID     string       `path:"id"`
	Name        string       `json:"name" required:"true" example:"Sencha"`
	Description string       `json:"description,omitempty" example:"Japanese green tea, 100 g"`
	SKU         string       `json:"sku" required:"true" example:"TEA-SEN-100"`
	Price       kernel.Money `json:"price" required:"true" description:"A positive amount."`
}

// Validate checks the fields.
func (r *AddProductRequest) Validate() error {
	var c platform.Check
	c.Require("name", strings.TrimSpace(r.Name) != "", "is required")
	c.Require("sku", strings.TrimSpace(r.SKU) != "", "is required")
	checkPrice(&c, r.Price)
	return c.Err()
}

// RebrandProductRequest changes a product's name and description.
type RebrandProductRequest struct {
	ID          string `path:"id"`
	Name        string `json:"name" required:"true" example:"Sencha Superior"`
	Description string `json:"description,omitempty"`
}

// Validate checks the fields.
func (r *RebrandProductRequest) Validate() error {
	var c platform.Check
	c.Require("name", strings.TrimSpace(r.Name) != "", "is required")
	return c.Err()
}

// PriceRequest sets a product's price.
type PriceRequest struct {
	ID    string       `path:"id"`
	Price kernel.Money `json:"price" required:"true" description:"A positive amount, in the product's currency."`
}

// Validate checks the fields.
func (r *PriceRequest) Validate() error {
	var c platform.Check
	checkPrice(&c, r.Price)
	return c.Err()
}

func checkPrice(c *platform.Check, m kernel.Money) {
	c.Require("price.minor", m.Minor > 0, "must be positive")
	c.Add("price.currency", m.Validate())
}

// ByID names a store or a product in the path.
type ByID struct {
	ID string `path:"id"`
}

// ListStores asks for a page of stores.
type ListStores struct {
	Limit  int    `query:"limit" description:"Page size, 1 to 500 (default 50)."`
	Cursor string `query:"cursor" description:"next_cursor of the previous page."`
}

// ListProducts asks for a page of products on sale.
type ListProducts struct {
	StoreID string `query:"store_id" description:"Only this store's products."`
	Limit   int    `query:"limit" description:"Page size, 1 to 500 (default 50)."`
	Cursor  string `query:"cursor" description:"next_cursor of the previous page."`
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App) {
	const tag = "catalog"
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stores", Summary: "Open a store", Tag: tag, Status: 201, Errors: []int{409}},
		func(ctx context.Context, req CreateStoreRequest) (Store, error) {
			return storeOr(a.CreateStore(ctx, uuid.Must(uuid.NewV7()).String(), req.Name, req.Location))
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/stores", Summary: "The stores, oldest first (eventually consistent)", Tag: tag},
		func(ctx context.Context, req ListStores) (platform.Page[Store], error) {
			rows, next, err := a.Stores(ctx, req.Limit, req.Cursor)
			page := platform.Page[Store]{Items: make([]Store, len(rows)), NextCursor: next}
			for i, s := range rows {
				page.Items[i] = Store{ID: s.ID, Name: s.Name, Location: s.Location, Participating: s.Participating, Version: s.Version}
			}
			return page, err
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/stores/{id}", Summary: "A store", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Store, error) {
			return storeOr(a.GetStore(ctx, req.ID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stores/{id}/rebrand", Summary: "Rename a store", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req RebrandStoreRequest) (Store, error) {
			return storeOr(a.RebrandStore(ctx, req.ID, req.Name))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stores/{id}/participation", Summary: "Make a store take part in the mall, or not", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ParticipationRequest) (Store, error) {
			return storeOr(a.SetParticipation(ctx, req.ID, *req.Participating))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/stores/{id}/products", Summary: "Put a product on sale in a store", Tag: tag, Status: 201, Errors: []int{404}},
		func(ctx context.Context, req AddProductRequest) (Product, error) {
			return productOr(a.AddProduct(ctx, req.StoreID, uuid.Must(uuid.NewV7()).String(), req.Name, req.Description, req.SKU, req.Price))
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/products", Summary: "The products on sale, oldest first (eventually consistent)", Tag: tag},
		func(ctx context.Context, req ListProducts) (platform.Page[Product], error) {
			rows, next, err := a.Products(ctx, req.StoreID, req.Limit, req.Cursor)
			page := platform.Page[Product]{Items: make([]Product, len(rows)), NextCursor: next}
			for i, p := range rows {
				page.Items[i] = Product{ID: p.ID, StoreID: p.StoreID, Name: p.Name, Description: p.Description, SKU: p.SKU,
					Price: p.Price, Removed: p.Removed, Version: p.Version}
			}
			return page, err
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/products/{id}", Summary: "A product, removed or not", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Product, error) {
			return productOr(a.GetProduct(ctx, req.ID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/products/{id}/rebrand", Summary: "Change a product's name and description", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req RebrandProductRequest) (Product, error) {
			return productOr(a.RebrandProduct(ctx, req.ID, req.Name, req.Description))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/products/{id}/price", Summary: "Change a product's price", Tag: tag, Errors: []int{404, 409, 422}},
		func(ctx context.Context, req PriceRequest) (Product, error) {
			return productOr(a.ChangePrice(ctx, req.ID, req.Price))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/products/{id}/remove", Summary: "Take a product off sale", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req ByID) (Product, error) {
			return productOr(a.RemoveProduct(ctx, req.ID))
		})
}

func storeOr(s *domain.Store, err error) (Store, error) {
	if err != nil {
		return Store{}, httpError(err)
	}
	return storeView(s), nil
}

func productOr(p *domain.Product, err error) (Product, error) {
	if err != nil {
		return Product{}, httpError(err)
	}
	return productView(p), nil
}

// httpError maps the domain's errors to the HTTP ones.
func httpError(err error) error {
	field := func(name string) error {
		return &platform.ValidationError{Fields: []platform.FieldError{{Field: name, Message: err.Error()}}}
	}
	switch {
	case errors.Is(err, domain.ErrInvalidName):
		return field("name")
	case errors.Is(err, domain.ErrInvalidSKU):
		return field("sku")
	case errors.Is(err, domain.ErrInvalidPrice):
		return field("price")
	case errors.Is(err, domain.ErrCurrencyMismatch):
		return fmt.Errorf("%w: %w", platform.ErrUnprocessable, err)
	case errors.Is(err, domain.ErrRemoved), errors.Is(err, domain.ErrExists):
		return fmt.Errorf("%w: %w", platform.ErrConflict, err)
	case errors.Is(err, domain.ErrNotCreated):
		return fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	}
	return err
}
