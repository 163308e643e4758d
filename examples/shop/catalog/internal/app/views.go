package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/catalog/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/projection"
)

// The read tables of the catalog projection.
const (
	StoresTable   = "catalog_stores"
	ProductsTable = "catalog_products"
)

// StoreRow is a store as its read table has it.
type StoreRow struct {
	ID            string
	Name          string
	Location      string
	Participating bool
	Version       uint64
}

// ProductRow is a product as its read table has it.
type ProductRow struct {
	ID          string
	StoreID     string
	Name        string
	Description string
	SKU         string
	Price       kernel.Money
	Removed     bool
	Version     uint64
}

// Projection returns the catalog projection: the tables catalog_stores
// and catalog_products, built from the stores' and products' events (and
// so rebuildable from the log).
func (a *App) Projection() projection.Projection {
	var types []string
	for _, t := range a.codec.Types() {
		types = append(types, t.Name)
	}
	return projection.Projection{
		Name:   "catalog",
		Filter: eventual.Filter{Types: types},
		Tables: []string{StoresTable, ProductsTable},
		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
			for _, q := range []string{
				`CREATE TABLE ` + t.Name(StoresTable) + ` (
					id TEXT PRIMARY KEY,
					name TEXT NOT NULL,
					location TEXT NOT NULL,
					participating BOOLEAN NOT NULL,
					version BIGINT NOT NULL,
					created_at BIGINT NOT NULL,
					updated_at BIGINT NOT NULL)`,
				`CREATE TABLE ` + t.Name(ProductsTable) + ` (
					id TEXT PRIMARY KEY,
					store_id TEXT NOT NULL,
					name TEXT NOT NULL,
					description TEXT NOT NULL,
					sku TEXT NOT NULL,
					price_minor BIGINT NOT NULL,
					currency TEXT NOT NULL,
					removed BOOLEAN NOT NULL,
					version BIGINT NOT NULL,
					created_at BIGINT NOT NULL,
					updated_at BIGINT NOT NULL)`,
				// Listings: the live products (of a store), in ID order.
				`CREATE INDEX ` + t.Name(ProductsTable) + `_live ON ` + t.Name(ProductsTable) + ` (removed, id)`,
				`CREATE INDEX ` + t.Name(ProductsTable) + `_store ON ` + t.Name(ProductsTable) + ` (store_id, removed, id)`,
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		},
		Handle: a.project,
	}
}

// project applies one event to the read tables.
func (a *App) project(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
	ev, err := a.codec.Decode(e)
	if err != nil {
		return err
	}
	at := e.RecordedAt.UnixMicro()
	stores, products := t.Name(StoresTable), t.Name(ProductsTable)
	store, _ := strings.CutPrefix(e.StreamID, storeKind+"-")
	product, _ := strings.CutPrefix(e.StreamID, productKind+"-")
	v := int64(e.Version)
	switch ev := ev.(type) {
	case domain.StoreCreated:
		_, err = tx.Exec(ctx, `INSERT INTO `+stores+` (id, name, location, participating, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, store, ev.Name, ev.Location, true, v, at)
	case domain.StoreRebranded:
		_, err = tx.Exec(ctx, `UPDATE `+stores+` SET name = $1, version = $2, updated_at = $3 WHERE id = $4`, ev.Name, v, at, store)
	case domain.ParticipationChanged:
		_, err = tx.Exec(ctx, `UPDATE `+stores+` SET participating = $1, version = $2, updated_at = $3 WHERE id = $4`,
			ev.Participating, v, at, store)
	case domain.ProductAdded:
		_, err = tx.Exec(ctx, `INSERT INTO `+products+` (id, store_id, name, description, sku, price_minor, currency, removed, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			product, ev.StoreID, ev.Name, ev.Description, ev.SKU, ev.Price.Minor, ev.Price.Currency, false, v, at)
	case domain.ProductRebranded:
		_, err = tx.Exec(ctx, `UPDATE `+products+` SET name = $1, description = $2, version = $3, updated_at = $4 WHERE id = $5`,
			ev.Name, ev.Description, v, at, product)
	case domain.PriceChanged:
		_, err = tx.Exec(ctx, `UPDATE `+products+` SET price_minor = $1, currency = $2, version = $3, updated_at = $4 WHERE id = $5`,
			ev.Price.Minor, ev.Price.Currency, v, at, product)
	case domain.ProductRemoved:
		_, err = tx.Exec(ctx, `UPDATE `+products+` SET removed = $1, version = $2, updated_at = $3 WHERE id = $4`, true, v, at, product)
	default:
		err = fmt.Errorf("catalog projection: unexpected event %T", ev)
	}
	return err
}

// Stores returns a page of stores in ID (creation) order, as of the
// catalog projection. Errors: a *platform.ValidationError for a bad limit
// or cursor.
func (a *App) Stores(ctx context.Context, limit int, cursor string) ([]StoreRow, string, error) {
	n, after, err := pageArgs(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	rows, err := a.store.Query(ctx, `SELECT id, name, location, participating, version FROM `+StoresTable+`
		WHERE id > $1 ORDER BY id LIMIT $2`, after, n+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []StoreRow
	for rows.Next() {
		var s StoreRow
		var v int64
		if err := rows.Scan(&s.ID, &s.Name, &s.Location, &s.Participating, &v); err != nil {
			return nil, "", err
		}
		s.Version = uint64(v)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = platform.EncodeCursor(out[n-1].ID)
	}
	return out, next, nil
}

// Products returns a page of the products on sale (of one store, unless
// storeID is empty) in ID (creation) order, as of the catalog projection.
// Errors: a *platform.ValidationError for a bad limit or cursor.
func (a *App) Products(ctx context.Context, storeID string, limit int, cursor string) ([]ProductRow, string, error) {
	n, after, err := pageArgs(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT id, store_id, name, description, sku, price_minor, currency, removed, version FROM ` + ProductsTable +
		` WHERE removed = $1 AND id > $2`
	args := []any{false, after}
	if storeID != "" {
		q += ` AND store_id = $3`
		args = append(args, storeID)
	}
	args = append(args, n+1)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := a.store.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []ProductRow
	for rows.Next() {
		var p ProductRow
		var v int64
		if err := rows.Scan(&p.ID, &p.StoreID, &p.Name, &p.Description, &p.SKU, &p.Price.Minor, &p.Price.Currency, &p.Removed, &v); err != nil {
			return nil, "", err
		}
		p.Version = uint64(v)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = platform.EncodeCursor(out[n-1].ID)
	}
	return out, next, nil
}

// pageArgs checks a page's limit and cursor and returns the page size and
// the ID to list after.
func pageArgs(limit int, cursor string) (int, string, error) {
	n, err := platform.PageSize(limit)
	if err != nil {
		return 0, "", err
	}
	key, err := platform.DecodeCursor(cursor, 1)
	if err != nil {
		return 0, "", err
	}
	after := ""
	if len(key) == 1 {
		after = key[0]
	}
	return n, after, nil
}
