// Package natsjs is the transport over NATS JetStream: services in
// separate processes publish and consume through it exactly as the modules
// of the monolith do through transport/inproc, and it passes the same
// conformance suite (transport/transporttest).
//
//	nc, err := natsjs.Connect("nats://127.0.0.1:4222")
//	if err != nil { … }
//	defer nc.Close() // the caller owns the connection
//	t, err := natsjs.New(nc)
//	if err != nil { … }
//	defer t.Close()
//	err = t.Subscribe(ctx, transport.Subscription{Subject: "orders.*", Group: "billing", Concurrency: 8}, handle)
//	err = t.Publish(ctx, transport.NewMessage("orders.placed", "order.placed", data))
//
// # Streams
//
// A message is stored in a stream named after the first token of its
// subject: "orders.placed" and "orders.placed.eu" go to the stream
// EVENTUAL_ORDERS, which covers the subjects "orders" and "orders.>". The
// transport creates the stream the first time it publishes or subscribes
// to one of its subjects (file storage, one replica, limits retention
// keeping 7 days, a 2-minute duplicate window; see the options), unless a
// stream of that name exists already, whose settings it then keeps. A
// token that is not a lower-case name of letters, digits, '-' and '_' gets
// a hash suffix, so that two tokens never share a stream.
//
// WithStream declares the streams instead: then every subject must be
// taken by one of them, and they are created with the same settings when
// missing. A subscription whose first token is a wildcard ("*.placed",
// ">") spans several automatic streams, which JetStream cannot consume as
// one; it is refused with transport.ErrInvalidSubscription (and
// ErrNoStream) unless exactly one declared stream takes subjects it
// matches.
//
// # Messages
//
// The payload is the body of the NATS message; everything else travels in
// headers:
//
//	Nats-Msg-Id              ID (JetStream drops a duplicate within the duplicate window)
//	Eventual-Type            Type
//	Eventual-Key             Key
//	Eventual-Reply-To        ReplyTo
//	Eventual-Correlation-Id  Metadata.CorrelationID
//	Eventual-Causation-Id    Metadata.CausationID
//	Eventual-Tenant-Id       Metadata.TenantID
//	Eventual-User-Id         Metadata.UserID
//	traceparent, tracestate  Metadata.TraceParent, TraceState (the W3C names)
//	Eventual-Extra-<key>     Metadata.Extra[key]
//
// Header values (and the keys of Extra) are percent-encoded where they
// hold a byte NATS headers cannot carry safely: '%', ':', spaces, control
// characters and every byte outside ASCII. So "ünïcode" travels as
// "%C3%BCn%C3%AFcode", and plain identifiers as they are.
//
// Publish sends the messages asynchronously and returns once JetStream
// stored every one of them (a duplicate counts as stored), so Publish
// never waits for handlers: transport.WithoutWaiting makes no difference.
//
// # Groups
//
// A group is a durable pull consumer named after the group on the stream
// of its subject, filtered on the subscription's subject, with explicit
// acknowledgement, delivering everything the stream keeps when it is new.
// It outlives its members: messages published while no member runs wait
// for the next one. The Subscribe calls of one group in one process share
// one pull loop and hand its messages to their handlers (Concurrency adds
// up); the processes of one group share the consumer, so they share the
// work. A group consumes one subject: Subscribe refuses another subject
// for an existing group with transport.ErrInvalidSubscription rather than
// changing what the other members consume. Its other settings (MaxDeliver,
// the ack wait, max ack pending) follow the first Subscribe call of the
// process, which updates the consumer if they differ.
//
// An ephemeral group (Subscription.Ephemeral) is a consumer of the
// process's own, with a generated name, delivering what is published from
// its creation on; it is deleted when its last member leaves, and the
// server deletes it 30 s after the process is gone.
//
// A handler's nil acknowledges the message; an error naks it with a delay
// of Subscription.Backoff(attempt); transport.Terminate terminates it; an
// error on the last delivery (MaxDeliver) terminates it too, and logs it.
// Delivery.Attempt is JetStream's delivery count. While a message waits
// for or runs in its handler, the transport tells JetStream it is in
// progress every third of the ack wait, so a slow handler does not get
// its message redelivered elsewhere.
//
// Messages with the same key are handled one at a time, in stream order,
// within a process: each is acknowledged before the next of its key
// starts. Across processes sharing a group JetStream hands messages out
// without regard to keys, so two processes may handle messages of one key
// at once; where that matters, run one consuming process per group.
//
// Close stops the pull loops, cancels the handlers' context, waits for
// the handlers to return and naks what was fetched but not handled, so
// another process gets it at once. It does not close the *nats.Conn.
package natsjs
