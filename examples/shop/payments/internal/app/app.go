// Package app is the payments context's use cases: authorize, capture and
// cancel an order's payment (the commands of the fulfillment saga), and
// read payments and invoices. Each change saves the payment's events and
// the messages it publishes (integration events and the command's reply)
// in one transaction.
package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// App runs the use cases.
type App struct {
	repo   *aggregate.Repository[*domain.Payment]
	outbox *outbox.Outbox
	log    *slog.Logger
}

// New returns the use cases over the module's store and outbox.
func New(store platform.Store, ob *outbox.Outbox, log *slog.Logger) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	repo, err := aggregate.NewRepository(store, reg, "payment", domain.New,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(50)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	return &App{repo: repo, outbox: ob, log: log}, nil
}

// Get returns the payment of an order. Errors: platform.ErrNotFound.
func (a *App) Get(ctx context.Context, orderID string) (*domain.Payment, error) {
	return platform.Load(ctx, a.repo, orderID, "no payment for order "+orderID)
}

// load returns the payment of an order in tx, new when there is none.
func (a *App) load(ctx context.Context, tx eventual.Tx, orderID string) (*domain.Payment, error) {
	p, err := a.repo.LoadTx(ctx, tx, orderID)
	if errors.Is(err, aggregate.ErrNotFound) {
		return a.repo.New(orderID), nil
	}
	return p, err
}

// Authorize answers an AuthorizePayment command in tx. The first command
// of an order decides (authorized or declined) and publishes
// PaymentChanged; the next ones answer the same without changing
// anything. The test token api.TokenTimeout is never answered: the
// command is acknowledged and nothing recorded.
func (a *App) Authorize(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.AuthorizePayment](d)
	if err != nil {
		return err
	}
	if cmd.OrderID == "" {
		return a.reply(ctx, tx, d, api.TypePaymentDeclinedReply, api.PaymentReply{Reason: "no order_id"})
	}
	p, err := a.load(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	if !p.Exists() && cmd.Token == api.TokenTimeout {
		a.log.DebugContext(ctx, "payments: test token: authorization left unanswered", "order_id", cmd.OrderID, "message_id", d.ID)
		return nil
	}
	var msgs []transport.Message
	if !p.Exists() {
		if err := p.Authorize(uuid.Must(uuid.NewV7()).String(), cmd.CustomerID, cmd.Amount, cmd.Token); err != nil {
			return err
		}
		m, err := a.changed(ctx, p)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	// A later authorization answers with the payment as it is: captured
	// is as good as authorized; declined, voided and refunded are not.
	typ, r := api.TypePaymentAuthorizedReply, reply(p, p.Status)
	if p.Status != api.PaymentAuthorized && p.Status != api.PaymentCaptured {
		typ = api.TypePaymentDeclinedReply
		if r.Reason == "" {
			r.Reason = "payment " + p.Status
		}
	}
	return a.save(ctx, tx, d, p, msgs, typ, r)
}

// Capture answers a CapturePayment command in tx: an authorized payment
// is captured and invoiced (PaymentChanged and InvoiceIssued published);
// one captured already answers ".done" again; anything else ".failed"
// with the reason.
func (a *App) Capture(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.CapturePayment](d)
	if err != nil {
		return err
	}
	if cmd.OrderID == "" {
		return a.reply(ctx, tx, d, api.TypeCaptureFailedReply, api.PaymentReply{Reason: "no order_id"})
	}
	p, err := a.load(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	before := p.Version()
	err = p.Capture(uuid.Must(uuid.NewV7()).String())
	if errors.Is(err, domain.ErrNotAuthorized) {
		r := reply(p, p.Status)
		r.Reason = err.Error()
		return a.reply(ctx, tx, d, api.TypeCaptureFailedReply, r)
	}
	if err != nil {
		return err
	}
	var msgs []transport.Message
	if p.Version() != before {
		changed, err := a.changed(ctx, p)
		if err != nil {
			return err
		}
		issued, err := platform.Message(ctx, api.SubjectInvoiceIssued, api.TypeInvoiceIssued, p.ID(), api.InvoiceIssued{
			InvoiceID: p.InvoiceID, OrderID: p.ID(), CustomerID: p.CustomerID, Amount: p.Amount})
		if err != nil {
			return err
		}
		msgs = append(msgs, changed, issued)
	}
	return a.save(ctx, tx, d, p, msgs, api.TypePaymentCapturedReply, reply(p, p.Status))
}

// Cancel answers a CancelPayment command in tx: an authorization is
// voided, a capture refunded (PaymentChanged published); the reply is
// always ".done", with the status voided, refunded, or "" when there was
// nothing to cancel.
func (a *App) Cancel(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.CancelPayment](d)
	if err != nil {
		return err
	}
	if cmd.OrderID == "" {
		return a.reply(ctx, tx, d, api.TypePaymentCancelledReply, api.PaymentReply{})
	}
	p, err := a.load(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	before := p.Version()
	if err := p.Cancel(cmd.Reason); err != nil {
		return err
	}
	var msgs []transport.Message
	if p.Version() != before {
		m, err := a.changed(ctx, p)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return a.save(ctx, tx, d, p, msgs, api.TypePaymentCancelledReply, reply(p, p.CancelledStatus()))
}

// save stores p's new events (if any) and sends msgs and the reply, all
// in tx.
func (a *App) save(ctx context.Context, tx eventual.Tx, d transport.Delivery, p *domain.Payment, msgs []transport.Message, typ string, r api.PaymentReply) error {
	if len(p.Pending()) > 0 {
		if err := a.repo.SaveTx(ctx, tx, p); err != nil {
			return err
		}
	}
	m, err := platform.ReplyMessage(d, typ, r)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, append(msgs, m)...)
}

// reply sends only a reply, in tx.
func (a *App) reply(ctx context.Context, tx eventual.Tx, d transport.Delivery, typ string, r api.PaymentReply) error {
	m, err := platform.ReplyMessage(d, typ, r)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, m)
}

// changed is the PaymentChanged event of p's current status.
func (a *App) changed(ctx context.Context, p *domain.Payment) (transport.Message, error) {
	return platform.Message(ctx, api.SubjectPaymentChanged, api.TypePaymentChanged, p.ID(), api.PaymentChanged{
		PaymentID: p.PaymentID, OrderID: p.ID(), CustomerID: p.CustomerID, Amount: p.Amount, Status: p.Status, Reason: p.Reason})
}

// reply is the answer about p with the status given.
func reply(p *domain.Payment, status string) api.PaymentReply {
	r := api.PaymentReply{OrderID: p.ID(), PaymentID: p.PaymentID, Status: status}
	if status == p.Status {
		r.Reason = p.Reason
	}
	if status == "" {
		r.PaymentID = ""
	}
	return r
}
