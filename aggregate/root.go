// Package aggregate is the event-sourcing side of domain-driven design: an
// aggregate records domain events that express its decisions, rebuilds its
// state by applying them, and is stored as a stream of those events.
//
// An aggregate type embeds Root and applies events in Apply:
//
//	type Account struct {
//		aggregate.Root
//		balance int64
//	}
//
//	func (a *Account) Deposit(amount int64) error {
//		if amount <= 0 {
//			return ErrInvalidAmount // rules are checked before recording
//		}
//		return aggregate.Record(a, MoneyDeposited{Amount: amount})
//	}
//
//	func (a *Account) Apply(event any) error {
//		switch e := event.(type) {
//		case MoneyDeposited:
//			a.balance += e.Amount
//		default:
//			return fmt.Errorf("account: unknown event %T", event)
//		}
//		return nil
//	}
//
// A Repository loads and saves aggregates through an event store and a
// codec registry, with optimistic concurrency, snapshots, a cache of
// committed states (WithCache; the aggregate implements Cloner) and loads
// of past states. Package aggregatetest tests aggregates with
// given/when/then.
package aggregate

import (
	"reflect"

	"github.com/google/uuid"
)

// Aggregate is what the package needs of an aggregate type: an Apply that
// changes its state by one event, and an embedded Root.
type Aggregate interface {
	// Apply changes the aggregate's state by one event. It is called for
	// every event Record records and for every stored event when loading.
	// Events are values of the registered types, never pointers. Apply
	// checks no rule: the event already happened. It returns an error only
	// for an event it cannot apply (of a type it does not know).
	Apply(event any) error

	// The rest comes with the embedded Root.
	ID() string
	Version() uint64
	StoredVersion() uint64
	Pending() []any
	root() *Root
}

// Root is embedded in every aggregate. It holds the aggregate's ID, its
// version and the events recorded since it was loaded or saved.
type Root struct {
	id      string
	version uint64 // of the last event applied, recorded ones included
	stored  uint64 // of the last event in the store: the expected version
	pending []pendingEvent

	snapVersion uint64 // of the last snapshot known to be stored
	snapAt      int64  // unix nanoseconds of that snapshot; 0 if none
	// cacheQueued: a repository WithCache caches the state when the
	// transaction commits (set once per transaction).
	cacheQueued bool
}

// pendingEvent is a recorded event and the ID it gets when saved. The ID is
// fixed when recorded, so saving the aggregate again after a failure is an
// idempotent retry.
type pendingEvent struct {
	id    uuid.UUID
	event any
}

// root lets Aggregate be implemented only by types that embed Root.
//
//lint:ignore U1000 called through the Aggregate interface
func (r *Root) root() *Root { return r }

// ID returns the aggregate's ID.
func (r *Root) ID() string { return r.id }

// SetID sets the aggregate's ID; constructors call it.
func (r *Root) SetID(id string) { r.id = id }

// Version returns the version of the last event applied, including the
// recorded events not saved yet; 0 for an aggregate without events.
func (r *Root) Version() uint64 { return r.version }

// StoredVersion returns the version the store holds: the version the
// aggregate was loaded or last saved at.
func (r *Root) StoredVersion() uint64 { return r.stored }

// Pending returns the events recorded since the aggregate was loaded or
// last saved, in order.
func (r *Root) Pending() []any {
	out := make([]any, len(r.pending))
	for i, p := range r.pending {
		out[i] = p.event
	}
	return out
}

// Record applies a new event to a and adds it to the events its next Save
// appends. Check the rules first: Record records what happened. A pointer
// to an event is recorded as the event value. If Apply fails, nothing is
// recorded.
func Record(a Aggregate, event any) error {
	event = valueOf(event)
	if err := a.Apply(event); err != nil {
		return err
	}
	r := a.root()
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	r.pending = append(r.pending, pendingEvent{id: id, event: event})
	r.version++
	return nil
}

// ApplyHistory applies events that are already stored, in order, as a
// Repository does when it loads: the aggregate's version and stored
// version move on, nothing is recorded. Tests use it to set the scene.
func ApplyHistory(a Aggregate, events ...any) error {
	r := a.root()
	for _, e := range events {
		if err := a.Apply(valueOf(e)); err != nil {
			return err
		}
		r.version++
		r.stored = r.version
	}
	return nil
}

// valueOf turns a pointer to an event into the event value.
func valueOf(event any) any {
	if v := reflect.ValueOf(event); v.Kind() == reflect.Pointer && !v.IsNil() {
		return v.Elem().Interface()
	}
	return event
}
