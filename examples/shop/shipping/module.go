// Package shipping is the shipping bounded context: an order's shipment,
// created (with its tracking number) or refused and cancelled by the
// commands of the sagas, then shipped and delivered through the API; and
// the switch that makes shipping unavailable, for tests. Other contexts
// use its api package only.
package shipping

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/app"
)

// Module is the shipping context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "shipping" }

// Start implements platform.Module.
func (Module) Start(ctx context.Context, s *platform.Services) error {
	a, err := app.New(ctx, s.Store, s.Outbox)
	if err != nil {
		return err
	}
	adapters.Routes(s.Router, a)
	return adapters.Subscribe(ctx, s, a)
}
