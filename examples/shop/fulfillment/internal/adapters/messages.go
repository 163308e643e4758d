// Package adapters connects the fulfillment sagas to the outside: the
// order events that start them, the saga endpoints, the metrics.
package adapters

import (
	"context"
	"fmt"

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
	h := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case orderingapi.TypeOrderPlaced:
			o, err := platform.Decode[orderingapi.OrderPlaced](d)
			if err != nil {
				return err
			}
			_, err = fo.StartTx(ctx, tx, o.OrderID, sagas.Order{Order: o})
			return err
		case orderingapi.TypeOrderCancelled:
			c, err := platform.Decode[orderingapi.OrderCancelled](d)
			if err != nil {
				return err
			}
			_, err = co.StartTx(ctx, tx, c.OrderID, sagas.Cancelled{Order: c})
			return err
		}
		return nil // the other order events start nothing
	}, 256)
	// A group consumes one subject: one group per event.
	groups := map[string]string{orderingapi.SubjectOrderPlaced: "fulfillment-placed", orderingapi.SubjectOrderCancelled: "fulfillment-cancelled"}
	for subject, group := range groups {
		err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: subject, Group: group, Concurrency: 256},
			transport.Chain(h, transport.DeadLetter(s.Transport, "deadletter.fulfillment", 5)))
		if err != nil {
			return fmt.Errorf("fulfillment: subscribe %s: %w", subject, err)
		}
	}
	return nil
}
