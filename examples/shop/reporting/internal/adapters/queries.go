package adapters

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/domain"
)

// Queries reads the read models (through the views of the active
// generation, outside any write transaction).
type Queries struct {
	Store eventual.Querier
	Mode  SearchMode
}

// Order is an order as the reports show it.
type Order struct {
	ID             string               `json:"id"`
	CustomerID     string               `json:"customer_id"`
	CustomerName   string               `json:"customer_name,omitempty"`
	Status         string               `json:"status" description:"placed, confirmed, shipped, delivered, rejected or cancelled; empty while only other contexts' events are known."`
	Reason         string               `json:"reason,omitempty" description:"Why it was rejected or cancelled."`
	Total          *kernel.Money        `json:"total,omitempty"`
	ItemCount      int64                `json:"item_count"`
	StoreIDs       []string             `json:"store_ids"`
	TrackingNumber string               `json:"tracking_number,omitempty"`
	PaymentStatus  string               `json:"payment_status,omitempty"`
	PlacedAt       time.Time            `json:"placed_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
	Lines          []ordering.OrderLine `json:"lines,omitempty" description:"In the details only."`
}

func orderView(o *domain.Order) (Order, error) {
	lines, err := o.DecodeLines()
	if err != nil {
		return Order{}, err
	}
	v := Order{ID: o.ID, CustomerID: o.CustomerID, CustomerName: o.CustomerName, Status: o.Status, Reason: o.Reason,
		ItemCount: o.ItemCount, StoreIDs: o.StoreIDs, TrackingNumber: o.TrackingNumber, PaymentStatus: o.PaymentStatus,
		PlacedAt: time.UnixMicro(o.PlacedAt).UTC(), UpdatedAt: time.UnixMicro(o.UpdatedAt).UTC(), Lines: lines}
	if o.Total.Currency != "" {
		t := o.Total
		v.Total = &t
	}
	if v.StoreIDs == nil {
		v.StoreIDs = []string{}
	}
	return v, nil
}

// columns returns orderColumns prefixed with alias; without the lines
// unless withLines.
func columns(alias string, withLines bool) string {
	parts := strings.Split(orderColumns, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "lines" && !withLines {
			parts[i] = "''"
			continue
		}
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}

// OrderFilter selects orders for a listing.
type OrderFilter struct {
	Status, CustomerID, StoreID string
	// From and To bound placed_at (From ≤ placed_at < To), Unix µs; 0:
	// open.
	From, To int64
	Limit    int
	// After is the cursor: the listing goes on after (AfterPlaced,
	// AfterID), newest first.
	AfterPlaced int64
	AfterID     string
}

// Orders returns a page of orders, newest placed first.
func (q *Queries) Orders(ctx context.Context, f OrderFilter) (platform.Page[Order], error) {
	var b strings.Builder
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	placed, id := "o.placed_at", "o.id"
	b.WriteString("SELECT " + columns("o", false) + " FROM ")
	if f.StoreID != "" {
		placed, id = "s.placed_at", "s.order_id"
		b.WriteString(TableOrderStores + " s JOIN " + TableOrders + " o ON o.id = s.order_id WHERE s.store_id = " + arg(f.StoreID))
	} else {
		b.WriteString(TableOrders + " o WHERE o.status <> ''")
	}
	if f.Status != "" {
		b.WriteString(" AND o.status = " + arg(f.Status))
	}
	if f.CustomerID != "" {
		b.WriteString(" AND o.customer_id = " + arg(f.CustomerID))
	}
	if f.From != 0 {
		b.WriteString(" AND " + placed + " >= " + arg(f.From))
	}
	if f.To != 0 {
		b.WriteString(" AND " + placed + " < " + arg(f.To))
	}
	if f.AfterID != "" {
		p := arg(f.AfterPlaced)
		b.WriteString(" AND (" + placed + " < " + p + " OR (" + placed + " = " + p + " AND " + id + " < " + arg(f.AfterID) + "))")
	}
	b.WriteString(" ORDER BY " + placed + " DESC, " + id + " DESC LIMIT " + strconv.Itoa(f.Limit+1))
	items, err := q.orders(ctx, b.String(), args...)
	if err != nil {
		return platform.Page[Order]{}, err
	}
	page := platform.Page[Order]{Items: items}
	if len(items) > f.Limit {
		page.Items = items[:f.Limit]
		last := page.Items[f.Limit-1]
		page.NextCursor = platform.EncodeCursor(strconv.FormatInt(last.PlacedAt.UnixMicro(), 10), last.ID)
	}
	return page, nil
}

func (q *Queries) orders(ctx context.Context, query string, args ...any) ([]Order, error) {
	rows, err := q.Store.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows.Scan)
		if err != nil {
			return nil, err
		}
		v, err := orderView(o)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Order returns an order's details. Errors: platform.ErrNotFound.
func (q *Queries) Order(ctx context.Context, id string) (Order, error) {
	o, err := scanOrder(q.Store.QueryRow(ctx, "SELECT "+columns("o", true)+" FROM "+TableOrders+" o WHERE o.id = $1", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, fmt.Errorf("%w: order %s", platform.ErrNotFound, id)
	}
	if err != nil {
		return Order{}, err
	}
	return orderView(o)
}

// Stats are the order statistics.
type Stats struct {
	// Orders counts the orders whose status is known.
	Orders   int64            `json:"orders"`
	ByStatus map[string]int64 `json:"by_status"`
	// Revenue is per currency, of the orders confirmed and not cancelled.
	Revenue []Revenue `json:"revenue"`
}

// Revenue is the revenue in one currency.
type Revenue struct {
	Currency string       `json:"currency"`
	Orders   int64        `json:"orders"`
	Total    kernel.Money `json:"total"`
	// AverageOrderValue is Total / Orders, rounded half away from zero.
	AverageOrderValue kernel.Money `json:"average_order_value"`
}

// Stats returns the order statistics.
func (q *Queries) Stats(ctx context.Context) (Stats, error) {
	rows, err := q.Store.Query(ctx, "SELECT name, currency, value FROM "+TableStats+" ORDER BY name, currency")
	if err != nil {
		return Stats{}, err
	}
	defer rows.Close()
	st := Stats{ByStatus: map[string]int64{}, Revenue: []Revenue{}}
	for _, s := range domain.Statuses {
		st.ByStatus[s] = 0
	}
	rev := map[string]*Revenue{}
	get := func(cur string) *Revenue {
		if rev[cur] == nil {
			rev[cur] = &Revenue{Currency: cur, Total: kernel.Zero(cur), AverageOrderValue: kernel.Zero(cur)}
		}
		return rev[cur]
	}
	var currencies []string
	for rows.Next() {
		var name, cur string
		var v int64
		if err := rows.Scan(&name, &cur, &v); err != nil {
			return Stats{}, err
		}
		switch {
		case strings.HasPrefix(name, "status:"):
			st.ByStatus[strings.TrimPrefix(name, "status:")] = v
			st.Orders += v
		case name == "revenue" || name == "revenue_orders":
			if rev[cur] == nil {
				currencies = append(currencies, cur)
			}
			r := get(cur)
			if name == "revenue" {
				r.Total.Minor = v
			} else {
				r.Orders = v
			}
		}
	}
	if err := rows.Err(); err != nil {
		return Stats{}, err
	}
	for _, cur := range currencies {
		r := rev[cur]
		if r.Orders > 0 {
			r.AverageOrderValue.Minor = divRound(r.Total.Minor, r.Orders)
		}
		st.Revenue = append(st.Revenue, *r)
	}
	return st, nil
}

// divRound is a/b rounded half away from zero (b > 0).
func divRound(a, b int64) int64 {
	q, r := a/b, a%b
	if 2*r >= b {
		q++
	} else if 2*r <= -b {
		q--
	}
	return q
}

// SalesRow is the sales of a product, a store or a day, in one currency.
type SalesRow struct {
	// Key is the product's ID, the store's, or the day (YYYY-MM-DD).
	Key      string       `json:"key"`
	Name     string       `json:"name,omitempty" description:"The product's or store's name."`
	Quantity int64        `json:"quantity"`
	Revenue  kernel.Money `json:"revenue" description:"Sum of the line totals (before the order's discount, tax and shipping)."`
}

// Sales is a sales report.
type Sales struct {
	By   string     `json:"by"`
	From string     `json:"from,omitempty"`
	To   string     `json:"to,omitempty"`
	Rows []SalesRow `json:"rows"`
}

// Sales returns the sales grouped by "product", "store" or "day", of the
// days in [from, to) (YYYY-MM-DD; "" leaves that end open): by revenue
// for products and stores, by day for days.
func (q *Queries) Sales(ctx context.Context, by, from, to string) (Sales, error) {
	var key, name, join, order string
	switch by {
	case "store":
		key, name, join = "s.store_id", "COALESCE(st.name, '')", " LEFT JOIN "+TableStores+" st ON st.id = s.store_id"
		order = "CAST(SUM(s.revenue) AS BIGINT) DESC, " + key
	case "day":
		key, name, order = "s.day", "''", "s.day"
	default:
		key, name, join = "s.product_id", "COALESCE(p.name, MAX(s.name))", " LEFT JOIN "+TableProducts+" p ON p.id = s.product_id"
		order = "CAST(SUM(s.revenue) AS BIGINT) DESC, " + key
	}
	var args []any
	where := " WHERE 1 = 1"
	if from != "" {
		args = append(args, from)
		where += " AND s.day >= $" + strconv.Itoa(len(args))
	}
	if to != "" {
		args = append(args, to)
		where += " AND s.day < $" + strconv.Itoa(len(args))
	}
	group := key + ", s.currency"
	if by == "store" {
		group += ", st.name"
	} else if by != "day" {
		group += ", p.name"
	}
	query := "SELECT " + key + ", " + name + ", s.currency, CAST(SUM(s.quantity) AS BIGINT), CAST(SUM(s.revenue) AS BIGINT) FROM " +
		TableSales + " s" + join + where + " GROUP BY " + group +
		" HAVING SUM(s.quantity) <> 0 OR SUM(s.revenue) <> 0 ORDER BY " + order + ", s.currency"
	rows, err := q.Store.Query(ctx, query, args...)
	if err != nil {
		return Sales{}, err
	}
	defer rows.Close()
	out := Sales{By: by, From: from, To: to, Rows: []SalesRow{}}
	for rows.Next() {
		var r SalesRow
		if err := rows.Scan(&r.Key, &r.Name, &r.Revenue.Currency, &r.Quantity, &r.Revenue.Minor); err != nil {
			return Sales{}, err
		}
		out.Rows = append(out.Rows, r)
	}
	return out, rows.Err()
}

// SearchOrders returns up to limit orders whose document has every term,
// newest first.
func (q *Queries) SearchOrders(ctx context.Context, terms []string, limit int) ([]Order, error) {
	cond, args := searchCondition(q.Mode, "s", terms, 1)
	return q.orders(ctx, "SELECT "+columns("o", false)+" FROM "+TableOrderSearch+" s JOIN "+TableOrders+" o ON o.id = s.id WHERE "+
		cond+" ORDER BY o.placed_at DESC, o.id DESC LIMIT "+strconv.Itoa(limit), args...)
}

// Product is a product as the reports show it.
type Product struct {
	ID          string       `json:"id"`
	StoreID     string       `json:"store_id"`
	StoreName   string       `json:"store_name,omitempty"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	SKU         string       `json:"sku"`
	Price       kernel.Money `json:"price"`
}

// SearchProducts returns up to limit products (not removed) whose
// document has every term, by name.
func (q *Queries) SearchProducts(ctx context.Context, terms []string, limit int) ([]Product, error) {
	cond, args := searchCondition(q.Mode, "s", terms, 1)
	rows, err := q.Store.Query(ctx, "SELECT p.id, p.store_id, COALESCE(st.name, ''), p.name, p.description, p.sku, p.price_minor, p.currency FROM "+
		TableProductSearch+" s JOIN "+TableProducts+" p ON p.id = s.id LEFT JOIN "+TableStores+" st ON st.id = p.store_id WHERE "+
		cond+" ORDER BY p.name, p.id LIMIT "+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Product{}
	for rows.Next() {
		var p Product
		if err := rows.Scan(&p.ID, &p.StoreID, &p.StoreName, &p.Name, &p.Description, &p.SKU, &p.Price.Minor, &p.Price.Currency); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
