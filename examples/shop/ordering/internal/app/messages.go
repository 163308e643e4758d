package app

import (
	"context"
	"errors"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
)

// change applies do to order id in tx and saves its events and their
// integration events. It returns the order (nil when unknown) and do's
// error; a missing order is platform.ErrNotFound.
func (a *App) change(ctx context.Context, tx eventual.Tx, id string, do func(o *domain.Order) error) (*domain.Order, error) {
	return platform.ChangeTx(ctx, tx, a.orders, a.outbox, id, func(o *domain.Order) ([]transport.Message, error) {
		if err := do(o); err != nil {
			return nil, err
		}
		return a.integration(ctx, o)
	})
}

// ConfirmOrder answers a ConfirmOrder command in tx: ".done" with the
// order's status once it is confirmed (again: nothing changes), ".failed"
// when the order is unknown, cancelled or rejected. The reply goes through
// the outbox with the change.
func (a *App) ConfirmOrder(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.ConfirmOrder](d)
	if err != nil {
		return err
	}
	a.admission.settled(tx, cmd.OrderID)
	reply := api.OrderReply{OrderID: cmd.OrderID}
	typ := api.TypeOrderConfirmDone
	o, err := a.change(ctx, tx, cmd.OrderID, func(o *domain.Order) error { return o.Confirm(cmd.TrackingNumber, a.now()) })
	switch {
	case errors.Is(err, platform.ErrNotFound), errors.Is(err, domain.ErrNotPlaced):
		typ, reply.Reason = api.TypeOrderConfirmFailed, "unknown order"
	case errors.Is(err, domain.ErrNotConfirmable):
		typ, reply.Status, reply.Reason = api.TypeOrderConfirmFailed, o.Status, "order is "+o.Status
	case err != nil:
		return err
	default:
		reply.Status = o.Status
	}
	return a.reply(ctx, tx, d, typ, reply)
}

// RejectOrder answers a RejectOrder command in tx, always ".done": a
// placed order is rejected with the reason; one rejected or cancelled
// already stays so; an unknown one is answered with Reason "unknown
// order"; one confirmed or further on is not rejected (Reason says so).
func (a *App) RejectOrder(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.RejectOrder](d)
	if err != nil {
		return err
	}
	a.admission.settled(tx, cmd.OrderID)
	reply := api.OrderReply{OrderID: cmd.OrderID}
	o, err := a.change(ctx, tx, cmd.OrderID, func(o *domain.Order) error { return o.Reject(cmd.Reason, a.now()) })
	switch {
	case errors.Is(err, platform.ErrNotFound), errors.Is(err, domain.ErrNotPlaced):
		reply.Reason = "unknown order"
	case errors.Is(err, domain.ErrNotRejectable):
		reply.Status, reply.Reason = o.Status, "not rejected: the order is "+o.Status
	case err != nil:
		return err
	default:
		reply.Status, reply.Reason = o.Status, o.Reason
	}
	return a.reply(ctx, tx, d, api.TypeOrderRejectDone, reply)
}

func (a *App) reply(ctx context.Context, tx eventual.Tx, d transport.Delivery, typ string, v any) error {
	m, err := platform.ReplyMessage(d, typ, v)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, m)
}

// ShipmentShipped marks the shipment's order shipped, in tx. An event for
// an unknown order, or one that is not confirmed, is ignored.
func (a *App) ShipmentShipped(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	s, err := platform.Decode[shippingapi.Shipment](d)
	if err != nil {
		return err
	}
	_, err = a.change(ctx, tx, s.OrderID, func(o *domain.Order) error { return o.Ship(s.TrackingNumber, a.now()) })
	return ignoreInapplicable(err)
}

// ShipmentDelivered marks the shipment's order delivered, in tx. An event
// for an unknown order, or one that has not shipped, is ignored.
func (a *App) ShipmentDelivered(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	s, err := platform.Decode[shippingapi.Shipment](d)
	if err != nil {
		return err
	}
	_, err = a.change(ctx, tx, s.OrderID, func(o *domain.Order) error { return o.Deliver(a.now()) })
	return ignoreInapplicable(err)
}

// ignoreInapplicable drops the errors of events that do not apply to the
// order as it is.
func ignoreInapplicable(err error) error {
	if errors.Is(err, platform.ErrNotFound) || errors.Is(err, domain.ErrTransition) || errors.Is(err, domain.ErrNotPlaced) {
		return nil
	}
	return err
}
