package app

import (
	"context"
	"sync"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// maxCreateBatch bounds how many orders one transaction places.
const maxCreateBatch = 128

// createJob is an order to place, waiting for its batch.
type createJob struct {
	ctx    context.Context
	id     string
	decide platform.Decide[*domain.Order]
	order  *domain.Order
	err    error
	done   chan struct{}
}

// creates group-commits the orders placed concurrently: the requests that
// arrive while a transaction runs are placed together in the next one —
// one commit (and fsync, on SQLite) for many orders, as inbox.Batched does
// for messages. The first request to find no batch running flushes
// batches until its own is done, then hands the rest to a goroutine that
// stops once the queue is empty.
type creates struct {
	mu      sync.Mutex
	queue   []*createJob
	running bool
}

// create is platform.Create, group-committed with the other requests under
// way: order id is made with decide and saved, with decide's messages, in
// a transaction shared with other orders. An order that decide refuses
// takes no part; if the shared transaction fails, each order of the batch
// is placed again alone (with a fresh aggregate). Errors: those of
// platform.Create.
func (a *App) create(ctx context.Context, id string, decide platform.Decide[*domain.Order]) (*domain.Order, error) {
	j := &createJob{ctx: context.WithoutCancel(ctx), id: id, decide: decide, done: make(chan struct{})}
	c := &a.creates
	c.mu.Lock()
	c.queue = append(c.queue, j)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		a.drain(j)
	}
	<-j.done
	return j.order, j.err
}

// drain places batches until mine is done (or, for nil, until the queue is
// empty).
func (a *App) drain(mine *createJob) {
	c := &a.creates
	for {
		c.mu.Lock()
		n := min(len(c.queue), maxCreateBatch)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch := make([]*createJob, n)
		copy(batch, c.queue)
		c.queue = append(c.queue[:0:0], c.queue[n:]...)
		c.mu.Unlock()
		a.flush(batch)
		if mine != nil {
			select {
			case <-mine.done:
				go a.drain(nil)
				return
			default:
			}
		}
	}
}

// flush places a batch in one transaction, or each alone if it fails.
func (a *App) flush(batch []*createJob) {
	defer func() {
		for _, j := range batch {
			close(j.done)
		}
	}()
	err := a.store.InTx(batch[0].ctx, func(tx eventual.Tx) error {
		for _, j := range batch {
			j.order, j.err = nil, nil
			o := a.orders.New(j.id)
			msgs, err := j.decide(o)
			if err != nil {
				j.err = err // nothing written for it
				continue
			}
			if err := a.orders.SaveTx(j.ctx, tx, o); err != nil {
				return err
			}
			if len(msgs) > 0 {
				if err := a.outbox.Add(j.ctx, tx, msgs...); err != nil {
					return err
				}
			}
			j.order = o
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, j := range batch {
		j.order, j.err = platform.Create(j.ctx, a.store, a.orders, a.outbox, j.id, j.decide)
	}
}
