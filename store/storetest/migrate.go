package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/fstest"

	"github.com/eventual-go/eventual"
)

func testComponentMigrations(t *testing.T, b Backend) {
	s := b.open(t)
	m, ok := s.(eventual.Migrator)
	if !ok {
		t.Log("the backend is not an eventual.Migrator: nothing to test")
		return
	}
	ctx := testContext(t)
	table := fmt.Sprintf("storetest_component_%d", rand.Uint64()%1e9)
	fsys := fstest.MapFS{
		"00001_create.sql": {Data: []byte("-- +goose Up\nCREATE TABLE " + table + " (id TEXT PRIMARY KEY, n BIGINT NOT NULL);\n-- +goose Down\nDROP TABLE " + table + ";\n")},
	}
	for range 2 { // the second time there is nothing left to apply
		if err := m.MigrateComponent(ctx, "storetest", fsys); err != nil {
			t.Fatal(err)
		}
	}
	fsys["00002_add.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nALTER TABLE " + table + " ADD COLUMN note TEXT;\n")}
	if err := m.MigrateComponent(ctx, "storetest", fsys); err != nil {
		t.Fatal(err)
	}
	ts := s.(eventual.TxStore)
	t.Cleanup(func() {
		_ = ts.InTx(context.Background(), func(tx eventual.Tx) error {
			_, err := tx.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
			return err
		})
	})
	err := ts.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+table+" (id, n, note) VALUES ($1, $2, $3)", "a", 1, "from a migration")
		return err
	})
	if err != nil {
		t.Fatalf("using the migrated table: %v", err)
	}
	if err := m.MigrateComponent(ctx, "Bad Name", fsys); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Fatalf("bad component name: %v", err)
	}
}
