// Package api is the public contract of the catalog context: stores and
// their products, as integration events carrying their state, so that
// other contexts keep local copies (ordering's price list, reporting's
// names) instead of calling the catalog.
package api

import "github.com/eventual-go/eventual/examples/shop/kernel"

// Integration events, published on "catalog.events.<name>", keyed by the
// store's or product's ID.
const (
	SubjectStoreCreated = "catalog.events.store_created"
	TypeStoreCreated    = "catalog.store_created"

	SubjectStoreRebranded = "catalog.events.store_rebranded"
	TypeStoreRebranded    = "catalog.store_rebranded"

	SubjectStoreParticipationChanged = "catalog.events.store_participation_changed"
	TypeStoreParticipationChanged    = "catalog.store_participation_changed"

	SubjectProductAdded = "catalog.events.product_added"
	TypeProductAdded    = "catalog.product_added"

	SubjectProductRebranded = "catalog.events.product_rebranded"
	TypeProductRebranded    = "catalog.product_rebranded"

	SubjectProductPriceChanged = "catalog.events.product_price_changed"
	TypeProductPriceChanged    = "catalog.product_price_changed"

	SubjectProductRemoved = "catalog.events.product_removed"
	TypeProductRemoved    = "catalog.product_removed"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "catalog.events.>"
)

// StoreCreated: a store opened in the mall.
type StoreCreated struct {
	StoreID  string `json:"store_id"`
	Name     string `json:"name"`
	Location string `json:"location"`
}

// StoreRebranded: a store's new name.
type StoreRebranded struct {
	StoreID string `json:"store_id"`
	Name    string `json:"name"`
}

// StoreParticipationChanged: whether the store takes part in the mall
// (its products can be ordered).
type StoreParticipationChanged struct {
	StoreID       string `json:"store_id"`
	Participating bool   `json:"participating"`
}

// ProductAdded: a product with everything others need to know of it.
type ProductAdded struct {
	ProductID   string       `json:"product_id"`
	StoreID     string       `json:"store_id"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	SKU         string       `json:"sku"`
	Price       kernel.Money `json:"price"`
}

// ProductRebranded: a product's new name and description.
type ProductRebranded struct {
	ProductID   string `json:"product_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ProductPriceChanged: a product's new price.
type ProductPriceChanged struct {
	ProductID string       `json:"product_id"`
	Price     kernel.Money `json:"price"`
	OldPrice  kernel.Money `json:"old_price"`
}

// ProductRemoved: the product is no longer sold.
type ProductRemoved struct {
	ProductID string `json:"product_id"`
}
