// Package adapters connects the payments use cases to the outside: the
// HTTP endpoints, the command handler and the invoices read model.
package adapters

import (
	"context"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/app"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Payment is an order's payment as the API shows it.
type Payment struct {
	PaymentID  string                `json:"payment_id"`
	OrderID    string                `json:"order_id"`
	CustomerID string                `json:"customer_id"`
	Amount     kernel.Money          `json:"amount"`
	Status     string                `json:"status" enum:"authorized,declined,captured,voided,refunded"`
	Reason     string                `json:"reason,omitempty"`
	InvoiceID  string                `json:"invoice_id,omitempty"`
	History    []domain.StatusChange `json:"history,omitempty"`
	Version    uint64                `json:"version"`
}

func view(p *domain.Payment) Payment {
	return Payment{PaymentID: p.PaymentID, OrderID: p.ID(), CustomerID: p.CustomerID, Amount: p.Amount, Status: p.Status,
		Reason: p.Reason, InvoiceID: p.InvoiceID, History: p.History, Version: p.Version()}
}

// ByOrder names an order in the path.
type ByOrder struct {
	OrderID string `path:"order_id"`
}

// ByID names an invoice in the path.
type ByID struct {
	ID string `path:"id"`
}

// InvoicesRequest lists invoices.
type InvoicesRequest struct {
	CustomerID string `query:"customer_id" description:"Only this customer's invoices."`
	Limit      int    `query:"limit" description:"Page length, 1 to 500 (default 50)."`
	Cursor     string `query:"cursor" description:"The next_cursor of the previous page."`
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App, db eventual.Querier) {
	const tag = "payments"
	inv := invoices{db: db}
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/payments/{order_id}", Summary: "An order's payment", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByOrder) (Payment, error) {
			p, err := a.Get(ctx, req.OrderID)
			if err != nil {
				return Payment{}, err
			}
			return view(p), nil
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/invoices", Summary: "Invoices, in the order they were issued", Tag: tag},
		func(ctx context.Context, req InvoicesRequest) (platform.Page[Invoice], error) {
			return inv.list(ctx, req.CustomerID, req.Limit, req.Cursor)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/invoices/{id}", Summary: "An invoice", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Invoice, error) {
			return inv.get(ctx, req.ID)
		})
}
