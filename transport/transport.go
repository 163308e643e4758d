// Package transport moves messages between modules and services: the
// contracts every transport implements (Publisher, Subscriber), the
// Message they carry, and middleware for handlers. transport/inproc works
// inside one process; transport/natsjs over NATS JetStream. Both pass the
// conformance suite in transport/transporttest.
//
//	err := t.Subscribe(ctx, transport.Subscription{Subject: "orders.>", Group: "billing"},
//		transport.Chain(handle, transport.Recover(), transport.Correlate(),
//			transport.DeadLetter(t, "deadletter.billing", 5)))
//	err = t.Publish(ctx, transport.NewMessage("orders.placed", "order.placed", data))
//
// Delivery is at least once: a handler may see a message again (after a
// failure or a crash), so effects should be idempotent (see package inbox).
// A handler returns nil to acknowledge a message, an error to have it
// redelivered after a backoff (up to Subscription.MaxDeliver deliveries),
// or Terminate(err) to drop it for good.
//
// Order: messages with the same Key are handled one at a time, in the
// order they were published, by the members of a group in one process. A
// message redelivered after an error may come after later messages of its
// key, unless the Retry middleware retries it in place; a batch whose
// Publish failed and was published again may land after messages published
// meanwhile; and when members of one group run in several processes, a
// broker hands each process its share regardless of keys (see the
// transport's documentation).
package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// Errors of the transports. Match them with errors.Is.
var (
	// ErrInvalidMessage means a message cannot be sent as it is: no ID,
	// a bad subject, an over-large payload.
	ErrInvalidMessage = errors.New("transport: invalid message")
	// ErrInvalidSubscription means a subscription cannot be made as asked.
	ErrInvalidSubscription = errors.New("transport: invalid subscription")
	// ErrClosed means the transport was closed.
	ErrClosed = errors.New("transport: closed")
	// ErrTerminated is matched by the errors Terminate returns.
	ErrTerminated = errors.New("transport: terminated")
)

// Message is what travels: an integration event, a command or a reply.
type Message struct {
	// ID identifies the message; a transport delivers a message whose ID
	// it saw within its dedup window only once. NewMessage sets a UUIDv7.
	ID string
	// Subject says where the message goes: tokens separated by dots,
	// like "orders.placed" or "payments.commands.authorize".
	Subject string
	// Type names the payload's type (as registered with the codec).
	Type string
	// Key orders messages: those with the same key are handled one at a
	// time in publish order. Use the aggregate's ID. Empty: no order.
	Key string
	// Data is the encoded payload.
	Data []byte
	// Metadata is the correlation, causation, tenant, user and trace
	// context of the message.
	Metadata eventual.Metadata
	// ReplyTo is the subject replies to this message go to.
	ReplyTo string
}

// NewMessage returns a message with a new UUIDv7 ID.
func NewMessage(subject, typ string, data []byte) Message {
	return Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: subject, Type: typ, Data: data}
}

// Validate returns an error matching ErrInvalidMessage unless m can be
// published: an ID, a valid subject without wildcards, a type, valid
// metadata, and a reply subject (if any) that is valid too.
func (m Message) Validate() error {
	switch {
	case m.ID == "":
		return fmt.Errorf("%w: no ID", ErrInvalidMessage)
	case m.Type == "":
		return fmt.Errorf("%w: %s has no type", ErrInvalidMessage, m.ID)
	}
	if err := validSubject(m.Subject, false); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidMessage, m.ID, err)
	}
	if m.ReplyTo != "" {
		if err := validSubject(m.ReplyTo, false); err != nil {
			return fmt.Errorf("%w: %s: reply-to: %w", ErrInvalidMessage, m.ID, err)
		}
	}
	return nil
}

// validSubject checks a subject: non-empty dot-separated tokens of
// printable characters without spaces; with wildcards, "*" may stand for
// one token and ">" for the rest (as the last token).
func validSubject(s string, wildcards bool) error {
	if s == "" {
		return errors.New("empty subject")
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("subject %q has an empty token", s)
		case t == "*" || t == ">":
			if !wildcards {
				return fmt.Errorf("subject %q has a wildcard", s)
			}
			if t == ">" && i != len(tokens)-1 {
				return fmt.Errorf("subject %q has '>' before its last token", s)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("subject %q has a wildcard inside a token", s)
		}
		for _, r := range t {
			if unicode.IsSpace(r) || !unicode.IsPrint(r) {
				return fmt.Errorf("subject %q has a space or control character", s)
			}
		}
	}
	return nil
}

// Match reports whether subject matches pattern, which may hold the
// wildcards "*" (one token) and ">" (one or more final tokens).
//
// It allocates nothing: transports call it for every message and group.
func Match(pattern, subject string) bool {
	for {
		p, pr, pmore := strings.Cut(pattern, ".")
		if p == ">" {
			return true // subject has this token: the last round saw more
		}
		s, sr, smore := strings.Cut(subject, ".")
		if p != "*" && p != s {
			return false
		}
		if !pmore || !smore {
			return pmore == smore
		}
		pattern, subject = pr, sr
	}
}

// Publisher sends messages.
type Publisher interface {
	// Publish sends msgs and returns once the transport acknowledged every
	// one of them (a broker stored it; the in-process transport delivered
	// it). On error, some may have been sent: publish them again, with the
	// same IDs. Errors: ErrInvalidMessage, ErrClosed, the context's, the
	// broker's.
	Publish(ctx context.Context, msgs ...Message) error
}

// PipelinedPublisher is a Publisher that can take a batch at once and
// acknowledge it later, so that a caller (the outbox relay) can send the
// next batch before the last one is acknowledged.
//
// PublishAsync queues msgs behind everything queued by earlier calls (in
// the order of the calls) and returns a wait function that returns what
// Publish would have: nil once every message was acknowledged. A caller
// that must keep the order of its messages publishes again from the first
// batch whose wait failed, and disregards the waits of the batches after
// it. Errors of PublishAsync itself: as Publish's; nothing was queued
// then.
type PipelinedPublisher interface {
	Publisher
	PublishAsync(ctx context.Context, msgs ...Message) (wait func(ctx context.Context) error, err error)
}

// Delivery is a message as a subscriber receives it.
type Delivery struct {
	Message
	// Attempt counts the deliveries of this message to this group: 1 the
	// first time.
	Attempt int
	// Group is the consumer group it was delivered to.
	Group string
}

// Handler handles one delivery: nil acknowledges it; an error has it
// redelivered after a backoff; Terminate(err) drops it for good.
type Handler func(ctx context.Context, d Delivery) error

// Subscription says what a subscriber consumes and how.
type Subscription struct {
	// Subject is the subject or pattern to consume ("orders.*",
	// "orders.>").
	Subject string
	// Group is the consumer group: every group gets each message, and the
	// members of one group (processes, or Subscribe calls) share them.
	// Required; a lower-case name of letters, digits, '-' and '_'.
	Group string
	// Concurrency is how many messages are handled at once; messages of
	// one key never are. Default 1.
	Concurrency int
	// MaxDeliver bounds the deliveries of one message to the group; after
	// the last failed one it is dropped. Default 10. Use the DeadLetter
	// middleware to keep it.
	MaxDeliver int
	// Backoff is the wait before delivering again after the attempt-th
	// delivery failed. Default: 100 ms doubling up to 10 s.
	Backoff func(attempt int) time.Duration
	// Ephemeral makes a group of this process alone that lasts only while
	// it has members: it gets the messages published from when it is
	// made, keeps none for when it has no member, is not shared with other
	// processes, and a broker forgets it soon after the process is gone.
	// For subscriptions like a process's reply subject. Every Subscribe
	// to one group must agree on it.
	Ephemeral bool
}

// DefaultBackoff waits 100 ms after the first failure, doubling each time,
// up to 10 s.
func DefaultBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < attempt && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// WithDefaults returns s with the defaults filled in, or an error matching
// ErrInvalidSubscription.
func (s Subscription) WithDefaults() (Subscription, error) {
	if err := validSubject(s.Subject, true); err != nil {
		return s, fmt.Errorf("%w: %w", ErrInvalidSubscription, err)
	}
	if !validGroup(s.Group) {
		return s, fmt.Errorf("%w: group %q is not a lower-case name of letters, digits, '-' and '_'", ErrInvalidSubscription, s.Group)
	}
	if s.Concurrency < 0 || s.MaxDeliver < 0 {
		return s, fmt.Errorf("%w: negative concurrency or max deliver", ErrInvalidSubscription)
	}
	if s.Concurrency == 0 {
		s.Concurrency = 1
	}
	if s.MaxDeliver == 0 {
		s.MaxDeliver = 10
	}
	if s.Backoff == nil {
		s.Backoff = DefaultBackoff
	}
	return s, nil
}

func validGroup(g string) bool {
	if g == "" || len(g) > 100 {
		return false
	}
	for _, r := range g {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Subscriber consumes messages.
type Subscriber interface {
	// Subscribe starts consuming sub in the background and returns once the
	// subscription is ready; it consumes until ctx ends or the transport
	// closes. Errors: ErrInvalidSubscription, ErrClosed, the broker's.
	Subscribe(ctx context.Context, sub Subscription, h Handler) error
}

// Transport publishes and subscribes.
type Transport interface {
	Publisher
	Subscriber
	// Close stops publishing and consuming: it waits for the handlers
	// running to return.
	Close() error
}

// terminal marks a handler error as final.
type terminal struct{ err error }

func (t terminal) Error() string        { return "terminated: " + t.err.Error() }
func (t terminal) Unwrap() error        { return t.err }
func (t terminal) Is(target error) bool { return target == ErrTerminated }

// Terminate marks err as final: the message is dropped, not redelivered.
// The result matches ErrTerminated and err.
func Terminate(err error) error {
	if err == nil {
		err = errors.New("terminated")
	}
	return terminal{err}
}

// IsTerminal reports whether err was made by Terminate.
func IsTerminal(err error) bool { return errors.Is(err, ErrTerminated) }

// Middleware wraps a handler.
type Middleware func(Handler) Handler

// Chain wraps h in middleware: the first one is the outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
