package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// The fast path of the group commit writes a batch with one statement,
// append_batch (migrations 00002, 00004, 00005): the client decides every
// append against the stream heads it believes current, and the function
// checks them under the append lock before writing. Beliefs come from a
// cache of the heads this store wrote or read, or, for a stream it has not
// seen, from the append's own expected version. When a belief was wrong, or
// the batch needs what only the database knows (an event ID stored already,
// a conflict that may be a retry, a stream nobody expects anything of), the
// batch goes the slow path: two round trips that read the heads under the
// lock first.

// errSlowPath asks for the slow path.
var errSlowPath = errors.New("postgres: batch needs the slow path")

// maxCachedHeads bounds the cache of stream heads; it is emptied when full.
const maxCachedHeads = 100_000

// headCache remembers stream heads. A stale entry costs a slow path, never
// a wrong write: append_batch checks every head it is given, except a known
// head read at the current generation of stream_changes (the count of
// statements that changed or removed streams rows: deletions,
// truncations), which cannot have gone stale in a way the version index
// misses. Each entry keeps the generation it was read (or written) at,
// under the append lock, in the same transaction.
type headCache struct {
	mu sync.Mutex
	m  map[string]cachedHead
}

type cachedHead struct {
	version uint64
	gen     int64
}

func (c *headCache) get(id string) (cachedHead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[id]
	return h, ok
}

// put records the heads of streams, read (or written) at generation gen.
func (c *headCache) put(streams map[string]*plan.Stream, gen int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(streams) > maxCachedHeads {
		c.m = make(map[string]cachedHead, len(streams))
	}
	for id, st := range streams {
		if st.Exists && !st.Deleted {
			c.m[id] = cachedHead{version: st.Version, gen: gen}
		} else {
			delete(c.m, id)
		}
	}
}

func (c *headCache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.m, id)
	}
}

// fastCommit tries the fast path. It returns errSlowPath when the batch
// must take the slow path; nothing was written then.
func (s *Store) fastCommit(ctx context.Context, batch []*groupcommit.Request) error {
	p := plan.New()
	cached := map[string]int64{} // stream → the generation its cached head was read at
	for _, r := range batch {
		for _, a := range r.Appends {
			if _, ok := p.Streams[a.StreamID]; ok {
				continue
			}
			if h, ok := s.heads.get(a.StreamID); ok {
				p.Streams[a.StreamID] = &plan.Stream{Exists: true, Version: h.version}
				cached[a.StreamID] = h.gen
			} else if v, ok := a.Expected.Version(); ok {
				p.Streams[a.StreamID] = &plan.Stream{Exists: true, Version: v}
			} else if a.Expected == eventual.NoStream {
				p.Streams[a.StreamID] = &plan.Stream{}
			} else {
				return errSlowPath // Any or StreamExists of an unknown stream
			}
		}
	}
	// What the batch believes, to be checked by append_batch.
	ids := make([]string, 0, len(p.Streams))
	heads := make([]int64, 0, len(p.Streams))
	for id, st := range p.Streams {
		ids = append(ids, id)
		if st.Exists {
			heads = append(heads, int64(st.Version))
		} else {
			heads = append(heads, -1)
		}
	}
	// Positions are only known once written: plan with 1, 2, 3, … and map
	// them to the real ones after.
	var n uint64
	p.NextPosition = func() (uint64, error) { n++; return n, nil }
	p.Lookup = func([]eventual.EventData) error { return errSlowPath } // may be a retry
	for _, r := range batch {
		if err := p.Plan(r); err != nil {
			return err
		}
	}
	if len(p.Rows) == 0 {
		return errSlowPath // conflicts decided on beliefs only: check them slowly
	}
	// A head this store wrote or read needs no check when the batch
	// appends to the stream: a newer append by anyone else makes the insert
	// of the next version fail on the (stream_id, version) index, and
	// append_batch checks the streams row (deleted, truncated) only if a
	// streams row changed since the generation the head was read at. A
	// head the batch appends nothing to (a request decided a conflict on
	// it) or took from an append's expected version is checked in full.
	known := make([]bool, len(ids))
	gens := make([]int64, len(ids))
	for i, id := range ids {
		gen, ok := cached[id]
		known[i] = ok && p.Streams[id].Changed
		gens[i] = gen
	}

	now := plan.Recorded(s.opts.now(), time.Time{})
	var out rows
	for _, r := range p.Rows {
		out.add(r, now)
	}
	var newIDs []string
	var newVersions []int64
	for id, st := range p.Streams {
		if st.Created {
			newIDs = append(newIDs, id)
			newVersions = append(newVersions, int64(st.Version))
		}
	}
	conn, err := s.writers.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var first, current int64
	err = conn.QueryRow(ctx, s.q.appendBatch, s.lockKey, ids, heads, known, gens,
		out.streams, out.versions, out.ids, out.types, out.schemas, out.data,
		out.corr, out.caus, out.tenant, out.user, out.tpar, out.tsta, out.extra,
		newIDs, newVersions, s.channel, now).Scan(&first, &current)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "EV001" || pe.Code == "23505") {
			// A belief was wrong, or an event ID is stored already.
			s.heads.drop(ids...)
			return errSlowPath
		}
		return err
	}
	if first < 1 {
		return fmt.Errorf("postgres: append_batch returned first position %d", first)
	}
	// The batch's events took consecutive positions, in order.
	real := func(placeholder uint64) uint64 { return uint64(first) + placeholder - 1 }
	for _, r := range batch {
		for i := range r.Results {
			res := &r.Results[i]
			res.FirstPosition, res.LastPosition = real(res.FirstPosition), real(res.LastPosition)
		}
	}
	s.heads.put(p.Streams, current)
	return nil
}
