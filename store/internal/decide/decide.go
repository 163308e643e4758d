// Package decide holds the rules every backend applies to one append, so the
// backends agree on them: a deleted stream refuses appends; an append whose
// event IDs are all stored already, in order, in that stream is an
// idempotent retry; otherwise the expected version must hold.
package decide

import (
	"fmt"

	"github.com/eventual-go/eventual"
)

// Stream is what a backend knows of a stream when it decides an append.
type Stream struct {
	Exists  bool
	Version uint64
	Deleted bool
}

// Stored is where an event with a given ID is stored.
type Stored struct {
	StreamID string
	Version  uint64
	Position uint64
}

// Outcome is what to do with an append.
type Outcome int

const (
	// Write means: write the events at versions Stream.Version+1, ….
	Write Outcome = iota
	// Done means: write nothing; the events are stored and Result tells
	// where (an idempotent retry).
	Done
)

// Append decides the append a against the stream's state st. stored holds,
// for each event of a in order, where an event with its ID is stored, or
// nil when none is; stored may be nil when the backend knows that no ID of
// a is stored.
//
// The error matches eventual.ErrStreamDeleted, eventual.ErrConflict (a
// *eventual.ConflictError) or eventual.ErrInvalidArgument (some IDs are
// stored, but not as this very append).
func Append(a eventual.AppendRequest, st Stream, stored []*Stored) (Outcome, eventual.AppendResult, error) {
	if st.Deleted {
		return 0, eventual.AppendResult{}, fmt.Errorf("%w: stream %q", eventual.ErrStreamDeleted, a.StreamID)
	}
	if res, ok, err := retried(a, stored); err != nil || ok {
		return Done, res, err
	}
	if !a.Expected.Check(st.Version, st.Exists) {
		return 0, eventual.AppendResult{}, &eventual.ConflictError{
			StreamID: a.StreamID, Expected: a.Expected, Actual: st.Version, Exists: st.Exists,
		}
	}
	return Write, eventual.AppendResult{}, nil
}

// retried reports whether a was stored already, exactly as it is now.
func retried(a eventual.AppendRequest, stored []*Stored) (eventual.AppendResult, bool, error) {
	n := 0
	for _, s := range stored {
		if s != nil {
			n++
		}
	}
	if n == 0 {
		return eventual.AppendResult{}, false, nil
	}
	first := stored[0]
	for i, s := range stored {
		if s == nil {
			continue
		}
		if first == nil || s.StreamID != a.StreamID || s.Version != first.Version+uint64(i) {
			return eventual.AppendResult{}, false, fmt.Errorf(
				"%w: event ID %s is already stored in stream %q at version %d",
				eventual.ErrInvalidArgument, a.Events[i].ID, s.StreamID, s.Version)
		}
	}
	if n != len(a.Events) {
		i := 0
		for stored[i] != nil {
			i++
		}
		return eventual.AppendResult{}, false, fmt.Errorf(
			"%w: stream %q holds some events of this append but not event ID %s",
			eventual.ErrInvalidArgument, a.StreamID, a.Events[i].ID)
	}
	last := stored[len(stored)-1]
	return eventual.AppendResult{
		StreamID:      a.StreamID,
		FirstVersion:  first.Version,
		LastVersion:   last.Version,
		FirstPosition: first.Position,
		LastPosition:  last.Position,
	}, true, nil
}
