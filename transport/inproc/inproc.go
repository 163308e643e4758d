// Package inproc is the transport for one process: the modules of the
// monolith talk through it exactly as separate services talk through
// NATS JetStream (transport/natsjs), with the same groups, ordering,
// redelivery and deduplication, but nothing leaves memory.
//
//	t := inproc.New()
//	defer t.Close()
//	err := t.Subscribe(ctx, transport.Subscription{Subject: "orders.*", Group: "billing"}, handle)
//	err = t.Publish(ctx, transport.NewMessage("orders.placed", "order.placed", data))
//
// Publish waits until every group the messages go to has settled them
// (handled, terminated, or dropped after the last delivery), unless its
// context is marked with transport.WithoutWaiting or the transport was
// made WithAsyncPublish. So an outbox relay publishing here marks a
// message sent only once it was handled, and a crash before that leaves it
// in the outbox to be sent again: at least once, even though the
// transport keeps nothing. Handlers get a context marked WithoutWaiting,
// so a handler that publishes never waits on itself.
//
// A group lives as long as the transport: messages for a group whose
// members all left wait, in order, for the next member to join.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/internal/dispatch"
)

var _ transport.Transport = (*Transport)(nil)

// ErrInvalidOption is matched by the errors of bad options.
var ErrInvalidOption = errors.New("inproc: invalid option")

// Option configures a Transport.
type Option func(*Transport) error

// WithDedupWindow sets how long, and for how many messages at most, the
// transport remembers message IDs to drop duplicates: a message whose ID
// was published within the window is not delivered again. Default 2
// minutes and 100,000 IDs (JetStream's default window is 2 minutes). A zero
// duration turns deduplication off.
func WithDedupWindow(d time.Duration, maxIDs int) Option {
	return func(t *Transport) error {
		if d < 0 || maxIDs < 0 || (d > 0 && maxIDs == 0) {
			return fmt.Errorf("%w: dedup window %v for %d IDs", ErrInvalidOption, d, maxIDs)
		}
		t.dedup = newDedup(d, maxIDs)
		return nil
	}
}

// WithAsyncPublish makes Publish return once the messages are queued,
// never waiting for their handling.
func WithAsyncPublish() Option {
	return func(t *Transport) error { t.async = true; return nil }
}

// WithLogger sets where the transport logs messages it drops after their
// last delivery. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		t.log = l
		return nil
	}
}

// Transport is the in-process transport. Create it with New; it is safe
// for concurrent use.
type Transport struct {
	log   *slog.Logger
	async bool
	dedup *dedup

	ctx    context.Context // ends at Close; parent of handler contexts
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	groups map[string]*group
	timers map[*time.Timer]struct{}
	wg     sync.WaitGroup // member watchers
}

// New returns an in-process transport.
func New(opts ...Option) (*Transport, error) {
	t := &Transport{
		log:    slog.Default(),
		dedup:  newDedup(2*time.Minute, 100_000),
		groups: map[string]*group{},
		timers: map[*time.Timer]struct{}{},
	}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, err
		}
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// Publish delivers msgs to every group whose subject matches, each in the
// order given. It waits until all of them were settled by every group
// (see the package doc), or until ctx ends: the messages then stay queued.
// Errors: transport.ErrInvalidMessage (nothing sent), transport.ErrClosed,
// the context's.
func (t *Transport) Publish(ctx context.Context, msgs ...transport.Message) error {
	wait, err := t.PublishAsync(ctx, msgs...)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// PublishAsync queues msgs as Publish does, behind those of earlier calls,
// and returns at once; wait waits as Publish would (transport.
// PipelinedPublisher). A wait fails only when its context ends (the
// messages stay queued) or the transport closes.
func (t *Transport) PublishAsync(ctx context.Context, msgs ...transport.Message) (wait func(context.Context) error, err error) {
	for _, m := range msgs {
		if err := m.Validate(); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &waiter{done: make(chan struct{})}
	w.n.Add(1) // held until every envelope is queued
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, transport.ErrClosed
	}
	for _, m := range msgs {
		if t.dedup.seen(m.ID) {
			continue
		}
		m.Metadata = m.Metadata.Clone()
		for _, g := range t.groups {
			if transport.Match(g.subject, m.Subject) {
				w.n.Add(1)
				g.add(&envelope{msg: m, attempt: 1, wait: w})
			}
		}
	}
	t.mu.Unlock()
	w.settle()
	if t.async || !transport.Waiting(ctx) {
		return func(context.Context) error { return nil }, nil
	}
	return func(ctx context.Context) error {
		select {
		case <-w.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("inproc: messages queued, not yet handled: %w", ctx.Err())
		case <-t.ctx.Done():
			return transport.ErrClosed
		}
	}, nil
}

// Subscribe joins sub.Group (creating it for sub.Subject) and handles its
// messages until ctx ends or the transport closes. Every Subscribe call
// to one group must name the same subject. Errors:
// transport.ErrInvalidSubscription, transport.ErrClosed.
func (t *Transport) Subscribe(ctx context.Context, sub transport.Subscription, h transport.Handler) error {
	sub, err := sub.WithDefaults()
	if err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("%w: nil handler", transport.ErrInvalidSubscription)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return transport.ErrClosed
	}
	g := t.groups[sub.Group]
	if g == nil {
		g = &group{t: t, name: sub.Group, subject: sub.Subject, ephemeral: sub.Ephemeral, d: dispatch.New(1, 1<<62)}
		g.cond = sync.NewCond(&g.mu)
		t.groups[sub.Group] = g
	} else if g.subject != sub.Subject {
		return fmt.Errorf("%w: group %q consumes %q, not %q", transport.ErrInvalidSubscription, sub.Group, g.subject, sub.Subject)
	} else if g.ephemeral != sub.Ephemeral {
		return fmt.Errorf("%w: group %q is ephemeral in one Subscribe and not in another", transport.ErrInvalidSubscription, sub.Group)
	}
	mctx, cancel := context.WithCancel(transport.WithoutWaiting(t.ctx))
	m := &member{sub: sub, h: h, ctx: mctx}
	g.join(m)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel()
		select {
		case <-ctx.Done():
		case <-t.ctx.Done():
		}
		t.mu.Lock() // no Subscribe joins between the leave and the delete
		if g.leave(m) == 0 && g.ephemeral && t.groups[g.name] == g {
			delete(t.groups, g.name)
		}
		t.mu.Unlock()
	}()
	return nil
}

// Close stops delivering: handlers running get a cancelled context and
// Close waits for them to return. Messages not yet settled are dropped;
// Publish calls waiting for them return transport.ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	for tm := range t.timers {
		tm.Stop()
	}
	groups := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		groups = append(groups, g)
	}
	t.mu.Unlock()
	t.cancel()
	for _, g := range groups {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	}
	t.wg.Wait()
	for _, g := range groups {
		g.d.Wait()
	}
	return nil
}

// waiter counts the envelopes of one Publish call not yet settled.
type waiter struct {
	n    atomic.Int64
	done chan struct{}
}

func (w *waiter) settle() {
	if w.n.Add(-1) == 0 {
		close(w.done)
	}
}

// envelope is one message on its way to one group.
type envelope struct {
	msg     transport.Message
	attempt int
	wait    *waiter
}

// member is one Subscribe call.
type member struct {
	sub transport.Subscription
	h   transport.Handler
	ctx context.Context
}

// group delivers its messages to its members, in order per key.
type group struct {
	t         *Transport
	name      string
	subject   string
	ephemeral bool
	d         *dispatch.Dispatcher

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a member joins or the transport closes
	members dispatch.Members[*member]
	gone    bool // an ephemeral group whose members all left
}

func (g *group) add(e *envelope) {
	g.d.Add(e.msg.Key, func() { g.deliver(e) })
}

func (g *group) join(m *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members.Add(m, m.sub.Concurrency)
	g.d.SetN(g.members.Capacity())
	g.cond.Broadcast()
}

// leave takes m out and returns how many members are left. An ephemeral
// group without members is gone: what it still holds is dropped.
func (g *group) leave(m *member) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.members.Remove(m)
	g.d.SetN(g.members.Capacity())
	if n == 0 && g.ephemeral {
		g.gone = true
		g.cond.Broadcast()
	}
	return n
}

// pick returns the member with the most free room (round robin among
// equals). While the group has none, it waits, holding up the messages
// behind, so that they keep their order; it returns nil if the transport
// closes or the group is gone.
func (g *group) pick() *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if m, ok := g.members.Pick(); ok {
			return m
		}
		if g.t.ctx.Err() != nil || g.gone {
			return nil
		}
		g.cond.Wait()
	}
}

func (g *group) done(m *member) {
	g.mu.Lock()
	g.members.Done(m)
	g.mu.Unlock()
}

// deliver hands e to a member and settles, redelivers or drops it by the
// handler's answer.
func (g *group) deliver(e *envelope) {
	var m *member
	var err error
	for {
		if m = g.pick(); m == nil {
			if g.t.ctx.Err() == nil {
				e.wait.settle() // the group is gone
			}
			return // or closed: Publish callers were told
		}
		err = g.handle(m, e)
		g.done(m)
		if err == nil || m.ctx.Err() == nil {
			break
		}
		// The handler failed as the member left or the transport closed:
		// not the message's fault, so the attempt does not count; another
		// member gets it. (One that succeeded is settled, even if its
		// member left just after.)
	}
	switch {
	case err == nil:
		e.wait.settle()
	case transport.IsTerminal(err):
		g.t.log.Warn("inproc: message terminated", "group", g.name, "subject", e.msg.Subject, "id", e.msg.ID, "err", err)
		e.wait.settle()
	case e.attempt >= m.sub.MaxDeliver:
		g.t.log.Error("inproc: message dropped after its last delivery", "group", g.name, "subject", e.msg.Subject, "id", e.msg.ID, "attempts", e.attempt, "err", err)
		e.wait.settle()
	default:
		wait := m.sub.Backoff(e.attempt)
		e.attempt++
		g.t.later(wait, func() { g.add(e) })
	}
}

// handle runs the handler, turning a panic into an error.
func (g *group) handle(m *member, e *envelope) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("inproc: handler panicked on %s: %v", e.msg.ID, p)
		}
	}()
	msg := e.msg
	msg.Metadata = msg.Metadata.Clone()
	return m.h(m.ctx, transport.Delivery{Message: msg, Attempt: e.attempt, Group: g.name})
}

// later runs f after d unless the transport closes first.
func (t *Transport) later(d time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		t.mu.Lock()
		_, ok := t.timers[tm]
		delete(t.timers, tm)
		t.mu.Unlock()
		if ok {
			f()
		}
	})
	t.timers[tm] = struct{}{}
}

// dedup remembers the IDs published within a window.
type dedup struct {
	window time.Duration
	max    int
	ids    map[string]struct{}
	order  []seenID // oldest first, from head
	head   int
}

type seenID struct {
	id string
	at time.Time
}

func newDedup(window time.Duration, maxIDs int) *dedup {
	return &dedup{window: window, max: maxIDs, ids: map[string]struct{}{}}
}

// seen reports whether id was published within the window, and remembers
// it; the caller holds the transport's mu.
func (d *dedup) seen(id string) bool {
	if d.window == 0 {
		return false
	}
	now := time.Now()
	for d.head < len(d.order) && (now.Sub(d.order[d.head].at) > d.window || len(d.order)-d.head >= d.max) {
		delete(d.ids, d.order[d.head].id)
		d.order[d.head] = seenID{}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 {
		d.order = append([]seenID(nil), d.order[d.head:]...)
		d.head = 0
	}
	if _, ok := d.ids[id]; ok {
		return true
	}
	d.ids[id] = struct{}{}
	d.order = append(d.order, seenID{id, now})
	return false
}
