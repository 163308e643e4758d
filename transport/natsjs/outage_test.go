package natsjs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
)

// The broker goes down for 5 s while a publisher publishes without pause
// and a subscriber (another process) consumes: the publisher retries what
// failed with the same IDs, and once the broker is back every message
// acknowledged is consumed, none is lost, and JetStream drops most of the
// duplicates the retries make.
func TestBrokerDownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 10 s: run without -short to include it")
	}
	dir := t.TempDir()
	s, err := runServer(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	var smu sync.Mutex
	t.Cleanup(func() {
		smu.Lock()
		defer smu.Unlock()
		s.Shutdown()
		s.WaitForShutdown()
	})
	reconnect := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectJitter(0, 0)}
	newTr := func() *natsjs.Transport {
		nc := connect(t, s, reconnect...)
		tr, err := natsjs.New(nc, natsjs.WithLogger(quiet), natsjs.WithAckWait(time.Second), natsjs.WithPublishTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	pub, sub := newTr(), newTr()

	p := prefix()
	var mu sync.Mutex
	consumed := map[string]int{}
	if err := sub.Subscribe(context.Background(), transport.Subscription{Subject: p + ".load", Group: "sink", Concurrency: 4},
		func(_ context.Context, d transport.Delivery) error {
			mu.Lock()
			consumed[d.ID]++
			mu.Unlock()
			return nil
		}); err != nil {
		t.Fatal(err)
	}

	// The publisher: batches of 20 every 10 ms, each retried with backoff
	// until acknowledged, for 8 s.
	acked := map[string]bool{}
	var sent, retries int
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		end := time.Now().Add(8 * time.Second)
		for time.Now().Before(end) {
			batch := make([]transport.Message, 20)
			for i := range batch {
				batch[i] = transport.NewMessage(p+".load", "tick", nil)
				batch[i].Key = batch[i].ID[len(batch[i].ID)-1:]
			}
			wait := 20 * time.Millisecond
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := pub.Publish(ctx, batch...)
				cancel()
				sent += len(batch)
				if err == nil {
					break
				}
				retries++
				time.Sleep(wait)
				wait = min(2*wait, 500*time.Millisecond)
			}
			for _, m := range batch {
				acked[m.ID] = true
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	at := port(s)
	smu.Lock()
	s.Shutdown()
	s.WaitForShutdown()
	smu.Unlock()
	down := time.Now()
	time.Sleep(5 * time.Second)
	smu.Lock()
	s, err = runServer(dir, at)
	smu.Unlock()
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("broker down for %v", time.Since(down).Round(time.Millisecond))
	<-pubDone

	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for id := range acked {
			if consumed[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never consumed", missing, len(acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	deliveries := 0
	for id, n := range consumed {
		if !acked[id] {
			t.Errorf("consumed %s, which was never acknowledged to the publisher", id)
		}
		deliveries += n
	}
	t.Logf("%d messages acknowledged (%d sends, %d retried batches); %d consumed, %d deliveries (%d duplicates)",
		len(acked), sent, retries, len(consumed), deliveries, deliveries-len(consumed))
	if retries == 0 {
		t.Error("no publish failed: the outage was not noticed")
	}
}
