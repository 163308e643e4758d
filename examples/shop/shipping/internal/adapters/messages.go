package adapters

import (
	"context"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/app"
	"github.com/eventual-go/eventual/transport"
)

// Subscribe handles the context's commands: many at once, in shared
// transactions (inbox.Batched), each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	h := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case api.TypeCreateShipment:
			return a.Create(ctx, tx, d)
		case api.TypeCancelShipment:
			return a.Cancel(ctx, tx, d)
		}
		return transport.Terminate(fmt.Errorf("shipping: unknown command %s", d.Type))
	}, 128)
	return s.Transport.Subscribe(ctx, transport.Subscription{Subject: api.CommandsSubjects, Group: "shipping", Concurrency: 128},
		transport.Chain(h, transport.DeadLetter(s.Transport, "deadletter.shipping", 5)))
}
