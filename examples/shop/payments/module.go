// Package payments is the payments bounded context: an order's payment,
// authorized, captured (and invoiced), voided or refunded by the commands
// of the fulfillment and cancellation sagas; and the invoices. Other
// contexts use its api package only.
package payments

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/payments/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Module is the payments context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "payments" }

// Start implements platform.Module.
func (Module) Start(ctx context.Context, s *platform.Services) error {
	a, err := app.New(s.Store, s.Outbox, s.Log)
	if err != nil {
		return err
	}
	if err := s.Projections.Add(adapters.InvoicesProjection()); err != nil {
		return err
	}
	adapters.Routes(s.Router, a, s.Store)
	return adapters.Subscribe(ctx, s, a)
}
