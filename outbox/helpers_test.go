package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

var quiet = slog.New(slog.DiscardHandler)

func newOutbox(t testing.TB, s eventual.TxStore, opts ...outbox.Option) *outbox.Outbox {
	t.Helper()
	o, err := outbox.New(context.Background(), s, append([]outbox.Option{outbox.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newTransport(t testing.TB, opts ...inproc.Option) *inproc.Transport {
	t.Helper()
	tr, err := inproc.New(append([]inproc.Option{inproc.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// background runs f until the returned stop is called (at the latest at
// the end of the test) and fails the test if f returns an error.
func background(t testing.TB, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f(ctx); err != nil {
			t.Errorf("background run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// startRelay runs o.Relay(pub) until stop.
func startRelay(t testing.TB, o *outbox.Outbox, pub transport.Publisher) (stop func()) {
	return background(t, func(ctx context.Context) error { return o.Relay(ctx, pub) })
}

// fakePublisher is a Publisher whose behaviour the test writes.
type fakePublisher struct {
	publish func(ctx context.Context, msgs ...transport.Message) error
}

func (f fakePublisher) Publish(ctx context.Context, msgs ...transport.Message) error {
	return f.publish(ctx, msgs...)
}

// collector records what a subscription receives.
type collector struct {
	mu  sync.Mutex
	got []transport.Delivery
}

func subscribe(t testing.TB, tr transport.Subscriber, subject string, concurrency int) *collector {
	t.Helper()
	c := &collector{}
	err := tr.Subscribe(t.Context(), transport.Subscription{Subject: subject, Group: "test", Concurrency: concurrency},
		func(_ context.Context, d transport.Delivery) error {
			c.mu.Lock()
			c.got = append(c.got, d)
			c.mu.Unlock()
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *collector) deliveries() []transport.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]transport.Delivery(nil), c.got...)
}

// distinct returns how many times each message ID was received.
func (c *collector) distinct() map[string]int {
	n := map[string]int{}
	for _, d := range c.deliveries() {
		n[d.ID]++
	}
	return n
}

// waitDistinct waits until n distinct IDs were received.
func (c *collector) waitDistinct(t testing.TB, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d distinct messages received", n), func() bool { return len(c.distinct()) >= n })
}

// eventually waits until cond holds, failing the test after 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// msg returns a message of key with n as its data.
func msg(subject, key string, n int) transport.Message {
	m := transport.NewMessage(subject, "test.numbered", []byte(fmt.Sprint(n)))
	m.Key = key
	return m
}

// add adds msgs in one transaction.
func add(t testing.TB, s eventual.TxStore, o *outbox.Outbox, msgs ...transport.Message) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx, msgs...) }); err != nil {
		t.Fatal(err)
	}
}

// count runs a COUNT(*) query.
func count(t testing.TB, s eventual.TxStore, query string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	if err := s.InTx(ctx, func(tx eventual.Tx) error { return tx.QueryRow(ctx, query, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// exec runs a statement.
func exec(t testing.TB, s eventual.TxStore, query string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, query, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

func stats(t testing.TB, o *outbox.Outbox) outbox.Stats {
	t.Helper()
	st, err := o.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkOrder checks that the messages of each key arrived with increasing
// numbers (their data), and returns how many keys it saw.
func checkOrder(t testing.TB, ds []transport.Delivery) int {
	t.Helper()
	last := map[string]int{}
	for _, d := range ds {
		var n int
		if _, err := fmt.Sscan(string(d.Data), &n); err != nil {
			t.Fatalf("message %s: data %q: %v", d.ID, d.Data, err)
		}
		if prev, ok := last[d.Key]; ok && n <= prev {
			t.Fatalf("key %s: message %d arrived after %d", d.Key, n, prev)
		}
		last[d.Key] = n
	}
	return len(last)
}

var errBoom = errors.New("boom")
