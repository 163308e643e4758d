package domain

import (
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/examples/shop/kernel"
)

// Events of the Product, as stored.
type (
	// ProductAdded: a store sells a new product.
	ProductAdded struct {
		StoreID     string       `json:"store_id"`
		Name        string       `json:"name"`
		Description string       `json:"description,omitempty"`
		SKU         string       `json:"sku"`
		Price       kernel.Money `json:"price"`
	}
	// ProductRebranded: the product's new name and description.
	ProductRebranded struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	// PriceChanged: the product's new price, and the one before.
	PriceChanged struct {
		Price    kernel.Money `json:"price"`
		OldPrice kernel.Money `json:"old_price"`
	}
	// ProductRemoved: the product is no longer sold.
	ProductRemoved struct{}
)

// Product is what a store sells. Once removed, it does not change.
type Product struct {
	aggregate.Root
	StoreID     string
	Name        string
	Description string
	SKU         string
	Price       kernel.Money
	Removed     bool
}

// NewProduct returns an empty product with the ID.
func NewProduct(id string) *Product {
	p := &Product{}
	p.SetID(id)
	return p
}

// Clone implements aggregate.Cloner: a product holds only values.
func (p *Product) Clone() *Product { c := *p; return &c }

// Apply implements aggregate.Aggregate.
func (p *Product) Apply(event any) error {
	switch e := event.(type) {
	case ProductAdded:
		p.StoreID, p.Name, p.Description, p.SKU, p.Price = e.StoreID, e.Name, e.Description, e.SKU, e.Price
	case ProductRebranded:
		p.Name, p.Description = e.Name, e.Description
	case PriceChanged:
		p.Price = e.Price
	case ProductRemoved:
		p.Removed = true
	default:
		return fmt.Errorf("product: unknown event %T", event)
	}
	return nil
}

func (p *Product) added() bool { return p.StoreID != "" }

// checkPrice accepts a positive amount of a valid currency.
func checkPrice(price kernel.Money) error {
	if err := price.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPrice, err)
	}
	if price.Minor <= 0 {
		return fmt.Errorf("%w: %s is not positive", ErrInvalidPrice, price)
	}
	return nil
}

// Add puts the product on sale in a store: a name, a SKU and a positive
// price are required.
func (p *Product) Add(storeID, name, description, sku string, price kernel.Money) error {
	if p.added() {
		return fmt.Errorf("product %s %w", p.ID(), ErrExists)
	}
	name, sku = strings.TrimSpace(name), strings.TrimSpace(sku)
	switch {
	case name == "":
		return ErrInvalidName
	case sku == "":
		return ErrInvalidSKU
	}
	if err := checkPrice(price); err != nil {
		return err
	}
	return aggregate.Record(p, ProductAdded{StoreID: storeID, Name: name, Description: strings.TrimSpace(description), SKU: sku, Price: price})
}

// changeable says why the product cannot change, if it cannot.
func (p *Product) changeable() error {
	switch {
	case !p.added():
		return fmt.Errorf("product %s %w", p.ID(), ErrNotCreated)
	case p.Removed:
		return fmt.Errorf("product %s: %w", p.ID(), ErrRemoved)
	}
	return nil
}

// Rebrand changes the product's name and description; no change, no
// event.
func (p *Product) Rebrand(name, description string) error {
	if err := p.changeable(); err != nil {
		return err
	}
	name, description = strings.TrimSpace(name), strings.TrimSpace(description)
	if name == "" {
		return ErrInvalidName
	}
	if name == p.Name && description == p.Description {
		return nil
	}
	return aggregate.Record(p, ProductRebranded{Name: name, Description: description})
}

// ChangePrice sets a new positive price in the same currency; the same
// price changes nothing.
func (p *Product) ChangePrice(price kernel.Money) error {
	if err := p.changeable(); err != nil {
		return err
	}
	if err := checkPrice(price); err != nil {
		return err
	}
	if price.Currency != p.Price.Currency {
		return fmt.Errorf("%w: %s to %s", ErrCurrencyMismatch, p.Price.Currency, price.Currency)
	}
	if price == p.Price {
		return nil
	}
	return aggregate.Record(p, PriceChanged{Price: price, OldPrice: p.Price})
}

// Remove takes the product off sale, for good.
func (p *Product) Remove() error {
	if err := p.changeable(); err != nil {
		return err
	}
	return aggregate.Record(p, ProductRemoved{})
}
