// Package testdb gives tests the SQL event stores to run against: SQLite
// in a temporary directory always, and PostgreSQL in a fresh schema when
// EVENTUAL_TEST_POSTGRES holds a DSN (the test says in one line when it
// skips it).
package testdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
)

// Store is what the SQL backends are.
type Store interface {
	eventual.TxStore
	eventual.Querier
	eventual.Migrator
}

// Backend makes stores of one SQL backend.
type Backend struct {
	Name string
	// New returns a store on a new, empty database, closed at the end of
	// the test.
	New func(t testing.TB) Store
	// Open returns another handle on s's database, as a second process
	// (or the same one after a restart) would open it; closed at the end
	// of the test.
	Open func(t testing.TB, s Store) Store
}

// EnvPostgres is the environment variable holding the PostgreSQL DSN.
const EnvPostgres = "EVENTUAL_TEST_POSTGRES"

// Run runs f as a subtest for each backend.
func Run(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

// Backends returns SQLite, and PostgreSQL (whose New skips the test when
// EVENTUAL_TEST_POSTGRES is unset).
func Backends() []Backend { return []Backend{SQLite(), Postgres()} }

// SQLite is the embedded backend, in a temporary directory.
func SQLite() Backend {
	return Backend{
		Name: "sqlite",
		New: func(t testing.TB) Store {
			return openSQLite(t, filepath.Join(t.TempDir(), "events.db"))
		},
		Open: func(t testing.TB, s Store) Store {
			return openSQLite(t, s.(*sqlite.Store).Path())
		},
	}
}

func openSQLite(t testing.TB, path string) Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Postgres is the production backend, in a fresh schema dropped after the
// test.
func Postgres() Backend {
	return Backend{
		Name: "postgres",
		New: func(t testing.TB) Store {
			return openPostgres(t, FreshSchema(t))
		},
		Open: func(t testing.TB, s Store) Store {
			return openPostgres(t, s.(*postgres.Store).Schema())
		},
	}
}

// DSN returns the PostgreSQL DSN, or skips the test.
func DSN(t testing.TB) string {
	t.Helper()
	d := os.Getenv(EnvPostgres)
	if d == "" {
		t.Skip("SKIP: set " + EnvPostgres + " to run on PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return d
}

// FreshSchema returns a new schema name, dropped after the test.
func FreshSchema(t testing.TB) string {
	t.Helper()
	d := DSN(t)
	name := fmt.Sprintf("test_%d", rand.Uint64()%1e15)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, d)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func openPostgres(t testing.TB, schema string) Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), DSN(t), postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
