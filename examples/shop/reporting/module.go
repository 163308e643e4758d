// Package reporting is the reporting bounded context: read models of the
// whole shop — order lists and details, customers' order histories, order
// statistics, sales per product, store and day, products, and full-text
// search of orders and products — built only from the other contexts'
// integration events (event-carried state transfer: it never calls
// another module).
//
// Ingestion only appends each event, as it is, to reporting's own event
// log (streams "order-<id>", "customer-<id>", "store-<id>",
// "product-<id>"); projections build every table from that log, so each
// read model can be rebuilt from scratch (projection.Runner.Rebuild) and
// a new one can be added with the whole history. The rules that make the
// tables independent of the events' order of arrival are in
// internal/domain.
//
// Search uses SQLite FTS5 when go-sqlite3 is built with the sqlite_fts5
// tag, else SQLite FTS4 (built in by default); on PostgreSQL it is a
// LIKE over lower-cased text for now (a tsvector index is for a later
// issue).
package reporting

import (
	"context"

	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/reporting/internal/adapters"
)

// Module is the reporting context.
type Module struct{}

// Name implements platform.Module.
func (Module) Name() string { return "reporting" }

// Start implements platform.Module.
func (Module) Start(ctx context.Context, s *platform.Services) error {
	mode, err := adapters.DetectSearch(ctx, s.Store, s.Store.Dialect())
	if err != nil {
		return err
	}
	if err := s.Projections.Add(adapters.Orders(mode), adapters.Catalog(mode)); err != nil {
		return err
	}
	adapters.Routes(s.Router, &adapters.Queries{Store: s.Store, Mode: mode})
	return adapters.Subscribe(ctx, s)
}
