package inbox_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/inbox"
	"github.com/eventual-go/eventual/internal/testdb"
)

var quiet = slog.New(slog.DiscardHandler)

// setup returns a store with an effects table and its inbox.
func setup(t testing.TB, b testdb.Backend, opts ...inbox.Option) (eventual.TxStore, *inbox.Inbox) {
	t.Helper()
	s := b.New(t)
	exec(t, s, "CREATE TABLE effects (message_id TEXT NOT NULL, consumer TEXT NOT NULL)")
	ib, err := inbox.New(context.Background(), s, append([]inbox.Option{inbox.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, ib
}

// effect is what the tests' handlers do: a row through tx.
func effect(ctx context.Context, tx eventual.Tx, consumer, messageID string) error {
	_, err := tx.Exec(ctx, "INSERT INTO effects (message_id, consumer) VALUES ($1, $2)", messageID, consumer)
	return err
}

func count(t testing.TB, s eventual.TxStore, query string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	if err := s.InTx(ctx, func(tx eventual.Tx) error { return tx.QueryRow(ctx, query, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(t testing.TB, s eventual.TxStore, query string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, query, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

// eventually waits until cond holds, failing the test after 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// background runs f until the test ends.
func background(t testing.TB, f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f(ctx); err != nil {
			t.Errorf("background run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}
