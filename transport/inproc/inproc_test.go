package inproc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
	"github.com/eventual-go/eventual/transport/transporttest"
)

func newTransport(t *testing.T, opts ...inproc.Option) *inproc.Transport {
	t.Helper()
	tr, err := inproc.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transport.Transport { return newTransport(t) },
		transporttest.Features{PublishWaitsForHandling: true})
}

func TestAsyncPublish(t *testing.T) {
	tr := newTransport(t, inproc.WithAsyncPublish())
	defer tr.Close()
	release := make(chan struct{})
	done := make(chan struct{})
	ctx := context.Background()
	if err := tr.Subscribe(ctx, transport.Subscription{Subject: "a", Group: "g"}, func(context.Context, transport.Delivery) error {
		<-release
		close(done)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx, transport.NewMessage("a", "x", nil)); err != nil {
		t.Fatal(err)
	}
	close(release) // Publish returned before the handler could finish
	<-done
}

func TestDedupWindow(t *testing.T) {
	tr := newTransport(t, inproc.WithDedupWindow(50*time.Millisecond, 2))
	defer tr.Close()
	got := make(chan string, 10)
	ctx := context.Background()
	if err := tr.Subscribe(ctx, transport.Subscription{Subject: "a", Group: "g"}, func(_ context.Context, d transport.Delivery) error {
		got <- d.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pub := func(id string) {
		m := transport.NewMessage("a", "x", nil)
		m.ID = id
		if err := tr.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	pub("1")
	pub("1") // within the window: dropped
	time.Sleep(80 * time.Millisecond)
	pub("1") // the window passed
	pub("2")
	pub("3")
	pub("1") // pushed out by 2 and 3: the window holds two IDs
	close(got)
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	if want := "1 1 2 3 1"; join(ids) != want {
		t.Errorf("delivered %s, want %s", join(ids), want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestOptionsValidate(t *testing.T) {
	for name, o := range map[string]inproc.Option{
		"negative window": inproc.WithDedupWindow(-time.Second, 10),
		"no IDs":          inproc.WithDedupWindow(time.Second, 0),
		"nil logger":      inproc.WithLogger(nil),
	} {
		if _, err := inproc.New(o); !errors.Is(err, inproc.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestGroupNamesOneSubject(t *testing.T) {
	tr := newTransport(t)
	defer tr.Close()
	ok := func(context.Context, transport.Delivery) error { return nil }
	ctx := context.Background()
	if err := tr.Subscribe(ctx, transport.Subscription{Subject: "a", Group: "g"}, ok); err != nil {
		t.Fatal(err)
	}
	if err := tr.Subscribe(ctx, transport.Subscription{Subject: "b", Group: "g"}, ok); !errors.Is(err, transport.ErrInvalidSubscription) {
		t.Errorf("second subject for a group: %v, want ErrInvalidSubscription", err)
	}
}

func TestHandlerPanicIsRedelivered(t *testing.T) {
	tr := newTransport(t)
	defer tr.Close()
	ctx := context.Background()
	var attempts []int
	if err := tr.Subscribe(ctx, transport.Subscription{Subject: "a", Group: "g", Backoff: func(int) time.Duration { return time.Millisecond }},
		func(_ context.Context, d transport.Delivery) error {
			attempts = append(attempts, d.Attempt)
			if d.Attempt == 1 {
				panic("boom")
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx, transport.NewMessage("a", "x", nil)); err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 {
		t.Errorf("attempts %v, want [1 2]", attempts)
	}
}

func BenchmarkPublish(b *testing.B) {
	tr, _ := inproc.New(inproc.WithDedupWindow(0, 0))
	defer tr.Close()
	ctx := context.Background()
	_ = tr.Subscribe(ctx, transport.Subscription{Subject: "a.>", Group: "g", Concurrency: 4}, func(context.Context, transport.Delivery) error { return nil })
	msgs := make([]transport.Message, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(msgs) {
		for j := range msgs {
			msgs[j] = transport.NewMessage("a.b", "x", nil)
		}
		if err := tr.Publish(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
	}
}
