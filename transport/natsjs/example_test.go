package natsjs_test

import (
	"context"
	"log"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
)

func ExampleNew() {
	nc, err := natsjs.Connect("nats://127.0.0.1:4222")
	if err != nil {
		log.Print(err)
		return
	}
	defer nc.Close() // after the transport: it does not close the connection
	t, err := natsjs.New(nc, natsjs.WithStreamPrefix("SHOP_"))
	if err != nil {
		log.Print(err)
		return
	}
	defer t.Close()

	ctx := context.Background()
	// The group "billing" is a durable consumer of the stream SHOP_ORDERS.
	err = t.Subscribe(ctx, transport.Subscription{Subject: "orders.*", Group: "billing", Concurrency: 8},
		transport.Chain(func(ctx context.Context, d transport.Delivery) error {
			log.Printf("%s %s attempt %d", d.Type, d.Key, d.Attempt)
			return nil
		}, transport.Correlate(), transport.DeadLetter(t, "deadletter.billing", 5)))
	if err != nil {
		log.Print(err)
		return
	}
	m := transport.NewMessage("orders.placed", "order.placed", []byte(`{"id":"o-1"}`))
	m.Key = "o-1"
	if err := t.Publish(ctx, m); err != nil {
		log.Print(err)
	}
}
