package adapters

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/app"
)

// Subscribe handles the context's commands: many at once, in shared
// transactions, each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	return platform.HandleCommands(ctx, s, api.CommandsSubjects, platform.Handlers{
		api.TypeCreateShipment: a.Create,
		api.TypeCancelShipment: a.Cancel,
	})
}
