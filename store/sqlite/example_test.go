package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
)

// Open a store in a file, append with optimistic concurrency, and read the
// stream back.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	res, _ := store.Append(ctx, "account-1", eventual.NoStream,
		eventual.EventData{Type: "account.opened", Data: []byte(`{"owner":"Ada"}`)},
		eventual.EventData{Type: "money.deposited", Data: []byte(`{"amount_minor":500}`)})
	fmt.Println("head:", res.LastVersion)

	// A writer that read version 1 is too late now.
	_, err = store.Append(ctx, "account-1", eventual.Exact(1), eventual.EventData{Type: "money.withdrawn"})
	fmt.Println("conflict:", errors.Is(err, eventual.ErrConflict))

	for ev, err := range store.ReadStream(ctx, "account-1", eventual.ReadStreamOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Version, ev.Type)
	}
	// Output:
	// head: 2
	// conflict: true
	// 1 account.opened
	// 2 money.deposited
}

// Write a read model row in the same transaction as the event it follows
// from: both commit, or neither does.
func ExampleStore_InTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	err = store.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE balances (account TEXT PRIMARY KEY, amount_minor INTEGER)"); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "account-1", eventual.NoStream, eventual.EventData{Type: "account.opened"}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO balances (account, amount_minor) VALUES ($1, $2)", "account-1", 0)
		return err
	})
	fmt.Println("committed:", err == nil)

	var n int
	_ = store.DB().QueryRowContext(ctx, "SELECT count(*) FROM balances").Scan(&n)
	fmt.Println("rows:", n)
	// Output:
	// committed: true
	// rows: 1
}
