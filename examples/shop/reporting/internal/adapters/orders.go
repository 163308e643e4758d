package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	customers "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillment "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	payments "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/domain"
	shipping "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/projection"
)

// Tables of the orders projection, read through views of these names.
const (
	TableOrders      = "reporting_orders"
	TableOrderStores = "reporting_order_stores"
	TableCustomers   = "reporting_customers"
	TableStats       = "reporting_stats"
	TableSales       = "reporting_sales"
	TableOrderSearch = "reporting_order_search"
)

// OrdersProjection is the name of the projection of orders, customers,
// statistics, sales and order search.
const OrdersProjection = "reporting_orders"

// OrdersLinger is how long the orders projection lets events gather after
// a batch (projection.Projection.Linger). An order's events come within a
// fraction of a second under load; gathered, each order is loaded and
// written once for several of them, and reporting, which no request waits
// for, takes less of the CPU that the orders in flight need. A quiet shop
// sees no delay.
const OrdersLinger = 250 * time.Millisecond

// OrderTypes are the event types the orders projection reads.
var OrderTypes = []string{
	ordering.TypeOrderPlaced, ordering.TypeOrderConfirmed, ordering.TypeOrderRejected,
	ordering.TypeOrderCancelled, ordering.TypeOrderShipped, ordering.TypeOrderDelivered,
	payments.TypePaymentChanged,
	shipping.TypeShipmentCreated, shipping.TypeShipmentShipped, shipping.TypeShipmentDelivered,
	fulfillment.TypeOrderFulfilled,
	customers.TypeCustomerRegistered,
}

// orderColumns are the columns of reporting_orders, in the order of
// orderRow.
const orderColumns = `id, customer_id, customer_name, status, reason, total_minor, currency, item_count, store_ids,
	tracking_number, placed_at, updated_at, payment_status, lines, product_names, flags`

// Orders returns the projection that keeps, from the order events (and
// customers' names):
//   - reporting_orders: an order per row, with its lines as JSON;
//   - reporting_order_stores: the stores of each order's lines;
//   - reporting_customers: customers' names;
//   - reporting_stats: orders per status, and per currency the revenue
//     and number of the orders that count (confirmed, not cancelled);
//   - reporting_sales: per day (the order's, UTC), product, store and
//     currency, the quantity and line totals of the orders that count —
//     added when an order is confirmed, taken back when it is cancelled;
//   - reporting_order_search: the orders' search documents.
//
// Each batch loads the orders its events touch, folds the events in
// memory, and writes each changed order once, the statistics and sales as
// the difference between the orders' contributions before and after:
// so the tables are a function of the set of events, whatever their
// order, and a duplicate changes nothing.
func Orders(mode SearchMode) projection.Projection {
	p := &ordersProjection{mode: mode}
	return projection.Projection{
		Name:        OrdersProjection,
		Version:     searchVersion(mode),
		Filter:      eventual.Filter{Types: OrderTypes},
		Tables:      []string{TableOrders, TableOrderStores, TableCustomers, TableStats, TableSales, TableOrderSearch},
		Setup:       p.setup,
		HandleBatch: p.handle,
		Linger:      OrdersLinger,
	}
}

type ordersProjection struct{ mode SearchMode }

func (p *ordersProjection) setup(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
	o, os, c, st, sa := t.Name(TableOrders), t.Name(TableOrderStores), t.Name(TableCustomers), t.Name(TableStats), t.Name(TableSales)
	for _, ddl := range []string{
		`CREATE TABLE ` + o + ` (
			id TEXT PRIMARY KEY,
			customer_id TEXT NOT NULL,
			customer_name TEXT NOT NULL,
			status TEXT NOT NULL,
			reason TEXT NOT NULL,
			total_minor BIGINT NOT NULL,
			currency TEXT NOT NULL,
			item_count BIGINT NOT NULL,
			store_ids TEXT NOT NULL,
			tracking_number TEXT NOT NULL,
			placed_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			payment_status TEXT NOT NULL,
			lines TEXT NOT NULL,
			product_names TEXT NOT NULL,
			flags INTEGER NOT NULL)`,
		`CREATE INDEX ` + o + `_placed ON ` + o + ` (placed_at, id)`,
		`CREATE INDEX ` + o + `_customer ON ` + o + ` (customer_id, placed_at, id)`,
		`CREATE INDEX ` + o + `_status ON ` + o + ` (status, placed_at, id)`,
		`CREATE TABLE ` + os + ` (
			store_id TEXT NOT NULL,
			order_id TEXT NOT NULL,
			placed_at BIGINT NOT NULL,
			PRIMARY KEY (store_id, order_id))`,
		`CREATE INDEX ` + os + `_placed ON ` + os + ` (store_id, placed_at, order_id)`,
		`CREATE TABLE ` + c + ` (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)`,
		`CREATE TABLE ` + st + ` (name TEXT NOT NULL, currency TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (name, currency))`,
		`CREATE TABLE ` + sa + ` (
			day TEXT NOT NULL,
			product_id TEXT NOT NULL,
			store_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			name TEXT NOT NULL,
			quantity BIGINT NOT NULL,
			revenue BIGINT NOT NULL,
			PRIMARY KEY (day, product_id, store_id, currency))`,
	} {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return err
		}
	}
	return createSearch(ctx, tx, p.mode, t.Name(TableOrderSearch))
}

// change is an order a batch touches: as loaded (stored: from its row),
// and as folded.
type change struct {
	before, after *domain.Order
	stored        bool
}

func (p *ordersProjection) handle(ctx context.Context, tx eventual.Tx, t projection.Tables, events []eventual.RecordedEvent) error {
	orders := map[string]*change{}
	var ids []string // in order of first appearance, for deterministic writes
	touch := func(id string) {
		if orders[id] == nil {
			orders[id] = &change{}
			ids = append(ids, id)
		}
	}
	registered := map[string]customers.CustomerRegistered{}
	var regIDs []string
	for _, e := range events {
		if id, ok := strings.CutPrefix(e.StreamID, OrderStream); ok {
			touch(id)
			continue
		}
		if e.Type == customers.TypeCustomerRegistered {
			var c customers.CustomerRegistered
			if err := json.Unmarshal(e.Data, &c); err != nil {
				return fmt.Errorf("reporting: decode %s at %d: %w", e.Type, e.Position, err)
			}
			if _, seen := registered[c.CustomerID]; !seen {
				regIDs = append(regIDs, c.CustomerID)
			}
			registered[c.CustomerID] = c
		}
	}

	// Customers, and the orders that got in before their customer's name.
	if len(regIDs) > 0 {
		rows := make([][]any, 0, len(regIDs))
		for _, id := range regIDs {
			c := registered[id]
			rows = append(rows, []any{id, c.Name, c.Email})
		}
		if err := insertRows(ctx, tx, "INSERT INTO "+t.Name(TableCustomers)+" (id, name, email)", rows,
			"ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email"); err != nil {
			return err
		}
		err := chunks(regIDs, func(part []any) error {
			rows, err := tx.Query(ctx, "SELECT id, customer_id, customer_name FROM "+t.Name(TableOrders)+
				" WHERE customer_id IN ("+sqltext.Params(1, len(part))+")", part...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, customer, name string
				if err := rows.Scan(&id, &customer, &name); err != nil {
					return err
				}
				if name != registered[customer].Name {
					touch(id)
				}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}

	if err := p.load(ctx, tx, t, ids, orders); err != nil {
		return err
	}
	for _, e := range events {
		id, ok := strings.CutPrefix(e.StreamID, OrderStream)
		if !ok {
			continue
		}
		if err := orders[id].after.Apply(domain.Event{Type: e.Type, Data: e.Data, At: eventTime(e)}); err != nil {
			return fmt.Errorf("%w (position %d)", err, e.Position)
		}
	}
	if err := p.names(ctx, tx, t, ids, orders, registered); err != nil {
		return err
	}
	return p.write(ctx, tx, t, ids, orders)
}

// load reads the orders of ids; those not there yet start empty.
func (p *ordersProjection) load(ctx context.Context, tx eventual.Tx, t projection.Tables, ids []string, orders map[string]*change) error {
	err := chunks(ids, func(part []any) error {
		rows, err := tx.Query(ctx, "SELECT "+orderColumns+" FROM "+t.Name(TableOrders)+" WHERE id IN ("+sqltext.Params(1, len(part))+")", part...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOrder(rows.Scan)
			if err != nil {
				return err
			}
			orders[o.ID].before, orders[o.ID].stored = o, true
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		c := orders[id]
		if c.before == nil {
			c.before = &domain.Order{ID: id}
		}
		c.after = c.before.Clone()
	}
	return nil
}

// names gives the orders their customer's name: one registered in this
// batch, or one already known.
func (p *ordersProjection) names(ctx context.Context, tx eventual.Tx, t projection.Tables, ids []string,
	orders map[string]*change, registered map[string]customers.CustomerRegistered) error {
	var missing []string
	for _, id := range ids {
		o := orders[id].after
		if o.CustomerID == "" {
			continue
		}
		if c, ok := registered[o.CustomerID]; ok {
			o.CustomerName = c.Name
		} else if o.CustomerName == "" && !slices.Contains(missing, o.CustomerID) {
			missing = append(missing, o.CustomerID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	known := map[string]string{}
	err := chunks(missing, func(part []any) error {
		rows, err := tx.Query(ctx, "SELECT id, name FROM "+t.Name(TableCustomers)+" WHERE id IN ("+sqltext.Params(1, len(part))+")", part...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			known[id] = name
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if o := orders[id].after; o.CustomerName == "" {
			o.CustomerName = known[o.CustomerID]
		}
	}
	return nil
}

// write saves the changed orders, their stores and search documents, and
// the difference they make to the statistics and sales.
func (p *ordersProjection) write(ctx context.Context, tx eventual.Tx, t projection.Tables, ids []string, orders map[string]*change) error {
	// Orders whose indexed columns keep their values (a payment, a
	// shipment) are updated without naming those columns, so that SQLite
	// leaves the indexes alone: it rewrites an index's entry whenever an
	// UPDATE assigns one of its columns, changed or not.
	var rows, unindexed, storeRows [][]any
	var docIDs []string
	docs := map[string]string{}
	stats := map[domain.StatKey]int64{}
	sales := map[domain.SaleKey]domain.Sale{}
	var statKeys []domain.StatKey
	var saleKeys []domain.SaleKey
	for _, id := range ids {
		c := orders[id]
		before, after := orderRow(c.before), orderRow(c.after)
		if slices.Equal(before, after) {
			continue
		}
		if c.stored && sameIndexed(before, after) {
			unindexed = append(unindexed, after)
		} else {
			rows = append(rows, after)
		}
		if c.after.Flags&domain.SeenPlaced != 0 && c.before.Flags&domain.SeenPlaced == 0 {
			for _, s := range c.after.StoreIDs {
				storeRows = append(storeRows, []any{s, id, c.after.PlacedAt})
			}
		}
		if doc := c.after.SearchDoc(); doc != c.before.SearchDoc() {
			docIDs = append(docIDs, id)
			docs[id] = doc
		}
		for _, side := range []struct {
			sign int64
			o    *domain.Order
		}{{-1, c.before}, {1, c.after}} {
			sign, o := side.sign, side.o
			for k, v := range o.Stats() {
				if _, ok := stats[k]; !ok {
					statKeys = append(statKeys, k)
				}
				stats[k] += sign * v
			}
			if c.before.InSales() == c.after.InSales() {
				continue // the same lines, or none
			}
			sl, err := o.Sales()
			if err != nil {
				return err
			}
			for k, v := range sl {
				s, ok := sales[k]
				if !ok {
					saleKeys = append(saleKeys, k)
				}
				s.Name = v.Name
				s.Quantity += sign * v.Quantity
				s.Revenue += sign * v.Revenue
				sales[k] = s
			}
		}
	}
	ot := t.Name(TableOrders)
	if err := insertRows(ctx, tx, "INSERT INTO "+ot+" ("+orderColumns+")", rows,
		"ON CONFLICT (id) DO UPDATE SET "+upsertSet(nil)); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "INSERT INTO "+ot+" ("+orderColumns+")", unindexed,
		"ON CONFLICT (id) DO UPDATE SET "+upsertSet(orderIndexed)); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "INSERT INTO "+t.Name(TableOrderStores)+" (store_id, order_id, placed_at)", storeRows,
		"ON CONFLICT (store_id, order_id) DO NOTHING"); err != nil {
		return err
	}
	if err := writeSearch(ctx, tx, p.mode, t.Name(TableOrderSearch), ot, docIDs, docs); err != nil {
		return err
	}
	slices.SortFunc(statKeys, func(a, b domain.StatKey) int { return strings.Compare(a.Name+" "+a.Currency, b.Name+" "+b.Currency) })
	slices.SortFunc(saleKeys, func(a, b domain.SaleKey) int {
		return strings.Compare(a.Day+" "+a.ProductID+" "+a.StoreID+" "+a.Currency, b.Day+" "+b.ProductID+" "+b.StoreID+" "+b.Currency)
	})
	var statRows [][]any
	for _, k := range statKeys {
		if v := stats[k]; v != 0 {
			statRows = append(statRows, []any{k.Name, k.Currency, v})
		}
	}
	st := t.Name(TableStats)
	if err := insertRows(ctx, tx, "INSERT INTO "+st+" (name, currency, value)", statRows,
		"ON CONFLICT (name, currency) DO UPDATE SET value = "+st+".value + excluded.value"); err != nil {
		return err
	}
	// Rows that fell to zero go, so that the tables are the same whatever
	// the batches were (a rebuild's are not a live run's).
	if len(statRows) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM "+st+" WHERE value = 0"); err != nil { // a few dozen rows
			return err
		}
	}
	var saleRows, lessened [][]any
	for _, k := range saleKeys {
		s := sales[k]
		if s.Quantity != 0 || s.Revenue != 0 {
			saleRows = append(saleRows, []any{k.Day, k.ProductID, k.StoreID, k.Currency, s.Name, s.Quantity, s.Revenue})
		}
		if s.Quantity < 0 || s.Revenue < 0 {
			lessened = append(lessened, []any{k.Day, k.ProductID, k.StoreID, k.Currency})
		}
	}
	sa := t.Name(TableSales)
	if err := insertRows(ctx, tx, "INSERT INTO "+sa+" (day, product_id, store_id, currency, name, quantity, revenue)", saleRows,
		"ON CONFLICT (day, product_id, store_id, currency) DO UPDATE SET name = excluded.name, quantity = "+
			sa+".quantity + excluded.quantity, revenue = "+sa+".revenue + excluded.revenue"); err != nil {
		return err
	}
	for _, k := range lessened { // cancellations: rare
		if _, err := tx.Exec(ctx, "DELETE FROM "+sa+" WHERE day = $1 AND product_id = $2 AND store_id = $3 AND currency = $4"+
			" AND quantity = 0 AND revenue = 0", k...); err != nil {
			return err
		}
	}
	return nil
}

// orderIndexed are the positions in orderRow of the columns that
// reporting_orders' indexes hold besides id: customer_id, status,
// placed_at.
var orderIndexed = []int{1, 3, 10}

// sameIndexed tells whether two rows of orderRow agree on orderIndexed.
func sameIndexed(a, b []any) bool {
	for _, i := range orderIndexed {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// upsertSet returns the SET list of the upsert of reporting_orders: every
// column but id and those at the positions skip.
func upsertSet(skip []int) string {
	var set []string
	for i, col := range strings.Split(orderColumns, ",") {
		if col = strings.TrimSpace(col); i > 0 && !slices.Contains(skip, i) {
			set = append(set, col+" = excluded."+col)
		}
	}
	return strings.Join(set, ", ")
}

// orderRow is o as the values of orderColumns.
func orderRow(o *domain.Order) []any {
	return []any{o.ID, o.CustomerID, o.CustomerName, o.Status, o.Reason, o.Total.Minor, o.Total.Currency, o.ItemCount,
		strings.Join(o.StoreIDs, ","), o.TrackingNumber, o.PlacedAt, o.UpdatedAt, o.PaymentStatus, o.Lines, o.ProductNames, int64(o.Flags)}
}

// scanOrder reads a row of orderColumns.
func scanOrder(scan func(dest ...any) error) (*domain.Order, error) {
	var o domain.Order
	var stores string
	var flags int64
	if err := scan(&o.ID, &o.CustomerID, &o.CustomerName, &o.Status, &o.Reason, &o.Total.Minor, &o.Total.Currency,
		&o.ItemCount, &stores, &o.TrackingNumber, &o.PlacedAt, &o.UpdatedAt, &o.PaymentStatus, &o.Lines, &o.ProductNames, &flags); err != nil {
		return nil, err
	}
	if stores != "" {
		o.StoreIDs = strings.Split(stores, ",")
	}
	o.Flags = domain.Flags(flags)
	return &o, nil
}
