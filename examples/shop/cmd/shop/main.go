// Command shop runs the Eventual reference platform: an order-fulfillment
// shop (customers, catalog, inventory, ordering, payments, shipping,
// notifications, reporting, and the fulfillment saga) as one process on
// SQLite files with the in-process transport by default:
//
//	go run ./examples/shop/cmd/shop            # serve on :8080, data in ./data
//	go run ./examples/shop/cmd/shop load --rate 500 --duration 60s
//
// The same modules run on PostgreSQL and NATS JetStream when SHOP_POSTGRES_DSN
// and SHOP_NATS_URL are set. Run `shop help` for the commands and flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process
	}()
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1) // cobra printed the error
	}
}
