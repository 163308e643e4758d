package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	catalog "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
)

// Product is a product of the catalog as reporting knows it. Its name
// and description, and its price, each carry the source time of their
// last change, so that an older event arriving late does not overwrite a
// newer one (ties: the later in the log wins).
type Product struct {
	ID, StoreID, Name, Description, SKU string
	Price                               kernel.Money
	Removed                             bool
	InfoAt, PriceAt                     int64
}

// Apply folds a catalog product event into p. Other types change
// nothing. Errors: a payload that does not decode.
func (p *Product) Apply(e Event) error {
	switch e.Type {
	case catalog.TypeProductAdded:
		var v catalog.ProductAdded
		if err := decode(e, &v); err != nil {
			return err
		}
		if p.StoreID == "" {
			p.StoreID = v.StoreID
		}
		if p.SKU == "" {
			p.SKU = v.SKU
		}
		p.info(e.At, v.Name, v.Description)
		p.price(e.At, v.Price)
	case catalog.TypeProductRebranded:
		var v catalog.ProductRebranded
		if err := decode(e, &v); err != nil {
			return err
		}
		p.info(e.At, v.Name, v.Description)
	case catalog.TypeProductPriceChanged:
		var v catalog.ProductPriceChanged
		if err := decode(e, &v); err != nil {
			return err
		}
		p.price(e.At, v.Price)
	case catalog.TypeProductRemoved:
		p.Removed = true
	}
	return nil
}

func (p *Product) info(at int64, name, description string) {
	if at >= p.InfoAt {
		p.Name, p.Description, p.InfoAt = name, description, at
	}
}

func (p *Product) price(at int64, m kernel.Money) {
	if at >= p.PriceAt {
		p.Price, p.PriceAt = m, at
	}
}

// SearchDoc is the text a product is found by: its name, description,
// SKU and store's name.
func (p *Product) SearchDoc(storeName string) string {
	return strings.Join([]string{p.Name, p.Description, p.SKU, storeName}, " ")
}

// Store is a store of the mall as reporting knows it.
type Store struct {
	ID, Name, Location string
	Participating      bool
	NameAt, PartAt     int64
}

// Apply folds a catalog store event into s. Other types change nothing.
// Errors: a payload that does not decode.
func (s *Store) Apply(e Event) error {
	switch e.Type {
	case catalog.TypeStoreCreated:
		var v catalog.StoreCreated
		if err := decode(e, &v); err != nil {
			return err
		}
		if e.At >= s.NameAt {
			s.Name, s.NameAt = v.Name, e.At
		}
		if s.Location == "" {
			s.Location = v.Location
		}
		if s.PartAt == 0 {
			s.Participating = true
		}
	case catalog.TypeStoreRebranded:
		var v catalog.StoreRebranded
		if err := decode(e, &v); err != nil {
			return err
		}
		if e.At >= s.NameAt {
			s.Name, s.NameAt = v.Name, e.At
		}
	case catalog.TypeStoreParticipationChanged:
		var v catalog.StoreParticipationChanged
		if err := decode(e, &v); err != nil {
			return err
		}
		if e.At >= s.PartAt {
			s.Participating, s.PartAt = v.Participating, max(e.At, 1)
		}
	}
	return nil
}

func decode(e Event, v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("reporting: decode %s: %w", e.Type, err)
	}
	return nil
}

// Terms splits a search query into lower-case words of letters and
// digits; everything else separates words (so no query operator of the
// search engine gets through).
func Terms(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
