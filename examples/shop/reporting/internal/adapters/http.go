package adapters

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/domain"
)

// ListOrdersRequest filters and pages the orders.
type ListOrdersRequest struct {
	Status     string `query:"status" description:"placed, confirmed, shipped, delivered, rejected or cancelled."`
	CustomerID string `query:"customer_id"`
	StoreID    string `query:"store_id" description:"Orders with a line of this store."`
	From       string `query:"from" description:"Placed at or after: RFC 3339 time or YYYY-MM-DD (midnight UTC)." example:"2026-01-01"`
	To         string `query:"to" description:"Placed before: RFC 3339 time or YYYY-MM-DD (midnight UTC)." example:"2026-02-01"`
	Limit      int    `query:"limit" description:"1 to 500; default 50."`
	Cursor     string `query:"cursor" description:"next_cursor of the previous page."`

	filter OrderFilter
}

// Validate checks and parses the parameters.
func (r *ListOrdersRequest) Validate() error {
	var c platform.Check
	c.Require("status", r.Status == "" || slices.Contains(domain.Statuses, r.Status), "must be one of placed, confirmed, shipped, delivered, rejected, cancelled")
	r.filter = OrderFilter{Status: r.Status, CustomerID: r.CustomerID, StoreID: r.StoreID}
	r.filter.From = parseTime(&c, "from", r.From)
	r.filter.To = parseTime(&c, "to", r.To)
	r.filter.Limit, r.filter.AfterPlaced, r.filter.AfterID = page(&c, r.Limit, r.Cursor)
	return c.Err()
}

// CustomerOrdersRequest pages a customer's orders.
type CustomerOrdersRequest struct {
	ID     string `path:"id"`
	Limit  int    `query:"limit" description:"1 to 500; default 50."`
	Cursor string `query:"cursor" description:"next_cursor of the previous page."`

	filter OrderFilter
}

// Validate checks and parses the parameters.
func (r *CustomerOrdersRequest) Validate() error {
	var c platform.Check
	r.filter = OrderFilter{CustomerID: r.ID}
	r.filter.Limit, r.filter.AfterPlaced, r.filter.AfterID = page(&c, r.Limit, r.Cursor)
	return c.Err()
}

// ByID names an order in the path.
type ByID struct {
	ID string `path:"id"`
}

// SalesRequest asks for a sales report.
type SalesRequest struct {
	By   string `query:"by" description:"product (default), store or day." example:"product"`
	From string `query:"from" description:"First day, YYYY-MM-DD (the day an order was placed, UTC)." example:"2026-01-01"`
	To   string `query:"to" description:"Day after the last, YYYY-MM-DD." example:"2026-02-01"`
}

// Validate checks the parameters.
func (r *SalesRequest) Validate() error {
	var c platform.Check
	if r.By == "" {
		r.By = "product"
	}
	c.Require("by", slices.Contains([]string{"product", "store", "day"}, r.By), "must be product, store or day")
	for _, p := range []struct{ name, v string }{{"from", r.From}, {"to", r.To}} {
		if p.v != "" {
			_, err := time.Parse(time.DateOnly, p.v)
			c.Require(p.name, err == nil, "must be a date, YYYY-MM-DD")
		}
	}
	return c.Err()
}

// SearchRequest is a full-text search.
type SearchRequest struct {
	Q     string `query:"q" required:"true" description:"Words; each must appear (as a word prefix with SQLite FTS, anywhere otherwise)." example:"lovelace"`
	Limit int    `query:"limit" description:"1 to 100; default 20."`

	terms []string
}

// Validate checks the parameters.
func (r *SearchRequest) Validate() error {
	var c platform.Check
	r.terms = domain.Terms(r.Q)
	c.Require("q", len(r.terms) > 0, "must contain a word")
	c.Require("q", len(r.terms) <= 16, "must have at most 16 words")
	if r.Limit == 0 {
		r.Limit = 20
	}
	c.Require("limit", r.Limit >= 1 && r.Limit <= 100, "must be between 1 and 100")
	return c.Err()
}

// parseTime parses an RFC 3339 time or a date into Unix µs (0 for "").
func parseTime(c *platform.Check, field, v string) int64 {
	if v == "" {
		return 0
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UnixMicro()
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UnixMicro()
	}
	c.Add(field, errors.New("must be an RFC 3339 time or a date, YYYY-MM-DD"))
	return 0
}

// page checks limit and decodes cursor (placed_at, id).
func page(c *platform.Check, limit int, cursor string) (int, int64, string) {
	n, err := platform.PageSize(limit)
	if err != nil {
		c.Add("limit", errors.New("must be between 1 and 500"))
	}
	key, err := platform.DecodeCursor(cursor, 2)
	if err != nil {
		c.Add("cursor", errors.New("is not a cursor of this listing"))
		return n, 0, ""
	}
	if key == nil {
		return n, 0, ""
	}
	at, err := strconv.ParseInt(key[0], 10, 64)
	if err != nil || key[1] == "" {
		c.Add("cursor", errors.New("is not a cursor of this listing"))
		return n, 0, ""
	}
	return n, at, key[1]
}

// Routes registers the endpoints: reads only.
func Routes(r *platform.Router, q *Queries) {
	const tag = "reporting"
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/reports/orders", Summary: "Orders, newest first", Tag: tag},
		func(ctx context.Context, req ListOrdersRequest) (platform.Page[Order], error) {
			return q.Orders(ctx, req.filter)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/reports/orders/{id}", Summary: "An order's details", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Order, error) {
			return q.Order(ctx, req.ID)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/reports/customers/{id}/orders", Summary: "A customer's orders, newest first", Tag: tag},
		func(ctx context.Context, req CustomerOrdersRequest) (platform.Page[Order], error) {
			return q.Orders(ctx, req.filter)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/reports/stats", Summary: "Order statistics", Tag: tag},
		func(ctx context.Context, _ platform.Empty) (Stats, error) {
			return q.Stats(ctx)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/reports/sales", Summary: "Sales per product, store or day", Tag: tag},
		func(ctx context.Context, req SalesRequest) (Sales, error) {
			return q.Sales(ctx, req.By, req.From, req.To)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/search/orders", Summary: "Search orders by ID, customer name, product, status or tracking number", Tag: tag},
		func(ctx context.Context, req SearchRequest) (platform.Page[Order], error) {
			items, err := q.SearchOrders(ctx, req.terms, req.Limit)
			return platform.Page[Order]{Items: items}, err
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/search/products", Summary: "Search products by name, description, SKU or store", Tag: tag},
		func(ctx context.Context, req SearchRequest) (platform.Page[Product], error) {
			items, err := q.SearchProducts(ctx, req.terms, req.Limit)
			return platform.Page[Product]{Items: items}, err
		})
}
