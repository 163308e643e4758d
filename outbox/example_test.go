package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

// Append an event and add the message it causes in one transaction; a
// relay publishes the message once the transaction has committed.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	bus, _ := inproc.New()
	defer bus.Close()

	received := make(chan transport.Delivery, 1)
	_ = bus.Subscribe(ctx, transport.Subscription{Subject: "orders.*", Group: "billing"},
		func(_ context.Context, d transport.Delivery) error {
			received <- d
			return nil
		})

	ob, err := outbox.New(ctx, store)
	if err != nil {
		fmt.Println(err)
		return
	}
	relayed := make(chan error, 1)
	go func() { relayed <- ob.Relay(ctx, bus) }() // until ctx ends

	err = store.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Append(ctx, "order-42", eventual.NoStream,
			eventual.EventData{Type: "order.placed", Data: []byte(`{"total_minor":1250,"currency":"EUR"}`)})
		if err != nil {
			return err
		}
		msg := transport.NewMessage("orders.placed", "order.placed", []byte(`{"order":"order-42"}`))
		msg.Key = "order-42"
		return ob.Add(ctx, tx, msg)
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	d := <-received
	fmt.Println(d.Group, "got", d.Type, "for", d.Key, string(d.Data))
	cancel()
	fmt.Println("relay stopped:", <-relayed)
	// Output:
	// billing got order.placed for order-42 {"order":"order-42"}
	// relay stopped: <nil>
}
