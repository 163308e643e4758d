package memory

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
)

var _ eventual.SnapshotStore = (*Store)(nil)

// LoadSnapshot implements eventual.SnapshotStore.
func (s *Store) LoadSnapshot(ctx context.Context, streamID string) (eventual.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return eventual.Snapshot{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.Snapshot{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return eventual.Snapshot{}, eventual.ErrClosed
	}
	snap, ok := s.snapshots[streamID]
	if !ok {
		return eventual.Snapshot{}, fmt.Errorf("%w: stream %q", eventual.ErrSnapshotNotFound, streamID)
	}
	snap.Data = bytes.Clone(snap.Data)
	return snap, nil
}

// SaveSnapshot implements eventual.SnapshotStore.
func (s *Store) SaveSnapshot(ctx context.Context, snap eventual.Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := eventual.ValidateSnapshot(snap); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventual.ErrClosed
	}
	if old, ok := s.snapshots[snap.StreamID]; ok && old.Version > snap.Version {
		return nil
	}
	snap.Data = bytes.Clone(snap.Data)
	snap.TakenAt = snap.TakenAt.UTC().Truncate(time.Microsecond)
	s.snapshots[snap.StreamID] = snap
	return nil
}
