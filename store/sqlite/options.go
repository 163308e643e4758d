package sqlite

import (
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
)

// Synchronous is SQLite's durability setting for commits.
type Synchronous string

const (
	// SyncFull makes every commit durable before Append returns: a power
	// loss loses nothing acknowledged. The default.
	SyncFull Synchronous = "FULL"
	// SyncNormal skips the flush at each commit; a power loss (not a
	// process crash) can lose the last commits. Faster.
	SyncNormal Synchronous = "NORMAL"
)

// Option configures Open.
type Option func(*options) error

type options struct {
	maxEventSize    int
	synchronous     Synchronous
	busyTimeout     time.Duration
	pollInterval    time.Duration
	migrate         bool
	readers         int
	maxBatchEvents  int
	checkpointPages int
	now             func() time.Time
}

func defaultOptions() options {
	return options{
		maxEventSize:    eventual.DefaultMaxEventSize,
		synchronous:     SyncFull,
		busyTimeout:     10 * time.Second,
		pollInterval:    20 * time.Millisecond,
		migrate:         true,
		readers:         4,
		maxBatchEvents:  1024,
		checkpointPages: 4000,
		now:             time.Now,
	}
}

func invalidOption(format string, args ...any) error {
	return fmt.Errorf("%w: sqlite: "+format, append([]any{eventual.ErrInvalidArgument}, args...)...)
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

// WithSynchronous sets the durability of commits. Default: SyncFull.
func WithSynchronous(s Synchronous) Option {
	return func(o *options) error {
		if s != SyncFull && s != SyncNormal {
			return invalidOption("synchronous %q is neither FULL nor NORMAL", s)
		}
		o.synchronous = s
		return nil
	}
}

// WithBusyTimeout sets how long a write waits for another process that
// holds the database's write lock. Default: 10s.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return invalidOption("busy timeout %v is negative", d)
		}
		o.busyTimeout = d
		return nil
	}
}

// WithPollInterval sets how often the store checks whether another process
// committed to the same file, to wake subscriptions. Appends of this
// process wake them at once. Default: 20ms. While nobody commits, the
// checks slow down, doubling up to 200 ms apart (or d, if longer), and
// speed up again at the first commit they see: an idle process costs
// next to no CPU, and the first commit of another process after a quiet
// spell may wake subscribers up to 200 ms late.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalidOption("poll interval %v is not positive", d)
		}
		o.pollInterval = d
		return nil
	}
}

// WithoutMigrations skips applying the embedded schema migrations at Open.
// Apply them yourself with Migrate before use.
func WithoutMigrations() Option {
	return func(o *options) error {
		o.migrate = false
		return nil
	}
}

// WithReaders sets the number of reader connections. Default: 4.
func WithReaders(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidOption("readers %d is less than 1", n)
		}
		o.readers = n
		return nil
	}
}

// WithMaxBatchEvents caps the events that one group commit writes in one
// transaction. Default: 1024.
func WithMaxBatchEvents(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidOption("max batch events %d is less than 1", n)
		}
		o.maxBatchEvents = n
		return nil
	}
}

// WithCheckpointPages sets the size of the write-ahead log, in pages, at
// which a commit copies it back into the database file. Bigger means fewer
// and longer checkpoints. Default: 4000 (16 MB).
func WithCheckpointPages(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidOption("checkpoint pages %d is less than 1", n)
		}
		o.checkpointPages = n
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
