package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

func newEventRelay(t testing.TB, s eventual.TxStore, name string, pub transport.Publisher, opts ...outbox.RelayOption) *outbox.EventRelay {
	t.Helper()
	r, err := outbox.NewEventRelay(context.Background(), s, name, pub,
		append([]outbox.RelayOption{outbox.WithLogger(quiet), outbox.WithPollInterval(20 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func relayStatus(t testing.TB, r *outbox.EventRelay) outbox.RelayStatus {
	t.Helper()
	st, err := r.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// appendEvents appends n events of typ to stream, numbered from first in
// their data, and returns them as recorded.
func appendEvents(t testing.TB, s eventual.Store, stream, typ string, first, n int) []eventual.EventData {
	t.Helper()
	evs := make([]eventual.EventData, n)
	for i := range evs {
		evs[i] = eventual.EventData{Type: typ, Data: []byte(fmt.Sprint(first + i)),
			Metadata: eventual.Metadata{CorrelationID: "c", Extra: map[string]string{"n": fmt.Sprint(first + i)}}}
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, stream, eventual.Any, evs...); err != nil {
		t.Fatal(err)
	}
	stored, err := eventual.Collect(s.ReadStream(ctx, stream, eventual.ReadStreamOptions{From: 1}))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]eventual.EventData, n)
	for i, ev := range stored[len(stored)-n:] {
		out[i] = eventual.EventData{ID: ev.ID, Type: ev.Type, Data: ev.Data, Metadata: ev.Metadata}
	}
	return out
}

func TestEventRelayPublishesChosenEvents(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		tr := newTransport(t)
		got := subscribe(t, tr, ">", 2)
		r := newEventRelay(t, s, "orders", tr,
			outbox.WithFilter(eventual.Filter{Types: []string{"order.placed", "order.shipped"}, StreamPrefix: "order-"}))
		background(t, r.Run)

		var want []eventual.EventData
		want = append(want, appendEvents(t, s, "order-1", "order.placed", 1, 1)...)
		appendEvents(t, s, "order-1", "order.noted", 2, 3) // not chosen: type
		appendEvents(t, s, "cart-1", "order.placed", 1, 2) // not chosen: stream
		want = append(want, appendEvents(t, s, "order-1", "order.shipped", 5, 1)...)
		want = append(want, appendEvents(t, s, "order-2", "order.placed", 1, 1)...)

		got.waitDistinct(t, len(want))
		eventually(t, "lag 0", func() bool { return relayStatus(t, r).Lag == 0 })
		ds := got.deliveries()
		if len(ds) != len(want) {
			t.Fatalf("received %d messages, want %d: %v", len(ds), len(want), ds)
		}
		byID := map[string]transport.Delivery{}
		for _, d := range ds {
			byID[d.ID] = d
		}
		streams := []string{"order-1", "order-1", "order-2"}
		for i, ev := range want {
			d, ok := byID[ev.ID.String()]
			if !ok {
				t.Errorf("event %s (%s) not received under its ID", ev.ID, ev.Type)
				continue
			}
			if d.Subject != "events."+ev.Type || d.Type != ev.Type || d.Key != streams[i] ||
				!bytes.Equal(d.Data, ev.Data) || !reflect.DeepEqual(d.Metadata, ev.Metadata) {
				t.Errorf("event %d received as %+v, want %+v", i, d.Message, ev)
			}
		}
		st := relayStatus(t, r)
		if st.Name != "orders" || st.Published != int64(len(want)) || st.Checkpoint != st.Head || st.Head == 0 || st.LastError != "" {
			t.Errorf("status: %+v", st)
		}
	})
}

func TestEventRelayResumesFromCheckpoint(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		tr := newTransport(t, inproc.WithDedupWindow(0, 0)) // any re-publish shows
		got := subscribe(t, tr, "events.>", 1)
		r := newEventRelay(t, s, "all", tr, outbox.WithBatchSize(3))
		stop := background(t, r.Run)
		appendEvents(t, s, "s-1", "t.a", 0, 5)
		got.waitDistinct(t, 5)
		eventually(t, "lag 0", func() bool { return relayStatus(t, r).Lag == 0 })
		stop()

		appendEvents(t, s, "s-1", "t.a", 5, 4)
		if st := relayStatus(t, r); st.Lag != 4 {
			t.Errorf("lag while stopped: %d, want 4 (%+v)", st.Lag, st)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := b.Open(t, s)
		r2 := newEventRelay(t, s2, "all", tr, outbox.WithBatchSize(3))
		background(t, r2.Run)
		got.waitDistinct(t, 9)
		eventually(t, "lag 0", func() bool { return relayStatus(t, r2).Lag == 0 })
		ds := got.deliveries()
		if len(ds) != 9 {
			t.Errorf("received %d messages, want 9 (none twice)", len(ds))
		}
		checkOrder(t, ds)
	})
}

func TestEventRelayStopBeforeCheckpointRepublishesSameIDs(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		tr := newTransport(t) // deduplicates by ID
		got := subscribe(t, tr, "events.>", 1)
		evs := appendEvents(t, s, "s-1", "t.a", 0, 6)

		// The broker takes the page, but the relay stops before it learns
		// so (and so before writing its checkpoint).
		var mu sync.Mutex
		published := map[string]int{}
		count := func(msgs []transport.Message) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				published[m.ID]++
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := newEventRelay(t, s, "all", fakePublisher{publish: func(pctx context.Context, msgs ...transport.Message) error {
			count(msgs)
			if err := tr.Publish(pctx, msgs...); err != nil {
				return err
			}
			cancel()
			return pctx.Err()
		}})
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if st := relayStatus(t, r); st.Checkpoint != 0 {
			t.Fatalf("checkpoint %d written for a page never acknowledged", st.Checkpoint)
		}

		r2 := newEventRelay(t, b.Open(t, s), "all", fakePublisher{publish: func(pctx context.Context, msgs ...transport.Message) error {
			count(msgs)
			return tr.Publish(pctx, msgs...)
		}})
		background(t, r2.Run)
		eventually(t, "lag 0", func() bool { return relayStatus(t, r2).Lag == 0 })
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			if n := published[ev.ID.String()]; n != 2 {
				t.Errorf("event %s published %d times, want 2 with the same ID", ev.ID, n)
			}
		}
		ds := got.deliveries()
		if len(ds) != len(evs) {
			t.Errorf("the subscriber received %d messages, want %d (each once)", len(ds), len(evs))
		}
		checkOrder(t, ds)
	})
}

func TestEventRelayRetriesFailedPublish(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		tr := newTransport(t)
		got := subscribe(t, tr, "events.>", 1)
		var calls atomic.Int64
		var healed atomic.Bool
		r := newEventRelay(t, s, "all", fakePublisher{publish: func(ctx context.Context, msgs ...transport.Message) error {
			if calls.Add(1) <= 3 || !healed.Load() {
				return errBoom
			}
			return tr.Publish(ctx, msgs...)
		}}, outbox.WithBackoff(time.Millisecond, 4*time.Millisecond), outbox.WithBatchSize(4))
		background(t, r.Run)
		appendEvents(t, s, "s-1", "t.a", 0, 10)
		eventually(t, "failed publishes", func() bool { return calls.Load() > 3 })
		st := relayStatus(t, r)
		if st.Checkpoint != 0 || st.Lag != 10 || st.LastError == "" || st.Failures < 3 || st.Published != 0 {
			t.Fatalf("status while failing: %+v", st)
		}
		healed.Store(true)
		got.waitDistinct(t, 10)
		eventually(t, "lag 0", func() bool { return relayStatus(t, r).Lag == 0 })
		checkOrder(t, got.deliveries())
		if st := relayStatus(t, r); st.Failures != 0 || st.Published != 10 {
			t.Errorf("status after healing: %+v", st)
		}
	})
}

func TestEventRelayMapping(t *testing.T) {
	s := testdb.SQLite().New(t)
	tr := newTransport(t)
	got := subscribe(t, tr, "custom.>", 1)
	r := newEventRelay(t, s, "mapped", tr, outbox.WithMapping(func(ev eventual.RecordedEvent) (transport.Message, bool, error) {
		if ev.Type == "t.skip" {
			return transport.Message{}, false, nil
		}
		m, ok, err := outbox.DefaultMapping("custom")(ev)
		m.Key = "fixed"
		return m, ok, err
	}))
	background(t, r.Run)
	appendEvents(t, s, "s-1", "t.skip", 0, 2)
	keep := appendEvents(t, s, "s-1", "t.keep", 2, 1)
	got.waitDistinct(t, 1)
	eventually(t, "lag 0", func() bool { return relayStatus(t, r).Lag == 0 })
	ds := got.deliveries()
	if len(ds) != 1 || ds[0].ID != keep[0].ID.String() || ds[0].Subject != "custom.t.keep" || ds[0].Key != "fixed" {
		t.Errorf("received %+v", ds)
	}
}

func TestEventRelayMappingErrorHoldsTheRelay(t *testing.T) {
	s := testdb.SQLite().New(t)
	tr := newTransport(t)
	got := subscribe(t, tr, "events.>", 1)
	var broken atomic.Bool
	broken.Store(true)
	r := newEventRelay(t, s, "strict", tr, outbox.WithBackoff(time.Millisecond, 2*time.Millisecond),
		outbox.WithMapping(func(ev eventual.RecordedEvent) (transport.Message, bool, error) {
			if broken.Load() && ev.Type == "t.bad" {
				return transport.Message{}, false, errBoom
			}
			return outbox.DefaultMapping("events")(ev)
		}))
	background(t, r.Run)
	appendEvents(t, s, "s-1", "t.bad", 0, 1)
	appendEvents(t, s, "s-1", "t.good", 1, 1)
	eventually(t, "the mapping error reported", func() bool { return relayStatus(t, r).Failures > 2 })
	if n := len(got.deliveries()); n != 0 {
		t.Fatalf("%d messages went out past an event that failed to map", n)
	}
	broken.Store(false)
	got.waitDistinct(t, 2)
	checkOrder(t, got.deliveries())
}

func TestNewEventRelayErrors(t *testing.T) {
	ctx := context.Background()
	s := testdb.SQLite().New(t)
	tr := newTransport(t)
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := outbox.NewEventRelay(ctx, mem, "r", tr); !errors.Is(err, eventual.ErrUnsupported) {
		t.Errorf("on the memory store: %v, want eventual.ErrUnsupported", err)
	}
	for _, name := range []string{"", "Upper", "1abc", "with-dash", "with space"} {
		if _, err := outbox.NewEventRelay(ctx, s, name, tr); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("name %q: %v, want eventual.ErrInvalidArgument", name, err)
		}
	}
	if _, err := outbox.NewEventRelay(ctx, s, "r", nil); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("nil publisher: %v, want eventual.ErrInvalidArgument", err)
	}
	for name, opt := range map[string]outbox.RelayOption{
		"batch 0":         outbox.WithBatchSize(0),
		"nil mapping":     outbox.WithMapping(nil),
		"wildcard prefix": outbox.WithSubjectPrefix("events.*"),
		"bad prefix":      outbox.WithSubjectPrefix("a..b"),
		"bad filter":      outbox.WithFilter(eventual.Filter{Types: []string{""}}),
		"nil option":      nil,
	} {
		if _, err := outbox.NewEventRelay(ctx, s, "r", tr, opt); !errors.Is(err, outbox.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}
