package saga

import (
	"context"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
)

// stateCache keeps instances' states as their last committed transaction
// left them. A transaction reads the versions of the instances it works
// on and takes from the cache only a state of the same version: the
// version grows with every write of the row (saveAll checks it), so a
// state changed by another process, or a transaction that rolled back
// after the cache was filled, is read from the table again.
type stateCache[D any] struct {
	mu  sync.Mutex
	max int
	m   map[string]*state[D]
}

// newStateCache returns a cache of up to n states, or nil when D cannot be
// cloned.
func newStateCache[D any](n int) *stateCache[D] {
	if _, ok := cloneOf(new(D)); !ok {
		return nil
	}
	return &stateCache[D]{max: n, m: make(map[string]*state[D])}
}

// copyOf returns a copy of st that shares no data with it (D implements
// eventual.Cloner: newStateCache checked).
func (c *stateCache[D]) copyOf(st *state[D]) *state[D] {
	cp := *st
	cp.data, _ = cloneOf(&st.data)
	cp.meta = st.meta.Clone()
	cp.entries, cp.encoded, cp.isNew = nil, nil, false
	return &cp
}

// get returns a copy of instance id's state if the cache holds it at
// version.
func (c *stateCache[D]) get(id string, version uint64) *state[D] {
	c.mu.Lock()
	st, ok := c.m[id]
	c.mu.Unlock()
	if !ok || st.version != version {
		return nil
	}
	return c.copyOf(st)
}

// committed records the states a transaction wrote or read, as they are
// once it committed; finished instances are dropped.
func (c *stateCache[D]) committed(states []*state[D]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range states {
		if st.status.finished() {
			delete(c.m, st.id)
			continue
		}
		if _, ok := c.m[st.id]; !ok && len(c.m) >= c.max {
			for id := range c.m { // make room: drop any one
				delete(c.m, id)
				break
			}
		}
		c.m[st.id] = st
	}
}

// forget drops instances the table does not hold (any more).
func (c *stateCache[D]) forget(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.m, id)
	}
}

// load reads the states of ids in tx: through the cache when there is
// one, reading only the versions of the instances and decoding the rows
// of those it does not hold at that version.
func (o *Orchestrator[D]) load(ctx context.Context, tx eventual.Tx, ids []string) (map[string]*state[D], error) {
	c := o.cache
	if c == nil || len(ids) == 0 {
		return loadAll[D](ctx, tx, o.def.name, ids)
	}
	versions, err := loadVersions(ctx, tx, o.def.name, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*state[D], len(ids))
	var miss, gone []string
	for _, id := range ids {
		v, ok := versions[id]
		if !ok {
			gone = append(gone, id)
		} else if st := c.get(id, v); st != nil {
			out[id] = st
		} else {
			miss = append(miss, id)
		}
	}
	if len(gone) > 0 {
		c.forget(gone)
	}
	if onStatesDecoded != nil {
		onStatesDecoded(len(miss))
	}
	if len(miss) == 0 {
		return out, nil
	}
	loaded, err := loadAll[D](ctx, tx, o.def.name, miss)
	if err != nil {
		return nil, err
	}
	for id, st := range loaded {
		out[id] = st
	}
	return out, nil
}

// onStatesDecoded, when set (by tests), is told how many rows a cached
// load decodes.
var onStatesDecoded func(n int)

// remember has the cache learn states once tx commits: the ones x changed
// as it wrote them, the others as they were read.
func (o *Orchestrator[D]) remember(x *txn[D], states []*state[D]) {
	c := o.cache
	if c == nil || len(states) == 0 {
		return
	}
	copies := make([]*state[D], len(states))
	for i, st := range states {
		cp := c.copyOf(st)
		if st.changed() {
			// As the row holds it, times in microseconds.
			cp.version = st.nextVersion()
			cp.recorded = st.encoded // historyEvent recorded it
			cp.updatedAt = micros(x.now)
			cp.startedAt = micros(st.startedAt)
			if !st.due.IsZero() {
				cp.due = micros(st.due)
			}
		}
		copies[i] = cp
	}
	x.tx.AfterCommit(func() { c.committed(copies) })
}

// micros is t as a row stores it.
func micros(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// loadVersions reads the versions of the instances of ids that exist.
func loadVersions(ctx context.Context, tx eventual.Tx, name string, ids []string) (map[string]uint64, error) {
	rows, err := selectInstances(ctx, tx, "id, version", name, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]uint64, len(ids))
	for rows.Next() {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = uint64(v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}
