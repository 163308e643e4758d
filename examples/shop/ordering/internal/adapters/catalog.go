package adapters

import (
	"context"
	"strconv"
	"strings"

	"github.com/eventual-go/eventual"
	catalogapi "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/transport"
)

// Catalog is the local copy of the catalog that prices orders (event-
// carried state transfer): the tables ordering_products and
// ordering_stores, kept from the catalog's events. A store is taken to
// take part in the mall until an event says otherwise, including while
// its StoreCreated has not arrived yet (products and stores are keyed
// apart, so their events may come in either order).
type Catalog struct{}

var _ app.Catalog = Catalog{}

// Setup creates the tables.
func (Catalog) Setup(ctx context.Context, s platform.Store) error {
	return s.InTx(ctx, func(tx eventual.Tx) error {
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS ordering_products (
				product_id TEXT PRIMARY KEY,
				store_id TEXT NOT NULL,
				name TEXT NOT NULL,
				price_amount BIGINT NOT NULL,
				price_currency TEXT NOT NULL,
				removed BOOLEAN NOT NULL DEFAULT FALSE)`,
			`CREATE INDEX IF NOT EXISTS ordering_products_store ON ordering_products (store_id)`,
			`CREATE TABLE IF NOT EXISTS ordering_stores (
				store_id TEXT PRIMARY KEY,
				participating BOOLEAN NOT NULL)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// Handle applies a catalog event in tx; events it does not need are
// ignored.
func (Catalog) Handle(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	switch d.Type {
	case catalogapi.TypeStoreCreated:
		e, err := platform.Decode[catalogapi.StoreCreated](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO ordering_stores (store_id, participating) VALUES ($1, $2)
			ON CONFLICT (store_id) DO NOTHING`, e.StoreID, true)
		return err
	case catalogapi.TypeStoreParticipationChanged:
		e, err := platform.Decode[catalogapi.StoreParticipationChanged](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO ordering_stores (store_id, participating) VALUES ($1, $2)
			ON CONFLICT (store_id) DO UPDATE SET participating = excluded.participating`, e.StoreID, e.Participating)
		return err
	case catalogapi.TypeProductAdded:
		e, err := platform.Decode[catalogapi.ProductAdded](d)
		if err != nil {
			return err
		}
		if err := e.Price.Validate(); err != nil {
			return transport.Terminate(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO ordering_products (product_id, store_id, name, price_amount, price_currency, removed)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (product_id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name,
				price_amount = excluded.price_amount, price_currency = excluded.price_currency`,
			e.ProductID, e.StoreID, e.Name, e.Price.Minor, e.Price.Currency, false)
		return err
	case catalogapi.TypeProductRebranded:
		e, err := platform.Decode[catalogapi.ProductRebranded](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE ordering_products SET name = $1 WHERE product_id = $2`, e.Name, e.ProductID)
		return err
	case catalogapi.TypeProductPriceChanged:
		e, err := platform.Decode[catalogapi.ProductPriceChanged](d)
		if err != nil {
			return err
		}
		if err := e.Price.Validate(); err != nil {
			return transport.Terminate(err)
		}
		_, err = tx.Exec(ctx, `UPDATE ordering_products SET price_amount = $1, price_currency = $2 WHERE product_id = $3`,
			e.Price.Minor, e.Price.Currency, e.ProductID)
		return err
	case catalogapi.TypeProductRemoved:
		e, err := platform.Decode[catalogapi.ProductRemoved](d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE ordering_products SET removed = $1 WHERE product_id = $2`, true, e.ProductID)
		return err
	}
	return nil
}

// Products implements app.Catalog: one query for all of ids.
func (Catalog) Products(ctx context.Context, q eventual.Querier, ids []string) (map[string]app.Product, error) {
	out := make(map[string]app.Product, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
		args[i] = id
	}
	rows, err := q.Query(ctx, `SELECT p.product_id, p.store_id, p.name, p.price_amount, p.price_currency, p.removed, s.participating
		FROM ordering_products p LEFT JOIN ordering_stores s ON s.store_id = p.store_id
		WHERE p.product_id IN (`+b.String()+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p app.Product
		var participating *bool
		if err := rows.Scan(&p.ID, &p.StoreID, &p.Name, &p.Price.Minor, &p.Price.Currency, &p.Removed, &participating); err != nil {
			return nil, err
		}
		p.StoreParticipating = participating == nil || *participating
		out[p.ID] = p
	}
	return out, rows.Err()
}
