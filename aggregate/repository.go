package aggregate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/codec"
)

// ErrNotFound means the aggregate has no stream (or no event in the range a
// temporal load asked for). It is returned wrapped together with the
// store's eventual.ErrStreamNotFound when that was the cause.
var ErrNotFound = errors.New("aggregate: not found")

// Option configures a Repository.
type Option func(*config) error

type config struct {
	snapshots   eventual.SnapshotStore
	policy      SnapshotPolicy
	async       bool
	onSnapErr   func(error)
	maxAttempts int
	streamID    func(kind, id string) string
	now         func() time.Time
	cacheSize   int
}

// WithSnapshots keeps snapshots of aggregates in store (the event store
// itself implements eventual.SnapshotStore), taken after a Save when policy
// says so. Aggregates must implement Snapshotter. Without this option the
// repository takes no snapshots and always replays the whole stream.
func WithSnapshots(store eventual.SnapshotStore, policy SnapshotPolicy) Option {
	return func(c *config) error {
		if store == nil || policy == nil {
			return fmt.Errorf("%w: aggregate: nil snapshot store or policy", eventual.ErrInvalidArgument)
		}
		c.snapshots, c.policy = store, policy
		return nil
	}
}

// Cloner is implemented by aggregates that a repository keeps in memory
// (WithCache): eventual.Cloner. Copying the struct is enough when its
// fields are values (the embedded Root included).
type Cloner[T any] = eventual.Cloner[T]

// WithCache keeps the state of up to n aggregates in memory, so that Load
// and LoadTx start from it instead of replaying events or decoding a
// snapshot: they read only the events appended after it — usually none,
// one short query. What is cached is what was committed: the state an
// aggregate had when the transaction that loaded or saved it committed
// (LoadTx, SaveTx) or when Load or Save returned. Events appended
// elsewhere (another process, another repository) are read and applied
// on the next load, so the cache never serves a stale state. The
// aggregate type must implement Cloner[T]. When full, an arbitrary entry
// makes room. n ≤ 0 is an error.
func WithCache(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: aggregate: cache size %d is not positive", eventual.ErrInvalidArgument, n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithAsyncSnapshots takes snapshot writes off the command's path: Save
// encodes the state and returns, and a background goroutine stores it.
// Close waits for the writes in flight. If the background falls behind, a
// snapshot is dropped (it is only an optimization) and reported.
func WithAsyncSnapshots() Option {
	return func(c *config) error {
		c.async = true
		return nil
	}
}

// WithSnapshotErrors sets the function told about snapshots that could not
// be taken or stored; the default logs them with slog. A failed snapshot
// never fails a Save: the events are stored.
func WithSnapshotErrors(fn func(error)) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: aggregate: nil snapshot error function", eventual.ErrInvalidArgument)
		}
		c.onSnapErr = fn
		return nil
	}
}

// WithMaxAttempts sets how many times Update tries when its Save meets a
// version conflict; the default is 3.
func WithMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: aggregate: max attempts %d is less than 1", eventual.ErrInvalidArgument, n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithStreamID sets how an aggregate's stream is named from the
// repository's kind and the aggregate's ID; the default is kind + "-" + id.
func WithStreamID(fn func(kind, id string) string) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: aggregate: nil stream ID function", eventual.ErrInvalidArgument)
		}
		c.streamID = fn
		return nil
	}
}

// WithClock sets the clock snapshot policies see; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: aggregate: nil clock", eventual.ErrInvalidArgument)
		}
		c.now = now
		return nil
	}
}

// Repository loads and saves aggregates of one kind (type T) as streams of
// events. It is safe for concurrent use; the aggregates it returns are not.
type Repository[T Aggregate] struct {
	store  eventual.Store
	codec  *codec.Registry
	kind   string
	newAgg func(id string) T
	cfg    config
	// snaps writes snapshots in the background WithAsyncSnapshots (nil
	// otherwise); txSnaps writes those of SaveTx: snaps, or a writer of
	// its own started on first use under txSnapsOnce.
	snaps       *snapshotWriter
	txSnaps     *snapshotWriter
	txSnapsOnce sync.Once
	// cache holds committed states WithCache (nil otherwise).
	cache *stateCache[T]
}

// NewRepository returns a repository of aggregates of one kind. newAgg
// returns an aggregate with no events and the given ID. Streams are named
// kind + "-" + id unless WithStreamID says otherwise.
//
// Errors: eventual.ErrInvalidArgument for a nil store, registry or
// function, an empty kind or a bad option.
func NewRepository[T Aggregate](store eventual.Store, reg *codec.Registry, kind string, newAgg func(id string) T, opts ...Option) (*Repository[T], error) {
	if store == nil || reg == nil || newAgg == nil || kind == "" {
		return nil, fmt.Errorf("%w: aggregate: a repository needs a store, a codec registry, a kind and a constructor", eventual.ErrInvalidArgument)
	}
	cfg := config{
		maxAttempts: 3,
		streamID:    func(kind, id string) string { return kind + "-" + id },
		now:         time.Now,
		onSnapErr: func(err error) {
			slog.Warn("aggregate: snapshot not taken", "kind", kind, "err", err)
		},
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Repository[T]{store: store, codec: reg, kind: kind, newAgg: newAgg, cfg: cfg}
	if cfg.cacheSize > 0 {
		if _, ok := any(newAgg("")).(Cloner[T]); !ok {
			return nil, fmt.Errorf("%w: aggregate: WithCache needs %T to implement Clone() %T", eventual.ErrInvalidArgument, newAgg(""), newAgg(""))
		}
		r.cache = &stateCache[T]{max: cfg.cacheSize, m: map[string]T{}}
	}
	if cfg.snapshots != nil && cfg.async {
		r.snaps = newSnapshotWriter(cfg.snapshots, cfg.onSnapErr)
	}
	return r, nil
}

// StreamID returns the stream of the aggregate with the given ID.
func (r *Repository[T]) StreamID(id string) string { return r.cfg.streamID(r.kind, id) }

// New returns a new aggregate with the given ID and no events; saving it
// creates its stream (and fails with a conflict if it exists).
func (r *Repository[T]) New(id string) T {
	a := r.newAgg(id)
	if a.root().id == "" {
		a.root().id = id
	}
	return a
}

// Load returns the aggregate as of its last event: from its latest usable
// snapshot and the events after it, or from all its events.
//
// Errors: ErrNotFound (with eventual.ErrStreamNotFound) when it has no
// stream; eventual.ErrStreamDeleted; the codec's errors for events it
// cannot decode; Apply's errors; the store's.
func (r *Repository[T]) Load(ctx context.Context, id string) (T, error) {
	if a, advanced, ok := r.fromCache(ctx, id, r.store.ReadStream); ok {
		if advanced {
			r.cache.put(a) // caught up with events appended elsewhere
		}
		return a, nil
	}
	a, err := r.load(ctx, id, bound{}, r.store.ReadStream)
	if err == nil && r.cache != nil {
		r.cache.put(a)
	}
	return a, err
}

// LoadTx is Load inside a transaction of the caller's: the events are read
// through tx, so they include what tx appended — a handler that updates
// the aggregate twice in one transaction sees its first change. A snapshot
// (committed) is used as by Load. Errors: those of Load.
func (r *Repository[T]) LoadTx(ctx context.Context, tx eventual.Tx, id string) (T, error) {
	a, _, ok := r.fromCache(ctx, id, tx.ReadStream)
	if !ok {
		var err error
		if a, err = r.load(ctx, id, bound{}, tx.ReadStream); err != nil {
			return a, err
		}
	}
	r.cacheAfterCommit(tx, a)
	return a, nil
}

// LoadAt returns the aggregate as of the given version of its stream: its
// state right after that event. A snapshot no later than that version is
// used. Errors: those of Load, and ErrNotFound when the stream has fewer
// events.
func (r *Repository[T]) LoadAt(ctx context.Context, id string, version uint64) (T, error) {
	if version == 0 {
		var zero T
		return zero, fmt.Errorf("%w: aggregate: version 0 holds no state", eventual.ErrInvalidArgument)
	}
	return r.load(ctx, id, bound{version: version}, r.store.ReadStream)
}

// LoadAsOf returns the aggregate as it was at time t: with the events
// recorded at or before t. It replays from the first event (snapshots do
// not say when their events were recorded). Errors: those of Load, and
// ErrNotFound when no event was recorded by t.
func (r *Repository[T]) LoadAsOf(ctx context.Context, id string, t time.Time) (T, error) {
	if t.IsZero() {
		var zero T
		return zero, fmt.Errorf("%w: aggregate: zero time", eventual.ErrInvalidArgument)
	}
	return r.load(ctx, id, bound{at: t}, r.store.ReadStream)
}

// bound limits a load to a version or a time; the zero bound loads all.
type bound struct {
	version uint64
	at      time.Time
}

func (b bound) none() bool { return b.version == 0 && b.at.IsZero() }

// readFunc reads a stream: the store's ReadStream, or a transaction's.
type readFunc func(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error]

func (r *Repository[T]) load(ctx context.Context, id string, b bound, read readFunc) (T, error) {
	var zero T
	a := r.New(id)
	root := a.root()
	stream := r.StreamID(id)
	from := uint64(1)
	staleSnapshot := false
	if r.cfg.snapshots != nil && b.at.IsZero() {
		used, stale, err := r.restore(ctx, a, stream, b.version)
		if err != nil {
			return zero, err
		}
		staleSnapshot = stale
		if used {
			from = root.version + 1
		}
	}
	for ev, err := range read(ctx, stream, eventual.ReadStreamOptions{From: from}) {
		if err != nil {
			if errors.Is(err, eventual.ErrStreamNotFound) {
				return zero, fmt.Errorf("%w: %s %q: %w", ErrNotFound, r.kind, id, err)
			}
			return zero, err
		}
		if (b.version > 0 && ev.Version > b.version) || (!b.at.IsZero() && ev.RecordedAt.After(b.at)) {
			break
		}
		if ev.Version != root.version+1 {
			return zero, fmt.Errorf("aggregate: %s %q: stream %q continues at version %d after %d (truncated with no snapshot to cover it?)",
				r.kind, id, stream, ev.Version, root.version)
		}
		if err := r.apply(a, ev); err != nil {
			return zero, err
		}
	}
	switch {
	case root.version == 0:
		return zero, fmt.Errorf("%w: %s %q has no events%s", ErrNotFound, r.kind, id, b.describe())
	case b.version > 0 && root.version < b.version:
		return zero, fmt.Errorf("%w: %s %q has no version %d: its head is %d", ErrNotFound, r.kind, id, b.version, root.version)
	}
	if staleSnapshot && b.none() {
		// Written by an older snapshot version: replace it.
		r.snapshot(ctx, a, stream)
	}
	return a, nil
}

func (b bound) describe() string {
	if !b.at.IsZero() {
		return " recorded by " + b.at.Format(time.RFC3339Nano)
	}
	return ""
}

// Save appends the aggregate's recorded events to its stream, expecting the
// version it was loaded or last saved at, then takes a snapshot if the
// policy says so. Each event carries the metadata of ctx
// (eventual.ContextWithMetadata); when ctx has no correlation ID, the events
// of one Save share a new one. Saving an aggregate with no recorded events
// does nothing. After a failure, saving again is safe: the events keep
// their IDs, so an append that did reach the store is not repeated.
//
// Errors: a *eventual.ConflictError (matches eventual.ErrConflict) when
// the stream moved on: load the aggregate again and decide again; the
// codec's and the store's errors.
func (r *Repository[T]) Save(ctx context.Context, a T) error {
	if err := r.save(ctx, a, r.store.Append, true); err != nil {
		return err
	}
	if r.cache != nil {
		r.cache.put(a)
	}
	return nil
}

// SaveTx is Save inside a transaction of the caller's: the events commit
// with the caller's own writes (an outbox row, a read model) or not at all.
// When the policy asks for a snapshot, the state is encoded now and stored
// in the background once tx has committed. If the transaction rolls back,
// discard the aggregate: it believes its events stored.
func (r *Repository[T]) SaveTx(ctx context.Context, tx eventual.Tx, a T) error {
	if len(a.root().pending) == 0 {
		return nil
	}
	if err := r.save(ctx, a, tx.Append, false); err != nil {
		return err
	}
	r.snapshotAfterCommit(tx, a, r.StreamID(a.root().id))
	r.cacheAfterCommit(tx, a)
	return nil
}

type appendFunc func(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error)

func (r *Repository[T]) save(ctx context.Context, a T, appendTo appendFunc, snapshot bool) error {
	root := a.root()
	if len(root.pending) == 0 {
		return nil
	}
	meta := eventual.MetadataFromContext(ctx)
	if meta.CorrelationID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		meta.CorrelationID = id.String()
	}
	events := make([]eventual.EventData, len(root.pending))
	for i, p := range root.pending {
		ed, err := r.codec.Encode(p.event)
		if err != nil {
			return fmt.Errorf("aggregate: %s %q: %w", r.kind, root.id, err)
		}
		ed.ID, ed.Metadata = p.id, meta
		events[i] = ed
	}
	stream := r.StreamID(root.id)
	res, err := appendTo(ctx, stream, eventual.Exact(root.stored), events...)
	if err != nil {
		return err
	}
	root.stored, root.version, root.pending = res.LastVersion, res.LastVersion, nil
	if snapshot {
		r.maybeSnapshot(ctx, a, stream)
	}
	return nil
}

// Update loads the aggregate, runs fn on it and saves it; when the save
// meets a version conflict, it does it all again on a fresh load, up to the
// repository's max attempts (3 unless WithMaxAttempts). fn must only decide
// and record: it may run more than once. An error of fn is returned as it
// is and nothing is saved.
//
// Errors: those of Load, fn and Save; after the last attempt, the last
// conflict.
func (r *Repository[T]) Update(ctx context.Context, id string, fn func(T) error) (T, error) {
	var zero T
	var err error
	for range r.cfg.maxAttempts {
		var a T
		if a, err = r.Load(ctx, id); err != nil {
			return zero, err
		}
		if err := fn(a); err != nil {
			return zero, err
		}
		if err = r.Save(ctx, a); err == nil {
			return a, nil
		}
		if !errors.Is(err, eventual.ErrConflict) {
			return zero, err
		}
	}
	return zero, err
}

// Close waits for the snapshot writes in flight in the background (those
// of a repository made WithAsyncSnapshots, and those of SaveTx). Call it
// when done with the repository.
func (r *Repository[T]) Close() error {
	r.txSnapsOnce.Do(func() {}) // no writer starts after this
	if r.txSnaps != nil && r.txSnaps != r.snaps {
		r.txSnaps.close()
	}
	if r.snaps != nil {
		r.snaps.close()
	}
	return nil
}

// fromCache returns a copy of the cached state of id brought up to date
// with the events read after it (advanced: there were some), if the cache
// holds id and those events follow on; otherwise the caller loads it in
// full.
func (r *Repository[T]) fromCache(ctx context.Context, id string, read readFunc) (a T, advanced, ok bool) {
	var zero T
	if r.cache == nil {
		return zero, false, false
	}
	c, ok := r.cache.get(id)
	if !ok {
		return zero, false, false
	}
	a = any(c).(Cloner[T]).Clone()
	root := a.root()
	for ev, err := range read(ctx, r.StreamID(id), eventual.ReadStreamOptions{From: root.version + 1}) {
		if err != nil || ev.Version != root.version+1 {
			r.cache.drop(id) // deleted, truncated past it, or the store failed: load in full
			return zero, false, false
		}
		if err := r.apply(a, ev); err != nil {
			return zero, false, false // the full load reports it
		}
		advanced = true
	}
	return a, advanced, true
}

// apply decodes a stored event of a and applies it: a is then at its
// version.
func (r *Repository[T]) apply(a T, ev eventual.RecordedEvent) error {
	root := a.root()
	event, err := r.codec.Decode(ev)
	if err != nil {
		return fmt.Errorf("aggregate: %s %q: %w", r.kind, root.id, err)
	}
	if event != nil {
		if err := a.Apply(event); err != nil {
			return fmt.Errorf("aggregate: %s %q: apply %q at version %d: %w", r.kind, root.id, ev.Type, ev.Version, err)
		}
	}
	root.version, root.stored = ev.Version, ev.Version
	return nil
}

// cacheAfterCommit caches a's state once tx commits, unless it then has
// events not saved (they would not be committed).
func (r *Repository[T]) cacheAfterCommit(tx eventual.Tx, a T) {
	root := a.root()
	if r.cache == nil || root.cacheQueued {
		return
	}
	root.cacheQueued = true
	tx.AfterCommit(func() {
		root.cacheQueued = false
		r.cache.put(a)
	})
}

// stateCache maps aggregate IDs to committed states, each a copy no
// caller holds.
type stateCache[T Aggregate] struct {
	mu  sync.Mutex
	max int
	m   map[string]T
}

func (c *stateCache[T]) get(id string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[id]
	return a, ok
}

// put caches a copy of a, unless a has events not saved, or the cache
// holds a later version (transactions may commit out of order).
func (c *stateCache[T]) put(a T) {
	root := a.root()
	if len(root.pending) > 0 || root.version == 0 {
		return
	}
	cp := any(a).(Cloner[T]).Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[root.id]; ok && old.root().version > root.version {
		return
	}
	if _, ok := c.m[root.id]; !ok && len(c.m) >= c.max {
		for id := range c.m { // an arbitrary one makes room
			delete(c.m, id)
			break
		}
	}
	c.m[root.id] = cp
}

func (c *stateCache[T]) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
