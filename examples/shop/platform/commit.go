package platform

import (
	"context"
	"sync"

	"github.com/eventual-go/eventual"
)

// Committer group-commits the small transactions of one store: the
// functions handed to Do while a transaction runs go together in the
// next one, so that many requests share one commit (and one flush to
// disk, on SQLite) — as inbox.Batched does for messages. The first caller
// to find no transaction running commits batches until its own is done,
// then hands the rest to a goroutine that stops once the queue is empty.
type Committer struct {
	store Store
	max   int

	mu      sync.Mutex
	queue   []*commitJob
	running bool
}

// commitJob is one Do call waiting for its batch.
type commitJob struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx eventual.Tx) error
	err  error
	done chan struct{}
}

// NewCommitter returns a Committer of store whose transactions take at
// most limit functions (at least 1).
func NewCommitter(store Store, limit int) *Committer {
	return &Committer{store: store, max: max(1, limit)}
}

// Do runs fn in a transaction shared with the other calls under way and
// returns once it committed. When the shared transaction fails (fn's
// error, or another's), each fn of the batch runs again alone, in a
// transaction of its own, so that a failing one fails alone: fn must
// therefore start from scratch each time it is called. The transaction
// runs to its end even if ctx ends first (fn gets ctx without its
// cancellation). Errors: fn's, the store's.
func (c *Committer) Do(ctx context.Context, fn func(ctx context.Context, tx eventual.Tx) error) error {
	j := &commitJob{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, j)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.drain(j)
	}
	<-j.done
	return j.err
}

// drain commits batches until mine is done (or, for nil, until the queue
// is empty).
func (c *Committer) drain(mine *commitJob) {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch := make([]*commitJob, n)
		copy(batch, c.queue)
		c.queue = append(c.queue[:0:0], c.queue[n:]...)
		c.mu.Unlock()
		c.commit(batch)
		if mine != nil {
			select {
			case <-mine.done:
				go c.drain(nil)
				return
			default:
			}
		}
	}
}

// commit runs a batch in one transaction, or each alone if it fails.
func (c *Committer) commit(batch []*commitJob) {
	defer func() {
		for _, j := range batch {
			close(j.done)
		}
	}()
	ctx := batch[0].ctx
	err := c.store.InTx(ctx, func(tx eventual.Tx) error {
		for _, j := range batch {
			if err := j.fn(j.ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].err = err
		return
	}
	for _, j := range batch {
		j.err = c.store.InTx(j.ctx, func(tx eventual.Tx) error { return j.fn(j.ctx, tx) })
	}
}
