package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/flatjson"
	"github.com/eventual-go/eventual/store/internal/decide"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// Append implements eventual.Store.
func (s *Store) Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error) {
	return plan.First(s.AppendMulti(ctx, eventual.AppendRequest{StreamID: streamID, Expected: expected, Events: events}))
}

// AppendMulti implements eventual.Store.
func (s *Store) AppendMulti(ctx context.Context, appends ...eventual.AppendRequest) ([]eventual.AppendResult, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	appends, err := eventual.PrepareAppend(appends, s.opts.maxEventSize)
	if err != nil {
		return nil, err
	}
	return s.committer.Do(ctx, appends)
}

// commitBatch is the group commit: one transaction for a batch of requests.
func (s *Store) commitBatch(ctx context.Context, b *groupcommit.Batch) {
	batch := b.All()
	err := s.commitOn(ctx, batch)
	if err != nil {
		err = s.wrapErr(ctx, err, "append")
		for _, r := range batch {
			if r.Err == nil {
				r.Results, r.Err = nil, err
			}
		}
		return
	}
	s.signal.Notify()
}

func (s *Store) commitOn(ctx context.Context, batch []*groupcommit.Request) error {
	if !s.unordered {
		err := s.fastCommit(ctx, batch)
		if !errors.Is(err, errSlowPath) {
			return err
		}
	}
	conn, err := s.writers.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	w := &batchWriter{s: s, q: conn, ownTx: true, lock: true}
	retry, err := w.write(ctx, batch)
	if retry {
		// An event ID was stored already: decide again, knowing where
		// every event ID of the batch is stored.
		w.lookupAll = true
		_, err = w.write(ctx, batch)
	}
	if err == nil && w.plan != nil {
		s.heads.put(w.plan.Streams, w.generation)
	}
	return err
}

// batchWriter writes appends in one transaction.
type batchWriter struct {
	s     *Store
	q     dbtx
	ownTx bool // send BEGIN and COMMIT (the group commit) or not (InTx)
	lock  bool // take the append lock first
	// lookupAll looks up every event ID before deciding. Without it, only
	// the IDs of an append that conflicts are looked up, and an insert of
	// an ID stored already fails the transaction, to be retried with it.
	lookupAll bool
	plan      *plan.Batch // the last plan written
	// generation is stream_changes' generation the heads of the last plan
	// were read at (ownTx only; see headCache).
	generation int64
}

// write writes the batch's requests, setting each one's Results or Err. It
// returns retry when an insert hit a stored event ID without lookupAll, and
// a non-nil error when the transaction failed as a whole.
func (w *batchWriter) write(ctx context.Context, batch []*groupcommit.Request) (retry bool, err error) {
	s := w.s
	streamIDs, eventIDs, total := plan.StreamIDs(batch)

	// Round trip 1: begin, lock, read the streams, (the stored IDs,) the
	// last recorded time, and take the positions.
	b := &pgx.Batch{}
	if w.ownTx {
		b.Queue("BEGIN")
	}
	lock := w.lock && !s.unordered
	if lock {
		b.Queue(s.q.lock, s.lockKey)
	}
	if w.ownTx {
		b.Queue(s.q.generation)
	}
	b.Queue(s.q.streams, streamIDs)
	if w.lookupAll {
		b.Queue(s.q.lookup, eventIDs)
	}
	b.Queue(s.q.lastRecorded)
	b.Queue(s.q.positions, total)
	p := plan.New()
	w.plan = p
	var lastRecorded time.Time
	positions := make([]int64, 0, total)
	err = w.roundTrip(ctx, b, func(br pgx.BatchResults) error {
		if w.ownTx {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		if lock {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		if w.ownTx {
			if err := br.QueryRow().Scan(&w.generation); err != nil {
				return err
			}
		}
		if err := readStreams(br, p.Streams); err != nil {
			return err
		}
		if w.lookupAll {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			if err := scanStored(rows, p.Stored); err != nil {
				return err
			}
		}
		if err := br.QueryRow().Scan(&lastRecorded); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var pos int64
		_, err = pgx.ForEachRow(rows, []any{&pos}, func() error {
			positions = append(positions, pos)
			return nil
		})
		return err
	})
	if err != nil {
		return false, err
	}

	// Decide each request in order against the batch's view. Under the
	// lock the positions are consecutive; sorted, they go out in order
	// either way.
	slices.Sort(positions)
	p.NextPosition = func() (uint64, error) {
		pos := positions[0]
		positions = positions[1:]
		return uint64(pos), nil
	}
	if !w.lookupAll {
		p.Lookup = func(events []eventual.EventData) error {
			ids := make([]uuid.UUID, len(events))
			for i, e := range events {
				ids[i] = e.ID
			}
			rows, err := w.q.Query(ctx, s.q.lookup, ids)
			if err != nil {
				return err
			}
			return scanStored(rows, p.Stored)
		}
	}
	for _, r := range batch {
		if err := p.Plan(r); err != nil {
			return false, w.abort(ctx, err)
		}
	}
	now := plan.Recorded(s.opts.now(), lastRecorded)

	// Round trip 2: insert, update the streams, notify, commit.
	b = &pgx.Batch{}
	if len(p.Rows) > 0 {
		var out rows
		for _, r := range p.Rows {
			out.add(r, now)
		}
		b.Queue(s.q.insertEvents, out.positions, out.streams, out.versions, out.ids, out.types, out.schemas, out.data,
			out.corr, out.caus, out.tenant, out.user, out.tpar, out.tsta, out.extra, out.recorded)
		// Only new streams are written: a stream's head is its last event.
		var ids []string
		var versions []int64
		for id, st := range p.Streams {
			if st.Created {
				ids = append(ids, id)
				versions = append(versions, int64(st.Version))
			}
		}
		if len(ids) > 0 {
			b.Queue(s.q.insertStreams, ids, versions, now)
		}
		b.Queue(s.q.notify, s.channel, strconv.FormatInt(out.positions[len(out.positions)-1], 10))
	}
	if w.ownTx {
		b.Queue("COMMIT")
	}
	if b.Len() == 0 {
		return false, nil
	}
	err = w.roundTrip(ctx, b, func(br pgx.BatchResults) error {
		for range b.Len() {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "events_event_id" && !w.lookupAll {
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// roundTrip sends a batch and reads its results with read. On failure it
// rolls the transaction back if the writer owns it.
func (w *batchWriter) roundTrip(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := w.q.SendBatch(ctx, b)
	err := read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return w.abort(ctx, err)
	}
	return nil
}

// abort rolls the owned transaction back and returns err.
func (w *batchWriter) abort(ctx context.Context, err error) error {
	if w.ownTx {
		_, _ = w.q.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

func readStreams(br pgx.BatchResults, view map[string]*plan.Stream) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v, first int64
		var deleted bool
		if err := rows.Scan(&id, &v, &first, &deleted); err != nil {
			return err
		}
		view[id] = &plan.Stream{Exists: true, Deleted: deleted, Version: uint64(v)}
	}
	return rows.Err()
}

func scanStored(rows pgx.Rows, stored map[uuid.UUID]decide.Stored) error {
	defer rows.Close()
	for rows.Next() {
		var id [16]byte
		var loc decide.Stored
		var v, p int64
		if err := rows.Scan(&id, &loc.StreamID, &v, &p); err != nil {
			return err
		}
		loc.Version, loc.Position = uint64(v), uint64(p)
		stored[uuid.UUID(id)] = loc
	}
	return rows.Err()
}

// rows are the columns of the events to insert.
type rows struct {
	positions, versions                  []int64
	streams, types                       []string
	ids                                  [][16]byte
	schemas                              []int32
	data, extra                          [][]byte
	corr, caus, tenant, user, tpar, tsta []*string
	recorded                             []time.Time
}

// add appends row to the columns, recorded at now.
func (r *rows) add(row plan.Row, now time.Time) {
	e, m := row.Event, row.Event.Metadata
	var extra []byte
	if len(m.Extra) > 0 {
		extra = flatjson.MarshalStringMap(m.Extra)
	}
	r.positions = append(r.positions, int64(row.Position))
	r.streams = append(r.streams, row.StreamID)
	r.versions = append(r.versions, int64(row.Version))
	r.ids = append(r.ids, [16]byte(e.ID))
	r.types = append(r.types, e.Type)
	r.schemas = append(r.schemas, int32(e.SchemaVersion))
	r.data = append(r.data, e.Data)
	r.corr = append(r.corr, nullable(m.CorrelationID))
	r.caus = append(r.caus, nullable(m.CausationID))
	r.tenant = append(r.tenant, nullable(m.TenantID))
	r.user = append(r.user, nullable(m.UserID))
	r.tpar = append(r.tpar, nullable(m.TraceParent))
	r.tsta = append(r.tsta, nullable(m.TraceState))
	r.extra = append(r.extra, extra)
	r.recorded = append(r.recorded, now)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// GroupCommitStats implements eventual.GroupCommitReporter: the group
// commit of Append and AppendMulti (InTx transactions are not counted).
func (s *Store) GroupCommitStats() eventual.GroupCommitStats { return s.committer.Stats() }
