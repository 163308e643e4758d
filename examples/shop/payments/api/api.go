// Package api is the public contract of the payments context: the commands
// that authorize, capture and cancel an order's payment, and the events of
// payments and invoices.
//
// Test rules (so that failures can be exercised end to end): the card
// token "tok_decline" is declined; "tok_timeout" is never answered; an
// amount over MaxAmount is declined.
package api

import "github.com/eventual-go/eventual/examples/shop/kernel"

// Test tokens and limit.
const (
	TokenDecline = "tok_decline"
	TokenTimeout = "tok_timeout"
	// MaxAmount is the largest amount authorized, in minor units.
	MaxAmount = 1_000_000
)

// Integration events, published on "payments.events.<name>", keyed by
// order ID.
const (
	SubjectPaymentChanged = "payments.events.payment_changed"
	TypePaymentChanged    = "payments.payment_changed"

	SubjectInvoiceIssued = "payments.events.invoice_issued"
	TypeInvoiceIssued    = "payments.invoice_issued"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "payments.events.>"
)

// Payment statuses.
const (
	PaymentAuthorized = "authorized"
	PaymentDeclined   = "declined"
	PaymentCaptured   = "captured"
	PaymentVoided     = "voided"
	PaymentRefunded   = "refunded"
)

// PaymentChanged: a payment's new status.
type PaymentChanged struct {
	PaymentID  string       `json:"payment_id"`
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
	Status     string       `json:"status"`
	Reason     string       `json:"reason,omitempty"`
}

// InvoiceIssued: an invoice for a captured payment.
type InvoiceIssued struct {
	InvoiceID  string       `json:"invoice_id"`
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
}

// Commands, sent to "payments.commands.<name>"; replies have the
// command's type plus ".done" or ".failed". Each is idempotent per order.
const (
	SubjectAuthorizePayment    = "payments.commands.authorize_payment"
	TypeAuthorizePayment       = "payments.authorize_payment"
	TypePaymentAuthorizedReply = TypeAuthorizePayment + ".done"
	TypePaymentDeclinedReply   = TypeAuthorizePayment + ".failed"

	SubjectCapturePayment    = "payments.commands.capture_payment"
	TypeCapturePayment       = "payments.capture_payment"
	TypePaymentCapturedReply = TypeCapturePayment + ".done"
	TypeCaptureFailedReply   = TypeCapturePayment + ".failed"

	// CancelPayment voids an authorization or refunds a capture,
	// whichever the order's payment needs (nothing if there is none).
	SubjectCancelPayment      = "payments.commands.cancel_payment"
	TypeCancelPayment         = "payments.cancel_payment"
	TypePaymentCancelledReply = TypeCancelPayment + ".done"

	// CommandsSubjects matches every command of the context.
	CommandsSubjects = "payments.commands.>"
)

// AuthorizePayment holds Amount on the card Token for an order.
type AuthorizePayment struct {
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
	Token      string       `json:"token"`
}

// CapturePayment takes the authorized amount of an order.
type CapturePayment struct {
	OrderID string `json:"order_id"`
}

// CancelPayment voids or refunds an order's payment.
type CancelPayment struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason,omitempty"`
}

// PaymentReply answers the payment commands: the payment and its status
// (for CancelPayment: voided, refunded, or "" when there was none).
type PaymentReply struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id,omitempty"`
	Status    string `json:"status,omitempty"`
	Reason    string `json:"reason,omitempty"`
}
