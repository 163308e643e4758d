package adapters

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/transport"
)

// A message delivered again — at the same time, or later — is stored
// once: ingestion has no inbox and relies on the store's answer to an
// append of IDs the stream holds already, on both backends, for message
// IDs that are UUIDs and for those that are not.
func TestIngestDeliveredAgain(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		store := b.New(t)
		ctx := context.Background()
		for _, msgID := range []string{uuid.Must(uuid.NewV7()).String(), "order-placed-42"} {
			order := uuid.NewString()
			d := transport.Delivery{Message: transport.Message{ID: msgID, Subject: ordering.SubjectOrderPlaced,
				Type: ordering.TypeOrderPlaced, Key: order, Data: []byte(`{"order_id":"` + order + `"}`)}}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					if err := Ingest(ctx, store, d); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if err := Ingest(ctx, store, d); err != nil {
				t.Fatal(err)
			}
			evs, err := eventual.Collect(store.ReadStream(ctx, OrderStream+order, eventual.ReadStreamOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Type != ordering.TypeOrderPlaced || evs[0].Metadata.Extra[MetaMessageID] != msgID {
				t.Errorf("message %s: %d events in the stream, want it once", msgID, len(evs))
			}
		}
	})
}

// A message the store refuses — here, its derived event ID already in
// another stream — is refused terminally, to be set aside at once
// rather than redelivered.
func TestIngestRefusedIsTerminal(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		store := b.New(t)
		ctx := context.Background()
		msgID := uuid.Must(uuid.NewV7()).String()
		first, second := uuid.NewString(), uuid.NewString()
		placed := func(order string) transport.Delivery {
			return transport.Delivery{Message: transport.Message{ID: msgID, Subject: ordering.SubjectOrderPlaced,
				Type: ordering.TypeOrderPlaced, Key: order, Data: []byte(`{"order_id":"` + order + `"}`)}}
		}
		if err := Ingest(ctx, store, placed(first)); err != nil {
			t.Fatal(err)
		}
		err := Ingest(ctx, store, placed(second))
		if !transport.IsTerminal(err) || !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Fatalf("the same message ID about another order: %v, want a terminal invalid argument", err)
		}
	})
}
