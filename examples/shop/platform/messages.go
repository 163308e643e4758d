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
