package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/postgres"
)

// On a pool of the caller's, whose search path the store does not set,
// transactions and reads still resolve unqualified names to the store's
// schema, where the components' tables live.
func TestCallerPoolResolvesTheStoreSchema(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	schema := freshSchema(t)
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE pool_rows (id TEXT PRIMARY KEY)"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO pool_rows (id) VALUES ($1)", "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var where string
	if err := pool.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'pool_rows'").Scan(&where); err != nil || where != schema {
		t.Fatalf("the table went to schema %q (%v), want %q", where, err, schema)
	}
	var id string
	if err := s.QueryRow(ctx, "SELECT id FROM pool_rows WHERE id = $1", "a").Scan(&id); err != nil || id != "a" {
		t.Fatalf("QueryRow on the caller's pool: %q, %v", id, err)
	}
	rows, err := s.Query(ctx, "SELECT id FROM pool_rows")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil || n != 1 {
		t.Fatalf("Query on the caller's pool: %d rows, %v", n, err)
	}
	// The pool's connections are left as they were.
	var path string
	if err := pool.QueryRow(ctx, "SHOW search_path").Scan(&path); err != nil || path == schema+", public" {
		t.Errorf("the caller's pool has search_path %q (%v)", path, err)
	}
}
