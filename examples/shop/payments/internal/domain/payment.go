// Package domain is the payments context's model: the Payment aggregate,
// one per order (its ID is the order's), and the rules of authorizing,
// capturing, voiding and refunding it.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/payments/api"
)

// Errors of the payment rules.
var (
	// ErrNotAuthorized: the payment cannot be captured (there is none,
	// or it was declined or voided).
	ErrNotAuthorized = errors.New("payment not authorized")
)

// Reasons a payment is declined.
const (
	ReasonCardDeclined  = "card declined"
	ReasonOverLimit     = "amount over limit"
	ReasonInvalidAmount = "invalid amount"
)

// Events of the Payment, as stored.
type (
	// Authorized: the amount is held on the card.
	Authorized struct {
		PaymentID  string       `json:"payment_id"`
		CustomerID string       `json:"customer_id"`
		Amount     kernel.Money `json:"amount"`
	}
	// Declined: the card would not pay.
	Declined struct {
		PaymentID  string       `json:"payment_id"`
		CustomerID string       `json:"customer_id"`
		Amount     kernel.Money `json:"amount"`
		Reason     string       `json:"reason"`
	}
	// Captured: the authorized amount was taken.
	Captured struct{}
	// InvoiceIssued: the invoice of a captured payment. It carries what
	// the invoices read model needs.
	InvoiceIssued struct {
		InvoiceID  string       `json:"invoice_id"`
		CustomerID string       `json:"customer_id"`
		Amount     kernel.Money `json:"amount"`
	}
	// Voided: the authorization was released before capture.
	Voided struct {
		Reason string `json:"reason,omitempty"`
	}
	// Refunded: the captured amount was given back.
	Refunded struct {
		Reason string `json:"reason,omitempty"`
	}
)

// Event type names, as stored.
const (
	EventAuthorized    = "payments.authorized"
	EventDeclined      = "payments.declined"
	EventCaptured      = "payments.captured"
	EventInvoiceIssued = "payments.invoice_issued"
	EventVoided        = "payments.voided"
	EventRefunded      = "payments.refunded"
)

// Register adds the events to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[Authorized](b, EventAuthorized)
	codec.Register[Declined](b, EventDeclined)
	codec.Register[Captured](b, EventCaptured)
	codec.Register[InvoiceIssued](b, EventInvoiceIssued)
	codec.Register[Voided](b, EventVoided)
	codec.Register[Refunded](b, EventRefunded)
}

// StatusChange is a step of a payment's history.
type StatusChange struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Payment is the payment of one order; its ID is the order's.
type Payment struct {
	aggregate.Root
	state
}

// state is what a snapshot keeps.
type state struct {
	PaymentID  string       `json:"payment_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
	// Status is one of the api's Payment* statuses, "" before any.
	Status    string         `json:"status"`
	Reason    string         `json:"reason,omitempty"`
	InvoiceID string         `json:"invoice_id,omitempty"`
	History   []StatusChange `json:"history,omitempty"`
}

// New returns an empty payment of the order id.
func New(id string) *Payment {
	p := &Payment{}
	p.SetID(id)
	return p
}

// Clone implements aggregate.Cloner.
func (p *Payment) Clone() *Payment {
	c := *p
	c.History = slices.Clone(p.History)
	return &c
}

// Apply implements aggregate.Aggregate.
func (p *Payment) Apply(event any) error {
	switch e := event.(type) {
	case Authorized:
		p.PaymentID, p.CustomerID, p.Amount = e.PaymentID, e.CustomerID, e.Amount
		p.setStatus(api.PaymentAuthorized, "")
	case Declined:
		p.PaymentID, p.CustomerID, p.Amount = e.PaymentID, e.CustomerID, e.Amount
		p.setStatus(api.PaymentDeclined, e.Reason)
	case Captured:
		p.setStatus(api.PaymentCaptured, "")
	case InvoiceIssued:
		p.InvoiceID = e.InvoiceID
	case Voided:
		p.setStatus(api.PaymentVoided, e.Reason)
	case Refunded:
		p.setStatus(api.PaymentRefunded, e.Reason)
	default:
		return fmt.Errorf("payment: unknown event %T", event)
	}
	return nil
}

func (p *Payment) setStatus(status, reason string) {
	p.Status, p.Reason = status, reason
	p.History = append(p.History, StatusChange{Status: status, Reason: reason})
}

// Exists tells whether the payment was asked for (authorized or
// declined).
func (p *Payment) Exists() bool { return p.Status != "" }

// Authorize holds amount on the card token for the order, as payment
// paymentID: declined for the test token api.TokenDecline, an amount over
// api.MaxAmount, or an invalid amount. A payment that exists already is
// left as it is (the command is idempotent: its answer is the current
// state).
func (p *Payment) Authorize(paymentID, customerID string, amount kernel.Money, token string) error {
	if p.Exists() {
		return nil
	}
	reason := ""
	switch {
	case amount.Validate() != nil || amount.Minor < 0:
		reason = ReasonInvalidAmount
	case token == api.TokenDecline:
		reason = ReasonCardDeclined
	case amount.Minor > api.MaxAmount:
		reason = ReasonOverLimit
	}
	if reason != "" {
		return aggregate.Record(p, Declined{PaymentID: paymentID, CustomerID: customerID, Amount: amount, Reason: reason})
	}
	return aggregate.Record(p, Authorized{PaymentID: paymentID, CustomerID: customerID, Amount: amount})
}

// Capture takes the authorized amount and issues invoice invoiceID.
// Capturing again does nothing. Errors: ErrNotAuthorized (saying why)
// when there is no authorization to capture.
func (p *Payment) Capture(invoiceID string) error {
	switch p.Status {
	case api.PaymentCaptured:
		return nil
	case api.PaymentAuthorized:
		if err := aggregate.Record(p, Captured{}); err != nil {
			return err
		}
		return aggregate.Record(p, InvoiceIssued{InvoiceID: invoiceID, CustomerID: p.CustomerID, Amount: p.Amount})
	case "":
		return fmt.Errorf("%w: no payment authorized", ErrNotAuthorized)
	}
	return fmt.Errorf("%w: payment %s", ErrNotAuthorized, p.Status)
}

// Cancel undoes the payment: an authorization is voided, a capture
// refunded. Nothing happens to a payment declined, voided or refunded
// already, or to none.
func (p *Payment) Cancel(reason string) error {
	switch p.Status {
	case api.PaymentAuthorized:
		return aggregate.Record(p, Voided{Reason: reason})
	case api.PaymentCaptured:
		return aggregate.Record(p, Refunded{Reason: reason})
	}
	return nil
}

// CancelledStatus is the status CancelPayment answers with: voided or
// refunded, or "" when there was nothing to cancel.
func (p *Payment) CancelledStatus() string {
	switch p.Status {
	case api.PaymentVoided, api.PaymentRefunded:
		return p.Status
	}
	return ""
}

// SnapshotVersion implements aggregate.Snapshotter.
func (p *Payment) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (p *Payment) MarshalSnapshot() ([]byte, error) { return json.Marshal(p.state) }

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (p *Payment) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, &p.state) }
