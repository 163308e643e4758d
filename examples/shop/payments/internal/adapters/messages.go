package adapters

import (
	"context"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/transport"
)

// Subscribe handles the context's commands: many at once, in shared
// transactions (inbox.Batched), each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	h := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case api.TypeAuthorizePayment:
			return a.Authorize(ctx, tx, d)
		case api.TypeCapturePayment:
			return a.Capture(ctx, tx, d)
		case api.TypeCancelPayment:
			return a.Cancel(ctx, tx, d)
		}
		return transport.Terminate(fmt.Errorf("payments: unknown command %s", d.Type))
	}, 128)
	return s.Transport.Subscribe(ctx, transport.Subscription{Subject: api.CommandsSubjects, Group: "payments", Concurrency: 128},
		transport.Chain(h, transport.DeadLetter(s.Transport, "deadletter.payments", 5)))
}
