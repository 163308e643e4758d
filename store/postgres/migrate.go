package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/eventual-go/eventual"
)

var (
	_ eventual.Migrator = (*Store)(nil)
	_ eventual.Notifier = (*Store)(nil)
	_ eventual.Querier  = (*Store)(nil)
)

var componentName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Dialect implements eventual.Migrator.
func (s *Store) Dialect() eventual.Dialect { return eventual.DialectPostgres }

// MigrateComponent implements eventual.Migrator: it applies fsys's goose
// migrations that the component lacks, in the store's schema (its
// search_path), recording them in the table eventual_<component>_migrations
// there. An advisory lock keeps processes that start together from racing.
func (s *Store) MigrateComponent(ctx context.Context, component string, fsys fs.FS) error {
	if !componentName.MatchString(component) {
		return invalidOption("component name %q is not a lower-case identifier", component)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	defer conn.Release()
	key := lockKey("eventual migrate " + s.opts.schema + " " + component)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("postgres: migrate %s: lock: %w", component, err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	cc := s.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = s.opts.schema
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName("eventual_"+component+"_migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres: %s migrations: %w", component, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: apply %s migrations to schema %s: %w", component, s.opts.schema, err)
	}
	return nil
}
