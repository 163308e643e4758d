// Package notifications is the notifications bounded context: it tells
// customers about their orders — confirmed (with the tracking number),
// rejected (and why), cancelled, shipped, delivered — by email, and by
// SMS when they have a number, from the events of ordering and
// fulfillment, with a local copy of their contact kept from the events
// of customers. GET /api/notifications lists what was sent.
//
// Delivery: each event is handled once (inbox) in its own savepoint of a
// batched transaction; the notifications are recorded in
// notifications_sent, then sent through the Sender, then committed. With
// the default sender (the record is the delivery) a notification is
// recorded exactly once; with an external Sender it is sent at least once
// (a send that succeeded before its transaction failed is repeated, with
// the same Notification.ID for the sender to dedupe).
//
// Retry policy: an event whose handling fails — the sender failed, or the
// customer is not known yet because their registration has not arrived —
// is redelivered after a backoff (by default 100 ms, doubling, at most
// 5 s) up to Attempts deliveries (default 5, about 1.5 s in all), then
// published to "deadletter.notifications" with the error and
// acknowledged. Redeliveries are not in place: they never hold back other
// notifications, nor anything of the orders. An event of an unknown
// customer thus ends in the dead letters, with the error "unknown
// customer <id>".
//
// Test rule: the default sender fails for email addresses starting with
// "fail@".
package notifications

import (
	"context"
	"time"

	"github.com/eventual-go/eventual/examples/shop/notifications/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/notifications/internal/app"
	"github.com/eventual-go/eventual/examples/shop/notifications/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Notification is one message to a customer through one channel (email
// or SMS).
type Notification = domain.Notification

// Sender sends notifications. Send runs inside the transaction that
// records the notification: keep it short (hand the message to a queue or
// a fast API). An error has the event tried again.
type Sender = domain.Sender

// Channels of a notification.
const (
	ChannelEmail = domain.ChannelEmail
	ChannelSMS   = domain.ChannelSMS
)

// DeadLetters is the subject of the events that could not be handled.
const DeadLetters = adapters.DeadLetters

// Defaults of the retry policy.
const (
	DefaultAttempts = 5
	DefaultBackoff  = 100 * time.Millisecond
	maxBackoff      = 5 * time.Second
)

// Module is the notifications context.
type Module struct {
	// Sender sends the notifications; nil: the recording sender, which
	// only records them (and fails for "fail@" addresses).
	Sender Sender
	// Attempts is how many times an event is tried before it is
	// dead-lettered; 0: DefaultAttempts.
	Attempts int
	// Backoff is the wait after the first failure, doubling after each
	// next one up to 5 s; 0: DefaultBackoff.
	Backoff time.Duration
}

// Name implements platform.Module.
func (Module) Name() string { return "notifications" }

// Start implements platform.Module.
func (m Module) Start(ctx context.Context, s *platform.Services) error {
	sender := m.Sender
	if sender == nil {
		sender = domain.RecordingSender{}
	}
	a, err := app.New(ctx, s.Store, sender)
	if err != nil {
		return err
	}
	attempts, first := m.Attempts, m.Backoff
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if first <= 0 {
		first = DefaultBackoff
	}
	backoff := func(attempt int) time.Duration {
		d := first
		for i := 1; i < attempt && d < maxBackoff; i++ {
			d *= 2
		}
		return min(d, maxBackoff)
	}
	adapters.Routes(s.Router, a)
	return adapters.Subscribe(ctx, s, a, adapters.Retry{Attempts: attempts, Backoff: backoff})
}
