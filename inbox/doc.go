// Package inbox makes a consumer's effects happen once although messages
// arrive at least once: the consumer records the message's ID in the same
// transaction as its effects, and a redelivered message, found recorded,
// is acknowledged without being handled again. It is the other half of
// package outbox; together they give effectively-once processing between
// modules and services.
//
//	ib, err := inbox.New(ctx, store) // SQLite or PostgreSQL
//	if err != nil { … }
//	go ib.Run(ctx)                   // forgets IDs past the retention
//
//	err = bus.Subscribe(ctx, transport.Subscription{Subject: "orders.placed", Group: "billing"},
//		ib.Handler(func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
//			_, err := tx.Append(ctx, "invoice-"+d.Key, eventual.NoStream, invoiceOpened(d))
//			return err
//		}))
//
// Handle is the same without a transport: handled, err :=
// ib.Handle(ctx, consumer, messageID, fn).
//
// The IDs are kept for a retention (WithRetention, default 7 days) that
// must outlast the broker's redeliveries. The table eventual_inbox lives in
// the event store's database and is created by New through
// eventual.Migrator, as the component "inbox".
package inbox
