// Package inventory is the inventory bounded context: each product's
// stock (received, adjusted, never negative), and reserving, releasing
// and committing stock for orders (commands of the fulfillment saga; a
// shipped shipment commits its order's stock too). Other contexts use its
// api package only.
package inventory

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/inventory/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/inventory/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Module is the inventory context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "inventory" }

// Start implements platform.Module.
func (Module) Start(ctx context.Context, s *platform.Services) error {
	a, err := app.New(s.Store, s.Outbox, s.Log)
	if err != nil {
		return err
	}
	if err := a.Migrate(ctx); err != nil {
		return err
	}
	adapters.Routes(s.Router, a)
	return adapters.Subscribe(ctx, s, a)
}
