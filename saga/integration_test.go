package saga_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

var quiet = slog.New(slog.DiscardHandler)

// services answers the test saga's commands as the other modules would:
// each command takes effect once per step key (a row in effects), and
// every attempt is answered — twice, when duplicates is set. An order ID
// with "decline" has its payment declined.
func services(t testing.TB, ctx context.Context, s eventual.TxStore, tr transport.Transport, duplicates bool) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS effects (step_key TEXT PRIMARY KEY, type TEXT NOT NULL, saga TEXT NOT NULL)",
		"CREATE TABLE IF NOT EXISTS order_log (id TEXT NOT NULL)",
	} {
		if err := s.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
			t.Fatal(err)
		}
	}
	answers := map[string]string{
		"inventory.reserve": "inventory.reserved", "inventory.release": "inventory.released",
		"payments.authorize": "payments.authorized", "payments.void": "payments.voided",
		"shipping.create": "shipping.created", "shipping.cancel": "shipping.cancelled",
		"ordering.confirm": "ordering.confirmed",
	}
	handle := func(ctx context.Context, d transport.Delivery) error {
		id := string(d.Data)
		answer := answers[d.Type]
		if d.Type == "payments.authorize" && strings.Contains(id, "decline") {
			answer = "payments.declined"
		} else {
			err := s.InTx(ctx, func(tx eventual.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO effects (step_key, type, saga) VALUES ($1, $2, $3) ON CONFLICT (step_key) DO NOTHING",
					saga.StepKey(d), d.Type, id)
				return err
			})
			if err != nil {
				return err
			}
		}
		for range map[bool]int{false: 1, true: 2}[duplicates] {
			r := transport.NewMessage("", answer, []byte(id))
			if err := transport.Reply(ctx, tr, d, r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, subject := range []string{"inventory.commands", "payments.commands", "shipping.commands", "ordering.commands"} {
		group := strings.Split(subject, ".")[0]
		if err := tr.Subscribe(ctx, transport.Subscription{Subject: subject, Group: group, Concurrency: 8}, handle); err != nil {
			t.Fatal(err)
		}
	}
}

// system wires the test saga on store s: outbox relay, orchestrator and
// services over the in-process transport, all stopped at the end of the
// test.
func system(t testing.TB, s eventual.TxStore, duplicates bool) *saga.Orchestrator[order] {
	return systemOf(t, s, fulfillment(t), duplicates)
}

// systemOf is system for another definition of the test saga.
func systemOf(t testing.TB, s eventual.TxStore, def *saga.Definition[order], duplicates bool) *saga.Orchestrator[order] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := inproc.New(inproc.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(ctx, s, outbox.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	orch, err := saga.NewOrchestrator(ctx, s, def, ob, saga.WithLogger(quiet), saga.WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	services(t, ctx, s, tr, duplicates)
	if err := orch.Subscribe(ctx, tr, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = ob.Relay(ctx, tr) })
	wg.Go(func() { _ = orch.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		_ = tr.Close()
		wg.Wait()
	})
	for !orch.Running() {
		time.Sleep(time.Millisecond)
	}
	return orch
}

func waitFinished(t testing.TB, o *saga.Orchestrator[order], n int) map[saga.Status]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := o.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[saga.StatusDone]+counts[saga.StatusFailed] == n {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("sagas not finished: %v", counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// effects returns the types of the effects applied for each order.
func effects(t testing.TB, q eventual.Querier) map[string][]string {
	t.Helper()
	rows, err := q.Query(context.Background(), "SELECT saga, type FROM effects ORDER BY saga, type")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, typ string
		if err := rows.Scan(&id, &typ); err != nil {
			t.Fatal(err)
		}
		out[id] = append(out[id], typ)
	}
	return out
}

// Many sagas at once over a real transport, every reply sent twice: each
// completes or compensates as its order says, every command takes effect
// once, and each reply is consumed once.
func TestManySagasOverTheTransport(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := system(t, s, true)
		const n = 60
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("o-%d", i)
				if i%6 == 0 {
					id += "-decline"
				}
				if _, err := o.Start(context.Background(), id, order{ID: id}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		counts := waitFinished(t, o, n)
		if counts[saga.StatusFailed] != n/6 {
			t.Errorf("statuses %v, want %d failed", counts, n/6)
		}
		done := "[inventory.reserve ordering.confirm payments.authorize shipping.create]"
		declined := "[inventory.release inventory.reserve]"
		for id, eff := range effects(t, s) {
			want := done
			if strings.Contains(id, "decline") {
				want = declined
			}
			if fmt.Sprint(eff) != want {
				t.Errorf("%s: effects %v, want %s", id, eff, want)
			}
		}
		hist, err := o.History(context.Background(), "o-1")
		if err != nil {
			t.Fatal(err)
		}
		replies := 0
		for _, h := range hist {
			if h.Type == saga.EventReplyReceived {
				replies++
			}
		}
		if replies != 4 {
			t.Errorf("o-1 consumed %d replies, want 4 (each sent twice)", replies)
		}
		// Every entry has the data as of it, though the stored events
		// carry it only when it changed.
		stored := 0
		for e, err := range s.ReadStream(context.Background(), saga.StreamID("fulfillment", "o-1"), eventual.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(e.Data), `"data":`) {
				stored++
			}
		}
		for i, h := range hist {
			if len(h.Data) == 0 {
				t.Errorf("history entry %d (%s) without data", i, h.Type)
			}
		}
		if stored == 0 || stored >= len(hist) {
			t.Errorf("%d of %d history events store the data; want it only where it changed", stored, len(hist))
		}
	})
}

// An event starts its saga once, in the transaction of the projection
// that reads it.
func TestStartFromEvents(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := system(t, s, false)
		r, err := projection.NewRunner(s, projection.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		err = r.Add(o.StartFrom("fulfillment_starter", eventual.Filter{Types: []string{"order.placed"}},
			func(e eventual.RecordedEvent) (string, order, bool, error) {
				return e.StreamID, order{ID: e.StreamID}, true, nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := range 5 {
			ctx := eventual.ContextWithMetadata(context.Background(), eventual.Metadata{CorrelationID: "req-1"})
			if _, err := s.Append(ctx, fmt.Sprintf("order-%d", i), eventual.NoStream,
				eventual.EventData{Type: "order.placed", Metadata: eventual.Metadata{CorrelationID: "req-1"}}); err != nil {
				t.Fatal(err)
			}
		}
		waitFinished(t, o, 5)
		in, err := o.Get(context.Background(), "order-3")
		if err != nil || in.Status != saga.StatusDone {
			t.Fatalf("order-3: %+v, %v", in, err)
		}
		hist, _ := o.History(context.Background(), "order-3")
		var started eventual.RecordedEvent
		for e, err := range s.ReadStream(context.Background(), saga.StreamID("fulfillment", "order-3"), eventual.ReadStreamOptions{Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			started = e
		}
		if len(hist) == 0 || started.Metadata.CorrelationID != "req-1" {
			t.Errorf("the saga's history does not carry the event's correlation: %+v", started.Metadata)
		}
	})
}

// A timer outlives its process: a saga waiting for a reply when its
// orchestrator stops times out in the next one.
func TestTimersSurviveRestarts(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		run := func(s eventual.TxStore) (*saga.Orchestrator[order], func()) { return runOrchestrator(t, s, clock) }
		first, stop := run(s)
		if _, err := first.Start(context.Background(), "o-1", order{ID: "o-1"}); err != nil {
			t.Fatal(err)
		}
		stop() // the process ends, the reserve command unanswered

		mu.Lock()
		now = now.Add(31 * time.Second)
		mu.Unlock()
		second, stop := run(b.Open(t, s))
		defer stop()
		if n, err := second.FireTimers(context.Background()); err != nil || n != 1 {
			t.Fatalf("FireTimers after the restart: %d, %v", n, err)
		}
		hist, err := second.History(context.Background(), "o-1")
		if err != nil {
			t.Fatal(err)
		}
		if last := hist[len(hist)-1]; last.Type != saga.EventAttemptFailed || !strings.Contains(last.Reason, "no reply") {
			t.Errorf("last history event %+v, want the timeout's failed attempt", last)
		}
		in, _ := second.Get(context.Background(), "o-1")
		if in.Attempt != 2 || in.Due.IsZero() {
			t.Errorf("instance %+v, want attempt 2 due", in)
		}
	})
}

// runOrchestrator runs an orchestrator of the test saga on s with clock,
// whose timers fire only through FireTimers; stop stops it.
func runOrchestrator(t testing.TB, s eventual.TxStore, clock func() time.Time) (o *saga.Orchestrator[order], stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ob, err := outbox.New(ctx, s, outbox.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	o, err = saga.NewOrchestrator(ctx, s, fulfillment(t), ob, saga.WithLogger(quiet), saga.WithClock(clock),
		saga.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	for !o.Running() {
		time.Sleep(time.Millisecond)
	}
	return o, func() { cancel(); <-done }
}

// Two orchestrators of one saga (two processes) firing the same timers at
// once change each instance once: the second finds the row changed.
func TestTwoOrchestratorsOneTimer(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		a, stopA := runOrchestrator(t, s, clock)
		defer stopA()
		c, stopC := runOrchestrator(t, b.Open(t, s), clock)
		defer stopC()
		const n = 20
		for i := range n {
			if _, err := a.Start(context.Background(), fmt.Sprintf("o-%d", i), order{}); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		var wg sync.WaitGroup
		for _, o := range []*saga.Orchestrator[order]{a, c} {
			wg.Go(func() { _, _ = o.FireTimers(context.Background()) }) // conflicts are expected
		}
		wg.Wait()
		for i := range n {
			hist, err := a.History(context.Background(), fmt.Sprintf("o-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			timeouts := 0
			for _, h := range hist {
				if h.Type == saga.EventTimedOut {
					timeouts++
				}
			}
			if timeouts != 1 {
				t.Errorf("o-%d timed out %d times", i, timeouts)
			}
		}
	})
}
