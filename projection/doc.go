// Package projection builds read models from the global log: CQRS's query
// side. A Projection declares its tables, how to set them up and how to
// apply an event; a Runner feeds it from its own checkpoint, a batch of
// events per transaction, the checkpoint written in that same transaction
// — so a crash never applies an event twice or loses one.
//
//	runner, err := projection.NewRunner(store)
//	err = runner.Add(projection.Projection{
//		Name:   "order_totals",
//		Filter: eventual.Filter{Types: []string{"order.placed"}},
//		Tables: []string{"order_totals"},
//		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
//			_, err := tx.Exec(ctx, "CREATE TABLE "+t.Name("order_totals")+" (id TEXT PRIMARY KEY, total BIGINT)")
//			return err
//		},
//		Handle: func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
//			_, err := tx.Exec(ctx, "INSERT INTO "+t.Name("order_totals")+" (id, total) VALUES ($1, $2)", …)
//			return err
//		},
//	})
//	err = runner.Start(ctx)
//	defer runner.Close()
//	// After an append: read your write.
//	err = runner.WaitFor(ctx, "order_totals", res.LastPosition)
//	row := store.QueryRow(ctx, "SELECT total FROM order_totals WHERE id = $1", id)
//
// Readers read the plain table names, which are views of the active
// generation's tables (order_totals__g1). Rebuild, or a new Version, fills
// the next generation from position 0 while the active one keeps serving,
// then swaps the views in one transaction: no downtime, no half-built
// reads.
//
// A handler error rolls back the batch and is retried with backoff; an
// event that keeps failing stops its projection alone, in StateFailed,
// with the event's position and error in Status, until Resume (after a
// fix) or Skip (leaving that one event out, on purpose). Each projection
// runs in its own goroutine; Status reports checkpoint, head and lag.
package projection
