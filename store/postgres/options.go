package postgres

import (
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventual-go/eventual"
)

// Option configures Open and New.
type Option func(*options) error

type options struct {
	schema         string
	maxEventSize   int
	migrate        bool
	writers        int
	maxBatchEvents int
	pollInterval   time.Duration
	poolConfig     func(*pgxpool.Config)
	now            func() time.Time
}

func defaultOptions() options {
	return options{
		schema:         "eventual",
		maxEventSize:   eventual.DefaultMaxEventSize,
		migrate:        true,
		writers:        1,
		maxBatchEvents: 1024,
		pollInterval:   time.Second,
		now:            time.Now,
	}
}

func invalidOption(format string, args ...any) error {
	return fmt.Errorf("%w: postgres: "+format, append([]any{eventual.ErrInvalidArgument}, args...)...)
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSchema sets the schema that holds the store's tables; Open creates
// it if needed. Stores in different schemas of one database are separate
// stores. The name must be a lower-case SQL identifier ([a-z_][a-z0-9_]*,
// at most 63 characters). Default: "eventual".
func WithSchema(name string) Option {
	return func(o *options) error {
		if !schemaName.MatchString(name) {
			return invalidOption("schema name %q is not a lower-case identifier of at most 63 characters", name)
		}
		o.schema = name
		return nil
	}
}

// WithMaxEventSize sets the largest accepted event in bytes (see
// eventual.EventSize). Default: eventual.DefaultMaxEventSize (1 MiB).
func WithMaxEventSize(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return invalidOption("max event size %d is not positive", n)
		}
		o.maxEventSize = n
		return nil
	}
}

// WithoutMigrations skips creating the schema and applying the embedded
// migrations at Open. Apply them yourself with Migrate before use.
func WithoutMigrations() Option {
	return func(o *options) error {
		o.migrate = false
		return nil
	}
}

// WithWriters sets how many group-commit batches may be in flight at once,
// each on its own connection. They still commit one after the other (that
// keeps positions in commit order); more than one lets a batch wait at the
// server while another commits, but splits the callers into smaller
// batches. Measured here (docs/adr/0002), one is best for single-event
// appends. Default: 1.
func WithWriters(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 64 {
			return invalidOption("writers %d is not between 1 and 64", n)
		}
		o.writers = n
		return nil
	}
}

// WithMaxBatchEvents caps the events one group commit writes. Default 1024.
func WithMaxBatchEvents(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidOption("max batch events %d is less than 1", n)
		}
		o.maxBatchEvents = n
		return nil
	}
}

// WithPollInterval sets how often an idle subscription checks for new
// events even without a notification, in case one was lost (LISTEN/NOTIFY
// wakes subscriptions at once otherwise). Default: 1s.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalidOption("poll interval %v is not positive", d)
		}
		o.pollInterval = d
		return nil
	}
}

// WithPoolConfig lets the caller adjust the connection pool's settings
// (size, lifetimes, TLS, …) before Open connects. Pool settings can also be
// given in the DSN (pool_max_conns=…, see pgxpool.ParseConfig).
func WithPoolConfig(fn func(*pgxpool.Config)) Option {
	return func(o *options) error {
		if fn == nil {
			return invalidOption("nil pool config function")
		}
		o.poolConfig = fn
		return nil
	}
}

// WithClock sets the clock that stamps RecordedAt. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return invalidOption("nil clock")
		}
		o.now = now
		return nil
	}
}
