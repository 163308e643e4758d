package platform

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// Message returns a message of type typ for subject with v encoded as JSON,
// keyed by key (the aggregate's ID: messages of one key stay in order), and
// carrying the metadata of ctx (eventual.MetadataFromContext) so that
// correlation follows the request.
func Message(ctx context.Context, subject, typ, key string, v any) (transport.Message, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return transport.Message{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	m := transport.NewMessage(subject, typ, data)
	m.Key = key
	m.Metadata = eventual.MetadataFromContext(ctx)
	return m, nil
}

// Decode decodes a delivery's JSON data into a T. A message that does not
// decode will never do: the error is terminal (transport.Terminate), so the
// message goes to the dead letters rather than round again.
func Decode[T any](d transport.Delivery) (T, error) {
	var v T
	if err := json.Unmarshal(d.Data, &v); err != nil {
		return v, transport.Terminate(fmt.Errorf("decode %s %s: %w", d.Type, d.ID, err))
	}
	return v, nil
}

// ReplyMessage builds the reply of type typ with v as its JSON data to the
// request d, for the outbox (Outbox.Add in the handler's transaction, so
// that the reply is sent once the handling committed): to the request's
// reply subject, with its key, its correlation ID, and the request's ID as
// causation ID (which is how a saga matches the reply to its command).
// Errors: transport.ErrNoReplyTo (terminal) when d asks for no reply.
func ReplyMessage(d transport.Delivery, typ string, v any) (transport.Message, error) {
	if d.ReplyTo == "" {
		return transport.Message{}, transport.Terminate(fmt.Errorf("%w: %s (%s)", transport.ErrNoReplyTo, d.ID, d.Type))
	}
	data, err := json.Marshal(v)
	if err != nil {
		return transport.Message{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	m := transport.NewMessage(d.ReplyTo, typ, data)
	m.Key = d.Key
	m.Metadata = eventual.Metadata{CorrelationID: d.Metadata.CorrelationID, CausationID: d.ID,
		TenantID: d.Metadata.TenantID, UserID: d.Metadata.UserID, TraceParent: d.Metadata.TraceParent, TraceState: d.Metadata.TraceState}
	if m.Metadata.CorrelationID == "" {
		m.Metadata.CorrelationID = d.ID
	}
	return m, nil
}

// Context returns ctx carrying the delivery's metadata as the cause of
// what a handler records: same correlation, the delivery as causation.
func Context(ctx context.Context, d transport.Delivery) context.Context {
	m := d.Metadata
	if m.CorrelationID == "" {
		m.CorrelationID = d.ID
	}
	m.CausationID, m.Extra = d.ID, nil
	return eventual.ContextWithMetadata(ctx, m)
}
