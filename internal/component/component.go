// Package component applies the schema migrations of the components that
// keep tables next to the events (the outbox, the inbox, projections,
// sagas) to a SQL store, from an embedded tree holding
// migrations/<dialect>/*.sql, or migrations/*.sql when one SQL serves both
// databases.
package component

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/eventual-go/eventual"
)

// Migrations returns the migrations of component name for dialect d, from
// fsys's migrations/<dialect> directory, or its migrations directory when
// there is none per dialect. Errors: eventual.ErrUnsupported for a dialect
// other than SQLite and PostgreSQL.
func Migrations(fsys fs.FS, name string, d eventual.Dialect) (fs.FS, error) {
	switch d {
	case eventual.DialectSQLite, eventual.DialectPostgres:
		dir := "migrations/" + string(d)
		if _, err := fs.Stat(fsys, dir); err != nil {
			dir = "migrations"
		}
		return fs.Sub(fsys, dir)
	}
	return nil, fmt.Errorf("%w: %s: no migrations for dialect %q", eventual.ErrUnsupported, name, d)
}

// Migrate applies the component's migrations to store and returns the
// store's dialect. Errors: eventual.ErrInvalidArgument for a nil store;
// eventual.ErrUnsupported for a store that is not a SQL store
// (eventual.Migrator); the migration's error.
func Migrate(ctx context.Context, store eventual.TxStore, name string, fsys fs.FS) (eventual.Dialect, error) {
	if store == nil {
		return "", fmt.Errorf("%w: %s: nil store", eventual.ErrInvalidArgument, name)
	}
	m, ok := store.(eventual.Migrator)
	if !ok {
		return "", fmt.Errorf("%w: %s: the store does not apply component migrations (eventual.Migrator): use SQLite or PostgreSQL", eventual.ErrUnsupported, name)
	}
	sub, err := Migrations(fsys, name, m.Dialect())
	if err != nil {
		return "", err
	}
	if err := m.MigrateComponent(ctx, name, sub); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return m.Dialect(), nil
}
