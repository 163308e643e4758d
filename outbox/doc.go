// Package outbox sends messages exactly when the transaction that caused
// them commits: the transactional outbox. A command handler appends its
// events and adds its outgoing messages in one transaction of the event
// store (eventual.TxStore); a relay then publishes the messages to a
// transport (transport/inproc, transport/natsjs) and marks them sent only
// once the transport acknowledged them. A crash anywhere leaves every
// message either unsent, to be published again with the same ID, or sent:
// none is lost, and none is sent for a transaction that rolled back.
//
//	ob, err := outbox.New(ctx, store) // SQLite or PostgreSQL
//	if err != nil { … }
//	go ob.Relay(ctx, bus)             // until ctx ends
//
//	err = store.InTx(ctx, func(tx eventual.Tx) error {
//		if _, err := tx.Append(ctx, "order-42", eventual.NoStream, placed); err != nil {
//			return err
//		}
//		msg := transport.NewMessage("orders.placed", "order.placed", data)
//		msg.Key = "order-42" // messages of one key arrive in order
//		return ob.Add(ctx, tx, msg)
//	})
//
// Delivery is at least once: a relay stopped between a publish and the
// mark publishes the same messages again, under the same IDs, which the
// broker's deduplication drops (and package inbox makes a consumer's
// effects happen once even past the broker's window). The relays'
// bookkeeping — marking rows sent, deleting them, an event relay's
// checkpoint — commits without waiting for the disk (as read models do):
// a crash of the machine may undo the last of it, and those messages are
// then published again, like after a stopped relay; the messages
// themselves are written by the caller's durable transaction. Messages
// with the same Key are published in the order their transactions
// committed. The relay publishes the rows its own process added straight
// from memory once their transaction committed, and reads the table for
// the rest (rows of other processes, or after a restart): the table is
// the truth.
//
// EventRelay is the other way to publish integration events: straight
// from the global log of events, without an outbox row, for events that
// are themselves the message (see NewEventRelay). The message ID is then
// the event ID.
//
// The outbox's tables (eventual_outbox, eventual_event_relays) live in the
// event store's database and are created by New and NewEventRelay through
// eventual.Migrator, as the component "outbox".
package outbox
