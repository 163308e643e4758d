package adapters

import (
	"context"
	"slices"
	"time"

	"github.com/eventual-go/eventual"
	customersapi "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillmentapi "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	"github.com/eventual-go/eventual/examples/shop/notifications/internal/app"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/inbox"
	"github.com/eventual-go/eventual/transport"
)

// DeadLetters is where the events that could not be handled go.
const DeadLetters = "deadletter.notifications"

// Retry is how a failing event is tried again: redelivered (not in
// place, so it blocks nothing behind it) after Backoff(attempt), up to
// Attempts deliveries, then published to DeadLetters.
type Retry struct {
	Attempts int
	Backoff  func(attempt int) time.Duration
}

// Subscribe consumes the events of customers (their contact), ordering
// and fulfillment (what to tell them), each once (inbox.Batched), and only
// the types handled: the others are acknowledged without touching the
// database. A consumer group consumes one subject pattern (the
// transports refuse more), so the groups are "notifications" (ordering),
// "notifications-customers" and "notifications-fulfillment".
func Subscribe(ctx context.Context, s *platform.Services, a *app.App, retry Retry) error {
	subs := []struct {
		subject, group string
		types          []string
		handle         inbox.TxHandler
	}{
		{customersapi.EventsSubjects, "notifications-customers", app.CustomerEvents, a.Customer},
		{orderingapi.EventsSubjects, "notifications", app.OrderEvents, a.Order},
		{fulfillmentapi.EventsSubjects, "notifications-fulfillment", app.OrderEvents, a.Order},
	}
	for _, sub := range subs {
		h := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			return sub.handle(platform.Context(ctx, d), tx, d)
		}, 128)
		err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: sub.subject, Group: sub.group, Concurrency: 128,
			MaxDeliver: retry.Attempts, Backoff: retry.Backoff},
			transport.Chain(h, only(sub.types), transport.DeadLetter(s.Transport, DeadLetters, retry.Attempts)))
		if err != nil {
			return err
		}
	}
	return nil
}

// only acknowledges the messages of other types than types without
// handling them.
func only(types []string) transport.Middleware {
	return func(next transport.Handler) transport.Handler {
		return func(ctx context.Context, d transport.Delivery) error {
			if !slices.Contains(types, d.Type) {
				return nil
			}
			return next(ctx, d)
		}
	}
}
