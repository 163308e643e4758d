package adapters

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Subscribe handles the context's commands: many at once, in shared
// transactions, each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	return platform.HandleCommands(ctx, s, api.CommandsSubjects, platform.Handlers{
		api.TypeAuthorizePayment: a.Authorize,
		api.TypeCapturePayment:   a.Capture,
		api.TypeCancelPayment:    a.Cancel,
	})
}
