package natsjs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/internal/dispatch"
)

// group is the pull loop of one consumer group in this process: it
// fetches the messages of the group's consumer and hands them to the
// members, in order per key.
type group struct {
	t          *Transport
	key        string // stream/name
	name       string
	stream     string
	subject    string
	ephemeral  bool
	cons       jetstream.Consumer
	maxDeliver int // the consumer's; -1 for no limit
	ackWait    time.Duration
	d          *dispatch.Dispatcher

	mu      sync.Mutex
	members dispatch.Members[*member]
	held    map[*held]struct{} // fetched, not yet settled
	iter    jetstream.MessagesContext
	halted  bool
	stop    chan struct{} // closed by halt
}

// member is one Subscribe call.
type member struct {
	sub    transport.Subscription
	h      transport.Handler
	ctx    context.Context // ends when the member leaves or the transport closes
	cancel context.CancelFunc
	stop   func() bool // unregisters the watch on the Subscribe context
}

// held is a message fetched and not yet settled. Its mutex orders the
// in-progress reports after which it is settled: a late one would reset
// the delay of a nak.
type held struct {
	msg     jetstream.Msg
	mu      sync.Mutex
	settled bool
}

// start starts pulling messages.
func (g *group) start() error {
	it, err := g.cons.Messages(
		jetstream.PullMaxMessages(g.t.opts.prefetch),
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.halted {
		it.Stop()
		return nil
	}
	g.iter = it
	return nil
}

// halt stops pulling: the messages fetched already are still dispatched,
// and given back to JetStream if no member is left to handle them.
func (g *group) halt() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.halted {
		return
	}
	g.halted = true
	close(g.stop)
	if g.iter != nil {
		g.iter.Drain()
	}
	for _, m := range g.members.All() {
		m.stop()
	}
}

func (g *group) join(m *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members.Add(m, m.sub.Concurrency)
	g.d.SetN(g.members.Capacity())
}

// leave takes m out and returns how many members are left.
func (g *group) leave(m *member) int {
	m.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.members.Remove(m)
	g.d.SetN(g.members.Capacity())
	return n
}

// run pulls messages until the group halts; if the pull loop ends by
// itself (the consumer was deleted), it makes the consumer again. It
// returns once every message fetched was settled.
func (g *group) run() {
	defer g.t.wg.Done()
	ticker := time.NewTicker(max(g.ackWait/3, 30*time.Millisecond))
	tickerDone := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				g.progress()
			case <-tickerDone:
				return
			}
		}
	}()
	defer func() {
		ticker.Stop()
		close(tickerDone)
	}()
	defer g.d.Wait()

	wait := 100 * time.Millisecond
	for {
		g.consume()
		if g.isHalted() {
			return
		}
		if g.t.nc.IsClosed() {
			g.t.log.Error("natsjs: the NATS connection is closed: the group stops consuming", "group", g.name, "stream", g.stream)
			return
		}
		select {
		case <-g.stop:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		if err := g.restart(); err != nil {
			g.t.log.Warn("natsjs: cannot consume again", "group", g.name, "stream", g.stream, "err", err)
			continue
		}
		g.t.log.Info("natsjs: consuming again", "group", g.name, "stream", g.stream)
		wait = 100 * time.Millisecond
	}
}

func (g *group) isHalted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.halted
}

// consume hands the messages of the pull loop to the dispatcher until the
// loop ends.
func (g *group) consume() {
	g.mu.Lock()
	it := g.iter
	g.mu.Unlock()
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		if err != nil {
			g.t.log.Warn("natsjs: pulling messages", "group", g.name, "stream", g.stream, "err", err)
			continue
		}
		g.add(msg)
	}
}

// restart makes sure the stream and the consumer exist and pulls again.
func (g *group) restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(g.t.ctx, cancel)
	defer stop()
	spec, err := g.t.streamFor(g.subject)
	if err != nil {
		return err
	}
	g.t.forgetStream(spec.name)
	if err := g.t.ensureStream(ctx, spec); err != nil {
		return err
	}
	sub := transport.Subscription{Subject: g.subject, Group: g.name, MaxDeliver: g.maxDeliver}
	cons, err := g.t.ensureConsumer(ctx, g.stream, sub)
	if err != nil {
		return err
	}
	g.cons = cons // only run reads it
	return g.start()
}

// add queues msg for a member.
func (g *group) add(msg jetstream.Msg) {
	md, err := msg.Metadata()
	var m transport.Message
	if err == nil {
		m, err = decode(msg.Subject(), msg.Headers(), msg.Data())
	}
	if err != nil {
		g.t.log.Error("natsjs: message terminated: it cannot be decoded", "group", g.name, "subject", msg.Subject(), "err", err)
		if err := msg.TermWithReason("eventual: cannot decode: " + err.Error()); err != nil {
			g.t.log.Warn("natsjs: cannot terminate a message", "group", g.name, "subject", msg.Subject(), "err", err)
		}
		return
	}
	h := &held{msg: msg}
	g.mu.Lock()
	g.held[h] = struct{}{}
	g.mu.Unlock()
	d := transport.Delivery{Message: m, Attempt: int(md.NumDelivered), Group: g.name}
	g.d.Add(m.Key, func() { g.deliver(h, d) })
}

// deliver hands d to a member and settles it by the handler's answer.
func (g *group) deliver(h *held, d transport.Delivery) {
	var m *member
	var err error
	for {
		if m = g.pick(); m == nil {
			// No member left, or the transport is closing: give the
			// message back for another process to handle at once.
			g.settle(h, d, "nak", 0, nil)
			return
		}
		err = g.handle(m, d)
		g.done(m)
		if err == nil || m.ctx.Err() == nil {
			break
		}
		// The member left, or the transport is closing, while it failed:
		// not the message's fault, so another member gets it with the
		// same attempt (or JetStream, if none is left).
	}
	switch {
	case err == nil:
		g.settle(h, d, "ack", 0, nil)
	case transport.IsTerminal(err):
		g.t.log.Warn("natsjs: message terminated", "group", g.name, "subject", d.Subject, "id", d.ID, "err", err)
		g.settle(h, d, "term", 0, err)
	case g.maxDeliver > 0 && d.Attempt >= g.maxDeliver:
		g.t.log.Error("natsjs: message dropped after its last delivery", "group", g.name, "subject", d.Subject, "id", d.ID, "attempts", d.Attempt, "err", err)
		g.settle(h, d, "term", 0, err)
	default:
		g.settle(h, d, "nak", m.sub.Backoff(d.Attempt), nil)
	}
}

// pick returns the member with the most free room (round robin among
// equals), or nil if there is none or the transport is closing.
func (g *group) pick() *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.t.ctx.Err() != nil {
		return nil
	}
	m, _ := g.members.Pick()
	return m
}

func (g *group) done(m *member) {
	g.mu.Lock()
	g.members.Done(m)
	g.mu.Unlock()
}

// handle runs the handler, turning a panic into an error.
func (g *group) handle(m *member, d transport.Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("natsjs: handler panicked on %s (%s): %v\n%s", d.ID, d.Subject, p, debug.Stack())
		}
	}()
	d.Metadata = d.Metadata.Clone()
	return m.h(m.ctx, d)
}

// settle acknowledges ("ack"), naks after delay ("nak") or terminates
// ("term") the message.
func (g *group) settle(h *held, d transport.Delivery, how string, delay time.Duration, cause error) {
	g.mu.Lock()
	delete(g.held, h)
	g.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settled = true
	var err error
	switch how {
	case "ack":
		err = h.msg.Ack()
	case "nak":
		if delay > 0 {
			err = h.msg.NakWithDelay(delay)
		} else {
			err = h.msg.Nak()
		}
	case "term":
		err = h.msg.TermWithReason(truncate(cause.Error(), 1000))
	}
	if err != nil {
		g.t.log.Warn("natsjs: cannot settle a message: JetStream will deliver it again after the ack wait",
			"group", g.name, "subject", d.Subject, "id", d.ID, "settle", how, "err", err)
	}
}

// progress tells JetStream that the messages held are being worked on, so
// that it does not deliver them again while they wait or run.
func (g *group) progress() {
	g.mu.Lock()
	hs := make([]*held, 0, len(g.held))
	for h := range g.held {
		hs = append(hs, h)
	}
	g.mu.Unlock()
	for _, h := range hs {
		h.mu.Lock()
		if !h.settled {
			if err := h.msg.InProgress(); err != nil {
				g.t.log.Debug("natsjs: cannot report a message in progress", "group", g.name, "err", err)
			}
		}
		h.mu.Unlock()
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
