package adapters

import (
	"context"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual"
	catalog "github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/domain"
	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/projection"
)

// Tables of the catalog projection, read through views of these names.
const (
	TableStores        = "reporting_stores"
	TableProducts      = "reporting_products"
	TableProductSearch = "reporting_product_search"
)

// CatalogProjection is the name of the projection of stores, products
// and product search.
const CatalogProjection = "reporting_catalog"

// CatalogTypes are the event types the catalog projection reads.
var CatalogTypes = []string{
	catalog.TypeStoreCreated, catalog.TypeStoreRebranded, catalog.TypeStoreParticipationChanged,
	catalog.TypeProductAdded, catalog.TypeProductRebranded, catalog.TypeProductPriceChanged, catalog.TypeProductRemoved,
}

const (
	storeColumns   = "id, name, location, participating, name_at, part_at"
	productColumns = "id, store_id, name, description, sku, price_minor, currency, removed, info_at, price_at"
)

// Catalog returns the projection that keeps, from the catalog events,
// reporting_stores, reporting_products (name, store, price; a removed
// product stays, flagged) and reporting_product_search (the documents of
// the products not removed: name, description, SKU, store's name).
func Catalog(mode SearchMode) projection.Projection {
	p := &catalogProjection{mode: mode}
	return projection.Projection{
		Name:        CatalogProjection,
		Version:     searchVersion(mode),
		Filter:      eventual.Filter{Types: CatalogTypes},
		Tables:      []string{TableStores, TableProducts, TableProductSearch},
		Setup:       p.setup,
		HandleBatch: p.handle,
	}
}

type catalogProjection struct{ mode SearchMode }

func (p *catalogProjection) setup(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
	s, pr := t.Name(TableStores), t.Name(TableProducts)
	for _, ddl := range []string{
		`CREATE TABLE ` + s + ` (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			location TEXT NOT NULL,
			participating BOOLEAN NOT NULL,
			name_at BIGINT NOT NULL,
			part_at BIGINT NOT NULL)`,
		`CREATE TABLE ` + pr + ` (
			id TEXT PRIMARY KEY,
			store_id TEXT NOT NULL,
			name TEXT NOT NULL,
			description TEXT NOT NULL,
			sku TEXT NOT NULL,
			price_minor BIGINT NOT NULL,
			currency TEXT NOT NULL,
			removed BOOLEAN NOT NULL,
			info_at BIGINT NOT NULL,
			price_at BIGINT NOT NULL)`,
		`CREATE INDEX ` + pr + `_store ON ` + pr + ` (store_id)`,
	} {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return err
		}
	}
	return createSearch(ctx, tx, p.mode, t.Name(TableProductSearch))
}

func (p *catalogProjection) handle(ctx context.Context, tx eventual.Tx, t projection.Tables, events []eventual.RecordedEvent) error {
	type storeChange struct{ before, after domain.Store }
	type productChange struct{ before, after domain.Product }
	stores := map[string]*storeChange{}
	products := map[string]*productChange{}
	var storeIDs, productIDs []string
	for _, e := range events {
		if id, ok := strings.CutPrefix(e.StreamID, StoreStream); ok && stores[id] == nil {
			stores[id] = &storeChange{}
			storeIDs = append(storeIDs, id)
		} else if id, ok := strings.CutPrefix(e.StreamID, ProductStream); ok && products[id] == nil {
			products[id] = &productChange{}
			productIDs = append(productIDs, id)
		}
	}
	st, pt := t.Name(TableStores), t.Name(TableProducts)

	loadedStores := map[string]bool{}
	loadStores := func(ids []string) error {
		return chunks(ids, func(part []any) error {
			rows, err := tx.Query(ctx, "SELECT "+storeColumns+" FROM "+st+" WHERE id IN ("+sqltext.Params(1, len(part))+")", part...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s domain.Store
				if err := rows.Scan(&s.ID, &s.Name, &s.Location, &s.Participating, &s.NameAt, &s.PartAt); err != nil {
					return err
				}
				if stores[s.ID] == nil {
					stores[s.ID] = &storeChange{}
				}
				stores[s.ID].before, stores[s.ID].after = s, s
				loadedStores[s.ID] = true
			}
			return rows.Err()
		})
	}
	loadProducts := func(where string, args []any) error {
		rows, err := tx.Query(ctx, "SELECT "+productColumns+" FROM "+pt+" WHERE "+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x domain.Product
			if err := rows.Scan(&x.ID, &x.StoreID, &x.Name, &x.Description, &x.SKU, &x.Price.Minor, &x.Price.Currency,
				&x.Removed, &x.InfoAt, &x.PriceAt); err != nil {
				return err
			}
			c := products[x.ID]
			if c == nil {
				c = &productChange{}
				products[x.ID] = c
				productIDs = append(productIDs, x.ID)
			}
			c.before, c.after = x, x
		}
		return rows.Err()
	}

	if err := loadStores(storeIDs); err != nil {
		return err
	}
	if err := chunks(productIDs, func(part []any) error { return loadProducts("id IN ("+sqltext.Params(1, len(part))+")", part) }); err != nil {
		return err
	}
	for _, id := range storeIDs {
		if !loadedStores[id] {
			stores[id].before.ID, stores[id].after.ID = id, id
		}
	}
	for _, id := range productIDs {
		if c := products[id]; c.before.ID == "" {
			c.before.ID, c.after.ID = id, id
		}
	}
	for _, e := range events {
		de := domain.Event{Type: e.Type, Data: e.Data, At: eventTime(e)}
		var err error
		if id, ok := strings.CutPrefix(e.StreamID, StoreStream); ok {
			err = stores[id].after.Apply(de)
		} else if id, ok := strings.CutPrefix(e.StreamID, ProductStream); ok {
			err = products[id].after.Apply(de)
		}
		if err != nil {
			return fmt.Errorf("%w (position %d)", err, e.Position)
		}
	}

	// A store's new name changes its products' documents.
	for _, id := range storeIDs {
		if c := stores[id]; c.after.Name != c.before.Name {
			if err := loadProducts("store_id = $1", []any{id}); err != nil {
				return err
			}
		}
	}
	var missing []string
	for _, id := range productIDs {
		if s := products[id].after.StoreID; s != "" && stores[s] == nil {
			stores[s] = &storeChange{}
			missing = append(missing, s)
		}
	}
	if err := loadStores(missing); err != nil {
		return err
	}
	storeName := func(id string, after bool) string {
		if c := stores[id]; c != nil {
			if after {
				return c.after.Name
			}
			return c.before.Name
		}
		return ""
	}

	var storeRows, productRows [][]any
	for _, id := range storeIDs {
		if c := stores[id]; c.after != c.before {
			s := c.after
			storeRows = append(storeRows, []any{s.ID, s.Name, s.Location, s.Participating, s.NameAt, s.PartAt})
		}
	}
	var docIDs []string
	docs := map[string]string{}
	for _, id := range productIDs {
		c := products[id]
		x := c.after
		if x != c.before {
			productRows = append(productRows, []any{x.ID, x.StoreID, x.Name, x.Description, x.SKU, x.Price.Minor, x.Price.Currency,
				x.Removed, x.InfoAt, x.PriceAt})
		}
		switch {
		case x.Removed && !c.before.Removed:
			if err := deleteSearch(ctx, tx, p.mode, t.Name(TableProductSearch), pt, id); err != nil {
				return err
			}
		case x.Removed:
		case x.SearchDoc(storeName(x.StoreID, true)) != c.before.SearchDoc(storeName(c.before.StoreID, false)) || c.before.InfoAt == 0 && c.before.SKU == "":
			docIDs = append(docIDs, id)
			docs[id] = x.SearchDoc(storeName(x.StoreID, true))
		}
	}
	if err := insertRows(ctx, tx, "INSERT INTO "+st+" ("+storeColumns+")", storeRows,
		"ON CONFLICT (id) DO UPDATE SET name = excluded.name, location = excluded.location, participating = excluded.participating, "+
			"name_at = excluded.name_at, part_at = excluded.part_at"); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "INSERT INTO "+pt+" ("+productColumns+")", productRows,
		"ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name, description = excluded.description, "+
			"sku = excluded.sku, price_minor = excluded.price_minor, currency = excluded.currency, removed = excluded.removed, "+
			"info_at = excluded.info_at, price_at = excluded.price_at"); err != nil {
		return err
	}
	return writeSearch(ctx, tx, p.mode, t.Name(TableProductSearch), pt, docIDs, docs)
}
