package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/storetest"
)

// dsn returns the test database's DSN, or skips the test.
func dsn(t testing.TB) string { return testdb.DSN(t) }

// freshSchema returns a new schema name that is dropped after the test.
func freshSchema(t *testing.T) string { return testdb.FreshSchema(t) }

func open(t *testing.T, schema string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn(t), append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T, o storetest.Options) eventual.Store {
			return open(t, freshSchema(t), postgres.WithMaxEventSize(o.MaxEventSize))
		},
		Share: func(t *testing.T, s eventual.Store) eventual.Store {
			return open(t, s.(*postgres.Store).Schema(), postgres.WithMaxEventSize(storetest.DefaultMaxEventSize))
		},
		Short: testing.Short() || raceEnabled,
	})
}

func waitABit() { time.Sleep(20 * time.Millisecond) }

func TestCrash(t *testing.T) {
	d := dsn(t)
	storetest.RunCrash(t, storetest.CrashBackend{
		Location: freshSchema,
		Open: func(ctx context.Context, schema string) (eventual.Store, error) {
			return postgres.Open(ctx, d, postgres.WithSchema(schema))
		},
	})
}

func BenchmarkStore(b *testing.B) {
	d := os.Getenv("EVENTUAL_TEST_POSTGRES")
	if d == "" {
		b.Skip("SKIP: set EVENTUAL_TEST_POSTGRES to run")
	}
	storetest.Bench(b, func(b *testing.B) eventual.Store {
		schema := fmt.Sprintf("bench_%d", rand.Uint64()%1e15)
		s, err := postgres.Open(context.Background(), d, postgres.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			conn, err := pgx.Connect(context.Background(), d)
			if err == nil {
				conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
				conn.Close(context.Background())
			}
		})
		return s
	})
}
