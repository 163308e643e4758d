package projection_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/store/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()

	runner, err := projection.NewRunner(store)
	if err != nil {
		panic(err)
	}
	err = runner.Add(projection.Projection{
		Name:   "order_count",
		Filter: eventual.Filter{Types: []string{"order.placed"}},
		Tables: []string{"order_count"},
		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
			_, err := tx.Exec(ctx, "CREATE TABLE "+t.Name("order_count")+" (customer TEXT PRIMARY KEY, n BIGINT NOT NULL)")
			return err
		},
		Handle: func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
			table := t.Name("order_count")
			_, err := tx.Exec(ctx, "INSERT INTO "+table+" (customer, n) VALUES ($1, 1) "+
				"ON CONFLICT (customer) DO UPDATE SET n = "+table+".n + 1", string(e.Data))
			return err
		},
	})
	if err != nil {
		panic(err)
	}
	if err := runner.Start(ctx); err != nil {
		panic(err)
	}
	defer runner.Close()

	res, err := store.Append(ctx, "order-1", eventual.NoStream, eventual.EventData{Type: "order.placed", Data: []byte("ada")})
	if err != nil {
		panic(err)
	}
	// Read your own write.
	if err := runner.WaitFor(ctx, "order_count", res.LastPosition); err != nil {
		panic(err)
	}
	var n int
	if err := store.QueryRow(ctx, "SELECT n FROM order_count WHERE customer = $1", "ada").Scan(&n); err != nil {
		panic(err)
	}
	fmt.Println("orders by ada:", n)
	// Output: orders by ada: 1
}
