// Package customers is the customers bounded context: registration,
// contact details, enabling and disabling, and authorizing a customer for
// an order (a command of the fulfillment saga). Other contexts use its
// api package only.
package customers

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/customers/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/customers/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Module is the customers context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "customers" }

// Start implements platform.Module.
func (Module) Start(ctx context.Context, s *platform.Services) error {
	a, err := app.New(s.Store, s.Outbox)
	if err != nil {
		return err
	}
	adapters.Routes(s.Router, a)
	return adapters.Subscribe(ctx, s, a)
}
