package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/natsserver"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
)

// jetStream starts an embedded NATS server and returns it with a
// transport on a connection of its own, as a service would have.
func jetStream(t *testing.T) (*natsserver.Server, func(t *testing.T) *natsjs.Transport) {
	t.Helper()
	srv, err := natsserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	open := func(t *testing.T) *natsjs.Transport {
		nc, err := natsjs.Connect(srv.URL(), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		tr, err := natsjs.New(nc, natsjs.WithLogger(quiet), natsjs.WithPublishTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	return srv, open
}

// seen counts the deliveries of each message ID at a remote consumer.
type seen struct {
	mu  sync.Mutex
	ids map[string]int
}

func (s *seen) handle(_ context.Context, d transport.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[d.ID]++
	return nil
}

func (s *seen) has(ids []string) (missing int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.ids[id] == 0 {
			missing++
		}
	}
	return missing
}

// The broker is down for 5 s while writers keep adding to the outbox: the
// backlog grows, the relay retries, and once the broker is back every
// message reaches the consumer in another "service"; nothing is lost.
func TestBrokerDownFiveSecondsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: a 5 s broker outage; not with -short")
	}
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		o := newOutbox(t, s, outbox.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
		srv, open := jetStream(t)
		relayT, consumerT := open(t), open(t)
		got := &seen{ids: map[string]int{}}
		if err := consumerT.Subscribe(ctx, transport.Subscription{Subject: "billing.>", Group: "billing", Concurrency: 4}, got.handle); err != nil {
			t.Fatal(err)
		}
		stopRelay := startRelay(t, o, relayT)
		defer stopRelay()

		var mu sync.Mutex
		var ids []string
		stop := make(chan struct{})
		var writers sync.WaitGroup
		for w := range 4 {
			writers.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					m := msg("billing.charge", fmt.Sprintf("k%d", w), i)
					err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx, m) })
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, m.ID)
					mu.Unlock()
					time.Sleep(4 * time.Millisecond)
				}
			})
		}
		time.Sleep(time.Second)
		srv.Stop()
		outage := time.Now()
		eventually(t, "the relay notices the outage", func() bool {
			st := stats(t, o)
			return st.Backlog > 0 && st.LastError != ""
		})
		time.Sleep(5*time.Second - time.Since(outage))
		backlog := stats(t, o).Backlog
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		close(stop)
		writers.Wait()

		mu.Lock()
		all := append([]string(nil), ids...)
		mu.Unlock()
		deadline := time.Now().Add(30 * time.Second)
		for got.has(all) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d messages never arrived; outbox %+v", got.has(all), len(all), stats(t, o))
			}
			time.Sleep(20 * time.Millisecond)
		}
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
		got.mu.Lock()
		dups := 0
		for _, n := range got.ids {
			dups += n - 1
		}
		got.mu.Unlock()
		t.Logf("%d messages; backlog %d at the end of the outage; all delivered, %d redelivered", len(all), backlog, dups)
	})
}

// An event relay stopped after the broker stored a page but before its
// checkpoint was written publishes the page again on restart; JetStream
// drops the copies by message ID (the event ID): the consumer sees each
// event once.
func TestEventRelayStoppedMidPageOverJetStream(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		_, open := jetStream(t)
		relayT, consumerT := open(t), open(t)
		got := &seen{ids: map[string]int{}}
		if err := consumerT.Subscribe(ctx, transport.Subscription{Subject: "events.>", Group: "shipping"}, got.handle); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range 30 {
			res, err := s.Append(ctx, fmt.Sprintf("order-%d", i%3), eventual.Any, eventual.EventData{Type: "order.placed"})
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{From: res.FirstPosition, Limit: 1}))
			ids = append(ids, evs[0].ID.String())
		}

		// The first run "crashes" once its first page was acknowledged:
		// its store handle closes before the checkpoint is written.
		h := b.Open(t, s)
		first := newEventRelay(t, h, "shipping", publisherFunc(func(pctx context.Context, msgs ...transport.Message) error {
			err := relayT.Publish(pctx, msgs...)
			_ = h.Close()
			return err
		}), outbox.WithBatchSize(10))
		if err := first.Run(ctx); err == nil {
			t.Fatal("the relay ran on after its store closed")
		}
		if st := relayStatus(t, newEventRelay(t, s, "shipping", relayT)); st.Checkpoint != 0 {
			t.Fatalf("checkpoint %d after a crash before the write", st.Checkpoint)
		}
		second := newEventRelay(t, b.Open(t, s), "shipping", relayT, outbox.WithBatchSize(10))
		stopSecond := background(t, second.Run)
		defer stopSecond()
		eventually(t, "every event arrives", func() bool { return got.has(ids) == 0 })
		time.Sleep(200 * time.Millisecond)
		got.mu.Lock()
		defer got.mu.Unlock()
		for id, n := range got.ids {
			if n != 1 {
				t.Errorf("event %s delivered %d times", id, n)
			}
		}
	})
}

type publisherFunc func(ctx context.Context, msgs ...transport.Message) error

func (f publisherFunc) Publish(ctx context.Context, msgs ...transport.Message) error {
	return f(ctx, msgs...)
}
