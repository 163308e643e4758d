package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/follow"
)

// ErrInvalidOption is matched by the errors of bad options.
var ErrInvalidOption = errors.New("projection: invalid option")

// State is what a projection is doing.
type State string

// The states of a projection.
const (
	// StateRunning: following the log.
	StateRunning State = "running"
	// StateRebuilding: following the log, and filling new tables from the
	// start of the log to swap in when they catch up.
	StateRebuilding State = "rebuilding"
	// StateFailed: stopped at an event its handler kept failing on, until
	// Resume or Skip (or a restart, which resumes).
	StateFailed State = "failed"
)

type options struct {
	batch, rebuildBatch int
	attempts            int
	backoff             func(attempt int) time.Duration
	poll                time.Duration
	saveEvery           time.Duration
	durable             bool
	log                 *slog.Logger
}

// Option configures a Runner.
type Option func(*options) error

// WithBatchSize sets how many events a projection handles per transaction
// while following the log (default 256) and while rebuilding (default
// 2000).
func WithBatchSize(live, rebuild int) Option {
	return func(o *options) error {
		if live < 1 || rebuild < 1 {
			return fmt.Errorf("%w: batch sizes %d and %d must be positive", ErrInvalidOption, live, rebuild)
		}
		o.batch, o.rebuildBatch = live, rebuild
		return nil
	}
}

// WithRetry sets how many times an event whose handler fails is tried
// before the projection is marked failed (default 5), and the wait after
// the attempt-th failure (default 100 ms doubling, at most 10 s). Store
// errors (the database unreachable) are retried with the same backoff for
// as long as they last, without failing the projection.
func WithRetry(attempts int, backoff func(attempt int) time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 {
			return fmt.Errorf("%w: %d attempts", ErrInvalidOption, attempts)
		}
		o.attempts = attempts
		if backoff != nil {
			o.backoff = backoff
		}
		return nil
	}
}

// WithPoll sets how often a projection looks for new events when nothing
// woke it (default 1 s): the fallback for appends by other processes that
// were not notified.
func WithPoll(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: poll interval %v", ErrInvalidOption, d)
		}
		o.poll = d
		return nil
	}
}

// WithDurableCommits makes every projection transaction wait for the
// database to flush it. By default projection transactions commit without
// waiting (PostgreSQL: synchronous_commit off; SQLite opened with
// SyncFull: synchronous NORMAL for the transaction): they become visible
// sooner, and a crash of the machine can lose only the last of them —
// rows and checkpoint together, so the events are applied again.
func WithDurableCommits() Option {
	return func(o *options) error { o.durable = true; return nil }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.log = l
		return nil
	}
}

func defaultBackoff(attempt int) time.Duration {
	return min(100*time.Millisecond<<min(attempt-1, 10), 10*time.Second)
}

// Runner runs projections: each follows the global log from its own
// checkpoint, in its own goroutine, so that one failing projection stops
// only itself. Create it with NewRunner, Add projections, Start it, and
// Close it when the process stops.
type Runner struct {
	store eventual.TxStore
	opts  options

	mu      sync.Mutex
	workers map[string]*worker
	names   []string
	running bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewRunner returns a runner of projections over store, which must be a
// SQL store (eventual.Migrator: SQLite or PostgreSQL).
// Errors: ErrInvalidOption; eventual.ErrUnsupported for other stores.
func NewRunner(store eventual.TxStore, opts ...Option) (*Runner, error) {
	if _, ok := store.(eventual.Migrator); !ok {
		return nil, fmt.Errorf("%w: projections need a SQL store (SQLite or PostgreSQL)", eventual.ErrUnsupported)
	}
	o := options{batch: 256, rebuildBatch: 2000, attempts: 5, backoff: defaultBackoff,
		poll: follow.DefaultPoll, saveEvery: time.Second, log: slog.Default()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Runner{store: store, opts: o, workers: map[string]*worker{}}, nil
}

// Add adds projections; call it before Start. Errors:
// eventual.ErrInvalidArgument for a bad projection or a name used twice.
func (r *Runner) Add(ps ...Projection) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running || r.closed {
		return fmt.Errorf("%w: add projections before Start", eventual.ErrInvalidArgument)
	}
	for _, p := range ps {
		if err := p.validate(); err != nil {
			return err
		}
		if r.workers[p.Name] != nil {
			return fmt.Errorf("%w: projection %s added twice", eventual.ErrInvalidArgument, p.Name)
		}
		r.workers[p.Name] = newWorker(r, p)
		r.names = append(r.names, p.Name)
	}
	return nil
}

// Start creates the runner's table, sets up each new projection's tables,
// starts the rebuild of each projection whose Version changed, and starts
// following the log in the background until Close. A projection that had
// failed is tried again. ctx bounds the set-up only.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running || r.closed {
		return fmt.Errorf("%w: Start called twice, or after Close", eventual.ErrInvalidArgument)
	}
	if err := migrate(ctx, r.store); err != nil {
		return err
	}
	for _, name := range r.names {
		if err := r.workers[name].init(ctx); err != nil {
			return err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.running = true
	for _, name := range r.names {
		w := r.workers[name]
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(runCtx)
		}()
	}
	return nil
}

// Close stops every projection, waiting for the batches under way to
// commit or roll back.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
	r.mu.Lock()
	r.running = false
	r.mu.Unlock()
	for _, w := range r.workers {
		w.progress.Notify()
	}
	return nil
}

func (r *Runner) worker(name string) (*worker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.workers[name]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	if !r.running {
		return nil, ErrNotRunning
	}
	return w, nil
}

// WaitFor waits until the projection has seen the log up to position (an
// AppendResult's LastPosition), so that a read of its tables shows that
// write: read-your-writes. Bound the wait with ctx.
// Errors: ErrUnknown; *FailedError when the projection failed before
// position; ErrNotRunning; the context's, wrapped.
func (r *Runner) WaitFor(ctx context.Context, name string, position uint64) error {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	return w.waitFor(ctx, position)
}

// WaitForAll waits until every projection has seen the log up to
// position, as WaitFor does.
func (r *Runner) WaitForAll(ctx context.Context, position uint64) error {
	for _, name := range r.names {
		if err := r.WaitFor(ctx, name, position); err != nil {
			return err
		}
	}
	return nil
}

// Rebuild rebuilds the projection without downtime: new tables are set up
// and filled from the start of the log while the current ones keep
// serving; once they have caught up, the views swap to them and the old
// tables are dropped, in one transaction. Rebuild returns once the new
// tables are set up; Status shows the progress. Errors: ErrUnknown,
// ErrNotRunning, ErrRebuilding, *FailedError (resume or skip first),
// eventual.ErrInvalidArgument for a projection without Tables.
func (r *Runner) Rebuild(ctx context.Context, name string) error {
	return r.command(ctx, name, command{kind: cmdRebuild})
}

// Resume makes a failed projection try its failing event again (after the
// cause was fixed). Resuming a projection that has not failed does
// nothing. Errors: ErrUnknown, ErrNotRunning.
func (r *Runner) Resume(ctx context.Context, name string) error {
	return r.command(ctx, name, command{kind: cmdResume})
}

// Skip makes a failed projection go on after its failing event, leaving
// that one event out, on purpose: position must be the failing event's
// (Status shows it), so that nothing else is skipped by mistake. Errors:
// ErrUnknown, ErrNotRunning, eventual.ErrInvalidArgument when the
// projection has not failed at position.
func (r *Runner) Skip(ctx context.Context, name string, position uint64) error {
	return r.command(ctx, name, command{kind: cmdSkip, position: position})
}

func (r *Runner) command(ctx context.Context, name string, c command) error {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	c.done = make(chan error, 1)
	select {
	case w.cmds <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status describes a projection.
type Status struct {
	Name    string
	Version int
	State   State
	// Generation is the active generation of the tables.
	Generation int
	// Checkpoint is the position up to which the tables reflect the log;
	// Head is the position of the last event in the log.
	Checkpoint, Head uint64
	// LagEvents is Head − Checkpoint: the events behind, where positions
	// have no gaps (they may, on PostgreSQL, and filtered out events count
	// too).
	LagEvents uint64
	// Lag is the age of the oldest event the projection has yet to
	// handle: 0 when caught up.
	Lag time.Duration
	// FailedPosition is the failing event's position when State is
	// StateFailed.
	FailedPosition uint64
	// LastError is the last error seen, and when; it stays after recovery.
	LastError   string
	LastErrorAt time.Time
	// Rebuild is the progress of the rebuild under way, if any.
	Rebuild *RebuildStatus
}

// RebuildStatus is the progress of a rebuild.
type RebuildStatus struct {
	Generation int
	Version    int
	// Checkpoint is the position up to which the new tables reflect the
	// log.
	Checkpoint uint64
	Started    time.Time
}

// Status returns the status of every projection, in the order they were
// added. Errors: the store's.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	head, err := r.store.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(r.names))
	for _, name := range r.names {
		s, err := r.workers[name].status(ctx, head)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// StatusOf returns one projection's status. Errors: ErrUnknown, the
// store's.
func (r *Runner) StatusOf(ctx context.Context, name string) (Status, error) {
	r.mu.Lock()
	w := r.workers[name]
	r.mu.Unlock()
	if w == nil {
		return Status{}, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	head, err := r.store.HeadPosition(ctx)
	if err != nil {
		return Status{}, err
	}
	return w.status(ctx, head)
}
