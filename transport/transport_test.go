package transport_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, subject string
		want             bool
	}{
		{"orders.placed", "orders.placed", true},
		{"orders.placed", "orders.paid", false},
		{"orders.*", "orders.placed", true},
		{"orders.*", "orders.placed.eu", false},
		{"orders.*", "orders", false},
		{"orders.>", "orders.placed", true},
		{"orders.>", "orders.placed.eu", true},
		{"orders.>", "orders", false},
		{"*.placed", "orders.placed", true},
		{">", "anything.at.all", true},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.d", false},
	} {
		if got := transport.Match(tt.pattern, tt.subject); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.want)
		}
	}
}

func TestSubscriptionDefaults(t *testing.T) {
	s, err := transport.Subscription{Subject: "a.>", Group: "g-1_x"}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if s.Concurrency != 1 || s.MaxDeliver != 10 || s.Backoff == nil {
		t.Errorf("defaults %+v", s)
	}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 20: 10 * time.Second} {
		if got := transport.DefaultBackoff(attempt); got != want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

func delivery(id string) transport.Delivery {
	m := transport.NewMessage("a.b", "t", nil)
	m.ID = id
	return transport.Delivery{Message: m, Attempt: 1, Group: "g"}
}

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) transport.Middleware {
		return func(next transport.Handler) transport.Handler {
			return func(ctx context.Context, d transport.Delivery) error {
				order = append(order, name)
				return next(ctx, d)
			}
		}
	}
	h := transport.Chain(func(context.Context, transport.Delivery) error { order = append(order, "handler"); return nil },
		mw("outer"), mw("inner"))
	_ = h(context.Background(), delivery("1"))
	if got := strings.Join(order, ","); got != "outer,inner,handler" {
		t.Errorf("order %s", got)
	}
}

func TestRetry(t *testing.T) {
	fast := transport.RetryPolicy{Attempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }}
	t.Run("until success", func(t *testing.T) {
		calls := 0
		h := transport.Retry(fast)(func(context.Context, transport.Delivery) error {
			calls++
			if calls < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		if err := h(context.Background(), delivery("1")); err != nil || calls != 3 {
			t.Errorf("err %v after %d calls", err, calls)
		}
	})
	t.Run("gives up with the last error", func(t *testing.T) {
		calls := 0
		h := transport.Retry(fast)(func(context.Context, transport.Delivery) error { calls++; return errors.New("always") })
		if err := h(context.Background(), delivery("1")); err == nil || calls != 3 {
			t.Errorf("err %v after %d calls", err, calls)
		}
	})
	t.Run("not a terminal error", func(t *testing.T) {
		calls := 0
		h := transport.Retry(fast)(func(context.Context, transport.Delivery) error {
			calls++
			return transport.Terminate(errors.New("bad input"))
		})
		if err := h(context.Background(), delivery("1")); !transport.IsTerminal(err) || calls != 1 {
			t.Errorf("err %v after %d calls", err, calls)
		}
	})
	t.Run("stops when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		slow := transport.RetryPolicy{Attempts: 5, Backoff: func(int) time.Duration { return time.Hour }}
		h := transport.Retry(slow)(func(context.Context, transport.Delivery) error { cancel(); return errors.New("x") })
		if err := h(ctx, delivery("1")); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled joined", err)
		}
	})
}

func TestRecover(t *testing.T) {
	h := transport.Recover()(func(context.Context, transport.Delivery) error { panic("boom") })
	err := h(context.Background(), delivery("m-1"))
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "m-1") {
		t.Errorf("err %v", err)
	}
}

func TestCorrelate(t *testing.T) {
	var got eventual.Metadata
	h := transport.Correlate()(func(ctx context.Context, _ transport.Delivery) error {
		got = eventual.MetadataFromContext(ctx)
		return nil
	})
	d := delivery("m-1")
	d.Metadata = eventual.Metadata{CorrelationID: "c-1", CausationID: "earlier", TenantID: "t", UserID: "u",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Extra: map[string]string{"x": "y"}}
	_ = h(context.Background(), d)
	want := eventual.Metadata{CorrelationID: "c-1", CausationID: "m-1", TenantID: "t", UserID: "u", TraceParent: d.Metadata.TraceParent}
	if got.CorrelationID != want.CorrelationID || got.CausationID != want.CausationID || got.TenantID != "t" ||
		got.UserID != "u" || got.TraceParent != want.TraceParent || got.Extra != nil {
		t.Errorf("context metadata %+v, want %+v", got, want)
	}
	// A message without a correlation ID starts one: its own ID.
	_ = h(context.Background(), delivery("m-2"))
	if got.CorrelationID != "m-2" || got.CausationID != "m-2" {
		t.Errorf("fresh correlation %+v", got)
	}
}

func TestTimeout(t *testing.T) {
	h := transport.Timeout(10 * time.Millisecond)(func(ctx context.Context, _ transport.Delivery) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err := h(context.Background(), delivery("1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
}

// fakePublisher records what it is given.
type fakePublisher struct {
	got []transport.Message
	err error
	ctx context.Context
}

func (f *fakePublisher) Publish(ctx context.Context, msgs ...transport.Message) error {
	f.got = append(f.got, msgs...)
	f.ctx = ctx
	return f.err
}

func TestDeadLetter(t *testing.T) {
	fail := func(context.Context, transport.Delivery) error { return errors.New("cannot") }
	t.Run("before the threshold the error stands", func(t *testing.T) {
		pub := &fakePublisher{}
		err := transport.DeadLetter(pub, "dead", 3)(fail)(context.Background(), delivery("1"))
		if err == nil || len(pub.got) != 0 {
			t.Errorf("err %v, %d dead letters", err, len(pub.got))
		}
	})
	t.Run("at the threshold the message is set aside", func(t *testing.T) {
		pub := &fakePublisher{}
		d := delivery("m-1")
		d.Attempt = 3
		d.Key = "k"
		d.Metadata.Extra = map[string]string{"kept": "yes"}
		if err := transport.DeadLetter(pub, "dead", 3)(fail)(context.Background(), d); err != nil {
			t.Fatalf("err %v, want the message acknowledged", err)
		}
		if len(pub.got) != 1 {
			t.Fatalf("%d dead letters", len(pub.got))
		}
		dl := pub.got[0]
		x := dl.Metadata.Extra
		if dl.Subject != "dead" || dl.ID == d.ID || dl.Key != "k" || x["kept"] != "yes" || x[transport.DeadLetterError] != "cannot" ||
			x[transport.DeadLetterAttempts] != "3" || x[transport.DeadLetterID] != "m-1" || x[transport.DeadLetterSubject] != "a.b" ||
			x[transport.DeadLetterGroup] != "g" {
			t.Errorf("dead letter %+v", dl)
		}
		if d.Metadata.Extra[transport.DeadLetterError] != "" {
			t.Error("the delivery's own metadata was changed")
		}
		if transport.Waiting(pub.ctx) {
			t.Error("the dead letter was published with a context that waits for handling")
		}
	})
	t.Run("a terminal error goes at once", func(t *testing.T) {
		pub := &fakePublisher{}
		h := transport.DeadLetter(pub, "dead", 5)(func(context.Context, transport.Delivery) error {
			return transport.Terminate(errors.New("malformed"))
		})
		if err := h(context.Background(), delivery("1")); err != nil || len(pub.got) != 1 {
			t.Errorf("err %v, %d dead letters", err, len(pub.got))
		}
	})
	t.Run("a failed dead letter keeps the message", func(t *testing.T) {
		pub := &fakePublisher{err: errors.New("broker down")}
		d := delivery("1")
		d.Attempt = 9
		if err := transport.DeadLetter(pub, "dead", 3)(fail)(context.Background(), d); err == nil {
			t.Error("the message was acknowledged though its dead letter was not sent")
		}
	})
}

func TestTerminate(t *testing.T) {
	cause := errors.New("bad")
	err := transport.Terminate(cause)
	if !transport.IsTerminal(err) || !errors.Is(err, cause) || !errors.Is(err, transport.ErrTerminated) {
		t.Errorf("Terminate(%v) = %v", cause, err)
	}
	if transport.IsTerminal(cause) || transport.Terminate(nil) == nil {
		t.Error("IsTerminal of a plain error, or Terminate(nil) is nil")
	}
}

// FuzzMatch checks Match against the plain definition: split both on
// dots and compare token by token.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"orders.>", "orders.placed"}, {"a.*.c", "a.b.c"}, {">", ""}, {"a.", "a.."}, {"*", "x.y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
		want := len(p) == len(s)
		for i, tok := range p {
			if tok == ">" {
				want = len(s) > i
				break
			}
			if i >= len(s) || tok != "*" && tok != s[i] {
				want = false
				break
			}
		}
		if got := transport.Match(pattern, subject); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", pattern, subject, got, want)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		transport.Match("shop.ordering.events.>", "shop.payments.commands.authorize")
		transport.Match("shop.*.commands.authorize", "shop.payments.commands.authorize")
	}
}
