// Package adapters connects the ordering use cases to the outside: the
// HTTP endpoints (baskets, orders, the status streams), the handlers of
// the saga's commands and of the shipping events, and the local copy of
// the catalog kept from its events.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

const tag = "ordering"

// BasketItem is an item of a basket as the API shows it.
type BasketItem struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Price     kernel.Money `json:"price" description:"Unit price when last added; checkout prices again."`
	Quantity  int64        `json:"quantity"`
}

// Basket is a basket as the API shows it.
type Basket struct {
	ID         string       `json:"id"`
	CustomerID string       `json:"customer_id"`
	Status     string       `json:"status" enum:"open,checked_out,cancelled"`
	Items      []BasketItem `json:"items"`
	OrderID    string       `json:"order_id,omitempty" description:"The order it became, once checked out."`
	StartedAt  time.Time    `json:"started_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	Version    uint64       `json:"version"`
}

func basketView(b *domain.Basket) Basket {
	items := make([]BasketItem, len(b.Items))
	for i, it := range b.Items {
		items[i] = BasketItem(it)
	}
	return Basket{ID: b.ID(), CustomerID: b.CustomerID, Status: b.Status, Items: items, OrderID: b.OrderID,
		StartedAt: b.StartedAt, UpdatedAt: b.UpdatedAt, Version: b.Version()}
}

// OrderLine is a line of an order as the API shows it.
type OrderLine struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Quantity  int64        `json:"quantity"`
	UnitPrice kernel.Money `json:"unit_price"`
	Total     kernel.Money `json:"total"`
}

// Order is an order as the API shows it.
type Order struct {
	ID              string         `json:"id"`
	CustomerID      string         `json:"customer_id"`
	Status          string         `json:"status" enum:"placed,confirmed,shipped,delivered,cancelled,rejected"`
	Reason          string         `json:"reason,omitempty" description:"Why it was rejected or cancelled."`
	Lines           []OrderLine    `json:"lines"`
	Subtotal        kernel.Money   `json:"subtotal"`
	Discount        kernel.Money   `json:"discount"`
	Tax             kernel.Money   `json:"tax"`
	Shipping        kernel.Money   `json:"shipping"`
	Total           kernel.Money   `json:"total" description:"subtotal - discount + tax + shipping"`
	DiscountCode    string         `json:"discount_code,omitempty"`
	ShippingAddress kernel.Address `json:"shipping_address"`
	TrackingNumber  string         `json:"tracking_number,omitempty"`
	PlacedAt        time.Time      `json:"placed_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	Version         uint64         `json:"version"`
}

func orderView(o *domain.Order) Order {
	lines := make([]OrderLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = OrderLine(l)
	}
	return Order{ID: o.ID(), CustomerID: o.CustomerID, Status: o.Status, Reason: o.Reason, Lines: lines,
		Subtotal: o.Totals.Subtotal, Discount: o.Totals.Discount, Tax: o.Totals.Tax, Shipping: o.Totals.Shipping,
		Total: o.Totals.Total, DiscountCode: o.DiscountCode, ShippingAddress: o.ShippingAddress,
		TrackingNumber: o.TrackingNumber, PlacedAt: o.PlacedAt, UpdatedAt: o.UpdatedAt, Version: o.Version()}
}

// StartBasketRequest starts a basket.
type StartBasketRequest struct {
	CustomerID string `json:"customer_id" required:"true"`
}

// Validate checks the fields.
func (r *StartBasketRequest) Validate() error {
	var c platform.Check
	c.Require("customer_id", strings.TrimSpace(r.CustomerID) != "", "is required")
	return c.Err()
}

// AddItemRequest adds a product to a basket.
type AddItemRequest struct {
	ID        string `path:"id"`
	ProductID string `json:"product_id" required:"true"`
	Quantity  int64  `json:"quantity" required:"true" minimum:"1" maximum:"10000" example:"1"`
}

// Validate checks the fields.
func (r *AddItemRequest) Validate() error {
	var c platform.Check
	c.Require("product_id", strings.TrimSpace(r.ProductID) != "", "is required")
	checkQuantity(&c, "quantity", r.Quantity)
	return c.Err()
}

// RemoveItemRequest removes a product from a basket.
type RemoveItemRequest struct {
	ID        string `path:"id"`
	ProductID string `path:"product_id"`
	Quantity  int64  `json:"quantity,omitempty" minimum:"0" description:"How many to remove; 0 (or more than the basket holds) removes all."`
}

// Validate checks the fields.
func (r *RemoveItemRequest) Validate() error {
	var c platform.Check
	c.Require("quantity", r.Quantity >= 0, "must not be negative")
	return c.Err()
}

// CheckoutRequest checks a basket out.
type CheckoutRequest struct {
	ID              string         `path:"id"`
	ShippingAddress kernel.Address `json:"shipping_address" required:"true"`
	PaymentToken    string         `json:"payment_token" required:"true" example:"tok_visa"`
	DiscountCode    string         `json:"discount_code,omitempty" description:"SAVE10: 10 % off the subtotal. Lines of 10 units or more get 5 % off anyway." example:"SAVE10"`
}

// Validate checks the fields.
func (r *CheckoutRequest) Validate() error {
	var c platform.Check
	checkAddress(&c, "shipping_address", &r.ShippingAddress)
	c.Require("payment_token", strings.TrimSpace(r.PaymentToken) != "", "is required")
	return c.Err()
}

// LineRequest is a product and quantity to order.
type LineRequest struct {
	ProductID string `json:"product_id" required:"true"`
	Quantity  int64  `json:"quantity" required:"true" minimum:"1" maximum:"10000" example:"1"`
}

// PlaceOrderRequest places an order in one call.
type PlaceOrderRequest struct {
	CustomerID      string         `json:"customer_id" required:"true"`
	Lines           []LineRequest  `json:"lines" required:"true" minItems:"1"`
	ShippingAddress kernel.Address `json:"shipping_address" required:"true"`
	PaymentToken    string         `json:"payment_token" required:"true" example:"tok_visa"`
	DiscountCode    string         `json:"discount_code,omitempty" description:"SAVE10: 10 % off the subtotal. Lines of 10 units or more get 5 % off anyway." example:"SAVE10"`
}

// Validate checks the fields.
func (r *PlaceOrderRequest) Validate() error {
	var c platform.Check
	c.Require("customer_id", strings.TrimSpace(r.CustomerID) != "", "is required")
	c.Require("lines", len(r.Lines) > 0, "needs at least one line")
	for i, l := range r.Lines {
		c.Require(fmt.Sprintf("lines[%d].product_id", i), strings.TrimSpace(l.ProductID) != "", "is required")
		checkQuantity(&c, fmt.Sprintf("lines[%d].quantity", i), l.Quantity)
	}
	checkAddress(&c, "shipping_address", &r.ShippingAddress)
	c.Require("payment_token", strings.TrimSpace(r.PaymentToken) != "", "is required")
	return c.Err()
}

// CancelOrderRequest cancels an order.
type CancelOrderRequest struct {
	ID     string `path:"id"`
	Reason string `json:"reason,omitempty"`
}

// ByID names a basket or an order in the path.
type ByID struct {
	ID string `path:"id"`
}

func checkQuantity(c *platform.Check, field string, q int64) {
	c.Require(field, q >= 1 && q <= domain.MaxQuantity, fmt.Sprintf("must be between 1 and %d", domain.MaxQuantity))
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// checkAddress normalizes an address (trimmed, country upper-cased) and
// names its missing or bad parts as prefix.part, by kernel.Address's
// rules.
func checkAddress(c *platform.Check, prefix string, a *kernel.Address) {
	a.Name, a.Street, a.City = strings.TrimSpace(a.Name), strings.TrimSpace(a.Street), strings.TrimSpace(a.City)
	a.PostalCode, a.Country = strings.TrimSpace(a.PostalCode), strings.ToUpper(strings.TrimSpace(a.Country))
	c.Require(prefix+".name", a.Name != "", "is required")
	c.Require(prefix+".street", a.Street != "", "is required")
	c.Require(prefix+".city", a.City != "", "is required")
	c.Require(prefix+".postal_code", a.PostalCode != "", "is required")
	c.Require(prefix+".country", countryRE.MatchString(a.Country), "must be a two-letter ISO 3166-1 code")
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Routes registers the basket and order endpoints.
func Routes(r *platform.Router, a *app.App) {
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/baskets", Summary: "Start a basket", Tag: tag, Status: 201},
		func(ctx context.Context, req StartBasketRequest) (Basket, error) {
			return basketOr(a.StartBasket(ctx, newID(), req.CustomerID))
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/baskets/{id}", Summary: "A basket", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Basket, error) {
			return basketOr(a.Basket(ctx, req.ID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/baskets/{id}/items", Summary: "Add a product to a basket (quantities add up)",
		Tag: tag, Errors: []int{404, 409, 422}},
		func(ctx context.Context, req AddItemRequest) (Basket, error) {
			return basketOr(a.AddItem(ctx, req.ID, req.ProductID, req.Quantity))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/baskets/{id}/items/{product_id}/remove",
		Summary: "Remove some or all of a product from a basket", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req RemoveItemRequest) (Basket, error) {
			return basketOr(a.RemoveItem(ctx, req.ID, req.ProductID, req.Quantity))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/baskets/{id}/checkout",
		Summary: "Check a basket out: it becomes an order, placed (503 with Retry-After when too many orders are being fulfilled)", Tag: tag, Status: 201, Errors: []int{404, 409, 422, 503},
		Admit: a.Admit},
		func(ctx context.Context, req CheckoutRequest) (Order, error) {
			return orderOr(a.Checkout(ctx, req.ID, newID(), app.Payment{ShippingAddress: req.ShippingAddress,
				PaymentToken: req.PaymentToken, DiscountCode: req.DiscountCode}))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/baskets/{id}/cancel", Summary: "Give a basket up", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req ByID) (Basket, error) {
			return basketOr(a.CancelBasket(ctx, req.ID))
		})

	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/orders", Summary: "Place an order in one call (503 with Retry-After when too many orders are being fulfilled)", Tag: tag, Status: 201, Errors: []int{422, 503},
		Admit: a.Admit},
		func(ctx context.Context, req PlaceOrderRequest) (Order, error) {
			lines := make([]app.Wanted, len(req.Lines))
			for i, l := range req.Lines {
				lines[i] = app.Wanted{ProductID: l.ProductID, Quantity: l.Quantity, Field: fmt.Sprintf("lines[%d].product_id", i)}
			}
			return orderOr(a.PlaceOrder(ctx, newID(), req.CustomerID, lines, app.Payment{ShippingAddress: req.ShippingAddress,
				PaymentToken: req.PaymentToken, DiscountCode: req.DiscountCode}))
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/orders/{id}", Summary: "An order", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Order, error) {
			return orderOr(a.Order(ctx, req.ID))
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/orders/{id}/cancel",
		Summary: "Cancel an order, while it is placed or confirmed", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req CancelOrderRequest) (Order, error) {
			return orderOr(a.CancelOrder(ctx, req.ID, req.Reason))
		})
}

func basketOr(b *domain.Basket, err error) (Basket, error) {
	if err != nil {
		return Basket{}, httpError(err)
	}
	return basketView(b), nil
}

func orderOr(o *domain.Order, err error) (Order, error) {
	if err != nil {
		return Order{}, httpError(err)
	}
	return orderView(o), nil
}

func field(name string, err error) error {
	return &platform.ValidationError{Fields: []platform.FieldError{{Field: name, Message: err.Error()}}}
}

// httpError maps the domain's errors to the HTTP ones.
func httpError(err error) error {
	switch {
	case errors.Is(err, domain.ErrInvalidCustomer):
		return field("customer_id", err)
	case errors.Is(err, domain.ErrInvalidPaymentToken):
		return field("payment_token", err)
	case errors.Is(err, kernel.ErrInvalidAddress):
		return field("shipping_address", err)
	case errors.Is(err, domain.ErrUnknownDiscountCode):
		return field("discount_code", err)
	case errors.Is(err, domain.ErrInvalidQuantity):
		return field("quantity", err)
	case errors.Is(err, domain.ErrInvalidProduct):
		return field("product_id", err)
	case errors.Is(err, domain.ErrNoLines):
		return field("lines", err)
	case errors.Is(err, domain.ErrNoBasket), errors.Is(err, domain.ErrNotInBasket), errors.Is(err, domain.ErrNotPlaced):
		return fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	case errors.Is(err, domain.ErrBasketClosed), errors.Is(err, domain.ErrBasketStarted), errors.Is(err, domain.ErrAlreadyPlaced),
		errors.Is(err, domain.ErrTransition):
		return fmt.Errorf("%w: %w", platform.ErrConflict, err)
	case errors.Is(err, domain.ErrEmptyBasket), errors.Is(err, domain.ErrMixedCurrencies), errors.Is(err, domain.ErrInvalidPrice),
		errors.Is(err, domain.ErrInconsistentTotals):
		return fmt.Errorf("%w: %w", platform.ErrUnprocessable, err)
	}
	return err
}
