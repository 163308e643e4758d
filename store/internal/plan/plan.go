// Package plan decides a batch of appends in memory, before the backend
// writes anything: each request against the batch's view of its streams,
// in order, all or nothing per request. The backend then writes the planned
// rows with as few statements as it can. A request that fails (conflict,
// deleted stream, bad event IDs) leaves no trace in the plan, so it needs
// no savepoint and fails alone.
package plan

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/decide"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
)

// Stream is a stream as the batch sees it.
type Stream struct {
	Exists  bool
	Deleted bool
	Version uint64
	// Created tells that the batch creates the stream; Changed that the
	// batch appends to it.
	Created, Changed bool
	// No is the backend's own number for the stream, if it has one.
	No int64
}

// Row is one event to write.
type Row struct {
	Position uint64
	StreamID string
	Stream   *Stream
	Version  uint64
	Event    eventual.EventData
}

// Batch plans a batch. Fill Streams (and Stored, when every event ID was
// looked up) before planning; missing streams do not exist.
type Batch struct {
	// Streams is the view of the streams, keyed by stream ID.
	Streams map[string]*Stream
	// Stored holds where event IDs are stored: those looked up and those
	// the batch plans.
	Stored map[uuid.UUID]decide.Stored
	// Lookup, when not nil, adds where the given events' IDs are stored to
	// Stored. Plan calls it after a version conflict, since the append may
	// be the retry of one stored already. Nil means every ID was looked up.
	Lookup func(events []eventual.EventData) error
	// NextPosition returns the position of the next event to plan.
	NextPosition func() (uint64, error)
	// OnCreate, when not nil, is called for a stream the batch creates,
	// before its first row; the backend numbers it there.
	OnCreate func(id string, st *Stream) error
	// Rows are the planned events, in position order.
	Rows []Row
}

// New returns an empty plan.
func New() *Batch {
	return &Batch{Streams: map[string]*Stream{}, Stored: map[uuid.UUID]decide.Stored{}}
}

// Plan decides request r: it sets r.Results and adds the request's rows, or
// sets r.Err. It returns an error only when Lookup or NextPosition fail;
// the batch must then be abandoned.
func (b *Batch) Plan(r *groupcommit.Request) error {
	r.Results, r.Err = nil, nil
	results := make([]eventual.AppendResult, len(r.Appends))
	write := make([]bool, len(r.Appends))
	for i, a := range r.Appends {
		st := b.stream(a.StreamID)
		known := decide.Stream{Exists: st.Exists, Version: st.Version, Deleted: st.Deleted}
		outcome, res, err := decide.Append(a, known, b.storedOf(a))
		if errors.Is(err, eventual.ErrConflict) && b.Lookup != nil {
			if err := b.Lookup(a.Events); err != nil {
				return err
			}
			outcome, res, err = decide.Append(a, known, b.storedOf(a))
		}
		if err != nil {
			r.Err = err
			return nil
		}
		results[i], write[i] = res, outcome == decide.Write
	}
	for i, a := range r.Appends {
		if !write[i] {
			continue
		}
		st := b.stream(a.StreamID)
		if !st.Exists {
			st.Exists, st.Created = true, true
			if b.OnCreate != nil {
				if err := b.OnCreate(a.StreamID, st); err != nil {
					return err
				}
			}
		}
		res := eventual.AppendResult{StreamID: a.StreamID, FirstVersion: st.Version + 1}
		for j, e := range a.Events {
			pos, err := b.NextPosition()
			if err != nil {
				return err
			}
			st.Version++
			b.Rows = append(b.Rows, Row{Position: pos, StreamID: a.StreamID, Stream: st, Version: st.Version, Event: e})
			b.Stored[e.ID] = decide.Stored{StreamID: a.StreamID, Version: st.Version, Position: pos}
			if j == 0 {
				res.FirstPosition = pos
			}
			res.LastPosition = pos
		}
		st.Changed = true
		res.LastVersion = st.Version
		results[i] = res
	}
	r.Results = results
	return nil
}

// stream returns the view of a stream, adding an empty one when missing.
func (b *Batch) stream(id string) *Stream {
	st := b.Streams[id]
	if st == nil {
		st = &Stream{}
		b.Streams[id] = st
	}
	return st
}

// storedOf returns where a's event IDs are stored, or nil when none is.
func (b *Batch) storedOf(a eventual.AppendRequest) []*decide.Stored {
	var out []*decide.Stored
	for i, e := range a.Events {
		if loc, ok := b.Stored[e.ID]; ok {
			if out == nil {
				out = make([]*decide.Stored, len(a.Events))
			}
			out[i] = &loc
		}
	}
	return out
}

// StreamIDs returns the distinct stream IDs of a batch's requests, and the
// IDs of all their events.
func StreamIDs(batch []*groupcommit.Request) (streams []string, events []uuid.UUID, total int) {
	seen := map[string]bool{}
	for _, r := range batch {
		for _, a := range r.Appends {
			total += len(a.Events)
			if !seen[a.StreamID] {
				seen[a.StreamID] = true
				streams = append(streams, a.StreamID)
			}
			for _, e := range a.Events {
				events = append(events, e.ID)
			}
		}
	}
	return streams, events, total
}

// Recorded returns the time to stamp a batch with: now to the microsecond,
// but never before the last event already in the log, so that recorded
// times never go down along the log whatever the clocks do.
func Recorded(now, last time.Time) time.Time {
	now = now.UTC().Truncate(time.Microsecond)
	if now.Before(last) {
		return last.UTC()
	}
	return now
}

// First turns AppendMulti's results for a single append into Append's.
func First(res []eventual.AppendResult, err error) (eventual.AppendResult, error) {
	if err != nil {
		return eventual.AppendResult{}, err
	}
	return res[0], nil
}

// LookUpFirst reports whether a transaction must look up where the
// events of appends are stored before it inserts them, rather than only
// after a version conflict (as the group commit does). A transaction
// cannot let an insert meet a stored event ID: on SQLite it rolls back,
// on PostgreSQL it aborts the caller's whole transaction. An append of
// events stored already — a retry — meets a version conflict first when
// it expects an exact version or no stream (the stream has moved past
// it), and is then looked up and answered with what was stored; one that
// expects any version, or only that the stream exists, meets no conflict,
// so its IDs are looked up first. Events without an ID get a new UUIDv7
// (eventual.PrepareAppend), stored nowhere. Aggregates and sagas append
// with exact versions: their transactions then run no lookup at all.
//
// The one case this gives up: an event ID stored in another stream, in an
// append with an exact version or no stream, is no longer refused alone
// with ErrInvalidArgument; its insert fails the transaction.
func LookUpFirst(appends []eventual.AppendRequest) bool {
	for _, a := range appends {
		if a.Expected != eventual.Any && a.Expected != eventual.StreamExists {
			continue
		}
		for _, e := range a.Events {
			if e.ID != uuid.Nil {
				return true
			}
		}
	}
	return false
}
