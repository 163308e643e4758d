package adapters

import (
	"context"

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
// when its shipment ships: many messages at once, in shared transactions,
// each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App) error {
	err := platform.HandleCommands(ctx, s, api.CommandsSubjects, platform.Handlers{
		api.TypeReserveStock: a.Reserve,
		api.TypeReleaseStock: a.Release,
		api.TypeCommitStock:  a.Commit,
	})
	if err != nil {
		return err
	}
	return platform.HandleEvents(ctx, s, shippingapi.SubjectShipmentShipped, ShipmentsGroup, platform.Handlers{
		shippingapi.TypeShipmentShipped: func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			e, err := platform.Decode[shippingapi.Shipment](d)
			if err != nil {
				return err
			}
			return a.ShipmentShipped(ctx, tx, e.OrderID)
		},
	})
}
