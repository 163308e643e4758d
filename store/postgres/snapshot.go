package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	var version int64
	var schema int32
	err := s.pool.QueryRow(ctx, s.q.loadSnapshot, streamID).Scan(&version, &schema, &snap.Data, &snap.TakenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventual.Snapshot{}, fmt.Errorf("%w: stream %q", eventual.ErrSnapshotNotFound, streamID)
	}
	if err != nil {
		return eventual.Snapshot{}, s.wrapErr(ctx, err, "load snapshot")
	}
	snap.Version, snap.SchemaVersion, snap.TakenAt = uint64(version), int(schema), snap.TakenAt.UTC()
	return snap, nil
}

// SaveSnapshot implements eventual.SnapshotStore.
func (s *Store) SaveSnapshot(ctx context.Context, snap eventual.Snapshot) error {
	if err := eventual.ValidateSnapshot(snap); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, s.q.saveSnapshot, snap.StreamID, int64(snap.Version), int32(snap.SchemaVersion), snap.Data, snap.TakenAt)
	return s.wrapErr(ctx, err, "save snapshot")
}
