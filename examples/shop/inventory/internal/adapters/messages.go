package adapters

import (
	"context"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/inventory/api"
	"github.com/eventual-go/eventual/examples/shop/inventory/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
)

// ShipmentsGroup is the consumer group of the shipment events. It is not
// "inventory": a group consumes one subject (on the in-process
// transport, group names are global), and "inventory" consumes the
// commands.
const ShipmentsGroup = "inventory-shipments"

// Subscribe handles the context's commands, and commits an order's stock
// when its shipment ships: many messages at once, in shared transactions
// (inbox.Batched), each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	commands := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case api.TypeReserveStock:
			return a.Reserve(ctx, tx, d)
		case api.TypeReleaseStock:
			return a.Release(ctx, tx, d)
		case api.TypeCommitStock:
			return a.Commit(ctx, tx, d)
		}
		return transport.Terminate(fmt.Errorf("inventory: unknown command %s", d.Type))
	}, 128)
	err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: api.CommandsSubjects, Group: "inventory", Concurrency: 128},
		transport.Chain(commands, transport.DeadLetter(s.Transport, "deadletter.inventory", 5)))
	if err != nil {
		return err
	}
	shipped := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		if d.Type != shippingapi.TypeShipmentShipped {
			return nil
		}
		e, err := platform.Decode[shippingapi.Shipment](d)
		if err != nil {
			return err
		}
		return a.ShipmentShipped(platform.Context(ctx, d), tx, e.OrderID)
	}, 128)
	return s.Transport.Subscribe(ctx, transport.Subscription{Subject: shippingapi.SubjectShipmentShipped, Group: ShipmentsGroup, Concurrency: 128},
		transport.Chain(shipped, transport.DeadLetter(s.Transport, "deadletter.inventory", 5)))
}
