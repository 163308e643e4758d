// Package eventual holds the contracts shared by every part of the Eventual
// toolkit: the events an application appends ([EventData]) and reads back
// ([RecordedEvent]), the event [Store] with its optimistic concurrency
// ([ExpectedVersion]), the transaction handle [Tx] that puts events and the
// caller's own rows in one commit, and the errors every backend returns.
//
// The package holds contracts only. Backends live in their own packages:
// store/memory for tests, store/sqlite (the embedded default) and
// store/postgres (production). Each passes the conformance suite in
// store/storetest.
//
// A typical use:
//
//	store, err := sqlite.Open(ctx, "data/events.db")
//	if err != nil { … }
//	defer store.Close()
//
//	res, err := store.Append(ctx, "account-42", eventual.NoStream,
//		eventual.EventData{Type: "account.opened", Data: []byte(`{"owner":"Ada"}`)})
//	if errors.Is(err, eventual.ErrConflict) { … reload and decide again … }
//
//	for ev, err := range store.ReadStream(ctx, "account-42", eventual.ReadStreamOptions{}) {
//		if err != nil { … }
//		fmt.Println(ev.Version, ev.Type)
//	}
package eventual
