// Package app is the shipping context's use cases: create and cancel an
// order's shipment (the commands of the sagas), ship and deliver it, and
// switch shipping on and off. Each change saves the shipment's events and
// the messages it publishes (integration events and the command's reply)
// in one transaction.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/domain"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// App runs the use cases.
type App struct {
	store  platform.Store
	repo   *aggregate.Repository[*domain.Shipment]
	outbox *outbox.Outbox
}

// New returns the use cases over the module's store and outbox, creating
// the settings table.
func New(ctx context.Context, store platform.Store, ob *outbox.Outbox) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	repo, err := aggregate.NewRepository(store, reg, "shipment", domain.New,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(50)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	err = store.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS shipping_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("shipping settings table: %w", err)
	}
	return &App{store: store, repo: repo, outbox: ob}, nil
}

// Get returns the shipment of an order. Errors: platform.ErrNotFound.
func (a *App) Get(ctx context.Context, orderID string) (*domain.Shipment, error) {
	return platform.Load(ctx, a.repo, orderID, "no shipment for order "+orderID)
}

// load returns the shipment of an order in tx, new when there is none.
func (a *App) load(ctx context.Context, tx eventual.Tx, orderID string) (*domain.Shipment, error) {
	s, err := a.repo.LoadTx(ctx, tx, orderID)
	if errors.Is(err, aggregate.ErrNotFound) {
		return a.repo.New(orderID), nil
	}
	return s, err
}

// Create answers a CreateShipment command in tx. The first command of an
// order decides: created (ShipmentCreated published) or refused (to
// api.UnavailableCountry, or while shipping is switched off); the next
// ones answer the same without changing anything; a cancelled shipment
// answers ".failed" with reason "cancelled".
func (a *App) Create(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.CreateShipment](d)
	if err != nil {
		return err
	}
	if cmd.OrderID == "" {
		return a.reply(ctx, tx, d, nil, api.TypeShippingUnavailable, api.ShipmentReply{Reason: "no order_id"})
	}
	s, err := a.load(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	var msgs []transport.Message
	if !s.Exists() {
		available, err := availableTx(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.Create(uuid.Must(uuid.NewV7()).String(), TrackingNumber(), cmd.Address, cmd.Items, available); err != nil {
			return err
		}
		if s.Status == domain.StatusCreated {
			m, err := event(ctx, s, api.SubjectShipmentCreated, api.TypeShipmentCreated)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if err := a.repo.SaveTx(ctx, tx, s); err != nil {
			return err
		}
	}
	r := api.ShipmentReply{OrderID: s.ID(), ShipmentID: s.ShipmentID, TrackingNumber: s.TrackingNumber}
	typ := api.TypeShipmentCreatedReply
	if ok, why := s.Created(); !ok {
		typ, r.Reason = api.TypeShippingUnavailable, why
	}
	return a.reply(ctx, tx, d, msgs, typ, r)
}

// Cancel answers a CancelShipment command in tx: a created shipment is
// cancelled (ShipmentCancelled published). The reply is always ".done":
// with Reason "already shipped" when it has shipped and so was not
// cancelled.
func (a *App) Cancel(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.CancelShipment](d)
	if err != nil {
		return err
	}
	if cmd.OrderID == "" {
		return a.reply(ctx, tx, d, nil, api.TypeShipmentCancelledReply, api.ShipmentReply{})
	}
	s, err := a.load(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	var msgs []transport.Message
	before := s.Version()
	if err := s.Cancel(); err != nil {
		return err
	}
	if s.Version() != before {
		m, err := event(ctx, s, api.SubjectShipmentCancelled, api.TypeShipmentCancelled)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
		if err := a.repo.SaveTx(ctx, tx, s); err != nil {
			return err
		}
	}
	return a.reply(ctx, tx, d, msgs, api.TypeShipmentCancelledReply,
		api.ShipmentReply{OrderID: s.ID(), ShipmentID: s.ShipmentID, TrackingNumber: s.TrackingNumber, Reason: s.CancelReason()})
}

// Ship sends an order's shipment off (ShipmentShipped published).
// Errors: platform.ErrNotFound; platform.ErrConflict (wrapping
// domain.ErrNotShippable) for one cancelled or refused.
func (a *App) Ship(ctx context.Context, orderID string) (*domain.Shipment, error) {
	return a.change(ctx, orderID, (*domain.Shipment).Ship, api.SubjectShipmentShipped, api.TypeShipmentShipped)
}

// Deliver marks an order's shipment delivered (ShipmentDelivered
// published). Errors: platform.ErrNotFound; platform.ErrConflict
// (wrapping domain.ErrNotShipped) for one that has not shipped.
func (a *App) Deliver(ctx context.Context, orderID string) (*domain.Shipment, error) {
	return a.change(ctx, orderID, (*domain.Shipment).Deliver, api.SubjectShipmentDelivered, api.TypeShipmentDelivered)
}

func (a *App) change(ctx context.Context, orderID string, do func(*domain.Shipment) error, subject, typ string) (*domain.Shipment, error) {
	s, err := platform.Change(ctx, a.store, a.repo, a.outbox, orderID, func(s *domain.Shipment) ([]transport.Message, error) {
		if !s.Exists() {
			return nil, fmt.Errorf("%w: no shipment for order %s", platform.ErrNotFound, orderID)
		}
		before := s.Version()
		if err := do(s); err != nil {
			return nil, fmt.Errorf("%w: %w", platform.ErrConflict, err)
		}
		if s.Version() == before {
			return nil, nil
		}
		m, err := event(ctx, s, subject, typ)
		if err != nil {
			return nil, err
		}
		return []transport.Message{m}, nil
	})
	return s, err
}

// reply sends msgs and the reply in tx.
func (a *App) reply(ctx context.Context, tx eventual.Tx, d transport.Delivery, msgs []transport.Message, typ string, r api.ShipmentReply) error {
	m, err := platform.ReplyMessage(d, typ, r)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, append(msgs, m)...)
}

// event is an integration event about s.
func event(ctx context.Context, s *domain.Shipment, subject, typ string) (transport.Message, error) {
	return platform.Message(ctx, subject, typ, s.ID(),
		api.Shipment{ShipmentID: s.ShipmentID, OrderID: s.ID(), TrackingNumber: s.TrackingNumber})
}

// trackingAlphabet is what tracking numbers are made of.
const trackingAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// TrackingNumber returns a new tracking number: "TRK" and 10 random
// digits or capital letters.
func TrackingNumber() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	out := make([]byte, 3, 13)
	copy(out, "TRK")
	for _, c := range b {
		out = append(out, trackingAlphabet[int(c)%len(trackingAlphabet)])
	}
	return string(out)
}
