package eventual

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on what a store accepts. Backends check them with [PrepareAppend]
// before writing anything.
const (
	// DefaultMaxEventSize is the default limit on one event's size in bytes
	// ([EventSize]): 1 MiB. Backends let it be changed by an option.
	DefaultMaxEventSize = 1 << 20
	// MaxStreamIDLength is the longest stream ID, in bytes.
	MaxStreamIDLength = 512
	// MaxTypeLength is the longest event type name, in bytes.
	MaxTypeLength = 256
)

// ValidateStreamID returns an error matching [ErrInvalidArgument] unless id
// is a valid stream ID: non-empty, at most [MaxStreamIDLength] bytes of
// valid UTF-8, with no NUL byte. Any other character, including SQL
// metacharacters and non-ASCII letters, is allowed.
func ValidateStreamID(id string) error {
	if err := validText("stream ID", id, MaxStreamIDLength, true); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// ValidateEventType returns an error matching [ErrInvalidArgument] unless
// name is a valid event type: non-empty, at most [MaxTypeLength] bytes of
// valid UTF-8, with no NUL byte.
func ValidateEventType(name string) error {
	if err := validText("event type", name, MaxTypeLength, true); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// EventSize is the size an event counts against the event size limit: its
// type, data and metadata in bytes.
func EventSize(e EventData) int {
	m := e.Metadata
	n := len(e.Type) + len(e.Data) + len(m.CorrelationID) + len(m.CausationID) +
		len(m.TenantID) + len(m.UserID) + len(m.TraceParent) + len(m.TraceState)
	for k, v := range m.Extra {
		n += len(k) + len(v)
	}
	return n
}

// PrepareAppend validates appends and returns copies of them in which every
// zero event ID is replaced by a new UUIDv7. The caller's slices are not
// modified. maxEventSize ≤ 0 means [DefaultMaxEventSize].
//
// It returns an error matching [ErrInvalidArgument] for no appends, a stream
// that appears twice, an invalid stream ID, an append without events, an
// event without a valid type, an event over maxEventSize, invalid metadata,
// or an event ID used twice.
func PrepareAppend(appends []AppendRequest, maxEventSize int) ([]AppendRequest, error) {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	if len(appends) == 0 {
		return nil, invalid("no appends")
	}
	out := make([]AppendRequest, len(appends))
	total := 0
	for _, a := range appends {
		total += len(a.Events)
	}
	events := make([]EventData, 0, total)
	seenIDs := make(map[uuid.UUID]struct{}, total)
	for i, a := range appends {
		if err := ValidateStreamID(a.StreamID); err != nil {
			return nil, err
		}
		for _, b := range appends[:i] {
			if b.StreamID == a.StreamID {
				return nil, invalid("stream %q appears more than once in one call", a.StreamID)
			}
		}
		if len(a.Events) == 0 {
			return nil, invalid("append to stream %q has no events", a.StreamID)
		}
		start := len(events)
		for j, e := range a.Events {
			if err := validateEvent(e, maxEventSize); err != nil {
				return nil, invalid("stream %q event %d: %v", a.StreamID, j, err)
			}
			if e.ID == uuid.Nil {
				id, err := uuid.NewV7()
				if err != nil {
					return nil, err
				}
				e.ID = id
			}
			if _, dup := seenIDs[e.ID]; dup {
				return nil, invalid("event ID %s appears more than once in one call", e.ID)
			}
			seenIDs[e.ID] = struct{}{}
			events = append(events, e)
		}
		out[i] = AppendRequest{StreamID: a.StreamID, Expected: a.Expected, Events: events[start:len(events):len(events)]}
	}
	return out, nil
}

func validateEvent(e EventData, maxSize int) error {
	if err := validText("event type", e.Type, MaxTypeLength, true); err != nil {
		return err
	}
	if e.SchemaVersion < 0 {
		return fmt.Errorf("schema version %d is negative", e.SchemaVersion)
	}
	if size := EventSize(e); size > maxSize {
		return fmt.Errorf("event of type %q is %d bytes, over the limit of %d bytes", e.Type, size, maxSize)
	}
	m := e.Metadata
	for _, f := range [...]struct{ name, v string }{
		{"correlation ID", m.CorrelationID}, {"causation ID", m.CausationID},
		{"tenant ID", m.TenantID}, {"user ID", m.UserID},
		{"trace parent", m.TraceParent}, {"trace state", m.TraceState},
	} {
		if err := validText("metadata "+f.name, f.v, 0, false); err != nil {
			return err
		}
	}
	for k, v := range m.Extra {
		if err := validText("metadata key", k, 0, true); err != nil {
			return err
		}
		if err := validText("metadata value of "+k, v, 0, false); err != nil {
			return err
		}
	}
	return nil
}

// validText returns why s is not acceptable text, or nil.
func validText(what, s string, maxLen int, required bool) error {
	switch {
	case required && s == "":
		return fmt.Errorf("%s is empty", what)
	case maxLen > 0 && len(s) > maxLen:
		return fmt.Errorf("%s is %d bytes, over the limit of %d", what, len(s), maxLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	return nil
}

// Validate returns an error matching [ErrInvalidArgument] if o is invalid:
// a negative limit or an unknown direction.
func (o ReadStreamOptions) Validate() error {
	if o.Limit < 0 {
		return invalid("limit %d is negative", o.Limit)
	}
	if o.Direction > Backward {
		return invalid("unknown direction %d", o.Direction)
	}
	return nil
}

// Validate returns an error matching [ErrInvalidArgument] if o is invalid:
// a negative limit, an unknown direction, Until not after Since, or a bad
// filter.
func (o ReadAllOptions) Validate() error {
	if o.Limit < 0 {
		return invalid("limit %d is negative", o.Limit)
	}
	if o.Direction > Backward {
		return invalid("unknown direction %d", o.Direction)
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return invalid("time range is empty: until %s is not after since %s", o.Until, o.Since)
	}
	return o.Filter.Validate()
}

// Validate returns an error matching [ErrInvalidArgument] if f holds an
// empty or invalid type name or an invalid stream prefix.
func (f Filter) Validate() error {
	for _, t := range f.Types {
		if err := validText("filter type", t, MaxTypeLength, true); err != nil {
			return invalid("%v", err)
		}
	}
	if err := validText("filter stream prefix", f.StreamPrefix, MaxStreamIDLength, false); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// Match reports whether an event of stream streamID and type typ passes f.
func (f Filter) Match(streamID, typ string) bool {
	if f.StreamPrefix != "" && !strings.HasPrefix(streamID, f.StreamPrefix) {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// Matches reports whether ev passes o's filter and time range.
func (o ReadAllOptions) Matches(ev RecordedEvent) bool {
	if !o.Since.IsZero() && ev.RecordedAt.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && !ev.RecordedAt.Before(o.Until) {
		return false
	}
	return o.Filter.Match(ev.StreamID, ev.Type)
}
