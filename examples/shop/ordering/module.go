// Package ordering is the ordering bounded context: baskets, and orders
// from placed to delivered (or rejected, or cancelled), priced from a
// local copy of the catalog kept from its events. It answers the
// fulfillment saga's ConfirmOrder and RejectOrder commands, follows the
// shipping events, publishes every order's life as integration events, and
// streams order statuses as server-sent events. Other contexts use its api
// package only.
package ordering

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/ordering/internal/adapters"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/prometheus/client_golang/prometheus"
)

// Module is the ordering context.
type Module struct {
	// MaxPending bounds the orders being fulfilled (placed by this
	// process, not yet confirmed, rejected or cancelled): past it, placing
	// an order answers 503 with Retry-After at once, so that an overloaded
	// shop keeps confirming at its capacity with a bounded latency. 0:
	// DefaultMaxPending; negative: no bound.
	MaxPending int
}

// DefaultMaxPending is the bound of Module.MaxPending when it is 0: about
// three seconds of work at the monolith's capacity on 2 cores.
const DefaultMaxPending = 1000

// Name implements platform.Module.
func (Module) Name() string { return "ordering" }

// Start implements platform.Module.
func (m Module) Start(ctx context.Context, s *platform.Services) error {
	catalog := adapters.Catalog{}
	if err := catalog.Setup(ctx, s.Store); err != nil {
		return err
	}
	limit := m.MaxPending
	if limit == 0 {
		limit = DefaultMaxPending
	}
	a, err := app.New(s.Store, s.Outbox, catalog, limit)
	if err != nil {
		return err
	}
	if err := s.Metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shop_orders_pending",
		Help: "Orders placed by this process that the fulfillment saga has not settled yet (admission control: MaxPending)."},
		func() float64 { return float64(a.Pending()) })); err != nil {
		return err
	}
	statuses := adapters.NewStatuses(a.Codec, s.Store)
	if err := s.Projections.Add(statuses.Projection()); err != nil {
		return err
	}
	adapters.Routes(s.Router, a)
	statuses.Routes(s.Router, a, s.Log)
	return adapters.Subscribe(ctx, s, a, catalog)
}
