package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
)

var _ eventual.SnapshotStore = (*Store)(nil)

// LoadSnapshot implements eventual.SnapshotStore.
func (s *Store) LoadSnapshot(ctx context.Context, streamID string) (eventual.Snapshot, error) {
	if err := s.checkOpen(); err != nil {
		return eventual.Snapshot{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.Snapshot{}, err
	}
	snap := eventual.Snapshot{StreamID: streamID}
	var taken int64
	err := s.r.QueryRowContext(ctx, "SELECT version, schema_version, data, taken_at FROM snapshots WHERE stream_id = ?", streamID).
		Scan(&snap.Version, &snap.SchemaVersion, &snap.Data, &taken)
	if errors.Is(err, sql.ErrNoRows) {
		return eventual.Snapshot{}, fmt.Errorf("%w: stream %q", eventual.ErrSnapshotNotFound, streamID)
	}
	if err != nil {
		return eventual.Snapshot{}, s.wrapErr(ctx, err, "load snapshot")
	}
	snap.TakenAt = time.UnixMicro(taken).UTC()
	return snap, nil
}

// SaveSnapshot implements eventual.SnapshotStore. It writes outside the
// group commit, in a transaction of its own that commits without waiting
// for the flush (as InTxNoSync): the writer is not held through an fsync
// for data that the events, durable before it, can always rebuild. A
// crash of the machine may lose the snapshot, never the events; loads
// then replay them. The next durable commit flushes it with its own.
func (s *Store) SaveSnapshot(ctx context.Context, snap eventual.Snapshot) error {
	if err := eventual.ValidateSnapshot(snap); err != nil {
		return err
	}
	err := s.writeTxSync(ctx, true, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO snapshots (stream_id, version, schema_version, data, taken_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, schema_version = excluded.schema_version,
				data = excluded.data, taken_at = excluded.taken_at
			WHERE excluded.version >= snapshots.version`,
			snap.StreamID, snap.Version, snap.SchemaVersion, snap.Data, snap.TakenAt.UnixMicro())
		return err
	}, nil)
	return s.wrapErr(ctx, err, "save snapshot")
}
