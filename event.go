package eventual

import (
	"time"

	"github.com/google/uuid"
)

// EventData is an event to append to a stream.
//
// ID identifies the event across the whole store; a zero ID is replaced by a
// new UUIDv7 on append. Appending an event whose ID is already stored in the
// same stream is idempotent (see [Store.Append]).
type EventData struct {
	// ID is the event's unique ID. Zero means "generate a UUIDv7".
	ID uuid.UUID
	// Type names the event, e.g. "order.placed". Required.
	Type string
	// SchemaVersion is the version of Type's payload schema; 0 means
	// unversioned. The codec package stamps and reads it.
	SchemaVersion int
	// Data is the encoded payload. The store treats it as opaque bytes.
	Data []byte
	// Metadata travels with the event and is stored next to it.
	Metadata Metadata
}

// Metadata is what the store keeps about an event besides its payload.
//
// Every field is optional. Strings must be valid UTF-8 without NUL bytes.
type Metadata struct {
	// CorrelationID ties together every event and message caused by one
	// original request.
	CorrelationID string
	// CausationID is the ID of the command, event or message that caused
	// this event.
	CausationID string
	// TenantID isolates the data of one tenant in a multi-tenant system.
	TenantID string
	// UserID is the user on whose behalf the event was recorded.
	UserID string
	// TraceParent and TraceState carry the W3C trace context of the
	// operation that recorded the event.
	TraceParent string
	TraceState  string
	// Extra holds any other key/value pairs. Keys must be non-empty.
	Extra map[string]string
}

// IsZero reports whether m holds nothing.
func (m Metadata) IsZero() bool {
	return m.CorrelationID == "" && m.CausationID == "" && m.TenantID == "" &&
		m.UserID == "" && m.TraceParent == "" && m.TraceState == "" && len(m.Extra) == 0
}

// Clone returns a copy of m that shares no map with it.
func (m Metadata) Clone() Metadata {
	if m.Extra != nil {
		extra := make(map[string]string, len(m.Extra))
		for k, v := range m.Extra {
			extra[k] = v
		}
		m.Extra = extra
	}
	return m
}

// RecordedEvent is an event as read back from the store.
type RecordedEvent struct {
	// ID is the event's unique ID.
	ID uuid.UUID
	// StreamID is the stream the event belongs to.
	StreamID string
	// Version is the event's place in its stream: 1, 2, 3, … without gaps.
	Version uint64
	// Position is the event's place in the global log. Positions are
	// strictly increasing in commit order; they may have gaps.
	Position uint64
	// Type, SchemaVersion, Data and Metadata are as appended.
	Type          string
	SchemaVersion int
	Data          []byte
	Metadata      Metadata
	// RecordedAt is when the store committed the event, in UTC, truncated
	// to microseconds.
	RecordedAt time.Time
}
