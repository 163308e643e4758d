package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

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

// errUnique means an insert met a unique index: an event ID stored
// already, or (a safety net) a version the stream cache thought free. The
// batch is written again with an empty cache, knowing where every one of
// its event IDs is stored.
var errUnique = errors.New("an insert met a unique index")

// commitBatch is the group commit: one transaction for a batch of requests,
// each decided on its own. It writes the requests as they arrive and
// commits when the batch is complete, so that inserting the first ones
// overlaps with the others being made.
func (s *Store) commitBatch(ctx context.Context, b *groupcommit.Batch) {
	// A batch taken is written to the end; and with a context that can be
	// cancelled, the driver runs every statement on a goroutine of its own.
	ctx = context.WithoutCancel(ctx)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		w, err := s.newWriter(ctx, tx, readWriteCache, false)
		if err != nil {
			return err
		}
		for {
			for r := b.TryNext(); r != nil; r = b.TryNext() {
				if err := w.add(r); err != nil {
					return err
				}
			}
			if err := w.flushRows(); err != nil { // before waiting for more
				return err
			}
			if !b.Wait() {
				return w.finish()
			}
		}
	})
	if errors.Is(err, errUnique) {
		s.cache.clear()
		err = s.writeTx(ctx, func(tx *sql.Tx) error {
			w, err := s.newWriter(ctx, tx, noCache, true)
			if err != nil {
				return err
			}
			for _, r := range b.Requests() {
				if err := w.add(r); err != nil {
					return err
				}
			}
			return w.finish()
		})
	}
	if err != nil {
		for b.TryNext() != nil { // the ones taken but not read fail too
		}
		s.cache.clear()
		err = s.wrapErr(ctx, err, "append")
		for _, r := range b.Requests() {
			if r.Err == nil {
				r.Results, r.Err = nil, err
			}
		}
		return
	}
	var last uint64 // the batch's last position: what it wrote, or found stored
	for _, r := range b.Requests() {
		for _, res := range r.Results {
			last = max(last, res.LastPosition)
		}
	}
	s.noteCommitted(last)
	s.signal.Notify()
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) holding this
// process's writer lock, and commits if fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	return s.writeTxSync(ctx, false, fn, nil)
}

// writeTxSync is writeTx, then calls done (if any) with the outcome (nil:
// committed) while it still holds the writer, so that no other
// transaction starts in between. With noSync, on a store that flushes
// every commit, the transaction commits without waiting for the flush.
func (s *Store) writeTxSync(ctx context.Context, noSync bool, fn func(tx *sql.Tx) error, done func(error)) (err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if done != nil {
		defer func() { done(err) }()
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := s.setSync(ctx, noSync); err != nil {
		return err
	}
	// The transaction is begun without ctx's cancellation: go-sqlite3 runs
	// a statement under a cancellable context (here BEGIN) in a goroutine
	// of its own, and the transaction's statements run without it anyway
	// (tx.Exec). A ctx that ends before the commit still rolls the
	// transaction back.
	tx, err := s.w.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	return tx.Commit()
}

// setSync sets the writer connection's synchronous level for the next
// transaction: NORMAL for a noSync one on a store that flushes every
// commit, else the store's own. The level can only change between
// transactions, so it is set before each one that needs another level
// than the last: a level that could not be put back fails the next
// transaction rather than let it commit without the flush it was promised.
// The caller holds wmu.
func (s *Store) setSync(ctx context.Context, noSync bool) error {
	want := s.opts.synchronous
	if noSync {
		want = SyncNormal
	}
	if want == s.syncLevel {
		return nil
	}
	if _, err := s.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = "+string(want)); err != nil {
		return s.wrapErr(ctx, err, "set synchronous")
	}
	s.syncLevel = want
	return nil
}

// onStreamRead, when set (by tests), is told of the streams each writer
// reads from the database.
var onStreamRead func(ids []string)

// cacheUse says how a writer uses the store's stream cache.
type cacheUse int

const (
	noCache        cacheUse = iota // reads every stream from the database
	readCache                      // reads the cache, records nothing in it
	readWriteCache                 // reads and records as it goes
)

// writer writes appends in one write transaction: add plans each request
// in memory, flushRows inserts the planned events, finish writes the new
// streams. Requests that fail get their own error and write nothing.
type writer struct {
	s   *Store
	ctx context.Context
	tx  *sql.Tx
	// cache makes the writer read streams from the store's stream
	// cache; writeCache makes it also record there what it reads and
	// writes. Only the group commit writes while the transaction is open:
	// an InTx transaction may still roll back, so InTx records its
	// streams once committed (tx.commitCache).
	cache, writeCache bool
	// lookupAll looks up the event IDs of each request before deciding
	// (in a transaction, those of requests that need it: addLooking), so
	// that no insert fails; otherwise an insert that meets a stored ID
	// fails the batch with errUnique. IDs are looked up after a version
	// conflict either way.
	lookupAll bool
	p         *plan.Batch
	now       int64 // recorded_at of the events written, unix µs
	written   int   // rows of p.Rows inserted
	// args holds the arguments of one INSERT, and opt its rows' optional
	// columns, reused from one to the next.
	args []any
	opt  []rowArgs
	// absent, when set (by a transaction), names streams known not to
	// exist: loadStreams takes them as such without a query.
	absent map[string]bool
	// since are the streams of the requests added since the last finish
	// (with repeats): finish looks at those, not at every stream the
	// writer has seen in its transaction.
	since []string
}

func (s *Store) newWriter(ctx context.Context, tx *sql.Tx, cache cacheUse, lookupAll bool) (*writer, error) {
	var lastPos, lastRecorded, dataVersion, maxNo int64
	err := tx.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
		COALESCE((SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1), 0),
		(SELECT data_version FROM pragma_data_version()),
		COALESCE((SELECT MAX(stream_no) FROM streams), 0)`).Scan(&lastPos, &lastRecorded, &dataVersion, &maxNo)
	if err != nil {
		return nil, err
	}
	if cache != noCache {
		// data_version changes when another connection (another process)
		// commits: what the cache knows may be stale then.
		s.cache.validate(dataVersion)
	}
	w := &writer{s: s, ctx: ctx, tx: tx, cache: cache != noCache, writeCache: cache == readWriteCache, lookupAll: lookupAll, p: plan.New(),
		now: plan.Recorded(s.opts.now(), time.UnixMicro(lastRecorded)).UnixMicro()}
	// After a conflict the IDs are looked up, even with lookupAll: a
	// transaction looks up first only the requests that need it.
	w.p.Lookup = func(events []eventual.EventData) error {
		ids := make([]uuid.UUID, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		return w.lookup(ids)
	}
	w.p.NextPosition = func() (uint64, error) {
		lastPos++
		return uint64(lastPos), nil
	}
	w.p.OnCreate = func(_ string, st *plan.Stream) error {
		maxNo++
		st.No = maxNo
		return nil
	}
	return w, nil
}

// add plans one request, reading the streams it needs first, and with
// lookupAll where its event IDs are stored.
func (w *writer) add(r *groupcommit.Request) error { return w.addLooking(r, w.lookupAll) }

// addLooking is add, looking event IDs up first only with lookup (a
// transaction passes plan.LookUpFirst; the others are looked up after a
// version conflict).
func (w *writer) addLooking(r *groupcommit.Request, lookup bool) error {
	var todo []string
	for _, a := range r.Appends {
		w.since = append(w.since, a.StreamID)
		if _, ok := w.p.Streams[a.StreamID]; !ok {
			todo = append(todo, a.StreamID)
		}
	}
	if err := w.loadStreams(todo); err != nil {
		return err
	}
	if lookup {
		var ids []uuid.UUID
		for _, a := range r.Appends {
			for _, e := range a.Events {
				ids = append(ids, e.ID)
			}
		}
		if err := w.lookup(ids); err != nil {
			return err
		}
	}
	return w.p.Plan(r)
}

// planned returns the events of streamID from version from on (up to
// limit; 0: all), as they will be read once committed, when this writer
// planned every one of them: from its first planned version to the
// stream's head. Otherwise ok is false and the caller queries.
func (w *writer) planned(streamID string, from uint64, limit int) (events []eventual.RecordedEvent, ok bool) {
	st, found := w.p.Streams[streamID]
	if !found || !st.Changed || st.Deleted || from > st.Version {
		return nil, false
	}
	first := uint64(0)
	for _, r := range w.p.Rows {
		if r.StreamID != streamID {
			continue
		}
		if first == 0 {
			if first = r.Version; first > from {
				return nil, false
			}
		}
		if r.Version >= from && (limit <= 0 || len(events) < limit) {
			events = append(events, recordedOf(r, w.now))
		}
	}
	return events, first != 0
}

// recordedOf is a planned row as a read returns it once stored.
func recordedOf(r plan.Row, now int64) eventual.RecordedEvent {
	e := r.Event
	md := e.Metadata
	md.Extra = nil
	if len(e.Metadata.Extra) > 0 {
		md.Extra = maps.Clone(e.Metadata.Extra)
	}
	return eventual.RecordedEvent{ID: e.ID, StreamID: r.StreamID, Version: r.Version, Position: r.Position, Type: e.Type,
		SchemaVersion: e.SchemaVersion, Data: bytes.Clone(e.Data), Metadata: md, RecordedAt: time.UnixMicro(now).UTC()}
}

// flushRows inserts the rows planned since the last flush.
func (w *writer) flushRows() error {
	rows := w.p.Rows[w.written:]
	if len(rows) == 0 {
		return nil
	}
	if err := w.insertEvents(rows); err != nil {
		if isUniqueViolation(err) && !w.lookupAll {
			return errUnique
		}
		return err
	}
	w.written = len(w.p.Rows)
	return nil
}

// lastWritten returns the position of the last row inserted (0: none).
func (w *writer) lastWritten() uint64 {
	if w.written == 0 {
		return 0
	}
	return w.p.Rows[w.written-1].Position
}

// finish inserts what is left and the rows of the streams created, and
// updates the stream cache.
func (w *writer) finish() error {
	if err := w.flushRows(); err != nil {
		return err
	}
	if err := w.insertStreams(); err != nil {
		return err
	}
	// The streams are written: a transaction's next Append, planned by
	// this writer too, must not insert them again.
	for _, id := range w.since {
		st, ok := w.p.Streams[id]
		if !ok {
			continue
		}
		if w.writeCache && st.Changed {
			w.s.cache.put(id, st.No, st.Version)
		}
		st.Created, st.Exists = false, st.Exists || st.Created
	}
	w.since = w.since[:0]
	return nil
}

// loadStreams adds streams to the plan's view: from the cache, and from
// the database for the rest in one query. Streams not found do not exist.
func (w *writer) loadStreams(ids []string) error {
	p := w.p
	var todo []string
	for _, id := range ids {
		if w.absent[id] {
			p.Streams[id] = &plan.Stream{}
			continue
		}
		if w.cache {
			if c, ok := w.s.cache.get(id); ok {
				p.Streams[id] = &plan.Stream{Exists: true, Deleted: c.deleted, Version: c.version, No: c.no}
				continue
			}
		}
		todo = append(todo, id)
	}
	if len(todo) == 0 {
		return nil
	}
	if onStreamRead != nil {
		onStreamRead(todo)
	}
	var rows *sql.Rows
	var err error
	if len(todo) == 1 { // most appends in a transaction: no JSON to build and parse
		rows, err = w.tx.QueryContext(w.ctx, "SELECT "+streamColumns+" FROM streams s WHERE stream_id = ?", todo[0])
	} else {
		list, jerr := json.Marshal(todo)
		if jerr != nil {
			return jerr
		}
		rows, err = w.tx.QueryContext(w.ctx, "SELECT "+streamColumns+" FROM streams s WHERE stream_id IN (SELECT value FROM json_each(?))", string(list))
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		st, err := scanStream(rows)
		if err != nil {
			return err
		}
		p.Streams[st.id] = &plan.Stream{Exists: true, Deleted: st.deleted, Version: st.version, No: st.no}
		if w.writeCache {
			w.s.cache.putStored(st)
		}
	}
	return rows.Err()
}

// onLookup, when set (by tests), is told of the event IDs each writer
// looks up.
var onLookup func(ids []uuid.UUID)

// lookup adds where the given event IDs are stored to the plan.
func (w *writer) lookup(ids []uuid.UUID) error {
	stored := w.p.Stored
	if len(ids) == 0 {
		return nil
	}
	if onLookup != nil {
		onLookup(ids)
	}
	const columns = "SELECT event_id, stream_id, version, position FROM events WHERE "
	var rows *sql.Rows
	var err error
	if len(ids) == 1 { // an append of one event: no JSON to build and parse
		rows, err = w.tx.QueryContext(w.ctx, columns+"event_id = ?", ids[0][:])
	} else {
		hexIDs := make([]string, len(ids))
		for i, id := range ids {
			hexIDs[i] = hex.EncodeToString(id[:])
		}
		list, jerr := json.Marshal(hexIDs)
		if jerr != nil {
			return jerr
		}
		rows, err = w.tx.QueryContext(w.ctx, columns+"event_id IN (SELECT unhex(value) FROM json_each(?))", string(list))
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		var loc decide.Stored
		if err := rows.Scan(&raw, &loc.StreamID, &loc.Version, &loc.Position); err != nil {
			return err
		}
		id, err := uuid.FromBytes(raw)
		if err != nil {
			return err
		}
		stored[id] = loc
	}
	return rows.Err()
}

// insertStreams writes the rows of the streams the batch created. The
// streams it appended to need no write: a stream's head is its last event.
func (w *writer) insertStreams() error {
	streams, now := w.p.Streams, w.now
	type row struct {
		No      int64  `json:"n"`
		ID      string `json:"i"`
		Version uint64 `json:"v"`
	}
	var created []row
	var seen map[string]bool // when a stream may repeat
	if len(w.since) > 1 {
		seen = make(map[string]bool, len(w.since))
	}
	for _, id := range w.since {
		if st, ok := streams[id]; ok && st.Created && !seen[id] {
			created = append(created, row{st.No, id, st.Version})
			if seen != nil {
				seen[id] = true
			}
		}
	}
	var err error
	switch len(created) {
	case 0:
		return nil
	case 1: // a transaction's append, mostly: no JSON to build and parse
		c := created[0]
		_, err = w.tx.ExecContext(w.ctx, `INSERT INTO streams (stream_no, stream_id, version, first_version, created_at)
			VALUES (?, ?, ?, 1, ?)`, c.No, c.ID, int64(c.Version), now)
	default:
		list, jerr := json.Marshal(created)
		if jerr != nil {
			return jerr
		}
		_, err = w.tx.ExecContext(w.ctx, `INSERT INTO streams (stream_no, stream_id, version, first_version, created_at)
			SELECT value->>'n', value->>'i', value->>'v', 1, ? FROM json_each(?)`, now, string(list))
	}
	if err != nil {
		return fmt.Errorf("write streams: %w", err)
	}
	return nil
}

// nullable stores empty strings as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodeExtra stores metadata's Extra as its JSON object, NULL when empty.
func encodeExtra(extra map[string]string) any {
	if len(extra) == 0 {
		return nil
	}
	return string(flatjson.MarshalStringMap(extra))
}

// GroupCommitStats implements eventual.GroupCommitReporter: the group
// commit of Append and AppendMulti (InTx transactions are not counted).
func (s *Store) GroupCommitStats() eventual.GroupCommitStats { return s.committer.Stats() }
