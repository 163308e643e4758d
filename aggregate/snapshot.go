package aggregate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual"
)

// Snapshotter is implemented by aggregates whose state can be snapshot.
type Snapshotter interface {
	// SnapshotVersion is the version of the snapshot encoding. Change it
	// whenever the encoding changes: snapshots of another version are
	// ignored (the aggregate is replayed from its events) and replaced.
	SnapshotVersion() int
	// MarshalSnapshot encodes the aggregate's state (not its Root).
	MarshalSnapshot() ([]byte, error)
	// UnmarshalSnapshot restores the state MarshalSnapshot encoded.
	UnmarshalSnapshot(data []byte) error
}

// SnapshotInfo is what a SnapshotPolicy decides on, after a Save.
type SnapshotInfo struct {
	// Version is the aggregate's version after the Save.
	Version uint64
	// LastSnapshotVersion is the version of its last snapshot, 0 if none.
	LastSnapshotVersion uint64
	// LastSnapshotAt is when that snapshot was taken; zero if none.
	LastSnapshotAt time.Time
	// Now is the repository clock's time.
	Now time.Time
}

// SnapshotPolicy decides whether to take a snapshot after a Save.
type SnapshotPolicy func(SnapshotInfo) bool

// EveryNEvents takes a snapshot when n events or more were saved since the
// last one.
func EveryNEvents(n uint64) SnapshotPolicy {
	n = max(n, 1)
	return func(i SnapshotInfo) bool { return i.Version-i.LastSnapshotVersion >= n }
}

// EveryDuration takes a snapshot when events were saved and the last
// snapshot is at least d old (or there is none).
func EveryDuration(d time.Duration) SnapshotPolicy {
	return func(i SnapshotInfo) bool {
		return i.Version > i.LastSnapshotVersion && i.Now.Sub(i.LastSnapshotAt) >= d
	}
}

// restore loads the latest snapshot of stream into a if it is usable: of
// a's snapshot version and not past upTo (0: any). It reports whether it
// used one, and whether a snapshot of another encoding version was found
// (stale), which the caller replaces.
func (r *Repository[T]) restore(ctx context.Context, a T, stream string, upTo uint64) (used, stale bool, err error) {
	sn, ok := any(a).(Snapshotter)
	if !ok {
		return false, false, nil
	}
	snap, err := r.cfg.snapshots.LoadSnapshot(ctx, stream)
	switch {
	case errors.Is(err, eventual.ErrSnapshotNotFound):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("aggregate: load snapshot of %q: %w", stream, err)
	case snap.SchemaVersion != sn.SnapshotVersion():
		return false, true, nil
	case upTo > 0 && snap.Version > upTo:
		return false, false, nil
	}
	if err := sn.UnmarshalSnapshot(snap.Data); err != nil {
		// A snapshot that does not decode is replaced, not trusted: the
		// events tell the truth.
		r.cfg.onSnapErr(fmt.Errorf("aggregate: snapshot of %q at version %d does not decode, replaying the events: %w", stream, snap.Version, err))
		fresh := r.New(a.root().id)
		*a.root() = *fresh.root()
		return false, true, nil
	}
	root := a.root()
	root.version, root.stored = snap.Version, snap.Version
	root.snapVersion, root.snapAt = snap.Version, snap.TakenAt.UnixNano()
	return true, false, nil
}

// maybeSnapshot takes a snapshot of a after a Save if the policy says so.
func (r *Repository[T]) maybeSnapshot(ctx context.Context, a T, stream string) {
	if r.cfg.snapshots == nil {
		return
	}
	root := a.root()
	var last time.Time
	if root.snapAt != 0 {
		last = time.Unix(0, root.snapAt)
	}
	info := SnapshotInfo{Version: root.version, LastSnapshotVersion: root.snapVersion, LastSnapshotAt: last, Now: r.cfg.now()}
	if r.cfg.policy(info) {
		r.snapshot(ctx, a, stream)
	}
}

// snapshot encodes a's state now and stores it, now or in the background.
func (r *Repository[T]) snapshot(ctx context.Context, a T, stream string) {
	snap, ok := r.encodeSnapshot(a, stream)
	if !ok {
		return
	}
	if r.snaps != nil {
		r.snaps.add(snap)
		return
	}
	if err := r.cfg.snapshots.SaveSnapshot(ctx, snap); err != nil {
		r.cfg.onSnapErr(fmt.Errorf("aggregate: store snapshot of %q: %w", stream, err))
	}
}

// encodeSnapshot returns a's state now as a snapshot and notes it taken.
func (r *Repository[T]) encodeSnapshot(a T, stream string) (eventual.Snapshot, bool) {
	sn, ok := any(a).(Snapshotter)
	if !ok {
		r.cfg.onSnapErr(fmt.Errorf("aggregate: %s is no Snapshotter: no snapshot of %q", r.kind, stream))
		return eventual.Snapshot{}, false
	}
	data, err := sn.MarshalSnapshot()
	if err != nil {
		r.cfg.onSnapErr(fmt.Errorf("aggregate: encode snapshot of %q: %w", stream, err))
		return eventual.Snapshot{}, false
	}
	root := a.root()
	now := r.cfg.now()
	root.snapVersion, root.snapAt = root.version, now.UnixNano()
	return eventual.Snapshot{StreamID: stream, Version: root.version, SchemaVersion: sn.SnapshotVersion(), Data: data, TakenAt: now}, true
}

// snapshotAfterCommit is maybeSnapshot for an aggregate saved in tx: the
// state is encoded now, and stored by a background writer once tx has
// committed (a snapshot of events that rolled back would be a lie), so the
// transaction's caller never waits for it.
func (r *Repository[T]) snapshotAfterCommit(tx eventual.Tx, a T, stream string) {
	if r.cfg.snapshots == nil {
		return
	}
	root := a.root()
	var last time.Time
	if root.snapAt != 0 {
		last = time.Unix(0, root.snapAt)
	}
	if !r.cfg.policy(SnapshotInfo{Version: root.version, LastSnapshotVersion: root.snapVersion, LastSnapshotAt: last, Now: r.cfg.now()}) {
		return
	}
	snap, ok := r.encodeSnapshot(a, stream)
	if !ok {
		return
	}
	if w := r.backgroundWriter(); w != nil { // nil once closed
		tx.AfterCommit(func() { w.add(snap) })
	}
}

// backgroundWriter returns the writer of SaveTx's snapshots, starting it
// on first use; nil after Close.
func (r *Repository[T]) backgroundWriter() *snapshotWriter {
	r.txSnapsOnce.Do(func() {
		r.txSnaps = r.snaps
		if r.txSnaps == nil {
			r.txSnaps = newSnapshotWriter(r.cfg.snapshots, r.cfg.onSnapErr)
		}
	})
	return r.txSnaps
}

// snapshotWriter stores snapshots in the background.
type snapshotWriter struct {
	store   eventual.SnapshotStore
	onErr   func(error)
	queue   chan eventual.Snapshot
	done    chan struct{}
	mu      sync.Mutex // guards closed and sending on queue
	closed  bool
	dropped atomic.Int64
}

// snapshotQueue is how many snapshots may wait for the background writer.
const snapshotQueue = 256

func newSnapshotWriter(store eventual.SnapshotStore, onErr func(error)) *snapshotWriter {
	w := &snapshotWriter{store: store, onErr: onErr, queue: make(chan eventual.Snapshot, snapshotQueue), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *snapshotWriter) add(s eventual.Snapshot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.onErr(fmt.Errorf("aggregate: snapshot of %q at version %d dropped: repository closed", s.StreamID, s.Version))
		return
	}
	select {
	case w.queue <- s:
	default:
		w.dropped.Add(1)
		w.onErr(fmt.Errorf("aggregate: snapshot of %q at version %d dropped: %d waiting", s.StreamID, s.Version, snapshotQueue))
	}
}

func (w *snapshotWriter) run() {
	defer close(w.done)
	for s := range w.queue {
		if err := w.store.SaveSnapshot(context.Background(), s); err != nil {
			w.onErr(fmt.Errorf("aggregate: store snapshot of %q: %w", s.StreamID, err))
		}
	}
}

func (w *snapshotWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}
