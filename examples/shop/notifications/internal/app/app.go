// Package app is the notifications context's use cases: keep a local copy
// of the customers' contact (from the customers' events), tell customers
// about their orders (from the ordering and fulfillment events) through a
// Sender, and list what was sent.
//
// Each event is handled once (the inbox), in its transaction: the
// notifications are written to notifications_sent first, then sent, then
// the transaction commits. With the default RecordingSender nothing leaves
// the database, so a notification is recorded exactly once. With an
// external sender delivery is at least once: a send that succeeded before
// the transaction failed is sent again on the retry — with the same
// Notification.ID, for the sender to dedupe.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	customersapi "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillmentapi "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	"github.com/eventual-go/eventual/examples/shop/notifications/internal/domain"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/transport"
)

// App runs the use cases.
type App struct {
	store  platform.Store
	sender domain.Sender
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS notifications_customers (
		customer_id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		email TEXT NOT NULL,
		sms_number TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS notifications_sent (
		id TEXT PRIMARY KEY,
		customer_id TEXT NOT NULL,
		order_id TEXT NOT NULL,
		channel TEXT NOT NULL,
		"to" TEXT NOT NULL,
		subject TEXT NOT NULL,
		body TEXT NOT NULL,
		sent_at BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS notifications_sent_customer ON notifications_sent (customer_id, id)`,
	`CREATE INDEX IF NOT EXISTS notifications_sent_order ON notifications_sent (order_id, id)`,
}

// New returns the use cases over the module's store, sending through
// sender, and creates the tables.
func New(ctx context.Context, store platform.Store, sender domain.Sender) (*App, error) {
	err := store.InTx(ctx, func(tx eventual.Tx) error {
		for _, q := range schema {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notifications tables: %w", err)
	}
	return &App{store: store, sender: sender}, nil
}

// CustomerEvents are the customers' events Customer handles.
var CustomerEvents = []string{customersapi.TypeCustomerRegistered, customersapi.TypeContactChanged}

// Customer updates the local copy of a customer's contact in tx.
func (a *App) Customer(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	switch d.Type {
	case customersapi.TypeCustomerRegistered:
		e, err := platform.Decode[customersapi.CustomerRegistered](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO notifications_customers (customer_id, name, email, sms_number) VALUES ($1, $2, $3, $4)
			ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, email = excluded.email, sms_number = excluded.sms_number`,
			e.CustomerID, e.Name, e.Email, e.SMSNumber)
		return err
	case customersapi.TypeContactChanged:
		e, err := platform.Decode[customersapi.ContactChanged](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO notifications_customers (customer_id, name, email, sms_number) VALUES ($1, '', $2, $3)
			ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, sms_number = excluded.sms_number`,
			e.CustomerID, e.Email, e.SMSNumber)
		return err
	}
	return nil
}

// OrderEvents are the ordering and fulfillment events Order handles.
var OrderEvents = []string{fulfillmentapi.TypeOrderFulfilled, orderingapi.TypeOrderRejected, orderingapi.TypeOrderCancelled,
	orderingapi.TypeOrderShipped, orderingapi.TypeOrderDelivered}

// Order tells the customer about an event of their order in tx: records
// the notifications (email, and SMS if they have a number) and sends
// them. Errors: domain.ErrUnknownCustomer when the customer's contact is
// not known (yet: the events may have raced), the sender's — both for the
// message to be tried again, then dead-lettered.
func (a *App) Order(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	customerID, msg, err := message(d)
	if err != nil {
		return err
	}
	c := domain.Contact{CustomerID: customerID}
	err = tx.QueryRow(ctx, "SELECT name, email, sms_number FROM notifications_customers WHERE customer_id = $1", customerID).
		Scan(&c.Name, &c.Email, &c.SMSNumber)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	ns, err := msg.Notifications(d.ID, c)
	if err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	for _, n := range ns {
		_, err := tx.Exec(ctx, `INSERT INTO notifications_sent (id, customer_id, order_id, channel, "to", subject, body, sent_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, n.ID, n.CustomerID, n.OrderID, n.Channel, n.To, n.Subject, n.Body, now)
		if err != nil {
			return err
		}
		if err := a.sender.Send(ctx, n); err != nil {
			return fmt.Errorf("send %s to %s: %w", n.Channel, n.To, err)
		}
	}
	return nil
}

// message decodes an order event into its customer and what to tell them.
func message(d transport.Delivery) (string, domain.Message, error) {
	switch d.Type {
	case fulfillmentapi.TypeOrderFulfilled:
		e, err := platform.Decode[fulfillmentapi.OrderFulfilled](d)
		return e.CustomerID, domain.Confirmed(e.OrderID, e.Total, e.TrackingNumber), err
	case orderingapi.TypeOrderRejected:
		e, err := platform.Decode[orderingapi.OrderRejected](d)
		return e.CustomerID, domain.Rejected(e.OrderID, e.Reason), err
	case orderingapi.TypeOrderCancelled:
		e, err := platform.Decode[orderingapi.OrderCancelled](d)
		return e.CustomerID, domain.Cancelled(e.OrderID, e.Total), err
	case orderingapi.TypeOrderShipped:
		e, err := platform.Decode[orderingapi.OrderShipped](d)
		return e.CustomerID, domain.Shipped(e.OrderID, e.TrackingNumber), err
	case orderingapi.TypeOrderDelivered:
		e, err := platform.Decode[orderingapi.OrderDelivered](d)
		return e.CustomerID, domain.Delivered(e.OrderID), err
	}
	return "", domain.Message{}, transport.Terminate(fmt.Errorf("notifications: unexpected event %s", d.Type))
}

// Sent is a notification as recorded.
type Sent struct {
	domain.Notification
	SentAt time.Time `json:"sent_at"`
}

// List returns a page of the notifications sent, in the order of the
// events they tell about, of one customer and one order if they are not
// empty. Errors: a *platform.ValidationError for a bad limit or cursor.
func (a *App) List(ctx context.Context, customerID, orderID string, limit int, cursor string) (platform.Page[Sent], error) {
	page := platform.Page[Sent]{Items: []Sent{}}
	n, err := platform.PageSize(limit)
	if err != nil {
		return page, err
	}
	key, err := platform.DecodeCursor(cursor, 1)
	if err != nil {
		return page, err
	}
	after := ""
	if key != nil {
		after = key[0]
	}
	query := `SELECT id, customer_id, order_id, channel, "to", subject, body, sent_at FROM notifications_sent WHERE id > $1`
	args := []any{after}
	if customerID != "" {
		args = append(args, customerID)
		query += fmt.Sprintf(" AND customer_id = $%d", len(args))
	}
	if orderID != "" {
		args = append(args, orderID)
		query += fmt.Sprintf(" AND order_id = $%d", len(args))
	}
	query += fmt.Sprintf(" ORDER BY id LIMIT %d", n+1)
	rows, err := a.store.Query(ctx, query, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var s Sent
		var at int64
		if err := rows.Scan(&s.ID, &s.CustomerID, &s.OrderID, &s.Channel, &s.To, &s.Subject, &s.Body, &at); err != nil {
			return page, err
		}
		s.SentAt = time.UnixMicro(at).UTC()
		page.Items = append(page.Items, s)
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
