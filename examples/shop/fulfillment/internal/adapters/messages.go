// Package adapters connects the fulfillment sagas to the outside: the
// order events that start them, the saga endpoints, the metrics.
package adapters

import (
	"context"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/fulfillment/internal/sagas"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/transport"
)

// Subscribe starts a fulfillment saga for each placed order and a
// cancellation saga for each cancelled one, in the inbox's transaction:
// an event starts its saga once, however often it is delivered.
func Subscribe(ctx context.Context, s *platform.Services, fo *saga.Orchestrator[sagas.Order], co *saga.Orchestrator[sagas.Cancelled]) error {
	err := platform.HandleEvents(ctx, s, orderingapi.SubjectOrderPlaced, "fulfillment-placed", platform.Handlers{
		orderingapi.TypeOrderPlaced: func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			o, err := platform.Decode[orderingapi.OrderPlaced](d)
			if err != nil {
				return err
			}
			_, err = fo.StartTx(ctx, tx, o.OrderID, sagas.Order{Order: o})
			return err
		},
	})
	if err != nil {
		return err
	}
	return platform.HandleEvents(ctx, s, orderingapi.SubjectOrderCancelled, "fulfillment-cancelled", platform.Handlers{
		orderingapi.TypeOrderCancelled: func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			c, err := platform.Decode[orderingapi.OrderCancelled](d)
			if err != nil {
				return err
			}
			_, err = co.StartTx(ctx, tx, c.OrderID, sagas.Cancelled{Order: c})
			return err
		},
	})
}
