package platform

import (
	"context"
	"fmt"
	"runtime/pprof"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// Handler handles a message in the inbox's transaction: what it writes
// (events, rows, replies and events through the outbox) commits with the
// record that the message was handled, so it takes effect once.
type Handler func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error

// Handlers maps message types to their handlers.
type Handlers map[string]Handler

// Consumption bounds how a module consumes a subject: the batch of
// deliveries that share a transaction (inbox.Batched), the deliveries in
// flight, and the deliveries of a message before it goes to the module's
// dead letters ("deadletter.<module>").
const (
	ConsumeBatch       = 128
	ConsumeConcurrency = 128
	ConsumeDeliveries  = 5
)

// HandleCommands subscribes the module to its commands on subject (a
// pattern such as "payments.commands.>"), in the group named after the
// module: many at once in shared transactions, each once, every handler
// given a context carrying the command's metadata as the cause of what it
// records (Context). A command of a type with no handler is terminated:
// it goes to the dead letters, it will never do.
func HandleCommands(ctx context.Context, s *Services, subject string, h Handlers) error {
	return consume(ctx, s, subject, s.Module, h, true)
}

// HandleEvents subscribes the module to other contexts' events on subject
// in group (one subject per group: name it "<module>-<context>"), as
// HandleCommands does; events of a type with no handler are acknowledged
// and ignored, before the inbox, at no cost.
func HandleEvents(ctx context.Context, s *Services, subject, group string, h Handlers) error {
	return consume(ctx, s, subject, group, h, false)
}

func consume(ctx context.Context, s *Services, subject, group string, h Handlers, strict bool) error {
	batched := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		return h[d.Type](Context(ctx, d), tx, d)
	}, ConsumeBatch)
	labels := pprof.Labels("module", s.Module)
	handle := func(ctx context.Context, d transport.Delivery) (err error) {
		if _, ok := h[d.Type]; !ok {
			if strict {
				return transport.Terminate(fmt.Errorf("%s: unknown message type %q on %s", s.Module, d.Type, d.Subject))
			}
			return nil
		}
		// The transport runs handlers on goroutines of the publisher's
		// (in process): label the work, and the batch goroutine it
		// starts, as this module's.
		pprof.Do(ctx, labels, func(ctx context.Context) { err = batched(ctx, d) })
		return err
	}
	err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: subject, Group: group, Concurrency: ConsumeConcurrency},
		transport.Chain(handle, transport.DeadLetter(s.Transport, "deadletter."+s.Module, ConsumeDeliveries)))
	if err != nil {
		return fmt.Errorf("%s: subscribe %s as %s: %w", s.Module, subject, group, err)
	}
	return nil
}
