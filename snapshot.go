package eventual

import (
	"context"
	"errors"
	"time"
)

// ErrSnapshotNotFound means no snapshot is stored for the stream.
var ErrSnapshotNotFound = errors.New("eventual: snapshot not found")

// Snapshot is the state of a stream's aggregate as of one version, kept so
// that loading the aggregate need not replay the whole stream.
type Snapshot struct {
	// StreamID is the stream the snapshot summarizes.
	StreamID string
	// Version is the version of the last event the state includes.
	Version uint64
	// SchemaVersion is the version of Data's encoding; a reader that
	// expects another one ignores the snapshot and replays the events.
	SchemaVersion int
	// Data is the encoded state.
	Data []byte
	// TakenAt is when the snapshot was taken.
	TakenAt time.Time
}

// SnapshotStore keeps the latest snapshot of each stream. The SQLite,
// PostgreSQL and memory stores implement it next to their events.
type SnapshotStore interface {
	// LoadSnapshot returns the stream's snapshot, or an error matching
	// ErrSnapshotNotFound.
	LoadSnapshot(ctx context.Context, streamID string) (Snapshot, error)
	// SaveSnapshot stores s unless the stream's stored snapshot has a
	// higher version; an older snapshot never replaces a newer one.
	// Errors: ErrInvalidArgument for an invalid stream ID or empty data.
	SaveSnapshot(ctx context.Context, s Snapshot) error
}

// ValidateSnapshot returns an error matching ErrInvalidArgument unless s
// can be stored: a valid stream ID, a version of at least 1, data, and a
// schema version that is not negative.
func ValidateSnapshot(s Snapshot) error {
	if err := ValidateStreamID(s.StreamID); err != nil {
		return err
	}
	switch {
	case s.Version == 0:
		return invalid("snapshot of stream %q has version 0", s.StreamID)
	case len(s.Data) == 0:
		return invalid("snapshot of stream %q has no data", s.StreamID)
	case s.SchemaVersion < 0:
		return invalid("snapshot of stream %q has a negative schema version", s.StreamID)
	}
	return nil
}
