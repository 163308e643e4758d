package transport

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// Recover turns a panic in the handler into an error (with the stack), so
// the message is redelivered rather than the process crashing.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d Delivery) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("transport: handler panicked on %s (%s): %v\n%s", d.ID, d.Subject, p, debug.Stack())
				}
			}()
			return next(ctx, d)
		}
	}
}

// RetryPolicy tells Retry how often to try and how long to wait.
type RetryPolicy struct {
	// Attempts is how many times the handler runs at most; default 3.
	Attempts int
	// Backoff is the wait after the attempt-th failure; default 50 ms
	// doubling.
	Backoff func(attempt int) time.Duration
}

// Retry runs the handler again, in place, after it failed, up to the
// policy's attempts: the message keeps its place among those of its key.
// A terminal error (Terminate) is not retried. The last error is returned.
func Retry(p RetryPolicy) Middleware {
	if p.Attempts < 1 {
		p.Attempts = 3
	}
	if p.Backoff == nil {
		p.Backoff = func(attempt int) time.Duration { return 50 * time.Millisecond << min(attempt-1, 10) }
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, d Delivery) error {
			var err error
			for attempt := 1; attempt <= p.Attempts; attempt++ {
				if err = next(ctx, d); err == nil || IsTerminal(err) || attempt == p.Attempts {
					return err
				}
				t := time.NewTimer(p.Backoff(attempt))
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return errors.Join(err, ctx.Err())
				}
			}
			return err
		}
	}
}

// Metadata keys under which DeadLetter records why a message was set
// aside, in the dead letter's Metadata.Extra.
const (
	DeadLetterError    = "dead_letter.error"
	DeadLetterAttempts = "dead_letter.attempts"
	DeadLetterGroup    = "dead_letter.group"
	DeadLetterSubject  = "dead_letter.subject"
	DeadLetterID       = "dead_letter.message_id"
)

// DeadLetter sets aside a message that keeps failing: when the handler
// fails on the after-th delivery or later (or fails terminally), the
// message is published to subject, with the error, the attempts, the group
// and its original subject and ID in Metadata.Extra, and acknowledged. It
// never blocks the messages behind it. If publishing the dead letter fails,
// the handler's error is returned and the message redelivered.
func DeadLetter(pub Publisher, subject string, after int) Middleware {
	after = max(after, 1)
	return func(next Handler) Handler {
		return func(ctx context.Context, d Delivery) error {
			err := next(ctx, d)
			if err == nil || (d.Attempt < after && !IsTerminal(err)) {
				return err
			}
			dl := d.Message
			dl.ID = uuid.Must(uuid.NewV7()).String()
			dl.Subject = subject
			dl.Metadata.Extra = map[string]string{}
			for k, v := range d.Metadata.Extra {
				dl.Metadata.Extra[k] = v
			}
			dl.Metadata.Extra[DeadLetterError] = truncate(err.Error(), 2000)
			dl.Metadata.Extra[DeadLetterAttempts] = strconv.Itoa(d.Attempt)
			dl.Metadata.Extra[DeadLetterGroup] = d.Group
			dl.Metadata.Extra[DeadLetterSubject] = d.Subject
			dl.Metadata.Extra[DeadLetterID] = d.ID
			if perr := pub.Publish(WithoutWaiting(ctx), dl); perr != nil {
				return errors.Join(err, fmt.Errorf("transport: dead-letter %s to %s: %w", d.ID, subject, perr))
			}
			return nil
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Correlate puts the message's metadata into the handler's context, as
// the cause of whatever the handler records or sends: the correlation ID
// carries on (the message's ID when it has none), the causation ID becomes
// the message's ID, and tenant, user and trace context carry on.
func Correlate() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d Delivery) error {
			m := d.Metadata
			if m.CorrelationID == "" {
				m.CorrelationID = d.ID
			}
			m.CausationID = d.ID
			m.Extra = nil
			return next(eventual.ContextWithMetadata(ctx, m), d)
		}
	}
}

// Timeout bounds each handler run: its context ends after d.
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, del Delivery) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, del)
		}
	}
}

type noWaitKey struct{}

// WithoutWaiting marks ctx so that a transport that delivers in the same
// process (inproc) returns from Publish once the messages are queued, not
// once they are handled. Handlers get such a context already: a handler
// that publishes must not wait for handlers that may be waiting for it.
func WithoutWaiting(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitKey{}, true)
}

// Waiting reports whether Publish under ctx may wait for the handling of
// its messages (see WithoutWaiting).
func Waiting(ctx context.Context) bool {
	v, _ := ctx.Value(noWaitKey{}).(bool)
	return !v
}
