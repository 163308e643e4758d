// Package catalog is the catalog bounded context: the mall's stores
// (opened, rebranded, taking part or not) and the products they sell, at
// what price. It publishes their state as integration events, from which
// other contexts keep their own copies; it answers no commands. Other
// contexts use its api package only.
package catalog

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/catalog/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/catalog/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Module is the catalog context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "catalog" }

// Start implements platform.Module.
func (Module) Start(_ context.Context, s *platform.Services) error {
	a, err := app.New(s.Store, s.Outbox)
	if err != nil {
		return err
	}
	if err := s.Projections.Add(a.Projection()); err != nil {
		return err
	}
	adapters.Routes(s.Router, a)
	return nil
}
