package adapters

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/projection"
)

// invoicesTable is the invoices read model, built from the payments' own
// log by the InvoicesProjection (rebuildable).
const invoicesTable = "payments_invoices"

// InvoicesProjection keeps the table payments_invoices from the
// InvoiceIssued events of the payments, for listing invoices by customer.
func InvoicesProjection() projection.Projection {
	return projection.Projection{
		Name:   "payments_invoices",
		Filter: eventual.Filter{Types: []string{domain.EventInvoiceIssued}, StreamPrefix: "payment-"},
		Tables: []string{invoicesTable},
		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
			name := t.Name(invoicesTable)
			if _, err := tx.Exec(ctx, `CREATE TABLE `+name+` (
				id TEXT PRIMARY KEY,
				order_id TEXT NOT NULL,
				customer_id TEXT NOT NULL,
				amount_minor BIGINT NOT NULL,
				currency TEXT NOT NULL,
				issued_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `CREATE INDEX `+name+`_customer ON `+name+` (customer_id, id)`)
			return err
		},
		Handle: func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
			var inv domain.InvoiceIssued
			if err := json.Unmarshal(e.Data, &inv); err != nil {
				return fmt.Errorf("invoice issued %s: %w", e.ID, err)
			}
			orderID := e.StreamID[len("payment-"):]
			_, err := tx.Exec(ctx, `INSERT INTO `+t.Name(invoicesTable)+` (id, order_id, customer_id, amount_minor, currency, issued_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
				inv.InvoiceID, orderID, inv.CustomerID, inv.Amount.Minor, inv.Amount.Currency, e.RecordedAt.UnixMicro())
			return err
		},
	}
}

// Invoice is an invoice as the API shows it.
type Invoice struct {
	ID         string       `json:"id"`
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
	IssuedAt   time.Time    `json:"issued_at"`
}

const invoiceColumns = "id, order_id, customer_id, amount_minor, currency, issued_at"

func scanInvoice(row eventual.Row) (Invoice, error) {
	var inv Invoice
	var at int64
	err := row.Scan(&inv.ID, &inv.OrderID, &inv.CustomerID, &inv.Amount.Minor, &inv.Amount.Currency, &at)
	inv.IssuedAt = time.UnixMicro(at).UTC()
	return inv, err
}

// invoices reads the invoices read model.
type invoices struct{ db eventual.Querier }

// get returns an invoice. Errors: platform.ErrNotFound.
func (q invoices) get(ctx context.Context, id string) (Invoice, error) {
	inv, err := scanInvoice(q.db.QueryRow(ctx, "SELECT "+invoiceColumns+" FROM "+invoicesTable+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Invoice{}, fmt.Errorf("%w: invoice %s", platform.ErrNotFound, id)
	}
	return inv, err
}

// list returns a page of invoices in ID (issue) order, of one customer
// if customerID is not empty.
func (q invoices) list(ctx context.Context, customerID string, limit int, cursor string) (platform.Page[Invoice], error) {
	page := platform.Page[Invoice]{Items: []Invoice{}}
	n, err := platform.PageSize(limit)
	if err != nil {
		return page, err
	}
	after := ""
	key, err := platform.DecodeCursor(cursor, 1)
	if err != nil {
		return page, err
	}
	if key != nil {
		after = key[0]
	}
	query := "SELECT " + invoiceColumns + " FROM " + invoicesTable + " WHERE id > $1"
	args := []any{after}
	if customerID != "" {
		query += " AND customer_id = $2"
		args = append(args, customerID)
	}
	query += fmt.Sprintf(" ORDER BY id LIMIT %d", n+1)
	rows, err := q.db.Query(ctx, query, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, inv)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Items) > n {
		page.Items = page.Items[:n]
		page.NextCursor = platform.EncodeCursor(page.Items[n-1].ID)
	}
	return page, nil
}
