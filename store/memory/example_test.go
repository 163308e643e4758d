package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/memory"
)

// Follow the global log: events already stored first, then new ones as
// they are appended.
func ExampleStore_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, _ := memory.New()
	defer store.Close()
	_, _ = store.Append(ctx, "order-1", eventual.NoStream, eventual.EventData{Type: "order.placed"})

	go func() {
		_, _ = store.Append(ctx, "order-1", eventual.Exact(1), eventual.EventData{Type: "order.paid"})
	}()
	n := 0
	for ev, err := range store.Subscribe(ctx, eventual.SubscribeOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Position, ev.StreamID, ev.Type)
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// 1 order-1 order.placed
	// 2 order-1 order.paid
}
