package bench

import (
	"context"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/postgres"
)

// openPostgresStore opens the PostgreSQL event store in schema, which
// exists and is empty; the store applies its migrations there. It is the
// only place the benchmark depends on store/postgres: the raw baseline uses
// pgx directly.
func openPostgresStore(ctx context.Context, dsn, schema string) (eventual.Store, error) {
	st, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		return nil, err // not a typed nil *postgres.Store
	}
	return st, nil
}
