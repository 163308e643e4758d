package adapters

import (
	"context"

	catalogapi "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
)

// Consumer groups of the context: the commands' is the context's name.
// A group consumes one subject (the transports refuse a second), so the
// events of other contexts each have a group of their own.
const (
	Group         = "ordering"
	CatalogGroup  = "ordering-catalog"
	ShippingGroup = "ordering-shipping"
)

// Subscribe handles the context's commands (from the fulfillment saga),
// the catalog's events (the local copy) and the shipping events (orders
// shipped and delivered): each many at once, in shared transactions, each
// once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App, c Catalog) error {
	err := platform.HandleCommands(ctx, s, api.CommandsSubjects, platform.Handlers{
		api.TypeConfirmOrder: a.ConfirmOrder,
		api.TypeRejectOrder:  a.RejectOrder,
	})
	if err != nil {
		return err
	}
	catalog := platform.Handlers{}
	for _, t := range []string{catalogapi.TypeStoreCreated, catalogapi.TypeStoreRebranded, catalogapi.TypeStoreParticipationChanged,
		catalogapi.TypeProductAdded, catalogapi.TypeProductRebranded, catalogapi.TypeProductPriceChanged, catalogapi.TypeProductRemoved} {
		catalog[t] = c.Handle
	}
	if err := platform.HandleEvents(ctx, s, catalogapi.EventsSubjects, CatalogGroup, catalog); err != nil {
		return err
	}
	return platform.HandleEvents(ctx, s, shippingapi.EventsSubjects, ShippingGroup, platform.Handlers{
		shippingapi.TypeShipmentShipped:   a.ShipmentShipped,
		shippingapi.TypeShipmentDelivered: a.ShipmentDelivered,
	})
}
