package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"

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
func (s *Store) Dialect() eventual.Dialect { return eventual.DialectSQLite }

// MigrateComponent implements eventual.Migrator: it applies fsys's goose
// migrations that the component lacks, recording them in the table
// eventual_<component>_migrations.
func (s *Store) MigrateComponent(ctx context.Context, component string, fsys fs.FS) error {
	if !componentName.MatchString(component) {
		return invalidOption("component name %q is not a lower-case identifier", component)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.up(ctx, component+" migrations", "eventual_"+component+"_migrations", fsys)
}

// up applies fsys's goose migrations that table does not record. They
// commit on the writer connection, under the writer lock and at the
// store's synchronous level (an InTxNoSync transaction may have left it
// at NORMAL).
func (s *Store) up(ctx context.Context, what, table string, fsys fs.FS) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.setSync(ctx, false); err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, fsys,
		goose.WithTableName(table), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: apply %s to %s: %w", what, s.path, err)
	}
	return nil
}
