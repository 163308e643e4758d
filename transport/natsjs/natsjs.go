package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/internal/dispatch"
)

var _ transport.Transport = (*Transport)(nil)

// Transport is the JetStream transport. Create it with New; it is safe
// for concurrent use.
type Transport struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	opts options
	log  *slog.Logger

	ctx    context.Context // ends at Close; parent of handler contexts
	cancel context.CancelFunc

	mu         sync.Mutex
	closed     bool
	streams    map[string]bool   // streams made sure of
	groups     map[string]*group // by stream and group name
	publishing sync.WaitGroup    // Publish calls under way
	wg         sync.WaitGroup    // pull loops
}

// Connect connects to the NATS servers at url (comma-separated) with
// settings fit for a long-running service: it keeps reconnecting for
// ever rather than giving up after a minute or so. opts come after those
// and can override them. The caller closes the connection (after the
// Transport).
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{nats.MaxReconnects(-1), nats.Name("eventual")}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect to %s: %w", url, err)
	}
	return nc, nil
}

// New returns a transport over the JetStream of nc. The caller keeps
// owning nc: Close does not close it. Errors: ErrInvalidOption.
func New(nc *nats.Conn, opts ...Option) (*Transport, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalidOption)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(o.publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("natsjs: %w", err)
	}
	t := &Transport{
		nc:      nc,
		js:      js,
		opts:    o,
		log:     o.log,
		streams: map[string]bool{},
		groups:  map[string]*group{},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// Publish stores msgs in their streams (creating a stream on its first
// use) and returns once JetStream acknowledged every one; a message whose
// ID the stream saw within its duplicate window counts as stored. The
// messages are sent without waiting for each other, in order. Errors:
// transport.ErrInvalidMessage (nothing sent: also for a message larger
// than the server takes, or whose subject no declared stream covers, with
// ErrNoStream), transport.ErrClosed, the context's, and JetStream's for
// the messages it did not acknowledge (publish them again, with the same
// IDs).
func (t *Transport) Publish(ctx context.Context, msgs ...transport.Message) error {
	specs := make([]streamSpec, len(msgs))
	out := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		if err := m.Validate(); err != nil {
			return err
		}
		spec, err := t.streamFor(m.Subject)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", transport.ErrInvalidMessage, m.ID, err)
		}
		specs[i], out[i] = spec, encode(m)
		if n, limit := size(out[i]), t.nc.MaxPayload(); limit > 0 && int64(n) > limit {
			return fmt.Errorf("%w: %s is %d bytes, the server takes %d", transport.ErrInvalidMessage, m.ID, n, limit)
		}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transport.ErrClosed
	}
	t.publishing.Add(1)
	t.mu.Unlock()
	defer t.publishing.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, stop := t.closing(ctx)
	defer stop()

	for i, spec := range specs {
		if i > 0 && spec.name == specs[i-1].name {
			continue
		}
		if err := t.ensureStream(ctx, spec); err != nil {
			return t.closedOr(err)
		}
	}
	futures := make([]jetstream.PubAckFuture, 0, len(out))
	for i, m := range out {
		f, err := t.js.PublishMsgAsync(m, jetstream.WithExpectStream(specs[i].name))
		if err != nil {
			return fmt.Errorf("natsjs: publish %s to %s: %w", msgs[i].ID, msgs[i].Subject, err)
		}
		futures = append(futures, f)
	}
	var errs []error
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
				t.forgetStream(specs[i].name) // deleted behind our back: create it again next time
			}
			errs = append(errs, fmt.Errorf("natsjs: publish %s to %s: %w", msgs[i].ID, msgs[i].Subject, err))
		case <-ctx.Done():
			return t.closedOr(fmt.Errorf("natsjs: %d of %d messages not acknowledged: %w", len(futures)-i, len(futures), ctx.Err()))
		}
	}
	return errors.Join(errs...)
}

// closing returns ctx ended also when the transport closes.
func (t *Transport) closing(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// closedOr returns transport.ErrClosed (with err) if the transport closed,
// else err.
func (t *Transport) closedOr(err error) error {
	if t.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", transport.ErrClosed, err)
	}
	return err
}

// Subscribe joins sub.Group and handles its messages until ctx ends or the
// transport closes. It returns once the group's consumer exists (it
// creates the stream and the consumer if need be) and the pull loop runs.
// The Subscribe calls of one group in one process share a pull loop, and
// must name the same subject, as must every member of the group anywhere.
// Errors: transport.ErrInvalidSubscription (also for a group that exists
// with another subject, or a subject no stream takes, with ErrNoStream),
// transport.ErrClosed, the context's, JetStream's.
func (t *Transport) Subscribe(ctx context.Context, sub transport.Subscription, h transport.Handler) error {
	sub, err := sub.WithDefaults()
	if err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("%w: nil handler", transport.ErrInvalidSubscription)
	}
	spec, err := t.streamFor(sub.Subject)
	if err != nil {
		return fmt.Errorf("%w: %w", transport.ErrInvalidSubscription, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key := spec.name + "/" + sub.Group
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transport.ErrClosed
	}
	if g := t.groups[key]; g != nil {
		defer t.mu.Unlock()
		return t.join(ctx, g, sub, h)
	}
	t.mu.Unlock()

	ictx, stop := t.closing(ctx)
	defer stop()
	if err := t.ensureStream(ictx, spec); err != nil {
		return t.closedOr(err)
	}
	cons, err := t.ensureConsumer(ictx, spec.name, sub)
	if err != nil {
		return t.closedOr(err)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return transport.ErrClosed
	}
	if g := t.groups[key]; g != nil { // another Subscribe was quicker
		return t.join(ctx, g, sub, h)
	}
	info := cons.CachedInfo()
	g := &group{
		t:          t,
		key:        key,
		name:       sub.Group,
		stream:     spec.name,
		subject:    sub.Subject,
		ephemeral:  sub.Ephemeral,
		cons:       cons,
		maxDeliver: info.Config.MaxDeliver,
		ackWait:    info.Config.AckWait,
		d:          dispatch.New(1, t.opts.prefetch),
		held:       map[*held]struct{}{},
		stop:       make(chan struct{}),
	}
	if err := g.start(); err != nil {
		return fmt.Errorf("natsjs: consume %s on %s: %w", sub.Group, spec.name, err)
	}
	t.groups[key] = g
	t.wg.Add(1)
	go g.run()
	return t.join(ctx, g, sub, h)
}

// join adds a member to g, for as long as ctx lasts; the caller holds
// t.mu.
func (t *Transport) join(ctx context.Context, g *group, sub transport.Subscription, h transport.Handler) error {
	if g.subject != sub.Subject {
		return fmt.Errorf("%w: group %q consumes %q, not %q", transport.ErrInvalidSubscription, g.name, g.subject, sub.Subject)
	}
	if g.ephemeral != sub.Ephemeral {
		return fmt.Errorf("%w: group %q is ephemeral in one Subscribe and not in another", transport.ErrInvalidSubscription, g.name)
	}
	mctx, cancel := context.WithCancel(transport.WithoutWaiting(t.ctx))
	m := &member{sub: sub, h: h, ctx: mctx, cancel: cancel}
	// If ctx is done already, leave waits for t.mu, so after the join.
	m.stop = context.AfterFunc(ctx, func() { t.leave(g, m) })
	g.join(m)
	return nil
}

// leave takes m out of g; the last member to leave stops the group's pull
// loop (the consumer stays, with what it did not deliver).
func (t *Transport) leave(g *group, m *member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g.leave(m) == 0 && t.groups[g.key] == g {
		delete(t.groups, g.key)
		g.halt()
		if g.ephemeral {
			// Gone with its last member; the server would delete it
			// after a while anyway.
			name := g.cons.CachedInfo().Name
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = t.js.DeleteConsumer(ctx, g.stream, name)
			}()
		}
	}
}

// ephemeralInactivity is how long the server keeps an ephemeral group's
// consumer once nobody pulls from it.
const ephemeralInactivity = 30 * time.Second

// ensureConsumer returns the group's durable consumer, creating it if
// need be, or updating its settings if they differ from sub's (but for
// its subject, which must be sub's).
func (t *Transport) ensureConsumer(ctx context.Context, stream string, sub transport.Subscription) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       sub.Group,
		Description:   "eventual group " + sub.Group,
		FilterSubject: sub.Subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.opts.ackWait,
		MaxDeliver:    sub.MaxDeliver,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: t.opts.maxAckPending,
		Replicas:      0, // the stream's
	}
	if sub.Ephemeral {
		// This process's alone: a consumer of its own, from now on, that
		// the server deletes once nobody pulls from it.
		cfg.Durable = ""
		cfg.Name = sub.Group + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
		cfg.InactiveThreshold = ephemeralInactivity
		cons, err := t.js.CreateConsumer(ctx, stream, cfg)
		if err != nil {
			return nil, fmt.Errorf("natsjs: ephemeral consumer %s on %s: %w", sub.Group, stream, err)
		}
		return cons, nil
	}
	for range 3 {
		cons, err := t.js.Consumer(ctx, stream, sub.Group)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = t.js.CreateConsumer(ctx, stream, cfg)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				continue // made meanwhile, differently: look at it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("natsjs: consumer %s on %s: %w", sub.Group, stream, err)
		}
		have := cons.CachedInfo().Config
		if have.FilterSubject != sub.Subject || len(have.FilterSubjects) > 0 {
			subject := have.FilterSubject
			if subject == "" {
				subject = strings.Join(have.FilterSubjects, ", ")
			}
			return nil, fmt.Errorf("%w: group %q consumes %q on stream %s, not %q", transport.ErrInvalidSubscription, sub.Group, subject, stream, sub.Subject)
		}
		if have.AckPolicy != jetstream.AckExplicitPolicy {
			return nil, fmt.Errorf("%w: consumer %s on %s does not use explicit acks", transport.ErrInvalidSubscription, sub.Group, stream)
		}
		if have.MaxDeliver == cfg.MaxDeliver && have.AckWait == cfg.AckWait && have.MaxAckPending == cfg.MaxAckPending {
			return cons, nil
		}
		upd := have
		upd.MaxDeliver, upd.AckWait, upd.MaxAckPending = cfg.MaxDeliver, cfg.AckWait, cfg.MaxAckPending
		if cons, err = t.js.UpdateConsumer(ctx, stream, upd); err != nil {
			return nil, fmt.Errorf("natsjs: update consumer %s on %s: %w", sub.Group, stream, err)
		}
		return cons, nil
	}
	return nil, fmt.Errorf("natsjs: consumer %s on %s keeps changing", sub.Group, stream)
}

// Close stops the pull loops, cancels the handlers' context and waits for
// them to return; messages fetched and not handled are given back to
// JetStream. Publish calls under way return transport.ErrClosed. It does
// not close the NATS connection. It always returns nil.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	groups := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		groups = append(groups, g)
	}
	clear(t.groups)
	t.mu.Unlock()
	t.cancel()
	for _, g := range groups {
		g.halt()
	}
	t.publishing.Wait()
	t.wg.Wait()
	t.js.CleanupPublisher()
	return nil
}
