package inbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/inbox"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

// A consumer whose effect (an append) commits with the inbox's mark: a
// message delivered twice is handled once.
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
	ib, err := inbox.New(ctx, store)
	if err != nil {
		fmt.Println(err)
		return
	}
	// No deduplication by the transport: the inbox is what drops the
	// second delivery here.
	bus, _ := inproc.New(inproc.WithDedupWindow(0, 0))
	defer bus.Close()

	err = bus.Subscribe(ctx, transport.Subscription{Subject: "orders.placed", Group: "billing"},
		ib.Handler(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			_, err := tx.Append(ctx, "invoice-"+d.Key, eventual.Any,
				eventual.EventData{Type: "invoice.opened", Metadata: eventual.Metadata{CausationID: d.ID}})
			if err == nil {
				fmt.Println("billing handles the order of", d.Key)
			}
			return err
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := transport.NewMessage("orders.placed", "order.placed", []byte(`{}`))
	msg.Key = "order-42"
	_ = bus.Publish(ctx, msg)
	_ = bus.Publish(ctx, msg) // redelivered: acknowledged, not handled

	info, _ := store.StreamInfo(ctx, "invoice-order-42")
	fmt.Println("invoice events:", info.Version)
	// Output:
	// billing handles the order of order-42
	// invoice events: 1
}
