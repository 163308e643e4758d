package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/storetest"
)

// TestSuiteCatchesPositionsOutOfCommitOrder runs the conformance suite's
// delivery check against a store broken on purpose: positions taken from
// the sequence without the append lock, as a BIGSERIAL column would. The
// check must find the events a subscription skipped. If it did not, the
// suite could not tell a correct backend from the classic bug.
func TestSuiteCatchesPositionsOutOfCommitOrder(t *testing.T) {
	// The control: the same scenario on correct stores passes the check.
	correct := freshSchema(t)
	var good []*postgres.Store
	for range 2 {
		s := open(t, correct, postgres.WithWriters(4))
		t.Cleanup(func() { s.Close() })
		good = append(good, s)
	}
	if err := writeAndSubscribe(t, good, "control"); err != nil {
		t.Fatalf("a correct store failed the check: %v", err)
	}

	schema := freshSchema(t)
	var stores []*postgres.Store
	for range 2 {
		s := open(t, schema, postgres.WithWriters(4))
		postgres.WithoutAppendLockForTest(s)
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	for attempt := 1; attempt <= 10; attempt++ {
		err := writeAndSubscribe(t, stores, fmt.Sprintf("try%d", attempt))
		if err != nil {
			t.Logf("attempt %d: the check caught it: %v", attempt, err)
			return
		}
	}
	t.Fatal("10 runs with positions out of commit order, and the delivery check noticed nothing")
}

// writeAndSubscribe writes from 64 goroutines through both stores while a
// subscription runs, and checks the delivery as the suite does.
func writeAndSubscribe(t *testing.T, stores []*postgres.Store, prefix string) error {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	from, err := stores[0].HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var delivered []eventual.RecordedEvent
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for e, err := range stores[0].Subscribe(ctx, eventual.SubscribeOptions{From: from + 1, Filter: eventual.Filter{StreamPrefix: prefix}}) {
			if err != nil {
				return
			}
			mu.Lock()
			delivered = append(delivered, e)
			mu.Unlock()
		}
	}()
	written := map[uuid.UUID]bool{}
	var wmu sync.Mutex
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := range 20 {
				e := eventual.EventData{ID: uuid.Must(uuid.NewV7()), Type: "e"}
				if _, err := stores[w%2].Append(ctx, fmt.Sprintf("%s-%d", prefix, w), eventual.Exact(uint64(i)), e); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				wmu.Lock()
				written[e.ID] = true
				wmu.Unlock()
			}
		})
	}
	wg.Wait()
	log, err := eventual.Collect(stores[0].ReadAll(ctx, eventual.ReadAllOptions{From: from + 1, Filter: eventual.Filter{StreamPrefix: prefix}}))
	if err != nil {
		t.Fatal(err)
	}
	// Give the subscription time to deliver everything it ever will.
	for range 100 {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n >= len(log) {
			break
		}
		waitABit()
	}
	cancel()
	<-subDone
	return storetest.CheckDelivery(delivered, written, log)
}
