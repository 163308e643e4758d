package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// ErrNoReplyTo means a reply was asked for a message that says nowhere to
// reply to.
var ErrNoReplyTo = errors.New("transport: the message has no reply-to subject")

// Reply sends reply to the subject request asked replies to go to, as a
// consequence of request: same correlation ID, causation ID request's ID,
// same key. The reply's ID is set if empty.
func Reply(ctx context.Context, pub Publisher, request Delivery, reply Message) error {
	if request.ReplyTo == "" {
		return fmt.Errorf("%w: %s (%s)", ErrNoReplyTo, request.ID, request.Subject)
	}
	if reply.ID == "" {
		reply.ID = uuid.Must(uuid.NewV7()).String()
	}
	reply.Subject = request.ReplyTo
	reply.Metadata.CorrelationID = request.Metadata.CorrelationID
	if reply.Metadata.CorrelationID == "" {
		reply.Metadata.CorrelationID = request.ID
	}
	reply.Metadata.CausationID = request.ID
	if reply.Key == "" {
		reply.Key = request.Key
	}
	return pub.Publish(WithoutWaiting(ctx), reply)
}

// Requester sends requests and waits for their replies: the simple
// synchronous form of commands over the transport. Replies are matched to
// requests by causation ID. For replies that must survive a restart, use a
// durable consumer of the reply subject instead (a saga does).
type Requester struct {
	t       Transport
	subject string
	mu      sync.Mutex
	waiting map[string]chan Delivery
}

// NewRequester subscribes to replySubject (which should be unique to this
// process, e.g. "replies.<service>.<instance>") and returns a Requester
// that sends requests asking for replies there.
func NewRequester(ctx context.Context, t Transport, replySubject string) (*Requester, error) {
	r := &Requester{t: t, subject: replySubject, waiting: map[string]chan Delivery{}}
	group := "requester-" + uuid.Must(uuid.NewV7()).String()[24:]
	err := t.Subscribe(ctx, Subscription{Subject: replySubject, Group: group, Concurrency: 8, MaxDeliver: 1, Ephemeral: true},
		func(_ context.Context, d Delivery) error {
			r.mu.Lock()
			ch, ok := r.waiting[d.Metadata.CausationID]
			delete(r.waiting, d.Metadata.CausationID)
			r.mu.Unlock()
			if ok {
				ch <- d
			}
			return nil // late or unknown replies are dropped
		})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Request publishes msg asking for a reply and waits for it, or for ctx to
// end.
func (r *Requester) Request(ctx context.Context, msg Message) (Delivery, error) {
	if msg.ID == "" {
		msg.ID = uuid.Must(uuid.NewV7()).String()
	}
	msg.ReplyTo = r.subject
	ch := make(chan Delivery, 1)
	r.mu.Lock()
	r.waiting[msg.ID] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, msg.ID)
		r.mu.Unlock()
	}()
	if err := r.t.Publish(WithoutWaiting(ctx), msg); err != nil {
		return Delivery{}, err
	}
	select {
	case d := <-ch:
		return d, nil
	case <-ctx.Done():
		return Delivery{}, fmt.Errorf("transport: no reply to %s (%s): %w", msg.ID, msg.Subject, ctx.Err())
	}
}
