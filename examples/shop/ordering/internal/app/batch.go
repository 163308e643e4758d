package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// maxCreateBatch bounds how many orders one transaction places.
const maxCreateBatch = 128

// create is platform.Create, group-committed with the other orders placed
// concurrently (platform.Committer): order id is made with decide and
// saved, with decide's messages, in a transaction shared with other
// orders. An order that decide refuses takes no part. Errors: those of
// platform.Create.
func (a *App) create(ctx context.Context, id string, decide platform.Decide[*domain.Order]) (*domain.Order, error) {
	var o *domain.Order
	var refused error
	err := a.creates.Do(ctx, func(ctx context.Context, tx eventual.Tx) error {
		o, refused = a.orders.New(id), nil // afresh: a failed batch runs again
		msgs, err := decide(o)
		if err != nil {
			refused = err // nothing written for it
			return nil
		}
		if err := a.orders.SaveTx(ctx, tx, o); err != nil {
			return err
		}
		a.admission.placedTx(tx, id)
		if len(msgs) == 0 {
			return nil
		}
		return a.outbox.Add(ctx, tx, msgs...)
	})
	if errors.Is(err, eventual.ErrConflict) {
		return o, fmt.Errorf("%w: %s exists already", platform.ErrConflict, id)
	}
	if err == nil {
		err = refused
	}
	return o, err
}
