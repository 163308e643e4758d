package projection

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/follow"
	"github.com/eventual-go/eventual/internal/wake"
)

const (
	cmdResume = iota + 1
	cmdSkip
	cmdRebuild
)

// command is an operator's request, carried out by the worker goroutine
// between batches.
type command struct {
	kind     int
	position uint64
	done     chan error
}

// rebuild is a rebuild under way.
type rebuild struct {
	generation, version int
	checkpoint          uint64
	started             time.Time
	loggedAt            time.Time
}

// worker runs one projection.
type worker struct {
	r    *Runner
	p    Projection
	f    *follow.Follower
	cmds chan command

	// Owned by the worker goroutine (and by init, before it starts).
	saved      uint64    // the checkpoint in the database
	savedAt    time.Time // when it was written
	stopBefore uint64    // handle the events before this position, then it alone
	oneByOne   uint64    // handle events one at a time up to this position
	failPos    uint64    // the event failing, and how often it failed
	failCount  int
	storeFails int  // consecutive store errors
	rbFails    int  // consecutive failed rebuild batches
	caughtUp   bool // the last live step read to the head

	mu         sync.Mutex // guards what Status and WaitFor read
	state      State
	version    int
	generation int
	checkpoint uint64 // the log is seen up to here: saved, or beyond it where nothing matched
	failedAt   uint64
	lastErr    string
	lastErrAt  time.Time
	rb         *rebuild
	progress   wake.Signal // notified when checkpoint or state change
}

func newWorker(r *Runner, p Projection) *worker {
	return &worker{r: r, p: p, cmds: make(chan command),
		f: follow.New(r.store, p.Filter).WithPoll(r.opts.poll)}
}

// update changes the fields under mu and wakes WaitFor.
func (w *worker) update(f func()) {
	w.mu.Lock()
	f()
	w.mu.Unlock()
	w.progress.Notify()
}

func (w *worker) inTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return w.r.store.InTx(ctx, fn)
}

// applyTx runs fn in a transaction that writes read-model rows and the
// checkpoint. It commits without waiting for the flush to disk
// (eventual.NoSyncTxStore: SQLite and PostgreSQL). A crash of the machine
// may then lose the last such transactions, but rows and checkpoint
// together, so the projection applies those events again — consistent,
// and faster to become visible.
func (w *worker) applyTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	if ns, ok := w.r.store.(eventual.NoSyncTxStore); ok && !w.r.opts.durable {
		return ns.InTxNoSync(ctx, fn)
	}
	return w.r.store.InTx(ctx, fn)
}

// init loads or creates the projection's row and tables, and starts a
// rebuild if the version changed.
func (w *worker) init(ctx context.Context) error {
	p := &w.p
	err := w.inTx(ctx, func(tx eventual.Tx) error {
		r, found, err := loadRow(ctx, tx, p.Name)
		if err != nil {
			return err
		}
		if !found {
			if err := createGeneration(ctx, tx, p, 1); err != nil {
				return err
			}
			if err := pointViews(ctx, tx, p, 1); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO eventual_projections (name, version, generation, checkpoint, state, updated_at)
				VALUES ($1, $2, 1, 0, $3, $4)`, p.Name, p.Version, string(StateRunning), now())
			r = row{Name: p.Name, Version: p.Version, Generation: 1, State: StateRunning}
			w.load(r)
			return err
		}
		w.load(r)
		if r.State == StateFailed {
			w.r.opts.log.Info("projection: trying the failing event again after a restart",
				"projection", p.Name, "position", r.FailedPosition, "err", r.LastError)
		}
		if r.RebuildGeneration != 0 && r.RebuildVersion != p.Version {
			// A rebuild for another version: start over.
			if err := dropGeneration(ctx, tx, p, r.RebuildGeneration); err != nil {
				return err
			}
			w.rb = nil
		}
		if r.Version != p.Version && w.rb == nil {
			if len(p.Tables) == 0 {
				return fmt.Errorf("%w: projection %s changed from version %d to %d but has no Tables to rebuild into",
					eventual.ErrInvalidArgument, p.Name, r.Version, p.Version)
			}
			w.r.opts.log.Info("projection: version changed, rebuilding", "projection", p.Name, "from", r.Version, "to", p.Version)
			return w.startRebuild(ctx, tx)
		}
		state := StateRunning
		if w.rb != nil {
			state = StateRebuilding
		}
		w.state = state
		return setState(ctx, tx, p.Name, state, 0, r.LastError)
	})
	if err != nil {
		return fmt.Errorf("projection %s: start: %w", p.Name, err)
	}
	return nil
}

// load takes the worker's state from its row.
func (w *worker) load(r row) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.version, w.generation = r.Version, r.Generation
	w.saved, w.checkpoint, w.savedAt = r.Checkpoint, r.Checkpoint, time.Now()
	w.state, w.failedAt, w.lastErr = StateRunning, 0, r.LastError
	w.rb = nil
	if r.RebuildGeneration != 0 {
		w.rb = &rebuild{generation: r.RebuildGeneration, version: r.RebuildVersion, checkpoint: r.RebuildCheckpoint,
			started: time.Now(), loggedAt: time.Now()}
		w.state = StateRebuilding
	}
}

// startRebuild sets up the next generation in tx; the caller sets the
// state after the commit.
func (w *worker) startRebuild(ctx context.Context, tx eventual.Tx) error {
	gen := w.generation + 1
	if err := createGeneration(ctx, tx, &w.p, gen); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE eventual_projections SET rebuild_generation = $1, rebuild_version = $2,
		rebuild_checkpoint = 0, state = $3, updated_at = $4 WHERE name = $5`,
		gen, w.p.Version, string(StateRebuilding), now(), w.p.Name)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.rb = &rebuild{generation: gen, version: w.p.Version, started: time.Now(), loggedAt: time.Now()}
	w.state = StateRebuilding
	w.mu.Unlock()
	return nil
}

// run follows the log until ctx ends.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		w.serve(ctx, false)
		if w.getState() == StateFailed {
			w.serve(ctx, true)
			continue
		}
		news := w.f.News()
		progressed := false
		if w.rb != nil {
			var err error
			if progressed, err = w.rebuildStep(ctx); err != nil {
				w.rebuildFailed(ctx, err)
			}
		}
		handled, more, err := w.liveStep(ctx)
		if err != nil {
			w.caughtUp = false
			w.liveFailed(ctx, err)
			continue
		}
		w.caughtUp = !more
		switch {
		case more || progressed:
		case handled > 0 && w.p.Linger > 0:
			w.linger(ctx)
		default:
			w.idle(ctx, news)
		}
	}
}

// linger waits the projection's Linger after a batch, so that the events
// appended in the meantime make one batch. A command ends the wait.
func (w *worker) linger(ctx context.Context) {
	t := time.NewTimer(w.p.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case c := <-w.cmds:
		c.done <- w.do(ctx, c)
	case <-ctx.Done():
	}
}

func (w *worker) getState() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

// serve carries out commands: those waiting, or (block) the next one.
func (w *worker) serve(ctx context.Context, block bool) {
	for {
		if block {
			select {
			case c := <-w.cmds:
				c.done <- w.do(ctx, c)
			case <-ctx.Done():
			}
			return
		}
		select {
		case c := <-w.cmds:
			c.done <- w.do(ctx, c)
		default:
			return
		}
	}
}

// idle waits for news, the poll interval or a command, first writing a
// checkpoint that moved past filtered-out events a while ago.
func (w *worker) idle(ctx context.Context, news <-chan struct{}) {
	if w.checkpoint > w.saved && time.Since(w.savedAt) >= w.r.opts.saveEvery {
		through := w.checkpoint
		err := w.inTx(ctx, func(tx eventual.Tx) error {
			return advance(ctx, tx, w.p.Name, w.generation, w.saved, through)
		})
		if err != nil {
			w.liveFailed(ctx, err)
			return
		}
		w.saved, w.savedAt = through, time.Now()
	}
	t := time.NewTimer(w.r.opts.poll)
	defer t.Stop()
	select {
	case <-news:
	case <-t.C:
	case c := <-w.cmds:
		c.done <- w.do(ctx, c)
	case <-ctx.Done():
	}
}

// liveStep handles the next batch into the active tables: handled is the
// number of events handled, more tells that there is more to read at once.
func (w *worker) liveStep(ctx context.Context) (handled int, more bool, err error) {
	limit := w.r.opts.batch
	if w.oneByOne > w.checkpoint {
		limit = 1
	}
	page, err := w.f.Read(ctx, w.checkpoint, limit)
	if err != nil {
		return 0, false, err
	}
	events, through, more := page.Events, page.Through, page.Full
	if w.stopBefore > w.checkpoint && len(events) > 0 {
		i := 0
		for i < len(events) && events[i].Position < w.stopBefore {
			i++
		}
		if i < len(events) {
			events, more = events[:max(i, 1)], true
			through = events[len(events)-1].Position
		}
	}
	if len(events) == 0 {
		if through > w.checkpoint {
			w.update(func() { w.checkpoint = through })
		}
		return 0, more, nil
	}
	tables := tablesOf(&w.p, w.generation)
	err = w.applyTx(ctx, func(tx eventual.Tx) error {
		if err := w.p.handle(ctx, tx, tables, events); err != nil {
			return err
		}
		return advance(ctx, tx, w.p.Name, w.generation, w.saved, through)
	})
	if err != nil {
		var he *handlerError
		if errors.As(err, &he) {
			if he.position == 0 && len(events) == 1 {
				he.position = events[0].Position
			}
			return 0, false, &batchError{handlerError: he, first: events[0].Position, last: events[len(events)-1].Position}
		}
		return 0, false, err
	}
	w.saved, w.savedAt, w.storeFails = through, time.Now(), 0
	if through >= w.failPos {
		w.failCount = 0
	}
	w.update(func() { w.checkpoint = through })
	return len(events), more, nil
}

// batchError is a handler's failure on a batch from first to last.
type batchError struct {
	*handlerError
	first, last uint64
}

// liveFailed decides what follows a failed live step.
func (w *worker) liveFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	var be *batchError
	switch {
	case errors.Is(err, errMoved):
		w.r.opts.log.Warn("projection: another runner advanced the checkpoint; reloading", "projection", w.p.Name)
		w.reload(ctx)
	case errors.As(err, &be) && be.position == 0:
		// A batch handler failed: find the event, one at a time.
		w.oneByOne = be.last
	case errors.As(err, &be) && be.position != be.first:
		// Commit the events before the failing one first.
		w.stopBefore = be.position
	case errors.As(err, &be):
		w.stopBefore = be.position
		if be.position != w.failPos {
			w.failPos, w.failCount = be.position, 0
		}
		w.failCount++
		w.noteError(err)
		if w.failCount >= w.r.opts.attempts {
			w.fail(ctx, be.position, err)
			return
		}
		w.r.opts.log.Warn("projection: handler failed; retrying", "projection", w.p.Name,
			"position", be.position, "attempt", w.failCount, "err", err)
		sleep(ctx, w.r.opts.backoff(w.failCount))
	default:
		// The store: wait for it as long as it takes.
		w.storeFails++
		w.noteError(err)
		w.r.opts.log.Warn("projection: store error; retrying", "projection", w.p.Name, "attempt", w.storeFails, "err", err)
		sleep(ctx, w.r.opts.backoff(w.storeFails))
	}
}

func (w *worker) noteError(err error) {
	w.update(func() { w.lastErr, w.lastErrAt = err.Error(), time.Now() })
}

// fail marks the projection failed at position.
func (w *worker) fail(ctx context.Context, position uint64, err error) {
	w.r.opts.log.Error("projection: failed; resume or skip the event", "projection", w.p.Name, "position", position, "err", err)
	w.update(func() { w.state, w.failedAt = StateFailed, position })
	if perr := w.inTx(ctx, func(tx eventual.Tx) error {
		return setState(ctx, tx, w.p.Name, StateFailed, position, err.Error())
	}); perr != nil {
		w.r.opts.log.Error("projection: record the failure", "projection", w.p.Name, "err", perr)
	}
}

// reload takes the row again after another runner moved it.
func (w *worker) reload(ctx context.Context) {
	err := w.inTx(ctx, func(tx eventual.Tx) error {
		r, _, err := loadRow(ctx, tx, w.p.Name)
		if err == nil {
			state := w.getState()
			w.load(r)
			w.update(func() {
				if state == StateFailed {
					w.state = state
				}
			})
		}
		return err
	})
	if err != nil {
		w.noteError(err)
		sleep(ctx, w.r.opts.backoff(1))
	}
}

// rebuildStep handles the next batch into the new tables, and swaps them
// in once they have caught up with the active ones.
func (w *worker) rebuildStep(ctx context.Context) (progressed bool, err error) {
	rb := w.rb
	target := w.checkpoint
	page, err := w.f.Read(ctx, rb.checkpoint, w.r.opts.rebuildBatch)
	if err != nil {
		return false, err
	}
	events := page.Events
	i := 0
	for i < len(events) && events[i].Position <= target {
		i++
	}
	// The new tables are done once they reach the active ones while these
	// are caught up with the log: swapped in, they are as fresh.
	done := (i < len(events) || !page.Full) && w.caughtUp
	events = events[:i]
	through := rb.checkpoint
	if len(events) > 0 {
		through = events[len(events)-1].Position
	}
	if done || (len(events) == 0 && page.Through >= target) {
		through = target
	}
	if !done && through == rb.checkpoint {
		return false, nil // waiting for the active tables to catch up
	}
	p := &w.p
	err = w.applyTx(ctx, func(tx eventual.Tx) error {
		if len(events) > 0 {
			if err := p.handle(ctx, tx, tablesOf(p, rb.generation), events); err != nil {
				return err
			}
		}
		if !done {
			_, err := tx.Exec(ctx, `UPDATE eventual_projections SET rebuild_checkpoint = $1, updated_at = $2
				WHERE name = $3 AND rebuild_generation = $4`, int64(through), now(), p.Name, rb.generation)
			return err
		}
		// Caught up: swap, atomically for readers.
		if err := pointViews(ctx, tx, p, rb.generation); err != nil {
			return err
		}
		if err := dropGeneration(ctx, tx, p, w.generation); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE eventual_projections SET generation = $1, version = $2, checkpoint = $3,
			state = $4, rebuild_generation = 0, rebuild_version = 0, rebuild_checkpoint = 0, updated_at = $5
			WHERE name = $6 AND generation = $7 AND checkpoint = $8`,
			rb.generation, rb.version, int64(through), string(StateRunning), now(), p.Name, w.generation, int64(w.saved))
		if err == nil && n != 1 {
			err = errMoved
		}
		return err
	})
	if err != nil {
		return false, err
	}
	w.rbFails = 0
	if !done {
		w.update(func() { rb.checkpoint = through })
		if time.Since(rb.loggedAt) >= 5*time.Second {
			rb.loggedAt = time.Now()
			w.r.opts.log.Info("projection: rebuilding", "projection", p.Name, "position", through, "target", target,
				"elapsed", time.Since(rb.started).Round(time.Millisecond))
		}
		return true, nil
	}
	w.r.opts.log.Info("projection: rebuilt and swapped in", "projection", p.Name, "generation", rb.generation,
		"position", through, "took", time.Since(rb.started).Round(time.Millisecond))
	w.saved, w.savedAt = through, time.Now()
	w.update(func() {
		w.generation, w.version, w.checkpoint = rb.generation, rb.version, through
		w.rb = nil
		if w.state == StateRebuilding {
			w.state = StateRunning
		}
	})
	return true, nil
}

// rebuildFailed retries a failing rebuild batch, and abandons the rebuild
// (dropping its tables; the active ones serve on) when it keeps failing.
func (w *worker) rebuildFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, errMoved) {
		w.reload(ctx)
		return
	}
	w.rbFails++
	w.noteError(fmt.Errorf("rebuild: %w", err))
	var he *handlerError
	if !errors.As(err, &he) || w.rbFails < w.r.opts.attempts {
		w.r.opts.log.Warn("projection: rebuild batch failed; retrying", "projection", w.p.Name, "attempt", w.rbFails, "err", err)
		sleep(ctx, w.r.opts.backoff(w.rbFails))
		return
	}
	rb := w.rb
	w.r.opts.log.Error("projection: rebuild abandoned; the current tables serve on", "projection", w.p.Name,
		"generation", rb.generation, "err", err)
	aerr := w.inTx(ctx, func(tx eventual.Tx) error {
		if err := dropGeneration(ctx, tx, &w.p, rb.generation); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE eventual_projections SET rebuild_generation = 0, rebuild_version = 0,
			rebuild_checkpoint = 0, state = $1, last_error = $2, updated_at = $3 WHERE name = $4`,
			string(StateRunning), "rebuild abandoned: "+err.Error(), now(), w.p.Name)
		return err
	})
	if aerr != nil {
		w.noteError(aerr)
		return
	}
	w.rbFails = 0
	w.update(func() {
		w.rb = nil
		if w.state == StateRebuilding {
			w.state = StateRunning
		}
		w.lastErr = "rebuild abandoned: " + err.Error()
	})
}

// do carries out a command.
func (w *worker) do(ctx context.Context, c command) error {
	p := &w.p
	w.mu.Lock()
	state, failedAt, lastErr := w.state, w.failedAt, w.lastErr
	w.mu.Unlock()
	switch c.kind {
	case cmdResume:
		if state != StateFailed {
			return nil
		}
		if err := w.inTx(ctx, func(tx eventual.Tx) error {
			return setState(ctx, tx, p.Name, w.runningState(), 0, lastErr)
		}); err != nil {
			return err
		}
		w.failCount = 0
		w.r.opts.log.Info("projection: resumed", "projection", p.Name, "position", failedAt)
		w.update(func() { w.state, w.failedAt = w.runningState(), 0 })
		return nil
	case cmdSkip:
		if state != StateFailed || c.position != failedAt {
			return fmt.Errorf("%w: projection %s has not failed at position %d (state %s, failed at %d)",
				eventual.ErrInvalidArgument, p.Name, c.position, state, failedAt)
		}
		note := fmt.Sprintf("skipped the event at position %d on purpose; it failed with: %s", c.position, lastErr)
		err := w.inTx(ctx, func(tx eventual.Tx) error {
			if err := advance(ctx, tx, p.Name, w.generation, w.saved, c.position); err != nil {
				return err
			}
			return setState(ctx, tx, p.Name, w.runningState(), 0, note)
		})
		if err != nil {
			return err
		}
		w.r.opts.log.Warn("projection: event skipped", "projection", p.Name, "position", c.position)
		w.saved, w.savedAt, w.failCount, w.stopBefore = c.position, time.Now(), 0, 0
		w.update(func() { w.state, w.failedAt, w.checkpoint, w.lastErr = w.runningState(), 0, c.position, note })
		return nil
	case cmdRebuild:
		switch {
		case len(p.Tables) == 0:
			return fmt.Errorf("%w: projection %s has no Tables to rebuild into", eventual.ErrInvalidArgument, p.Name)
		case state == StateFailed:
			return &FailedError{Name: p.Name, Position: failedAt, Err: lastErr}
		case w.rb != nil:
			return fmt.Errorf("%w: projection %s, generation %d", ErrRebuilding, p.Name, w.rb.generation)
		}
		err := w.inTx(ctx, func(tx eventual.Tx) error { return w.startRebuild(ctx, tx) })
		if err != nil {
			w.update(func() { w.rb, w.state = nil, state })
			return err
		}
		w.r.opts.log.Info("projection: rebuild started", "projection", p.Name, "generation", w.rb.generation)
		w.update(func() {})
		return nil
	}
	return fmt.Errorf("projection: unknown command %d", c.kind)
}

// runningState is the state of a projection that is not failed.
func (w *worker) runningState() State {
	if w.rb != nil {
		return StateRebuilding
	}
	return StateRunning
}

// waitFor waits until the checkpoint reaches position.
func (w *worker) waitFor(ctx context.Context, position uint64) error {
	for {
		woken := w.progress.C()
		w.mu.Lock()
		cp, state, failedAt, lastErr := w.checkpoint, w.state, w.failedAt, w.lastErr
		w.mu.Unlock()
		if cp >= position {
			return nil
		}
		if state == StateFailed && failedAt <= position {
			return &FailedError{Name: w.p.Name, Position: failedAt, Err: lastErr}
		}
		if !w.r.isRunning() {
			return ErrNotRunning
		}
		select {
		case <-woken:
		case <-ctx.Done():
			return fmt.Errorf("projection %s at position %d, waiting for %d: %w", w.p.Name, cp, position, ctx.Err())
		}
	}
}

func (r *Runner) isRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running && !r.closed
}

// status describes the worker, with head the log's head.
func (w *worker) status(ctx context.Context, head uint64) (Status, error) {
	w.mu.Lock()
	s := Status{Name: w.p.Name, Version: w.version, State: w.state, Generation: w.generation,
		Checkpoint: w.checkpoint, Head: head, FailedPosition: w.failedAt, LastError: w.lastErr, LastErrorAt: w.lastErrAt}
	if w.rb != nil {
		s.Rebuild = &RebuildStatus{Generation: w.rb.generation, Version: w.rb.version, Checkpoint: w.rb.checkpoint, Started: w.rb.started}
	}
	w.mu.Unlock()
	if head > s.Checkpoint {
		s.LagEvents = head - s.Checkpoint
		next, err := eventual.Collect(w.r.store.ReadAll(ctx, eventual.ReadAllOptions{From: s.Checkpoint + 1, Limit: 1, Filter: w.p.Filter}))
		if err != nil {
			return s, err
		}
		if len(next) > 0 {
			s.Lag = max(time.Since(next[0].RecordedAt), 0)
		}
	}
	return s, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
