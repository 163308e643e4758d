package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/follow"
	"github.com/eventual-go/eventual/transport"
)

// ErrInvalidOption is matched by the errors of bad options, returned by New
// and NewEventRelay.
var ErrInvalidOption = errors.New("outbox: invalid option")

// maxBatchSize bounds a batch: its rows are marked sent with one statement
// of one placeholder per row, well within both backends' limits.
const maxBatchSize = 10_000

// Option configures New. The options that both New and NewEventRelay take
// are CommonOptions.
type Option interface {
	applyOutbox(*config) error
}

// RelayOption configures NewEventRelay.
type RelayOption interface {
	applyRelay(*relayConfig) error
}

// CommonOption configures New and NewEventRelay alike.
type CommonOption interface {
	Option
	RelayOption
}

// common holds the settings of both relays.
type common struct {
	batchSize              int
	poll                   time.Duration
	backoffMin, backoffMax time.Duration
	log                    *slog.Logger
}

func defaultCommon() common {
	return common{
		batchSize:  500,
		poll:       follow.DefaultPoll,
		backoffMin: 100 * time.Millisecond,
		backoffMax: 10 * time.Second,
		log:        slog.Default(),
	}
}

// config is the Outbox's configuration.
type config struct {
	common
	retention time.Duration
}

// relayConfig is the EventRelay's configuration.
type relayConfig struct {
	common
	filter  eventual.Filter
	mapping Mapping
	prefix  string
}

type commonOption func(*common) error

func (f commonOption) applyOutbox(c *config) error     { return f(&c.common) }
func (f commonOption) applyRelay(c *relayConfig) error { return f(&c.common) }

type outboxOption func(*config) error

func (f outboxOption) applyOutbox(c *config) error { return f(c) }

type relayOption func(*relayConfig) error

func (f relayOption) applyRelay(c *relayConfig) error { return f(c) }

func invalidOption(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// WithBatchSize sets how many messages (rows of the outbox, or events of
// the log) a relay publishes with one Publish call: 1 to 10,000, default
// 500.
func WithBatchSize(n int) CommonOption {
	return commonOption(func(c *common) error {
		if n < 1 || n > maxBatchSize {
			return invalidOption("batch size %d is not within 1 and %d", n, maxBatchSize)
		}
		c.batchSize = n
		return nil
	})
}

// WithPollInterval sets how often a relay looks for work when nothing woke
// it (default 1 s): the fallback that finds rows or events written by other
// processes. It must be at least 1 ms.
func WithPollInterval(d time.Duration) CommonOption {
	return commonOption(func(c *common) error {
		if d < time.Millisecond {
			return invalidOption("poll interval %v is under 1ms", d)
		}
		c.poll = d
		return nil
	})
}

// WithBackoff sets how long a relay waits after a failed publish before it
// tries the same batch again: first wait, doubling after each further
// failure up to max, and back to first after a success. Default 100 ms to
// 10 s. Both must be positive, first at most max.
func WithBackoff(first, max time.Duration) CommonOption {
	return commonOption(func(c *common) error {
		if first <= 0 || max < first {
			return invalidOption("backoff from %v to %v", first, max)
		}
		c.backoffMin, c.backoffMax = first, max
		return nil
	})
}

// WithLogger sets where a relay logs failed publishes and cleanups
// (default slog.Default()).
func WithLogger(l *slog.Logger) CommonOption {
	return commonOption(func(c *common) error {
		if l == nil {
			return invalidOption("nil logger")
		}
		c.log = l
		return nil
	})
}

// WithRetention sets how long sent rows stay in the outbox table, for
// inspection, before the relay's periodic cleanup deletes them. Default 24
// hours; 0 deletes each row as soon as it was sent. It must not be
// negative.
func WithRetention(d time.Duration) Option {
	return outboxOption(func(c *config) error {
		if d < 0 {
			return invalidOption("retention %v is negative", d)
		}
		c.retention = d
		return nil
	})
}

// WithFilter chooses the events an EventRelay publishes: those of the
// filter's types and stream prefix (default: all events). Filtering is done
// by the store, so events not chosen cost the relay nothing.
func WithFilter(f eventual.Filter) RelayOption {
	return relayOption(func(c *relayConfig) error {
		if err := f.Validate(); err != nil {
			return invalidOption("filter: %v", err)
		}
		c.filter = eventual.Filter{Types: append([]string(nil), f.Types...), StreamPrefix: f.StreamPrefix}
		return nil
	})
}

// WithMapping sets how an EventRelay turns an event into a message
// (default: DefaultMapping with the subject prefix, see WithSubjectPrefix).
// A mapping that returns false skips the event; one that returns an error
// stops the relay at that event, retrying with backoff, since skipping an
// event is never done silently.
func WithMapping(m Mapping) RelayOption {
	return relayOption(func(c *relayConfig) error {
		if m == nil {
			return invalidOption("nil mapping")
		}
		c.mapping = m
		return nil
	})
}

// WithSubjectPrefix sets the subject prefix of the default mapping: an
// event of type "order.placed" goes to prefix + ".order.placed". Default
// "events"; an empty prefix makes the subject the event type. It must be a
// subject without wildcards (dot-separated tokens). It is ignored when
// WithMapping is given.
func WithSubjectPrefix(prefix string) RelayOption {
	return relayOption(func(c *relayConfig) error {
		if prefix != "" {
			probe := transport.Message{ID: "probe", Subject: prefix + ".probe", Type: "probe"}
			if err := probe.Validate(); err != nil {
				return invalidOption("subject prefix %q: %v", prefix, err)
			}
		}
		c.prefix = prefix
		return nil
	})
}

var relayName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)
