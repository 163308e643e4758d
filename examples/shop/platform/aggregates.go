package platform

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// CachedAggregates is how many aggregates of each kind a module keeps in
// memory (aggregate.WithCache): the shop's hot ones (stocks, customers)
// and the orders, payments and shipments in flight are loaded from memory
// plus the events appended since, not from a snapshot or a replay.
const CachedAggregates = 10_000

// Decide is what a command does to an aggregate: it records events on it
// and returns the integration messages to send because of them.
type Decide[T aggregate.Aggregate] func(a T) ([]transport.Message, error)

// changeAttempts is how often Change tries when the aggregate moved on.
const changeAttempts = 3

// Change loads aggregate id, lets decide change it, and saves its events
// and decide's messages (through ob) in one transaction of store: both
// commit, or neither. When another writer changed the aggregate meanwhile,
// it all runs again on a fresh load, up to three times. Errors: ErrNotFound
// (wrapping aggregate.ErrNotFound), decide's, the store's.
func Change[T aggregate.Aggregate](ctx context.Context, store eventual.TxStore, repo *aggregate.Repository[T], ob *outbox.Outbox, id string, decide Decide[T]) (T, error) {
	var out T
	var err error
	for range changeAttempts {
		err = store.InTx(ctx, func(tx eventual.Tx) error {
			a, err := ChangeTx(ctx, tx, repo, ob, id, decide)
			out = a
			return err
		})
		if !errors.Is(err, eventual.ErrConflict) {
			break
		}
	}
	return out, err
}

// Load returns aggregate id of repo, for reading. Errors: ErrNotFound,
// saying "not found: " + what (like "order " + id); the store's.
func Load[T aggregate.Aggregate](ctx context.Context, repo *aggregate.Repository[T], id, what string) (T, error) {
	a, err := repo.Load(ctx, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		var zero T
		return zero, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return a, err
}

// ChangeTx is Change inside the caller's transaction (a message handler's),
// once: a conflict is returned, for the caller to retry.
func ChangeTx[T aggregate.Aggregate](ctx context.Context, tx eventual.Tx, repo *aggregate.Repository[T], ob *outbox.Outbox, id string, decide Decide[T]) (T, error) {
	a, err := repo.LoadTx(ctx, tx, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		return a, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err != nil {
		return a, err
	}
	return a, save(ctx, tx, repo, ob, a, decide)
}

// Create makes aggregate id with decide, and saves its events and
// messages in one transaction. Errors: ErrConflict when it exists;
// decide's; the store's.
func Create[T aggregate.Aggregate](ctx context.Context, store eventual.TxStore, repo *aggregate.Repository[T], ob *outbox.Outbox, id string, decide Decide[T]) (T, error) {
	a := repo.New(id)
	err := store.InTx(ctx, func(tx eventual.Tx) error { return save(ctx, tx, repo, ob, a, decide) })
	if errors.Is(err, eventual.ErrConflict) {
		return a, fmt.Errorf("%w: %s exists already", ErrConflict, id)
	}
	return a, err
}

// CreateTx is Create inside the caller's transaction.
func CreateTx[T aggregate.Aggregate](ctx context.Context, tx eventual.Tx, repo *aggregate.Repository[T], ob *outbox.Outbox, id string, decide Decide[T]) (T, error) {
	a := repo.New(id)
	return a, save(ctx, tx, repo, ob, a, decide)
}

func save[T aggregate.Aggregate](ctx context.Context, tx eventual.Tx, repo *aggregate.Repository[T], ob *outbox.Outbox, a T, decide Decide[T]) error {
	msgs, err := decide(a)
	if err != nil {
		return err
	}
	if err := repo.SaveTx(ctx, tx, a); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	return ob.Add(ctx, tx, msgs...)
}

// One is the Decide result of a change that sends message m (as built by
// Message, with its error): `return platform.One(platform.Message(…))`.
func One(m transport.Message, err error) ([]transport.Message, error) {
	if err != nil {
		return nil, err
	}
	return []transport.Message{m}, nil
}
