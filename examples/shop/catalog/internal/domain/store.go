// Package domain is the catalog context's model: the Store aggregate (a
// shop of the mall) and the Product aggregate (what a store sells, at
// what price), and their rules.
package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
)

// Errors of the catalog rules. The HTTP adapter maps them to statuses.
var (
	// ErrInvalidName means an empty name.
	ErrInvalidName = errors.New("a name is required")
	// ErrInvalidSKU means an empty SKU.
	ErrInvalidSKU = errors.New("a SKU is required")
	// ErrInvalidPrice means a price that is not a positive amount of a
	// currency.
	ErrInvalidPrice = errors.New("a price must be a positive amount of an ISO 4217 currency")
	// ErrCurrencyMismatch means a new price in another currency.
	ErrCurrencyMismatch = errors.New("a price cannot change currency")
	// ErrExists means creating what exists.
	ErrExists = errors.New("exists already")
	// ErrNotCreated means changing what does not exist.
	ErrNotCreated = errors.New("does not exist")
	// ErrRemoved means changing a removed product.
	ErrRemoved = errors.New("the product was removed")
)

// Register adds the events of both aggregates to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[StoreCreated](b, "catalog.store.created")
	codec.Register[StoreRebranded](b, "catalog.store.rebranded")
	codec.Register[ParticipationChanged](b, "catalog.store.participation_changed")
	codec.Register[ProductAdded](b, "catalog.product.added")
	codec.Register[ProductRebranded](b, "catalog.product.rebranded")
	codec.Register[PriceChanged](b, "catalog.product.price_changed")
	codec.Register[ProductRemoved](b, "catalog.product.removed")
}

// Events of the Store, as stored.
type (
	// StoreCreated: the store opened; it takes part in the mall from the
	// start.
	StoreCreated struct {
		Name     string `json:"name"`
		Location string `json:"location,omitempty"`
	}
	// StoreRebranded: the store's new name.
	StoreRebranded struct {
		Name string `json:"name"`
	}
	// ParticipationChanged: whether the store takes part in the mall.
	ParticipationChanged struct {
		Participating bool `json:"participating"`
	}
)

// Store is a shop of the mall.
type Store struct {
	aggregate.Root
	Name     string
	Location string
	// Participating tells whether the store takes part in the mall (its
	// products can be ordered).
	Participating bool
}

// NewStore returns an empty store with the ID.
func NewStore(id string) *Store {
	s := &Store{}
	s.SetID(id)
	return s
}

// Clone implements aggregate.Cloner: a store holds only values.
func (s *Store) Clone() *Store { c := *s; return &c }

// Apply implements aggregate.Aggregate.
func (s *Store) Apply(event any) error {
	switch e := event.(type) {
	case StoreCreated:
		s.Name, s.Location, s.Participating = e.Name, e.Location, true
	case StoreRebranded:
		s.Name = e.Name
	case ParticipationChanged:
		s.Participating = e.Participating
	default:
		return fmt.Errorf("store: unknown event %T", event)
	}
	return nil
}

func (s *Store) created() bool { return s.Name != "" }

// Create opens the store: a name and a location (optional).
func (s *Store) Create(name, location string) error {
	if s.created() {
		return fmt.Errorf("store %s %w", s.ID(), ErrExists)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return ErrInvalidName
	}
	return aggregate.Record(s, StoreCreated{Name: name, Location: strings.TrimSpace(location)})
}

// Rebrand renames the store; the same name changes nothing.
func (s *Store) Rebrand(name string) error {
	if !s.created() {
		return fmt.Errorf("store %s %w", s.ID(), ErrNotCreated)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return ErrInvalidName
	}
	if name == s.Name {
		return nil
	}
	return aggregate.Record(s, StoreRebranded{Name: name})
}

// SetParticipation makes the store take part in the mall or not; no
// change, no event.
func (s *Store) SetParticipation(participating bool) error {
	if !s.created() {
		return fmt.Errorf("store %s %w", s.ID(), ErrNotCreated)
	}
	if participating == s.Participating {
		return nil
	}
	return aggregate.Record(s, ParticipationChanged{Participating: participating})
}
