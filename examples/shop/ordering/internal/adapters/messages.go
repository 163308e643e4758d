package adapters

import (
	"context"
	"fmt"

	"github.com/eventual-go/eventual"
	catalogapi "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
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
// shipped and delivered): each many at once, in shared transactions
// (inbox.Batched), each once.
func Subscribe(ctx context.Context, s *platform.Services, a *app.App, c Catalog) error {
	dead := transport.DeadLetter(s.Transport, "deadletter.ordering", 5)
	commands := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case api.TypeConfirmOrder:
			return a.ConfirmOrder(ctx, tx, d)
		case api.TypeRejectOrder:
			return a.RejectOrder(ctx, tx, d)
		}
		return transport.Terminate(fmt.Errorf("ordering: unknown command %s", d.Type))
	}, 128)
	if err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: api.CommandsSubjects, Group: Group, Concurrency: 128},
		transport.Chain(commands, dead)); err != nil {
		return err
	}
	catalog := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		return c.Handle(platform.Context(ctx, d), tx, d)
	}, 128)
	if err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: catalogapi.EventsSubjects, Group: CatalogGroup, Concurrency: 128},
		transport.Chain(catalog, dead)); err != nil {
		return err
	}
	shipping := s.Inbox.Batched(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
		ctx = platform.Context(ctx, d)
		switch d.Type {
		case shippingapi.TypeShipmentShipped:
			return a.ShipmentShipped(ctx, tx, d)
		case shippingapi.TypeShipmentDelivered:
			return a.ShipmentDelivered(ctx, tx, d)
		}
		return nil // the other shipping events are not ordering's business
	}, 128)
	return s.Transport.Subscribe(ctx, transport.Subscription{Subject: shippingapi.EventsSubjects, Group: ShippingGroup, Concurrency: 128},
		transport.Chain(shipping, dead))
}
