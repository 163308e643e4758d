package inbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// DefaultMaxBatch is the most deliveries Batched handles in one
// transaction unless told otherwise.
const DefaultMaxBatch = 128

// Batched is Handler for throughput: the deliveries that arrive while a
// transaction runs are handled together in the next one. Each is recorded
// once, so a duplicate is skipped, and a delivery whose handler fails
// rolls back alone and is redelivered, while the others commit: the batch
// runs together, and when a handler fails, again with each delivery in a
// savepoint of its own — the handlers before the failed one then run a
// second time, in a new transaction (the first one rolled back, with
// its AfterCommit functions). On SQLite's single writer this turns a commit (and
// an fsync) per message into one per batch. Subscribe it with a
// Concurrency of about the batch size for batches to form. maxBatch ≤ 0
// means DefaultMaxBatch.
//
// The handler's context is the delivery's; its errors are returned as
// they are (transport.Terminate passes through). If the transaction
// itself fails (the database), every delivery of the batch gets the
// error and is redelivered.
func (i *Inbox) Batched(h TxHandler, maxBatch int) transport.Handler {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	b := &batcher{in: i, h: h, max: maxBatch, queue: make(chan *job, maxBatch)}
	return b.handle
}

// job is one delivery waiting for its batch.
type job struct {
	ctx  context.Context
	d    transport.Delivery
	err  error
	done chan struct{}
}

// batcher gathers deliveries and runs the transactions. Its loop runs
// while there is work, and stops after a second without any.
type batcher struct {
	in    *Inbox
	h     TxHandler
	max   int
	queue chan *job

	mu      sync.Mutex
	running bool
}

func (b *batcher) handle(ctx context.Context, d transport.Delivery) error {
	if b.h == nil {
		return transport.Terminate(fmt.Errorf("%w: inbox: nil handler", eventual.ErrInvalidArgument))
	}
	if err := validText("consumer", d.Group); err != nil {
		return transport.Terminate(err)
	}
	if err := validText("message ID", d.ID); err != nil {
		return transport.Terminate(err)
	}
	j := &job{ctx: ctx, d: d, done: make(chan struct{})}
	// Queue first, then make sure a loop runs: a loop that stops checks
	// the queue under the same lock, so no job is left behind.
	select {
	case b.queue <- j:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.ensureLoop()
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		// The batch may still commit it; a redelivery is then skipped.
		return ctx.Err()
	}
}

// ensureLoop starts the loop unless it runs.
func (b *batcher) ensureLoop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running {
		b.running = true
		go b.loop()
	}
}

const batcherIdle = time.Second

func (b *batcher) loop() {
	idle := time.NewTimer(batcherIdle)
	defer idle.Stop()
	for {
		select {
		case j := <-b.queue:
			b.run(b.gather(j))
			idle.Reset(batcherIdle)
		case <-idle.C:
			b.mu.Lock()
			if len(b.queue) > 0 {
				b.mu.Unlock()
				idle.Reset(batcherIdle)
				continue
			}
			b.running = false
			b.mu.Unlock()
			return
		}
	}
}

// gather takes what is queued after first, giving the handlers just
// released a moment to queue theirs.
func (b *batcher) gather(first *job) []*job {
	batch := []*job{first}
	for spins := 0; len(batch) < b.max && spins < 3; {
		select {
		case j := <-b.queue:
			batch = append(batch, j)
		default:
			spins++
			runtime.Gosched()
		}
	}
	return batch
}

// errHandlerFailed rolls back a batch run together: it runs again with
// each delivery in a savepoint.
var errHandlerFailed = errors.New("inbox: a handler failed")

// run handles a batch in one transaction: first all together (the
// deliveries recorded by one statement, no savepoints); if a handler fails,
// that transaction rolls back and the batch runs again with each delivery
// in a savepoint of its own, so that only the failed one rolls back.
// Handlers failing is rare (they reply with errors rather than fail), and
// savepoints cost three statements a message.
func (b *batcher) run(batch []*job) {
	err := b.runTogether(batch)
	if errors.Is(err, errHandlerFailed) {
		err = b.runIsolated(batch)
	}
	for _, j := range batch {
		if err != nil {
			j.err = errors.Join(j.err, err)
		}
		close(j.done)
	}
}

// recordChunk is the most deliveries recorded by one INSERT (3 parameters
// each, far under the databases' limits).
const recordChunk = 256

// runTogether records the batch's deliveries in one statement per chunk
// and runs the handlers of those that are new; it returns
// errHandlerFailed (and the transaction rolls back) as soon as one fails.
func (b *batcher) runTogether(batch []*job) error {
	ctx := context.Background()
	now := time.Now().UnixMicro()
	return b.in.store.InTx(ctx, func(tx eventual.Tx) error {
		live := make([]*job, 0, len(batch))
		for _, j := range batch {
			j.err = j.ctx.Err()
			if j.err == nil {
				live = append(live, j)
			}
		}
		fresh := make(map[[2]string]bool, len(live))
		for part := range slices.Chunk(live, recordChunk) {
			if err := record(ctx, tx, part, now, fresh); err != nil {
				return err
			}
		}
		for _, j := range live {
			k := [2]string{j.d.Group, j.d.ID}
			if !fresh[k] {
				continue // handled before, or earlier in this batch
			}
			delete(fresh, k)
			if j.err = b.call(j, tx); j.err != nil {
				return errHandlerFailed
			}
		}
		return nil
	})
}

// record inserts the inbox rows of jobs, adding to fresh those that were
// not there.
func record(ctx context.Context, tx eventual.Tx, jobs []*job, now int64, fresh map[[2]string]bool) error {
	var q strings.Builder
	q.WriteString("INSERT INTO eventual_inbox (consumer, message_id, received_at) VALUES ")
	args := make([]any, 0, 1+2*len(jobs))
	args = append(args, now)
	for i, j := range jobs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "($%d, $%d, $1)", len(args)+1, len(args)+2)
		args = append(args, j.d.Group, j.d.ID)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING consumer, message_id")
	rows, err := tx.Query(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("inbox: record %d messages: %w", len(jobs), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return err
		}
		fresh[k] = true
	}
	return rows.Err()
}

// runIsolated handles a batch in one transaction, each delivery in a
// savepoint.
func (b *batcher) runIsolated(batch []*job) error {
	ctx := context.Background()
	now := time.Now().UnixMicro()
	return b.in.store.InTx(ctx, func(tx eventual.Tx) error {
		for _, j := range batch {
			j.err = nil
			if err := j.ctx.Err(); err != nil {
				j.err = err
				continue
			}
			if _, err := tx.Exec(ctx, "SAVEPOINT inbox_message"); err != nil {
				return err
			}
			n, err := tx.Exec(ctx, `INSERT INTO eventual_inbox (consumer, message_id, received_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, j.d.Group, j.d.ID, now)
			if err != nil {
				return fmt.Errorf("inbox: record %s for %s: %w", j.d.ID, j.d.Group, err)
			}
			if n == 1 {
				j.err = b.call(j, tx)
			}
			if j.err != nil {
				if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT inbox_message"); err != nil {
					return errors.Join(j.err, err)
				}
			}
			if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT inbox_message"); err != nil {
				return err
			}
		}
		return nil
	})
}

// call runs the handler for j, turning a panic into an error.
func (b *batcher) call(j *job, tx eventual.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("inbox: handler panicked on %s: %v", j.d.ID, p)
		}
	}()
	return b.h(j.ctx, tx, j.d)
}
