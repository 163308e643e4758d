// Package adapters connects the notifications use cases to the outside:
// the subscriptions to the events of customers, ordering and fulfillment,
// and the HTTP endpoint listing what was sent.
package adapters

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/notifications/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// ListRequest lists the notifications sent.
type ListRequest struct {
	CustomerID string `query:"customer_id" description:"Only this customer's notifications."`
	OrderID    string `query:"order_id" description:"Only this order's notifications."`
	Limit      int    `query:"limit" description:"Page length, 1 to 500 (default 50)."`
	Cursor     string `query:"cursor" description:"The next_cursor of the previous page."`
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App) {
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/notifications", Summary: "Notifications sent to customers, oldest first", Tag: "notifications"},
		func(ctx context.Context, req ListRequest) (platform.Page[app.Sent], error) {
			return a.List(ctx, req.CustomerID, req.OrderID, req.Limit, req.Cursor)
		})
}
