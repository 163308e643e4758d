// Package fulfillment is the fulfillment bounded context: it runs the
// order fulfillment saga (authorize customer → reserve stock → authorize
// payment → create shipment → capture payment → confirm order → notify,
// compensating in reverse when a step fails) for every placed order, and
// the cancellation saga for every cancelled one. It owns no aggregate:
// its state is the sagas' instances, which the API lists and repairs.
package fulfillment

import (
	"context"
	"time"

	"github.com/eventual-go/eventual/examples/shop/fulfillment/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/fulfillment/internal/sagas"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/saga"
)

// Defaults of Module's timing.
const (
	DefaultStepTimeout = 10 * time.Second
	DefaultAttempts    = 3
	DefaultBackoff     = time.Second
)

// Module is the fulfillment context. Its zero value uses the defaults.
type Module struct {
	// StepTimeout is how long a step waits for its reply before trying
	// again (DefaultStepTimeout when zero).
	StepTimeout time.Duration
	// Attempts is how often a step's command is sent before the step
	// counts as failed (DefaultAttempts when zero).
	Attempts int
	// Backoff is the pause before a step's next attempt (DefaultBackoff
	// when zero).
	Backoff time.Duration
}

// Name implements platform.Module.
func (Module) Name() string { return "fulfillment" }

// Start implements platform.Module: it creates both orchestrators, runs
// them, subscribes their replies and the order events that start them,
// and registers the saga endpoints.
func (m Module) Start(ctx context.Context, s *platform.Services) error {
	t := sagas.Timing{Timeout: m.StepTimeout, Attempts: m.Attempts, Backoff: m.Backoff}
	if t.Timeout <= 0 {
		t.Timeout = DefaultStepTimeout
	}
	if t.Attempts <= 0 {
		t.Attempts = DefaultAttempts
	}
	if t.Backoff <= 0 {
		t.Backoff = DefaultBackoff
	}
	fdef, err := sagas.FulfillmentSaga(t, s.Outbox)
	if err != nil {
		return err
	}
	cdef, err := sagas.CancellationSaga(t)
	if err != nil {
		return err
	}
	opts := []saga.Option{saga.WithLogger(s.Log), saga.WithBatchSize(512)}
	// Every order runs this saga: its states stay in memory between steps.
	fo, err := saga.NewOrchestrator(ctx, s.Store, fdef, s.Outbox, append(opts, saga.WithStateCache(platform.CachedAggregates))...)
	if err != nil {
		return err
	}
	co, err := saga.NewOrchestrator(ctx, s.Store, cdef, s.Outbox, opts...)
	if err != nil {
		return err
	}
	s.Go("saga-"+sagas.Fulfillment, fo.Run)
	s.Go("saga-"+sagas.Cancellation, co.Run)
	if err := fo.Subscribe(ctx, s.Transport, 512); err != nil {
		return err
	}
	if err := co.Subscribe(ctx, s.Transport, 64); err != nil {
		return err
	}
	adapters.Metrics(s.Metrics, fo, co)
	adapters.Routes(s.Router, fo, co)
	return adapters.Subscribe(ctx, s, fo, co)
}
