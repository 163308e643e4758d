package saga

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/component"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/transport"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors of the orchestrator. Match them with errors.Is.
var (
	// ErrNotFound means there is no instance of that ID.
	ErrNotFound = errors.New("saga: instance not found")
	// ErrNotRunning means Run is not running: nothing processes starts,
	// replies and repairs.
	ErrNotRunning = errors.New("saga: orchestrator not running")
	// ErrInvalidOption is matched by the errors of bad options.
	ErrInvalidOption = errors.New("saga: invalid option")
)

type options struct {
	log   *slog.Logger
	now   func() time.Time
	poll  time.Duration
	batch int
	cache int
}

// Option configures an Orchestrator.
type Option func(*options) error

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

// WithClock sets the clock the timers follow (default time.Now): tests
// move a fake one and call FireTimers.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		o.now = now
		return nil
	}
}

// WithPollInterval sets how often the scheduler looks for due timers
// (default 200 ms): the precision of timeouts and retries.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: poll interval %v", ErrInvalidOption, d)
		}
		o.poll = d
		return nil
	}
}

// WithBatchSize sets how many starts, replies and timers at most one
// transaction handles (default 256).
func WithBatchSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: batch size %d", ErrInvalidOption, n)
		}
		o.batch = n
		return nil
	}
}

// WithStateCache keeps up to n running instances' states in memory once
// the transactions that wrote them commit (default 0: none). A transaction
// then reads only the versions of the instances it works on and decodes
// the rows of those whose version the cache does not hold (changed by
// another process, or never seen), so it is never stale. D must implement
// eventual.Cloner[D]: steps get the state's data by pointer, and must not
// change the cached copy.
func WithStateCache(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: state cache size %d", ErrInvalidOption, n)
		}
		o.cache = n
		return nil
	}
}

// Orchestrator runs the instances of one saga definition: it starts them,
// sends their commands through the outbox, consumes their replies, fires
// their timers and carries out repairs, each change of an instance in one
// transaction with the commands it sends and its history events. Create it
// with NewOrchestrator, run it with Run, and subscribe its replies with
// Subscribe.
type Orchestrator[D any] struct {
	def   *Definition[D]
	store eventual.TxStore
	out   *outbox.Outbox
	log   *slog.Logger
	opts  options

	queue   chan *item[D]
	running atomic.Bool
	cache   *stateCache[D] // nil: none
}

// NewOrchestrator returns the orchestrator of def over store, which must
// be a SQL store (SQLite or PostgreSQL), sending commands through out (an
// outbox of the same store, relayed to the transport by its Relay). It
// creates the saga table if needed.
// Errors: ErrInvalidOption; eventual.ErrInvalidArgument for a nil
// argument; eventual.ErrUnsupported for another store; the migration's.
func NewOrchestrator[D any](ctx context.Context, store eventual.TxStore, def *Definition[D], out *outbox.Outbox, opts ...Option) (*Orchestrator[D], error) {
	o := options{log: slog.Default(), now: time.Now, poll: 200 * time.Millisecond, batch: 256}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if def == nil || out == nil {
		return nil, fmt.Errorf("%w: saga: nil definition or outbox", eventual.ErrInvalidArgument)
	}
	var cache *stateCache[D]
	if o.cache > 0 {
		if cache = newStateCache[D](o.cache); cache == nil {
			return nil, fmt.Errorf("%w: a state cache needs the saga's data (%T) to implement eventual.Cloner", ErrInvalidOption, *new(D))
		}
	}
	if _, err := component.Migrate(ctx, store, "saga", migrations); err != nil {
		return nil, err
	}
	return &Orchestrator[D]{def: def, store: store, out: out, log: o.log, opts: o,
		queue: make(chan *item[D], 4*o.batch), cache: cache}, nil
}

// Definition returns the saga's definition.
func (o *Orchestrator[D]) Definition() *Definition[D] { return o.def }

// itemKind is what an item asks.
type itemKind int

const (
	kindStart itemKind = iota
	kindReply
	kindTimer
	kindRepair
)

// item is a piece of work for the orchestrator's loop.
type item[D any] struct {
	kind   itemKind
	id     string
	data   D
	meta   eventual.Metadata
	d      transport.Delivery
	op     RepairOp
	reason string

	started bool  // a start began an instance
	err     error // the item's own outcome
	done    chan error
}

// submit hands it to the loop and waits for its outcome.
func (o *Orchestrator[D]) submit(ctx context.Context, it *item[D]) error {
	if !o.running.Load() {
		return ErrNotRunning
	}
	it.done = make(chan error, 1)
	select {
	case o.queue <- it:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Running reports whether Run is running.
func (o *Orchestrator[D]) Running() bool { return o.running.Load() }

// Run processes starts, replies, timers and repairs until ctx ends, then
// returns nil. Work from many callers is handled in batches, one
// transaction each. Errors: a second Run at once.
func (o *Orchestrator[D]) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: saga %s: Run is running already", eventual.ErrInvalidArgument, o.def.name)
	}
	var wg sync.WaitGroup
	defer func() {
		o.running.Store(false)
		wg.Wait()
		o.drain(ctx.Err())
	}()
	wg.Go(func() { o.schedule(ctx) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-o.queue:
			batch := o.gather(it)
			o.process(ctx, batch)
		}
	}
}

// gather takes what is queued after first, up to the batch size, giving
// the callers just woken a moment to queue theirs.
func (o *Orchestrator[D]) gather(first *item[D]) []*item[D] {
	batch := []*item[D]{first}
	for spins := 0; len(batch) < o.opts.batch && spins < 3; {
		select {
		case it := <-o.queue:
			batch = append(batch, it)
		default:
			spins++
			runtime.Gosched()
		}
	}
	return batch
}

// drain fails what is queued once Run stops.
func (o *Orchestrator[D]) drain(err error) {
	if err == nil {
		err = ErrNotRunning
	}
	for {
		select {
		case it := <-o.queue:
			it.done <- err
		default:
			return
		}
	}
}

// process handles a batch in one transaction; if the transaction fails, it
// handles each item in a transaction of its own, so that one bad item
// fails alone.
func (o *Orchestrator[D]) process(ctx context.Context, batch []*item[D]) {
	err := o.store.InTx(ctx, func(tx eventual.Tx) error { return o.apply(ctx, tx, batch, true) })
	if errors.Is(err, errLocalFailed) {
		// A local function failed with no savepoint around it: run the
		// batch again with one around each.
		err = o.store.InTx(ctx, func(tx eventual.Tx) error { return o.apply(ctx, tx, batch, false) })
	}
	if err != nil && len(batch) > 1 {
		for _, it := range batch {
			err := o.store.InTx(ctx, func(tx eventual.Tx) error { return o.apply(ctx, tx, []*item[D]{it}, false) })
			it.done <- errors.Join(err, it.err)
		}
		return
	}
	for _, it := range batch {
		it.done <- errors.Join(err, it.err)
	}
}

// errLocalFailed ends a transaction of the loop in which a local
// function failed outside a savepoint: what it wrote cannot be undone
// alone, so the batch runs again with savepoints (process).
var errLocalFailed = errors.New("saga: a local function failed; the batch runs again with savepoints")

// apply carries out items in tx. Optimistic, it runs local functions
// without a savepoint around each (SQLite writes a transaction's pending
// rows before a savepoint, so each one also split the batch's inserts)
// and fails with errLocalFailed if one fails; otherwise a failing local
// function is rolled back alone, and the saga retries or compensates.
func (o *Orchestrator[D]) apply(ctx context.Context, tx eventual.Tx, items []*item[D], optimistic bool) error {
	x := &txn[D]{o: o, ctx: ctx, tx: tx, now: o.opts.now(), optimistic: optimistic}
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if !seen[it.id] {
			seen[it.id] = true
			ids = append(ids, it.id)
		}
	}
	states, err := o.load(ctx, tx, ids)
	if err != nil {
		return err
	}
	order := make([]*state[D], 0, len(ids))
	for _, id := range ids {
		if st := states[id]; st != nil {
			order = append(order, st)
		}
	}
	for _, it := range items {
		it.started, it.err = false, nil
		st := states[it.id]
		switch it.kind {
		case kindStart:
			if st != nil {
				continue // started before: nothing to do
			}
			// Steps change the data through a pointer: they get a copy, so
			// that an attempt that rolls back (a failed batch retried item
			// by item, a caller retrying StartTx) leaves the caller's value
			// as it was.
			data, err := copyData(&it.data)
			if err != nil {
				it.err = err
				continue
			}
			st = &state[D]{name: o.def.name, id: it.id, data: data, meta: it.meta, isNew: true, startedAt: x.now}
			states[it.id] = st
			order = append(order, st)
			x.start(st)
			it.started = true
		case kindReply:
			if st == nil {
				o.log.Warn("saga: reply for an unknown instance ignored", "saga", o.def.name, "id", it.id, "reply", it.d.ID)
				continue
			}
			x.reply(st, it.d)
		case kindTimer:
			if st != nil {
				x.timer(st)
			}
		case kindRepair:
			if st == nil {
				it.err = fmt.Errorf("%w: %s %s", ErrNotFound, o.def.name, it.id)
				continue
			}
			it.err = x.repair(st, it.op, it.reason)
		}
	}
	if x.localFailed {
		return errLocalFailed
	}
	return o.write(x, order)
}

// write saves the changed instances, queues their commands in the outbox
// and appends their history, all in x's transaction.
func (o *Orchestrator[D]) write(x *txn[D], states []*state[D]) error {
	if len(x.commands) > 0 {
		if err := o.out.Add(x.ctx, x.tx, x.commands...); err != nil {
			return err
		}
	}
	if err := saveAll(x.ctx, x.tx, o.def.name, states, x.now); err != nil {
		return err
	}
	var appends []eventual.AppendRequest
	for _, st := range states {
		if !st.changed() {
			continue
		}
		e, err := st.historyEvent()
		if err != nil {
			return err
		}
		appends = append(appends, eventual.AppendRequest{StreamID: StreamID(st.name, st.id),
			Expected: eventual.Exact(st.version), Events: []eventual.EventData{e}})
	}
	if len(appends) > 0 {
		if _, err := x.tx.AppendMulti(x.ctx, appends...); err != nil {
			return err
		}
	}
	o.remember(x, states)
	return nil
}

// Start starts instance id with data, in a transaction of the loop's
// (batched with others), with the metadata of ctx (eventual.
// MetadataFromContext) as the correlation of its commands. It returns
// false when the instance exists already (whatever its data): starting is
// idempotent. Errors: eventual.ErrInvalidArgument for a bad ID;
// ErrNotRunning; the store's; the context's.
func (o *Orchestrator[D]) Start(ctx context.Context, id string, data D) (bool, error) {
	if err := validID(id); err != nil {
		return false, err
	}
	it := &item[D]{kind: kindStart, id: id, data: data, meta: eventual.MetadataFromContext(ctx)}
	err := o.submit(ctx, it)
	return it.started, err
}

// StartTx starts instance id in the caller's transaction: the instance,
// its first command and its history commit or roll back with whatever else
// tx writes (the event that asked for it, say). It returns false when the
// instance exists already. Errors: as Start, but for ErrNotRunning; the
// instance proceeds once Run runs.
func (o *Orchestrator[D]) StartTx(ctx context.Context, tx eventual.Tx, id string, data D) (bool, error) {
	if err := validID(id); err != nil {
		return false, err
	}
	it := &item[D]{kind: kindStart, id: id, data: data, meta: eventual.MetadataFromContext(ctx)}
	if err := o.apply(ctx, tx, []*item[D]{it}, false); err != nil {
		return false, err
	}
	return it.started, nil
}

// StartFrom returns a projection (named name) that starts an instance for
// each event of the log that filter keeps and fn maps to an instance ID
// and data (ok false skips the event). Add it to a projection.Runner: the
// start and the projection's checkpoint commit together, so each event
// starts its instance once.
func (o *Orchestrator[D]) StartFrom(name string, filter eventual.Filter, fn func(e eventual.RecordedEvent) (id string, data D, ok bool, err error)) projection.Projection {
	return projection.Projection{
		Name:   name,
		Filter: filter,
		Handle: func(ctx context.Context, tx eventual.Tx, _ projection.Tables, e eventual.RecordedEvent) error {
			id, data, ok, err := fn(e)
			if err != nil || !ok {
				return err
			}
			m := e.Metadata
			if m.CorrelationID == "" {
				m.CorrelationID = e.ID.String()
			}
			m.CausationID = e.ID.String()
			_, err = o.StartTx(eventual.ContextWithMetadata(ctx, m), tx, id, data)
			return err
		},
	}
}

// HandleReply is the transport.Handler of the saga's replies: it hands a
// reply to the instance whose command it answers and acknowledges it once
// that change committed. A reply that answers nothing the instance waits
// for (late, duplicate, of another saga) is acknowledged and ignored.
func (o *Orchestrator[D]) HandleReply(ctx context.Context, d transport.Delivery) error {
	name, id, ok := sagaOf(d.Metadata.CausationID)
	if !ok || name != o.def.name {
		o.log.Warn("saga: a message on the reply subject answers no command of this saga; ignored",
			"saga", o.def.name, "message", d.ID, "causation", d.Metadata.CausationID)
		return nil
	}
	return o.submit(ctx, &item[D]{kind: kindReply, id: id, d: d})
}

// Subscribe subscribes HandleReply to the saga's reply subject on sub, in
// the group "saga-<name>", handling up to concurrency replies at once (0:
// 64) so that they share transactions.
func (o *Orchestrator[D]) Subscribe(ctx context.Context, sub transport.Subscriber, concurrency int) error {
	if concurrency <= 0 {
		concurrency = 64
	}
	return sub.Subscribe(ctx, transport.Subscription{Subject: o.def.replySubject, Group: "saga-" + o.def.name,
		Concurrency: concurrency}, o.HandleReply)
}

// schedule fires due timers every poll interval until ctx ends.
func (o *Orchestrator[D]) schedule(ctx context.Context) {
	t := time.NewTicker(o.opts.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := o.FireTimers(ctx); err != nil && ctx.Err() == nil {
				o.log.Warn("saga: firing timers failed; will try again", "saga", o.def.name, "err", err)
			}
		}
	}
}

// FireTimers fires the timers that are due by the orchestrator's clock —
// replies that did not come in time, attempts to make again — and returns
// how many it fired. Run does this every poll interval; tests with a fake
// clock call it after moving the clock. Errors: ErrNotRunning; the
// store's.
func (o *Orchestrator[D]) FireTimers(ctx context.Context) (int, error) {
	ids, err := o.dueIDs(ctx, o.opts.now())
	if err != nil {
		return 0, err
	}
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() { errs <- o.submit(ctx, &item[D]{kind: kindTimer, id: id}) }()
	}
	var all []error
	for range ids {
		all = append(all, <-errs)
	}
	return len(ids), errors.Join(all...)
}

// dueIDs returns the instances whose timers are due at now.
func (o *Orchestrator[D]) dueIDs(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := o.read(ctx, func(q eventual.Querier) error {
		rows, err := q.Query(ctx, `SELECT id FROM eventual_sagas WHERE name = $1 AND due_at IS NOT NULL AND due_at <= $2
			ORDER BY due_at LIMIT $3`, o.def.name, now.UnixMicro(), 4*o.opts.batch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// read runs fn on the store's read connections, or in a transaction.
func (o *Orchestrator[D]) read(ctx context.Context, fn func(q eventual.Querier) error) error {
	if q, ok := o.store.(eventual.Querier); ok {
		return fn(q)
	}
	return o.store.InTx(ctx, func(tx eventual.Tx) error { return fn(tx) })
}

// Repair carries out op on instance id, recording it (with reason) in the
// instance's history. Errors: ErrNotFound; ErrFinished for a done or
// failed instance; eventual.ErrInvalidArgument for an unknown op or
// RepairCompensate while compensating; ErrNotRunning.
func (o *Orchestrator[D]) Repair(ctx context.Context, id string, op RepairOp, reason string) error {
	if err := validID(id); err != nil {
		return err
	}
	return o.submit(ctx, &item[D]{kind: kindRepair, id: id, op: op, reason: reason})
}

// Get returns instance id. Errors: ErrNotFound; the store's.
func (o *Orchestrator[D]) Get(ctx context.Context, id string) (Instance[D], error) {
	var in Instance[D]
	err := o.read(ctx, func(q eventual.Querier) error {
		st, err := scanState[D](o.def.name, q.QueryRow(ctx, "SELECT "+rowColumns+" FROM eventual_sagas WHERE name = $1 AND id = $2", o.def.name, id))
		if err != nil {
			return err
		}
		in = st.instance(o.def)
		return nil
	})
	if isNoRows(err) {
		return in, fmt.Errorf("%w: %s %s", ErrNotFound, o.def.name, id)
	}
	return in, err
}

// ListOptions narrow List.
type ListOptions struct {
	// Status keeps the instances in that status; empty keeps all.
	Status Status
	// Limit is the most instances returned (default 100).
	Limit int
	// After continues a listing after the instance of that ID (instances
	// come in ID order).
	After string
}

// List returns instances in ID order. Errors: the store's.
func (o *Orchestrator[D]) List(ctx context.Context, opts ListOptions) ([]Instance[D], error) {
	if opts.Limit <= 0 {
		opts.Limit = 100
	}
	var out []Instance[D]
	err := o.read(ctx, func(q eventual.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, "SELECT "+rowColumns+` FROM eventual_sagas WHERE name = $1 AND ($2 = '' OR status = $2)
			AND id > $3 ORDER BY id LIMIT $4`, o.def.name, string(opts.Status), opts.After, opts.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			st, err := scanState[D](o.def.name, rows)
			if err != nil {
				return err
			}
			out = append(out, st.instance(o.def))
		}
		return rows.Err()
	})
	return out, err
}

// Counts returns how many instances are in each status. Errors: the
// store's.
func (o *Orchestrator[D]) Counts(ctx context.Context) (map[Status]int, error) {
	counts := map[Status]int{}
	err := o.read(ctx, func(q eventual.Querier) error {
		rows, err := q.Query(ctx, "SELECT status, COUNT(*) FROM eventual_sagas WHERE name = $1 GROUP BY status", o.def.name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				return err
			}
			counts[Status(s)] = n
		}
		return rows.Err()
	})
	return counts, err
}

// History returns the events of instance id's history, oldest first.
// Errors: ErrNotFound; the store's.
func (o *Orchestrator[D]) History(ctx context.Context, id string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	for e, err := range o.store.ReadStream(ctx, StreamID(o.def.name, id), eventual.ReadStreamOptions{}) {
		if errors.Is(err, eventual.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: %s %s", ErrNotFound, o.def.name, id)
		}
		if err != nil {
			return nil, err
		}
		var h historyData
		if err := json.Unmarshal(e.Data, &h); err != nil {
			return nil, fmt.Errorf("saga: history of %s %s at version %d: %w", o.def.name, id, e.Version, err)
		}
		if len(h.Data) == 0 && len(out) > 0 { // unchanged since the previous event
			h.Data = out[len(out)-1].Data
		}
		h.Type = e.Type
		for _, b := range append(h.Before, h) {
			// Entries of one transaction get its data: what was committed.
			out = append(out, HistoryEntry{Type: b.Type, At: e.RecordedAt, Version: e.Version, Position: e.Position,
				Status: b.Status, Step: b.Step, StepName: b.StepName, Attempt: b.Attempt, Reason: b.Reason,
				MessageID: b.MessageID, ReplyType: b.ReplyType, Data: h.Data})
		}
	}
	return out, nil
}
