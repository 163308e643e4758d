package inbox

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/component"
	"github.com/eventual-go/eventual/transport"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrations returns the inbox's schema migrations for a dialect (goose SQL
// files, applied by New through eventual.Migrator.MigrateComponent with the
// component name "inbox"), for operators who apply migrations with their
// own tools. Errors: eventual.ErrUnsupported for a dialect other than
// SQLite and PostgreSQL.
func Migrations(d eventual.Dialect) (fs.FS, error) {
	return component.Migrations(migrations, "inbox", d)
}

// ErrInvalidOption is matched by the errors of bad options, returned by
// New.
var ErrInvalidOption = errors.New("inbox: invalid option")

// Option configures New.
type Option func(*options) error

type options struct {
	retention time.Duration
	log       *slog.Logger
}

// DefaultRetention is how long the inbox remembers a handled message by
// default.
const DefaultRetention = 7 * 24 * time.Hour

// WithRetention sets how long the inbox remembers that a consumer handled
// a message (default 7 days). A redelivery after that is handled again, so
// it must be longer than the broker may redeliver a message: longer than
// its redelivery window plus the longest outage you expect. It must be
// positive.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: retention %v is not positive", ErrInvalidOption, d)
		}
		o.retention = d
		return nil
	}
}

// WithLogger sets where Run logs failed cleanups (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.log = l
		return nil
	}
}

// Inbox records which messages each consumer has handled, in the same
// transaction as the handling's effects. Create it with New; it is safe
// for concurrent use.
type Inbox struct {
	store eventual.TxStore
	opts  options
}

// New returns the inbox of store, creating its table if needed. store must
// be a SQL store (eventual.Migrator: SQLite or PostgreSQL).
//
// Errors: ErrInvalidOption; eventual.ErrUnsupported for another store;
// eventual.ErrInvalidArgument for a nil store; the migration's error.
func New(ctx context.Context, store eventual.TxStore, opts ...Option) (*Inbox, error) {
	o := options{retention: DefaultRetention, log: slog.Default()}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if _, err := component.Migrate(ctx, store, "inbox", migrations); err != nil {
		return nil, err
	}
	return &Inbox{store: store, opts: o}, nil
}

// Handle runs fn for the message messageID unless consumer has handled it
// already, in one transaction of the store with the mark that it has: fn's
// writes through tx and the mark commit together, or neither does.
//
// It returns (true, nil) when fn ran and committed, and (false, nil)
// without running fn for a duplicate: a message the consumer handled
// before (within the retention). When fn fails, its error is returned as
// it is, with nothing recorded, so a redelivery runs fn again. Two
// deliveries of one message handled at once run fn once: the second waits
// for the first's transaction and then sees a duplicate (or, if the first
// rolled back, runs fn itself).
//
// consumer names who handles the message (a consumer group, a projection):
// each consumer handles each message once. Errors: eventual.ErrInvalidArgument
// for an empty consumer or message ID, text that is not valid UTF-8 or
// holds a NUL byte, or a nil fn; fn's error; the context's or the
// database's.
func (i *Inbox) Handle(ctx context.Context, consumer, messageID string, fn func(tx eventual.Tx) error) (handled bool, err error) {
	if err := validText("consumer", consumer); err != nil {
		return false, err
	}
	if err := validText("message ID", messageID); err != nil {
		return false, err
	}
	if fn == nil {
		return false, fmt.Errorf("%w: inbox: nil fn", eventual.ErrInvalidArgument)
	}
	var fnErr error
	err = i.store.InTx(ctx, func(tx eventual.Tx) error {
		n, err := tx.Exec(ctx, `INSERT INTO eventual_inbox (consumer, message_id, received_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, consumer, messageID, time.Now().UnixMicro())
		if err != nil {
			return fmt.Errorf("inbox: record %s for %s: %w", messageID, consumer, err)
		}
		if n == 0 {
			return nil // a duplicate: commit nothing
		}
		handled = true
		if fnErr = fn(tx); fnErr != nil {
			return fnErr
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return false, fnErr // as it is, whatever the store made of it
	case err != nil:
		return false, err
	}
	return handled, nil
}

func validText(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: inbox: empty %s", eventual.ErrInvalidArgument, what)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: inbox: %s %q is not valid UTF-8 without NUL bytes", eventual.ErrInvalidArgument, what, s)
	}
	return nil
}

// TxHandler handles a delivery inside the inbox's transaction: its writes
// through tx commit with the mark that the message was handled.
type TxHandler func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error

// Handler returns a transport handler that runs h once per message and
// consumer group (d.Group is the consumer): a duplicate delivery is
// acknowledged without running h, and h's error is returned as it is, so
// the transport redelivers the message, or drops it for a
// transport.Terminate error. Wrap it in middleware like any handler.
func (i *Inbox) Handler(h TxHandler) transport.Handler {
	return func(ctx context.Context, d transport.Delivery) error {
		if h == nil {
			return transport.Terminate(fmt.Errorf("%w: inbox: nil handler", eventual.ErrInvalidArgument))
		}
		_, err := i.Handle(ctx, d.Group, d.ID, func(tx eventual.Tx) error { return h(ctx, tx, d) })
		return err
	}
}

// cleanupChunk is the most rows one cleanup statement deletes, so that no
// transaction holds the writer long.
const cleanupChunk = 5000

// Cleanup forgets the messages handled longer ago than the retention and
// returns how many it forgot. Errors: the context's or the database's.
func (i *Inbox) Cleanup(ctx context.Context) (int64, error) {
	cutoff := time.Now().Add(-i.opts.retention).UnixMicro()
	var total int64
	for {
		var n int64
		err := i.store.InTx(ctx, func(tx eventual.Tx) error {
			var err error
			n, err = tx.Exec(ctx, `DELETE FROM eventual_inbox WHERE (consumer, message_id) IN (
				SELECT consumer, message_id FROM eventual_inbox WHERE received_at < $1 LIMIT $2)`,
				cutoff, cleanupChunk)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("inbox: cleanup: %w", err)
		}
		total += n
		if n < cleanupChunk {
			return total, nil
		}
	}
}

// CleanupEvery is how often Run cleans up.
const CleanupEvery = time.Hour

// Run cleans up at once and then every hour (CleanupEvery) until ctx
// ends, then returns nil. A failed cleanup is logged and tried again at
// the next one. Run it in one process per database (more is harmless).
func (i *Inbox) Run(ctx context.Context) error {
	t := time.NewTicker(CleanupEvery)
	defer t.Stop()
	for {
		if n, err := i.Cleanup(ctx); err != nil && ctx.Err() == nil {
			i.opts.log.Warn("inbox: cleanup failed", "err", err)
		} else if n > 0 {
			i.opts.log.Debug("inbox: cleaned up", "forgotten", n)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}
