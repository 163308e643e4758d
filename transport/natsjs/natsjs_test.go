package natsjs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
	"github.com/eventual-go/eventual/transport/transporttest"
)

// shared is the embedded server most tests use, started by TestMain.
var shared *server.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "natsjs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = runServer(dir, -1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Shutdown()
	shared.WaitForShutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runServer starts an embedded server with JetStream storing in dir, on
// port (-1 for any free one) of the loopback interface.
func runServer(dir string, port int) (*server.Server, error) {
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats-server: not ready after 10 s")
	}
	return s, nil
}

// startServer starts a server of the test's own, shut down at its end.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := runServer(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func port(s *server.Server) int { return s.Addr().(*net.TCPAddr).Port }

// connect connects to s, closing the connection when the test ends.
func connect(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open returns a transport on its own connection to s, closed when the
// test ends.
func open(t testing.TB, s *server.Server, opts ...natsjs.Option) *natsjs.Transport {
	t.Helper()
	tr, err := natsjs.New(connect(t, s), append([]natsjs.Option{natsjs.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// prefix returns a subject token unique to the test.
func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "n" + hex.EncodeToString(b)
}

func ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transport.Transport {
		tr, err := natsjs.New(connect(t, shared), natsjs.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}, transporttest.Features{})
}

// Awkward values survive the trip through the headers.
func TestEveryFieldAwkward(t *testing.T) {
	tr := open(t, shared)
	p := prefix()
	got := make(chan transport.Delivery, 1)
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".x", Group: "g"}, func(_ context.Context, d transport.Delivery) error {
		got <- d
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := transport.NewMessage(p+".x", "type: with colon & spaces", []byte("\x00binary\r\n"))
	m.ID = " id with spaces and % and ü "
	m.Key = "key\r\nInjected: header"
	m.Metadata = eventual.Metadata{
		CorrelationID: "  leading and trailing  ",
		TenantID:      "日本語",
		UserID:        "%41 not an escape",
		TraceState:    "a=1,b=2",
		Extra: map[string]string{
			"with space":          "ünïcode",
			"colon:key":           "value: with colon",
			"Mixed-Case":          "",
			"%2F":                 "percent",
			"tab\tand\nnewline":   "\t",
			"Eventual-Extra-nest": "nested prefix",
		},
	}
	if err := tr.Publish(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.ID != m.ID || d.Type != m.Type || d.Key != m.Key || string(d.Data) != string(m.Data) {
			t.Errorf("got %q %q %q %q", d.ID, d.Type, d.Key, d.Data)
		}
		if !reflect.DeepEqual(d.Metadata, m.Metadata) {
			t.Errorf("metadata %+v\nwant     %+v", d.Metadata, m.Metadata)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered")
	}
}

func TestOptionsInvalid(t *testing.T) {
	nc := connect(t, shared)
	for name, opt := range map[string]natsjs.Option{
		"nil logger":             natsjs.WithLogger(nil),
		"prefix with dot":        natsjs.WithStreamPrefix("A.B"),
		"prefix too long":        natsjs.WithStreamPrefix(strings.Repeat("A", 65)),
		"no replicas":            natsjs.WithReplicas(0),
		"six replicas":           natsjs.WithReplicas(6),
		"storage":                natsjs.WithStorage(7),
		"work queue":             natsjs.WithRetention(jetstream.WorkQueuePolicy),
		"negative max age":       natsjs.WithMaxAge(-time.Second),
		"max age below 1s":       natsjs.WithMaxAge(time.Millisecond),
		"zero max bytes":         natsjs.WithMaxBytes(0),
		"short dup window":       natsjs.WithDuplicateWindow(time.Millisecond),
		"stream without subject": natsjs.WithStream("S"),
		"stream with dot":        natsjs.WithStream("S.1", "a"),
		"stream bad subject":     natsjs.WithStream("S", "a..b"),
		"stream > not last":      natsjs.WithStream("S", ">.a"),
		"short ack wait":         natsjs.WithAckWait(time.Millisecond),
		"zero max ack pending":   natsjs.WithMaxAckPending(0),
		"zero prefetch":          natsjs.WithPrefetch(0),
		"short publish timeout":  natsjs.WithPublishTimeout(0),
	} {
		if _, err := natsjs.New(nc, opt); !errors.Is(err, natsjs.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
	for name, opts := range map[string][]natsjs.Option{
		"stream twice":            {natsjs.WithStream("S", "a"), natsjs.WithStream("S", "b")},
		"dup window past max age": {natsjs.WithMaxAge(time.Minute), natsjs.WithDuplicateWindow(2 * time.Minute)},
	} {
		if _, err := natsjs.New(nc, opts...); !errors.Is(err, natsjs.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := natsjs.New(nil); !errors.Is(err, natsjs.ErrInvalidOption) {
		t.Errorf("nil connection: New = %v, want ErrInvalidOption", err)
	}
	tr, err := natsjs.New(nc, natsjs.WithStreamPrefix(""), natsjs.WithReplicas(1), natsjs.WithMaxAge(0),
		natsjs.WithMaxBytes(1<<20), natsjs.WithDuplicateWindow(time.Hour), natsjs.WithAckWait(time.Second))
	if err != nil {
		t.Fatalf("valid options: %v", err)
	}
	_ = tr.Close()
}

// A subscription starting with a wildcard spans automatic streams: refused.
func TestWildcardFirstTokenRefused(t *testing.T) {
	tr := open(t, shared)
	for _, subj := range []string{"*.placed", ">"} {
		err := tr.Subscribe(ctx(t), transport.Subscription{Subject: subj, Group: "g"}, func(context.Context, transport.Delivery) error { return nil })
		if !errors.Is(err, transport.ErrInvalidSubscription) || !errors.Is(err, natsjs.ErrNoStream) {
			t.Errorf("Subscribe(%s) = %v, want ErrInvalidSubscription and ErrNoStream", subj, err)
		}
	}
}

// Declared streams take what they cover, and a subscription may start
// with a wildcard if one of them takes all it matches.
func TestDeclaredStreams(t *testing.T) {
	s := startServer(t) // a stream of its own, so that no automatic stream overlaps
	tr := open(t, s, natsjs.WithStream("PLACED", "orders.placed", "payments.placed"), natsjs.WithStream("OTHER", "other.*.done"),
		natsjs.WithStorage(jetstream.MemoryStorage))
	got := make(chan transport.Delivery, 10)
	h := func(_ context.Context, d transport.Delivery) error { got <- d; return nil }
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: "*.placed", Group: "all-placed"}, h); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx(t), transport.NewMessage("orders.placed", "x", nil), transport.NewMessage("payments.placed", "y", nil),
		transport.NewMessage("other.x.done", "z", nil)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case d := <-got:
			if d.Type == "z" {
				t.Errorf("got %s", d.Subject)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered")
		}
	}
	err := tr.Publish(ctx(t), transport.NewMessage("shipping.placed", "x", nil))
	if !errors.Is(err, transport.ErrInvalidMessage) || !errors.Is(err, natsjs.ErrNoStream) {
		t.Errorf("Publish to an undeclared subject: %v, want ErrInvalidMessage and ErrNoStream", err)
	}
	for _, subj := range []string{"shipping.>", ">", "*.>"} {
		err = tr.Subscribe(ctx(t), transport.Subscription{Subject: subj, Group: "g"}, h)
		if !errors.Is(err, transport.ErrInvalidSubscription) || !errors.Is(err, natsjs.ErrNoStream) {
			t.Errorf("Subscribe(%s): %v, want ErrInvalidSubscription and ErrNoStream", subj, err)
		}
	}
	js, err := jetstream.New(connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx(t), "PLACED")
	if err != nil {
		t.Fatal(err)
	}
	if info := stream.CachedInfo(); info.State.Msgs != 2 || info.Config.Storage != jetstream.MemoryStorage {
		t.Errorf("stream PLACED holds %d messages in %v, want 2 in memory", info.State.Msgs, info.Config.Storage)
	}
}

// A group consumes one subject, in this process and in others.
func TestGroupSubjectConflict(t *testing.T) {
	p := prefix()
	a, b := open(t, shared), open(t, shared) // two processes
	ok := func(context.Context, transport.Delivery) error { return nil }
	if err := a.Subscribe(ctx(t), transport.Subscription{Subject: p + ".a", Group: "g"}, ok); err != nil {
		t.Fatal(err)
	}
	for name, tr := range map[string]*natsjs.Transport{"same process": a, "other process": b} {
		err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".b", Group: "g"}, ok)
		if !errors.Is(err, transport.ErrInvalidSubscription) {
			t.Errorf("%s: Subscribe with another subject: %v, want ErrInvalidSubscription", name, err)
		}
	}
	// The group of the same name on another stream is another group.
	if err := b.Subscribe(ctx(t), transport.Subscription{Subject: prefix() + ".b", Group: "g"}, ok); err != nil {
		t.Errorf("same group name on another stream: %v", err)
	}
}

// Members in several processes share the work of their group.
func TestGroupAcrossProcesses(t *testing.T) {
	p := prefix()
	var mu sync.Mutex
	seen := map[string]int{}
	per := [2]int{}
	all := make(chan struct{}, 100)
	sub := transport.Subscription{Subject: p + ".jobs", Group: "workers", Concurrency: 2}
	for i := range 2 {
		tr := open(t, shared)
		if err := tr.Subscribe(ctx(t), sub, func(context.Context, transport.Delivery) error { return nil }); err != nil {
			t.Fatal(err)
		}
		_ = tr.Close() // the group outlives it
		tr = open(t, shared)
		if err := tr.Subscribe(ctx(t), sub, func(_ context.Context, d transport.Delivery) error {
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			seen[d.ID]++
			per[i]++
			mu.Unlock()
			all <- struct{}{}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	pub := open(t, shared)
	var msgs []transport.Message
	for range 60 {
		msgs = append(msgs, transport.NewMessage(p+".jobs", "job", nil))
	}
	if err := pub.Publish(ctx(t), msgs...); err != nil {
		t.Fatal(err)
	}
	for i := range len(msgs) {
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d handled", i, len(msgs))
		}
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(msgs) || per[0] == 0 || per[1] == 0 {
		t.Errorf("%d distinct of %d handled, %v by each process", len(seen), len(msgs), per)
	}
}

// A handler slower than the ack wait keeps its message: the transport
// reports it in progress.
func TestSlowHandlerNotRedelivered(t *testing.T) {
	tr := open(t, shared, natsjs.WithAckWait(300*time.Millisecond))
	p := prefix()
	attempts := make(chan int, 10)
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".slow", Group: "g"}, func(_ context.Context, d transport.Delivery) error {
		attempts <- d.Attempt
		time.Sleep(1200 * time.Millisecond)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Two of one key: the second waits its turn for longer than the ack
	// wait, too.
	a, b := transport.NewMessage(p+".slow", "x", nil), transport.NewMessage(p+".slow", "x", nil)
	a.Key, b.Key = "k", "k"
	if err := tr.Publish(ctx(t), a, b); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case n := <-attempts:
			if n != 1 {
				t.Errorf("attempt %d: redelivered while in progress", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered")
		}
	}
	select {
	case n := <-attempts:
		t.Errorf("delivered again: attempt %d", n)
	case <-time.After(1500 * time.Millisecond):
	}
}

func TestPublishTooLarge(t *testing.T) {
	tr := open(t, shared)
	p := prefix()
	big := transport.NewMessage(p+".x", "x", make([]byte, 2<<20))
	if err := tr.Publish(ctx(t), transport.NewMessage(p+".x", "x", nil), big); !errors.Is(err, transport.ErrInvalidMessage) {
		t.Errorf("Publish of 2 MiB: %v, want ErrInvalidMessage", err)
	}
}

// Close leaves the connection to its owner.
func TestCloseKeepsConnection(t *testing.T) {
	nc := connect(t, shared)
	tr, err := natsjs.New(nc, natsjs.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx(t), transport.NewMessage(prefix()+".x", "x", nil)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() {
		t.Error("Close closed the connection")
	}
}

// A panicking handler fails its delivery: the message comes again.
func TestHandlerPanicRedelivers(t *testing.T) {
	tr := open(t, shared)
	p := prefix()
	attempts := make(chan int, 10)
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".x", Group: "g", Backoff: func(int) time.Duration { return 10 * time.Millisecond }},
		func(_ context.Context, d transport.Delivery) error {
			attempts <- d.Attempt
			if d.Attempt == 1 {
				panic("boom")
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx(t), transport.NewMessage(p+".x", "x", nil)); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		select {
		case got := <-attempts:
			if got != want {
				t.Fatalf("attempt %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no attempt %d", want)
		}
	}
}

// A message that this transport did not publish is terminated, and does
// not hold up the others.
func TestForeignMessageTerminated(t *testing.T) {
	tr := open(t, shared)
	p := prefix()
	got := make(chan transport.Delivery, 10)
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".x", Group: "g"}, func(_ context.Context, d transport.Delivery) error {
		got <- d
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(connect(t, shared))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx(t), p+".x", []byte("no headers")); err != nil {
		t.Fatal(err)
	}
	m := transport.NewMessage(p+".x", "ours", nil)
	if err := tr.Publish(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.ID != m.ID {
			t.Errorf("got %q (%s), want our message", d.ID, d.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered")
	}
	cons, err := js.Consumer(ctx(t), "EVENTUAL_"+strings.ToUpper(p), "g")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	info, err := cons.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("%d pending, %d unacknowledged: the foreign message was not terminated", info.NumPending, info.NumAckPending)
	}
}

// With its connection closed under it, the transport fails, and closes,
// without hanging.
func TestConnectionClosedFirst(t *testing.T) {
	nc := connect(t, shared)
	tr, err := natsjs.New(nc, natsjs.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	p := prefix()
	if err := tr.Subscribe(ctx(t), transport.Subscription{Subject: p + ".x", Group: "g"}, func(context.Context, transport.Delivery) error { return nil }); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if err := tr.Publish(ctx(t), transport.NewMessage(p+".x", "x", nil)); err == nil {
		t.Error("Publish on a closed connection succeeded")
	}
	done := make(chan struct{})
	go func() {
		_ = tr.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
}
