package app

import (
	"fmt"
	"sync"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// admission bounds the orders being fulfilled: past the limit, placing an
// order fails with platform.ErrUnavailable (503, Retry-After) at once
// instead of queueing behind work the shop cannot finish in time. Under
// overload the shop then keeps confirming orders at its capacity, with a
// bounded latency, rather than taking every order and confirming all of
// them late.
//
// It counts the orders this process placed that the fulfillment saga has
// not confirmed or rejected yet (nor the customer cancelled), in memory:
// after a restart the orders placed before are not counted.
type admission struct {
	limit int // 0: none

	mu      sync.Mutex
	pending map[string]struct{}
}

func newAdmission(limit int) *admission {
	return &admission{limit: limit, pending: map[string]struct{}{}}
}

// admit fails with platform.ErrUnavailable when the limit is reached.
func (a *admission) admit() error {
	if a.limit <= 0 {
		return nil
	}
	if n := a.count(); n >= a.limit {
		return fmt.Errorf("%w: %d orders are being fulfilled (the limit); try again in a moment", platform.ErrUnavailable, n)
	}
	return nil
}

// placedTx counts order id in once tx commits (before the order's
// messages go out, so before it can be settled).
func (a *admission) placedTx(tx eventual.Tx, id string) {
	if a.limit <= 0 {
		return
	}
	tx.AfterCommit(func() {
		a.mu.Lock()
		a.pending[id] = struct{}{}
		a.mu.Unlock()
	})
}

// settled counts order id out once tx commits.
func (a *admission) settled(tx eventual.Tx, id string) {
	if a.limit <= 0 {
		return
	}
	tx.AfterCommit(func() { a.done(id) })
}

func (a *admission) done(id string) {
	a.mu.Lock()
	delete(a.pending, id)
	a.mu.Unlock()
}

func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// Pending returns how many orders placed by this process are being
// fulfilled.
func (a *App) Pending() int { return a.admission.count() }

// Admit fails with platform.ErrUnavailable while as many orders as the
// limit are being fulfilled: the API checks it before it reads a request
// to place an order (platform.Endpoint.Admit), so that an overloaded shop
// refuses the excess cheaply. Placing an order checks again.
func (a *App) Admit() error { return a.admission.admit() }
