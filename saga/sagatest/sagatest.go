// Package sagatest drives a saga definition in tests: a real orchestrator
// on SQLite in a temporary directory, with a fake clock, whose commands are
// recorded instead of sent, and replies given by the test.
//
//	h := sagatest.New(t, def)
//	h.Start("order-1", data)
//	cmd := h.ExpectCommand("inventory.reserve")
//	h.Reply(cmd, "inventory.reserved", nil)
//	cmd = h.ExpectCommand("payments.authorize")
//	h.Advance(time.Minute) // no reply: the step times out
//	h.ExpectStatus("order-1", saga.StatusCompensating)
package sagatest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/transport"
)

// Harness runs one saga definition for a test.
type Harness[D any] struct {
	t     testing.TB
	orch  *saga.Orchestrator[D]
	store *sqlite.Store
	clock *Clock
	rec   *recorder
	next  int // the first command not yet expected
}

// Clock is a fake clock that only moves when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is the publisher the outbox relays commands to.
type recorder struct {
	mu   sync.Mutex
	msgs []transport.Message
	cond *sync.Cond
}

func (r *recorder) Publish(_ context.Context, msgs ...transport.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msgs...)
	r.cond.Broadcast()
	return nil
}

// New starts a harness for def; everything stops when the test ends. opts
// are added to the harness's own (a quiet logger, its clock, timers fired
// by Advance only).
func New[D any](t testing.TB, def *saga.Definition[D], opts ...saga.Option) *Harness[D] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "saga.db"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	ob, err := outbox.New(ctx, st, outbox.WithLogger(quiet), outbox.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	clock := &Clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	orch, err := saga.NewOrchestrator(ctx, st, def, ob, append([]saga.Option{saga.WithLogger(quiet), saga.WithClock(clock.Now),
		saga.WithPollInterval(time.Hour)}, opts...)...) // timers fire on Advance only
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rec.cond = sync.NewCond(&rec.mu)
	var wg sync.WaitGroup
	wg.Go(func() { _ = ob.Relay(ctx, rec) })
	wg.Go(func() { _ = orch.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		rec.mu.Lock()
		rec.cond.Broadcast()
		rec.mu.Unlock()
		wg.Wait()
		_ = st.Close()
	})
	h := &Harness[D]{t: t, orch: orch, store: st, clock: clock, rec: rec}
	h.eventually("the orchestrator runs", orch.Running)
	return h
}

// Orchestrator returns the orchestrator under test.
func (h *Harness[D]) Orchestrator() *saga.Orchestrator[D] { return h.orch }

// Store returns the SQLite store the saga runs on.
func (h *Harness[D]) Store() *sqlite.Store { return h.store }

// Clock returns the fake clock.
func (h *Harness[D]) Clock() *Clock { return h.clock }

func (h *Harness[D]) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// Start starts instance id with data; it fails the test if the instance
// existed.
func (h *Harness[D]) Start(id string, data D) {
	h.t.Helper()
	started, err := h.orch.Start(h.ctx(), id, data)
	if err != nil {
		h.t.Fatalf("start %s: %v", id, err)
	}
	if !started {
		h.t.Fatalf("start %s: the instance exists already", id)
	}
}

// Commands returns every command sent so far, in order.
func (h *Harness[D]) Commands() []transport.Message {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return append([]transport.Message(nil), h.rec.msgs...)
}

// ExpectCommand waits for the next command sent (after those expected
// before) and checks its type.
func (h *Harness[D]) ExpectCommand(typ string) transport.Message {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	h.rec.mu.Lock()
	for len(h.rec.msgs) <= h.next {
		if time.Now().After(deadline) {
			h.rec.mu.Unlock()
			h.t.Fatalf("no command %s was sent (%d sent before)", typ, h.next)
		}
		h.rec.mu.Unlock()
		time.Sleep(time.Millisecond)
		h.rec.mu.Lock()
	}
	m := h.rec.msgs[h.next]
	h.rec.mu.Unlock()
	h.next++
	if m.Type != typ {
		h.t.Fatalf("command %d is %s (to %s), want %s", h.next, m.Type, m.Subject, typ)
	}
	return m
}

// ExpectNoCommand checks that no command is sent (beyond those expected)
// for a moment.
func (h *Harness[D]) ExpectNoCommand() {
	h.t.Helper()
	time.Sleep(50 * time.Millisecond)
	if cmds := h.Commands(); len(cmds) > h.next {
		h.t.Fatalf("unexpected command %s (to %s)", cmds[h.next].Type, cmds[h.next].Subject)
	}
}

// Reply answers cmd with a reply of type typ carrying data, as the
// command's handler would with transport.Reply, and waits until the
// orchestrator took it.
func (h *Harness[D]) Reply(cmd transport.Message, typ string, data []byte) transport.Delivery {
	h.t.Helper()
	r := transport.NewMessage(cmd.ReplyTo, typ, data)
	r.Key = cmd.Key
	r.Metadata = eventual.Metadata{CorrelationID: cmd.Metadata.CorrelationID, CausationID: cmd.ID}
	d := transport.Delivery{Message: r, Attempt: 1, Group: "saga"}
	h.Deliver(d)
	return d
}

// Deliver hands a reply delivery to the orchestrator (again, for a
// duplicate) and waits until it took it.
func (h *Harness[D]) Deliver(d transport.Delivery) {
	h.t.Helper()
	if err := h.orch.HandleReply(h.ctx(), d); err != nil {
		h.t.Fatalf("reply %s: %v", d.Type, err)
	}
}

// Advance moves the clock on by d and fires the timers then due.
func (h *Harness[D]) Advance(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(d)
	if _, err := h.orch.FireTimers(h.ctx()); err != nil {
		h.t.Fatalf("fire timers: %v", err)
	}
}

// Instance returns instance id.
func (h *Harness[D]) Instance(id string) saga.Instance[D] {
	h.t.Helper()
	in, err := h.orch.Get(h.ctx(), id)
	if err != nil {
		h.t.Fatalf("get %s: %v", id, err)
	}
	return in
}

// ExpectStatus checks instance id's status.
func (h *Harness[D]) ExpectStatus(id string, want saga.Status) saga.Instance[D] {
	h.t.Helper()
	in := h.Instance(id)
	if in.Status != want {
		h.t.Fatalf("%s is %s at step %q (error %q), want %s", id, in.Status, in.StepName, in.Error, want)
	}
	return in
}

// History returns the types of instance id's history events.
func (h *Harness[D]) History(id string) []string {
	h.t.Helper()
	hist, err := h.orch.History(h.ctx(), id)
	if err != nil {
		h.t.Fatalf("history of %s: %v", id, err)
	}
	out := make([]string, len(hist))
	for i, e := range hist {
		out[i] = e.Type
	}
	return out
}

// Repair carries out a repair, failing the test on error.
func (h *Harness[D]) Repair(id string, op saga.RepairOp) {
	h.t.Helper()
	if err := h.orch.Repair(h.ctx(), id, op, "test"); err != nil {
		h.t.Fatalf("repair %s %s: %v", op, id, err)
	}
}

func (h *Harness[D]) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
