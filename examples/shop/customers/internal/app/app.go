// Package app is the customers context's use cases: register, change
// contact, enable, disable, and authorize for an order. Each change saves
// the customer's events and the integration event it publishes in one
// transaction.
package app

import (
	"context"
	"errors"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/customers/api"
	"github.com/eventual-go/eventual/examples/shop/customers/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// App runs the use cases.
type App struct {
	store  eventual.TxStore
	repo   *aggregate.Repository[*domain.Customer]
	outbox *outbox.Outbox
}

// New returns the use cases over the module's store and outbox.
func New(store platform.Store, ob *outbox.Outbox) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	repo, err := aggregate.NewRepository(store, reg, "customer", domain.New,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(100)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	return &App{store: store, repo: repo, outbox: ob}, nil
}

// Register signs a customer up under id. Errors: platform.ErrConflict
// when id exists; the domain's validation errors.
func (a *App) Register(ctx context.Context, id, name, email, sms string) (*domain.Customer, error) {
	return platform.Create(ctx, a.store, a.repo, a.outbox, id, func(c *domain.Customer) ([]transport.Message, error) {
		if err := c.Register(name, email, sms); err != nil {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectCustomerRegistered, api.TypeCustomerRegistered, id,
			api.CustomerRegistered{CustomerID: id, Name: c.Name, Email: c.Email, SMSNumber: c.SMSNumber}))
	})
}

// ChangeContact replaces a customer's email and SMS number.
func (a *App) ChangeContact(ctx context.Context, id, email, sms string) (*domain.Customer, error) {
	return platform.Change(ctx, a.store, a.repo, a.outbox, id, func(c *domain.Customer) ([]transport.Message, error) {
		before := c.Version()
		if err := c.ChangeContact(email, sms); err != nil || c.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectContactChanged, api.TypeContactChanged, id,
			api.ContactChanged{CustomerID: id, Email: c.Email, SMSNumber: c.SMSNumber}))
	})
}

// Enable lets a customer order.
func (a *App) Enable(ctx context.Context, id string) (*domain.Customer, error) {
	return platform.Change(ctx, a.store, a.repo, a.outbox, id, func(c *domain.Customer) ([]transport.Message, error) {
		before := c.Version()
		if err := c.Enable(); err != nil || c.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectCustomerEnabled, api.TypeCustomerEnabled, id, api.CustomerEnabled{CustomerID: id}))
	})
}

// Disable stops a customer from ordering.
func (a *App) Disable(ctx context.Context, id, reason string) (*domain.Customer, error) {
	return platform.Change(ctx, a.store, a.repo, a.outbox, id, func(c *domain.Customer) ([]transport.Message, error) {
		before := c.Version()
		if err := c.Disable(reason); err != nil || c.Version() == before {
			return nil, err
		}
		return platform.One(platform.Message(ctx, api.SubjectCustomerDisabled, api.TypeCustomerDisabled, id,
			api.CustomerDisabled{CustomerID: id, Reason: c.DisabledReason}))
	})
}

// Get returns a customer. Errors: platform.ErrNotFound.
func (a *App) Get(ctx context.Context, id string) (*domain.Customer, error) {
	return platform.Load(ctx, a.repo, id, "customer "+id)
}

// Authorize answers an AuthorizeCustomer command in tx: the reply goes
// through the outbox, so it is sent once the handling committed.
func (a *App) Authorize(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.AuthorizeCustomer](d)
	if err != nil {
		return err
	}
	reply := api.AuthorizeReply{CustomerID: cmd.CustomerID, OrderID: cmd.OrderID}
	typ := api.TypeCustomerAuthorized
	c, err := a.repo.LoadTx(ctx, tx, cmd.CustomerID)
	switch {
	case errors.Is(err, aggregate.ErrNotFound):
		typ, reply.Reason = api.TypeCustomerNotAuthorized, "unknown customer"
	case err != nil:
		return err
	default:
		if ok, why := c.CanOrder(); !ok {
			typ, reply.Reason = api.TypeCustomerNotAuthorized, why
		}
	}
	m, err := platform.ReplyMessage(d, typ, reply)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, m)
}
