// Package transporttest is the conformance suite every transport passes:
// delivery of every field, wildcards, groups, order per key, redelivery
// after a failure, terminate, max deliver, deduplication, dead letters,
// request/reply, and errors. Run it from the transport's tests:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T) transport.Transport { … }, transporttest.Features{})
//	}
package transporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// Features says what a transport does beyond the common contract.
type Features struct {
	// PublishWaitsForHandling: Publish returns only once the handlers
	// settled the messages, unless the context says WithoutWaiting.
	PublishWaitsForHandling bool
}

// New returns a new transport for one test; the suite closes it. Every
// call within one test must reach the same messages (the same broker).
type New func(t *testing.T) transport.Transport

// Run runs the suite.
func Run(t *testing.T, newT New, f Features) {
	tests := []struct {
		name string
		run  func(t *testing.T, newT New, f Features)
	}{
		{"EveryField", testEveryField},
		{"Wildcards", testWildcards},
		{"EveryGroupGetsEachMessage", testEveryGroup},
		{"GroupMembersShareWork", testShareWork},
		{"OrderPerKey", testOrderPerKey},
		{"RedeliveryAfterFailure", testRedelivery},
		{"Terminate", testTerminate},
		{"MaxDeliver", testMaxDeliver},
		{"Dedup", testDedup},
		{"DeadLetter", testDeadLetter},
		{"RequestReply", testRequestReply},
		{"GroupOutlivesMembers", testGroupOutlivesMembers},
		{"EphemeralGroup", testEphemeralGroup},
		{"GroupKeepsItsSubject", testGroupKeepsItsSubject},
		{"HandlerPanic", testHandlerPanic},
		{"InvalidInput", testInvalid},
		{"Closed", testClosed},
		{"CloseWaitsForHandlers", testCloseWaits},
		{"PublishWaits", testPublishWaits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newT, f) })
	}
}

// open returns a transport closed when the test ends.
func open(t *testing.T, newT New) transport.Transport {
	t.Helper()
	tr := newT(t)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// prefix returns a subject token unique to this run, so tests never see
// each other's messages on a shared broker.
func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// nowait is a context whose publishes do not wait for handling.
func nowait(t *testing.T) context.Context { return transport.WithoutWaiting(bg(t)) }

// collector gathers deliveries.
type collector struct {
	mu  sync.Mutex
	got []transport.Delivery
	ch  chan transport.Delivery
}

func newCollector() *collector { return &collector{ch: make(chan transport.Delivery, 10_000)} }

func (c *collector) handle(_ context.Context, d transport.Delivery) error {
	c.mu.Lock()
	c.got = append(c.got, d)
	c.mu.Unlock()
	c.ch <- d
	return nil
}

// wait waits for n more deliveries.
func (c *collector) wait(t *testing.T, n int) []transport.Delivery {
	t.Helper()
	var out []transport.Delivery
	deadline := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case d := <-c.ch:
			out = append(out, d)
		case <-deadline:
			t.Fatalf("got %d deliveries, want %d", len(out), n)
		}
	}
	return out
}

// none checks that nothing more is delivered for a while.
func (c *collector) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-c.ch:
		t.Fatalf("unexpected delivery %s (%s) attempt %d", got.ID, got.Subject, got.Attempt)
	case <-time.After(d):
	}
}

func fastBackoff(int) time.Duration { return 20 * time.Millisecond }

func subscribe(t *testing.T, tr transport.Transport, sub transport.Subscription, h transport.Handler) {
	t.Helper()
	if err := tr.Subscribe(bg(t), sub, h); err != nil {
		t.Fatalf("Subscribe(%s, %s): %v", sub.Subject, sub.Group, err)
	}
}

func publish(t *testing.T, tr transport.Transport, msgs ...transport.Message) {
	t.Helper()
	if err := tr.Publish(nowait(t), msgs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func testEveryField(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	c := newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".orders.placed", Group: "g"}, c.handle)
	m := transport.NewMessage(p+".orders.placed", "order.placed", []byte(`{"id":"o-1","total":4200}`))
	m.Key = "o-1"
	m.ReplyTo = p + ".replies.x"
	m.Metadata = eventual.Metadata{
		CorrelationID: "corr", CausationID: "cause", TenantID: "tenant", UserID: "user",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "k=v",
		Extra: map[string]string{"a": "1", "with space": "ünïcode"},
	}
	publish(t, tr, m)
	d := c.wait(t, 1)[0]
	if d.Attempt != 1 || d.Group != "g" {
		t.Errorf("attempt %d group %q, want 1 and g", d.Attempt, d.Group)
	}
	if d.ID != m.ID || d.Subject != m.Subject || d.Type != m.Type || d.Key != m.Key || d.ReplyTo != m.ReplyTo || !bytes.Equal(d.Data, m.Data) {
		t.Errorf("got %+v\nwant %+v", d.Message, m)
	}
	if !reflect.DeepEqual(d.Metadata, m.Metadata) {
		t.Errorf("metadata %+v, want %+v", d.Metadata, m.Metadata)
	}
	// Empty data and metadata survive too.
	e := transport.NewMessage(p+".orders.placed", "empty", nil)
	publish(t, tr, e)
	if d := c.wait(t, 1)[0]; d.ID != e.ID || len(d.Data) != 0 || !d.Metadata.IsZero() || d.Key != "" || d.ReplyTo != "" {
		t.Errorf("empty message came back as %+v", d.Message)
	}
}

func testWildcards(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	star, rest := newCollector(), newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".orders.*", Group: "star"}, star.handle)
	subscribe(t, tr, transport.Subscription{Subject: p + ".orders.>", Group: "rest"}, rest.handle)
	publish(t, tr,
		transport.NewMessage(p+".orders.placed", "a", nil),
		transport.NewMessage(p+".orders.placed.eu", "b", nil),
		transport.NewMessage(p+".payments.done", "c", nil))
	if got := star.wait(t, 1); got[0].Type != "a" {
		t.Errorf("orders.* got %s", got[0].Type)
	}
	got := rest.wait(t, 2)
	types := map[string]bool{got[0].Type: true, got[1].Type: true}
	if !types["a"] || !types["b"] {
		t.Errorf("orders.> got %v", types)
	}
	star.none(t, 200*time.Millisecond)
	rest.none(t, 0)
}

func testEveryGroup(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	a, b := newCollector(), newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "a"}, a.handle)
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "b"}, b.handle)
	for range 10 {
		publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	}
	a.wait(t, 10)
	b.wait(t, 10)
	a.none(t, 200*time.Millisecond)
	b.none(t, 0)
}

func testShareWork(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	var mu sync.Mutex
	seen := map[string]int{}
	per := [2]int{}
	all := make(chan struct{}, 1000)
	member := func(i int) transport.Handler {
		return func(ctx context.Context, d transport.Delivery) error {
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			seen[d.ID]++
			per[i]++
			mu.Unlock()
			all <- struct{}{}
			return nil
		}
	}
	sub := transport.Subscription{Subject: p + ".jobs", Group: "workers"}
	subscribe(t, tr, sub, member(0))
	subscribe(t, tr, sub, member(1))
	const n = 60
	var msgs []transport.Message
	for range n {
		msgs = append(msgs, transport.NewMessage(p+".jobs", "job", nil))
	}
	publish(t, tr, msgs...)
	for i := range n {
		select {
		case <-all:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d handled", i, n)
		}
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("%d distinct messages handled, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s handled %d times by the group", id, k)
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("members handled %v: the work was not shared", per)
	}
}

func testOrderPerKey(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	const keys, perKey = 6, 40
	var mu sync.Mutex
	next := map[string]int{}
	busy := map[string]bool{}
	var errs []string
	done := make(chan struct{}, keys*perKey)
	var concurrent, maxConcurrent atomic.Int32
	h := func(ctx context.Context, d transport.Delivery) error {
		c := concurrent.Add(1)
		for {
			m := maxConcurrent.Load()
			if c <= m || maxConcurrent.CompareAndSwap(m, c) {
				break
			}
		}
		defer concurrent.Add(-1)
		mu.Lock()
		if busy[d.Key] {
			errs = append(errs, "two messages of key "+d.Key+" at once")
		}
		busy[d.Key] = true
		var seq int
		fmt.Sscanf(string(d.Data), "%d", &seq)
		if seq != next[d.Key] {
			errs = append(errs, fmt.Sprintf("key %s: got %d, want %d", d.Key, seq, next[d.Key]))
		}
		next[d.Key] = seq + 1
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		busy[d.Key] = false
		mu.Unlock()
		done <- struct{}{}
		return nil
	}
	subscribe(t, tr, transport.Subscription{Subject: p + ".ordered", Group: "g", Concurrency: 4}, h)
	var msgs []transport.Message
	for i := range perKey {
		for k := range keys {
			m := transport.NewMessage(p+".ordered", "n", fmt.Appendf(nil, "%d", i))
			m.Key = fmt.Sprintf("k%d", k)
			msgs = append(msgs, m)
		}
	}
	for len(msgs) > 0 { // in a few batches, as a relay would
		n := min(len(msgs), 50)
		publish(t, tr, msgs[:n]...)
		msgs = msgs[n:]
	}
	for i := range keys * perKey {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d handled", i, keys*perKey)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs[:min(len(errs), 10)] {
		t.Error(e)
	}
	if maxConcurrent.Load() < 2 {
		t.Errorf("at most %d handled at once with concurrency 4 and %d keys", maxConcurrent.Load(), keys)
	}
}

func testRedelivery(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	attempts := make(chan int, 10)
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g", Backoff: fastBackoff},
		func(ctx context.Context, d transport.Delivery) error {
			attempts <- d.Attempt
			if d.Attempt < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	for want := 1; want <= 3; want++ {
		select {
		case got := <-attempts:
			if got != want {
				t.Fatalf("attempt %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no attempt %d", want)
		}
	}
	select {
	case a := <-attempts:
		t.Fatalf("delivered again (attempt %d) after success", a)
	case <-time.After(300 * time.Millisecond):
	}
}

func testTerminate(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	c := newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g", Backoff: fastBackoff},
		func(ctx context.Context, d transport.Delivery) error {
			_ = c.handle(ctx, d)
			return transport.Terminate(errors.New("malformed"))
		})
	publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	c.wait(t, 1)
	c.none(t, 300*time.Millisecond)
}

func testMaxDeliver(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	c := newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g", MaxDeliver: 3, Backoff: fastBackoff},
		func(ctx context.Context, d transport.Delivery) error {
			_ = c.handle(ctx, d)
			return errors.New("always fails")
		})
	publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	got := c.wait(t, 3)
	for i, d := range got {
		if d.Attempt != i+1 {
			t.Errorf("delivery %d has attempt %d", i+1, d.Attempt)
		}
	}
	c.none(t, 300*time.Millisecond)
}

func testDedup(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	c := newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g"}, c.handle)
	m := transport.NewMessage(p+".x", "x", []byte("once"))
	publish(t, tr, m)
	publish(t, tr, m)
	publish(t, tr, m, transport.NewMessage(p+".x", "x", []byte("other")))
	got := c.wait(t, 2)
	if got[0].ID != m.ID || string(got[1].Data) != "other" {
		t.Errorf("got %s then %q", got[0].ID, got[1].Data)
	}
	c.none(t, 200*time.Millisecond)
}

func testDeadLetter(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	dead, tries := newCollector(), newCollector()
	subscribe(t, tr, transport.Subscription{Subject: p + ".dead", Group: "ops"}, dead.handle)
	h := transport.Chain(func(ctx context.Context, d transport.Delivery) error {
		_ = tries.handle(ctx, d)
		if string(d.Data) == "poison" {
			return errors.New("cannot handle poison")
		}
		return nil
	}, transport.DeadLetter(tr, p+".dead", 3))
	subscribe(t, tr, transport.Subscription{Subject: p + ".work", Group: "g", Backoff: fastBackoff}, h)
	poison := transport.NewMessage(p+".work", "x", []byte("poison"))
	poison.Key = "k"
	good := transport.NewMessage(p+".work", "x", []byte("good"))
	good.Key = "k"
	publish(t, tr, poison, good)
	d := dead.wait(t, 1)[0]
	if string(d.Data) != "poison" || d.Type != "x" || d.Key != "k" {
		t.Errorf("dead letter %+v", d.Message)
	}
	x := d.Metadata.Extra
	if x[transport.DeadLetterAttempts] != "3" || x[transport.DeadLetterGroup] != "g" ||
		x[transport.DeadLetterSubject] != p+".work" || x[transport.DeadLetterID] != poison.ID ||
		x[transport.DeadLetterError] != "cannot handle poison" {
		t.Errorf("dead letter metadata %v", x)
	}
	got := tries.wait(t, 4) // three tries of the poison, one of the good one
	n := 0
	for _, g := range got {
		if string(g.Data) == "poison" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("poison tried %d times, want 3", n)
	}
	tries.none(t, 300*time.Millisecond)
	dead.none(t, 0)
}

func testRequestReply(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	subscribe(t, tr, transport.Subscription{Subject: p + ".commands.double", Group: "doubler"},
		func(ctx context.Context, d transport.Delivery) error {
			var n int
			fmt.Sscanf(string(d.Data), "%d", &n)
			return transport.Reply(ctx, tr, d, transport.Message{Type: "doubled", Data: fmt.Appendf(nil, "%d", 2*n)})
		})
	r, err := transport.NewRequester(bg(t), tr, p+".replies.me")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			req := transport.NewMessage(p+".commands.double", "double", fmt.Appendf(nil, "%d", i))
			req.Metadata.CorrelationID = "c"
			rep, err := r.Request(bg(t), req)
			if err != nil {
				t.Error(err)
				return
			}
			if want := fmt.Sprint(2 * i); string(rep.Data) != want || rep.Metadata.CausationID != req.ID || rep.Metadata.CorrelationID != "c" {
				t.Errorf("reply %q causation %s correlation %s, want %s, %s, c", rep.Data, rep.Metadata.CausationID, rep.Metadata.CorrelationID, want, req.ID)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(bg(t), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Request(ctx, transport.NewMessage(p+".commands.nobody", "x", nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request without responder: %v, want deadline exceeded", err)
	}
	if err := transport.Reply(bg(t), tr, transport.Delivery{Message: transport.NewMessage(p+".x", "x", nil)}, transport.Message{Type: "r"}); !errors.Is(err, transport.ErrNoReplyTo) {
		t.Errorf("reply without reply-to: %v", err)
	}
}

func testGroupOutlivesMembers(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	first := newCollector()
	ctx, cancel := context.WithCancel(bg(t))
	sub := transport.Subscription{Subject: p + ".x", Group: "g"}
	if err := tr.Subscribe(ctx, sub, first.handle); err != nil {
		t.Fatal(err)
	}
	publish(t, tr, transport.NewMessage(p+".x", "before", nil))
	first.wait(t, 1)
	cancel()
	time.Sleep(200 * time.Millisecond)
	m := transport.NewMessage(p+".x", "while-away", nil)
	publish(t, tr, m)
	time.Sleep(200 * time.Millisecond)
	first.none(t, 0)
	second := newCollector()
	subscribe(t, tr, sub, second.handle)
	if got := second.wait(t, 1)[0]; got.ID != m.ID {
		t.Errorf("new member got %s (%s), want the message published while the group had none", got.ID, got.Type)
	}
}

func testInvalid(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	ok := func(context.Context, transport.Delivery) error { return nil }
	for name, m := range map[string]transport.Message{
		"no ID":            {Subject: p + ".x", Type: "x"},
		"no type":          {ID: "1", Subject: p + ".x"},
		"no subject":       {ID: "1", Type: "x"},
		"wildcard subject": {ID: "1", Subject: p + ".*", Type: "x"},
		"empty token":      {ID: "1", Subject: p + "..x", Type: "x"},
		"space":            {ID: "1", Subject: p + ".a b", Type: "x"},
		"bad reply-to":     {ID: "1", Subject: p + ".x", Type: "x", ReplyTo: "a.>"},
	} {
		if err := tr.Publish(nowait(t), m); !errors.Is(err, transport.ErrInvalidMessage) {
			t.Errorf("%s: Publish = %v, want ErrInvalidMessage", name, err)
		}
	}
	for name, s := range map[string]transport.Subscription{
		"no subject":        {Group: "g"},
		"no group":          {Subject: p + ".x"},
		"upper-case group":  {Subject: p + ".x", Group: "G"},
		"dotted group":      {Subject: p + ".x", Group: "a.b"},
		"> not last":        {Subject: p + ".>.x", Group: "g"},
		"negative":          {Subject: p + ".x", Group: "g", Concurrency: -1},
		"negative deliver":  {Subject: p + ".x", Group: "g", MaxDeliver: -1},
		"wildcard in token": {Subject: p + ".x*", Group: "g"},
	} {
		if err := tr.Subscribe(bg(t), s, ok); !errors.Is(err, transport.ErrInvalidSubscription) {
			t.Errorf("%s: Subscribe = %v, want ErrInvalidSubscription", name, err)
		}
	}
	if err := tr.Subscribe(bg(t), transport.Subscription{Subject: p + ".x", Group: "g"}, nil); !errors.Is(err, transport.ErrInvalidSubscription) {
		t.Errorf("nil handler: %v, want ErrInvalidSubscription", err)
	}
}

func testClosed(t *testing.T, newT New, _ Features) {
	tr := newT(t)
	p := prefix()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := tr.Publish(nowait(t), transport.NewMessage(p+".x", "x", nil)); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	err := tr.Subscribe(bg(t), transport.Subscription{Subject: p + ".x", Group: "g"}, func(context.Context, transport.Delivery) error { return nil })
	if !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

func testCloseWaits(t *testing.T, newT New, _ Features) {
	tr := newT(t)
	p := prefix()
	started := make(chan struct{})
	var finished atomic.Bool
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g"}, func(ctx context.Context, d transport.Delivery) error {
		close(started)
		<-ctx.Done() // Close cancels the handlers' context
		time.Sleep(50 * time.Millisecond)
		finished.Store(true)
		return ctx.Err()
	})
	publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never started")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Close returned before the running handler did")
	}
}

func testPublishWaits(t *testing.T, newT New, f Features) {
	if !f.PublishWaitsForHandling {
		t.Skip("Publish returns once the broker stored the messages: runs for transports that set Features.PublishWaitsForHandling")
	}
	tr := open(t, newT)
	p := prefix()
	var handled atomic.Int32
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "a", Backoff: fastBackoff}, func(ctx context.Context, d transport.Delivery) error {
		if d.Attempt == 1 {
			return errors.New("once more")
		}
		handled.Add(1)
		return nil
	})
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "b"}, func(ctx context.Context, d transport.Delivery) error {
		time.Sleep(20 * time.Millisecond)
		handled.Add(1)
		return nil
	})
	if err := tr.Publish(bg(t), transport.NewMessage(p+".x", "x", nil), transport.NewMessage(p+".x", "x", nil)); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 4 {
		t.Errorf("Publish returned after %d of 4 handlings", n)
	}
	ctx, cancel := context.WithTimeout(bg(t), 10*time.Millisecond)
	defer cancel()
	subscribe(t, tr, transport.Subscription{Subject: p + ".slow", Group: "slow"}, func(ctx context.Context, d transport.Delivery) error {
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	if err := tr.Publish(ctx, transport.NewMessage(p+".slow", "x", nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish past its deadline: %v, want deadline exceeded", err)
	}
}

func testEphemeralGroup(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	sub := transport.Subscription{Subject: p + ".x", Group: "mine", Ephemeral: true}
	first := newCollector()
	ctx, cancel := context.WithCancel(bg(t))
	if err := tr.Subscribe(ctx, sub, first.handle); err != nil {
		t.Fatal(err)
	}
	m := transport.NewMessage(p+".x", "while-there", nil)
	publish(t, tr, m)
	if got := first.wait(t, 1)[0]; got.ID != m.ID {
		t.Fatalf("got %s, want %s", got.ID, m.ID)
	}
	if err := tr.Subscribe(bg(t), transport.Subscription{Subject: p + ".x", Group: "mine"}, first.handle); !errors.Is(err, transport.ErrInvalidSubscription) {
		t.Errorf("durable Subscribe to an ephemeral group: %v, want ErrInvalidSubscription", err)
	}
	cancel()
	time.Sleep(200 * time.Millisecond)
	publish(t, tr, transport.NewMessage(p+".x", "while-away", nil))
	time.Sleep(200 * time.Millisecond)
	second := newCollector()
	subscribe(t, tr, sub, second.handle)
	later := transport.NewMessage(p+".x", "after", nil)
	publish(t, tr, later)
	if got := second.wait(t, 1)[0]; got.ID != later.ID {
		t.Errorf("the ephemeral group got %s (%s) after its members left, want only %s", got.ID, got.Type, later.ID)
	}
	second.none(t, 200*time.Millisecond)
}

func testGroupKeepsItsSubject(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	ok := func(context.Context, transport.Delivery) error { return nil }
	subscribe(t, tr, transport.Subscription{Subject: p + ".a", Group: "g"}, ok)
	if err := tr.Subscribe(bg(t), transport.Subscription{Subject: p + ".b", Group: "g"}, ok); !errors.Is(err, transport.ErrInvalidSubscription) {
		t.Errorf("a group re-subscribed to another subject: %v, want ErrInvalidSubscription", err)
	}
}

func testHandlerPanic(t *testing.T, newT New, _ Features) {
	tr := open(t, newT)
	p := prefix()
	attempts := make(chan int, 10)
	subscribe(t, tr, transport.Subscription{Subject: p + ".x", Group: "g", Backoff: fastBackoff},
		func(ctx context.Context, d transport.Delivery) error {
			attempts <- d.Attempt
			if d.Attempt == 1 {
				panic("handler bug")
			}
			return nil
		})
	publish(t, tr, transport.NewMessage(p+".x", "x", nil))
	for want := 1; want <= 2; want++ {
		select {
		case got := <-attempts:
			if got != want {
				t.Fatalf("attempt %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no attempt %d after a panic", want)
		}
	}
}
