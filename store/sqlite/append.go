package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/decide"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
)

// Append implements eventual.Store.
func (s *Store) Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error) {
	res, err := s.AppendMulti(ctx, eventual.AppendRequest{StreamID: streamID, Expected: expected, Events: events})
	if err != nil {
		return eventual.AppendResult{}, err
	}
	return res[0], nil
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

// commitBatch is the group commit: it writes a batch of requests in one
// transaction, deciding each request on its own.
func (s *Store) commitBatch(ctx context.Context, batch []*groupcommit.Request) {
	// A batch taken is written to the end; and with a context that can be
	// cancelled, the driver runs every statement on a goroutine of its own.
	ctx = context.WithoutCancel(ctx)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		w, err := s.newBatchWriter(ctx, tx)
		if err != nil {
			return err
		}
		var ids []string
		for _, r := range batch {
			for _, a := range r.Appends {
				ids = append(ids, a.StreamID)
			}
		}
		if err := w.load(ids); err != nil {
			return err
		}
		for _, r := range batch {
			var fatal error
			r.Results, r.Err, fatal = w.appendRequest(r.Appends, false)
			if fatal != nil {
				return fatal
			}
		}
		return w.flush()
	})
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

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) holding this
// process's writer lock, and commits if fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.checkOpen(); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
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
	return tx.Commit()
}

// streamState is a stream as one write transaction sees it.
type streamState struct {
	no      int64
	version uint64
	first   uint64
	deleted bool
	exists  bool // the stream exists (in the database or created by this transaction)
	created bool // created by this transaction: its row is inserted at flush
	dirty   bool // its version changed: its row is updated at flush
}

func (st *streamState) known() decide.Stream {
	return decide.Stream{Exists: st.exists, Version: st.version, Deleted: st.deleted}
}

// batchWriter appends inside one write transaction. It keeps the state of
// the streams it touched and writes their rows once, at flush.
type batchWriter struct {
	s       *Store
	ctx     context.Context
	tx      *sql.Tx
	now     int64 // recorded_at of every event written, unix µs
	streams map[string]*streamState
	nextNo  int64 // next stream_no to give, 0 until loaded
	insert  *sql.Stmt
}

const insertEventSQL = `INSERT INTO events (stream_no, version, stream_id, event_id, type, schema_version, data,
	correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) newBatchWriter(ctx context.Context, tx *sql.Tx) (*batchWriter, error) {
	// recorded_at never goes down along the log, whatever the clocks of the
	// processes writing do: time-range reads rely on it.
	now := s.opts.now().UnixMicro()
	var last sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1").Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return nil, err
	}
	// The transaction is bound to ctx; its statements need no cancellation
	// of their own, which costs the driver a goroutine per statement.
	ctx = context.WithoutCancel(ctx)
	return &batchWriter{s: s, ctx: ctx, tx: tx, now: max(now, last.Int64), streams: map[string]*streamState{}, insert: stmt}, nil
}

// load reads the rows of the given streams in one query, so that stream
// need not ask for them one by one.
func (w *batchWriter) load(ids []string) error {
	todo := ids[:0:0]
	for _, id := range ids {
		if _, ok := w.streams[id]; !ok {
			w.streams[id] = &streamState{first: 1} // not found unless read below
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	list, err := json.Marshal(todo)
	if err != nil {
		return err
	}
	rows, err := w.tx.QueryContext(w.ctx,
		"SELECT stream_id, stream_no, version, first_version, deleted_at FROM streams WHERE stream_id IN (SELECT value FROM json_each(?))", string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var deleted sql.NullInt64
		st := &streamState{exists: true}
		if err := rows.Scan(&id, &st.no, &st.version, &st.first, &deleted); err != nil {
			return err
		}
		st.deleted = deleted.Valid
		w.streams[id] = st
	}
	return rows.Err()
}

// stream returns the transaction's view of a stream.
func (w *batchWriter) stream(id string) (*streamState, error) {
	if st, ok := w.streams[id]; ok {
		return st, nil
	}
	if err := w.load([]string{id}); err != nil {
		return nil, err
	}
	return w.streams[id], nil
}

// lookup returns where each event's ID is stored, or nil for each new one.
func (w *batchWriter) lookup(events []eventual.EventData) ([]*decide.Stored, error) {
	out := make([]*decide.Stored, len(events))
	for i, e := range events {
		var loc decide.Stored
		err := w.tx.QueryRowContext(w.ctx,
			"SELECT stream_id, version, position FROM events WHERE event_id = ?", e.ID[:],
		).Scan(&loc.StreamID, &loc.Version, &loc.Position)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		default:
			out[i] = &loc
		}
	}
	return out, nil
}

// appendRequest appends one request's appends atomically. It returns the
// results, or the request's own error (conflict, deleted, invalid), or a
// fatal error that must abort the transaction.
//
// Stored event IDs are looked up only when needed: after a version conflict
// (the append may be a retry) and, with lookup set, for every append — the
// second pass after an insert hit a stored event ID.
func (w *batchWriter) appendRequest(appends []eventual.AppendRequest, lookup bool) (results []eventual.AppendResult, reqErr, fatal error) {
	type plan struct {
		i  int
		st *streamState
	}
	results = make([]eventual.AppendResult, len(appends))
	var plans []plan
	events := 0
	for i, a := range appends {
		st, err := w.stream(a.StreamID)
		if err != nil {
			return nil, nil, err
		}
		var stored []*decide.Stored
		if lookup {
			if stored, err = w.lookup(a.Events); err != nil {
				return nil, nil, err
			}
		}
		outcome, res, err := decide.Append(a, st.known(), stored)
		if errors.Is(err, eventual.ErrConflict) && !lookup {
			if stored, err = w.lookup(a.Events); err != nil {
				return nil, nil, err
			}
			outcome, res, err = decide.Append(a, st.known(), stored)
		}
		if err != nil {
			return nil, err, nil
		}
		if outcome == decide.Done {
			results[i] = res
			continue
		}
		plans = append(plans, plan{i, st})
		events += len(a.Events)
	}
	if len(plans) == 0 {
		return results, nil, nil
	}

	// A failed INSERT undoes itself; a request of several events needs a
	// savepoint to undo the ones before.
	savepoint := events > 1
	if savepoint {
		if _, err := w.tx.ExecContext(w.ctx, "SAVEPOINT request"); err != nil {
			return nil, nil, err
		}
	}
	saved := make([]streamState, len(plans))
	for j, p := range plans {
		saved[j] = *p.st
	}
	for _, p := range plans {
		res, err := w.write(p.st, appends[p.i])
		if err == nil {
			results[p.i] = res
			continue
		}
		for j, p := range plans {
			*p.st = saved[j]
		}
		if savepoint {
			if _, rerr := w.tx.ExecContext(w.ctx, "ROLLBACK TO request; RELEASE request"); rerr != nil {
				return nil, nil, rerr
			}
		}
		if isUniqueViolation(err) && !lookup {
			// An event ID is stored already: decide again knowing where.
			return w.appendRequest(appends, true)
		}
		return nil, nil, err
	}
	if savepoint {
		if _, err := w.tx.ExecContext(w.ctx, "RELEASE request"); err != nil {
			return nil, nil, err
		}
	}
	return results, nil, nil
}

// write inserts an append's events after the stream's head.
func (w *batchWriter) write(st *streamState, a eventual.AppendRequest) (eventual.AppendResult, error) {
	if !st.exists {
		no, err := w.newStreamNo()
		if err != nil {
			return eventual.AppendResult{}, err
		}
		st.no, st.exists, st.created, st.first = no, true, true, 1
	}
	res := eventual.AppendResult{StreamID: a.StreamID, FirstVersion: st.version + 1}
	for j, e := range a.Events {
		m := e.Metadata
		extra, err := encodeExtra(m.Extra)
		if err != nil {
			return eventual.AppendResult{}, err
		}
		r, err := w.insert.ExecContext(w.ctx, st.no, st.version+1+uint64(j), a.StreamID, e.ID[:], e.Type, e.SchemaVersion, e.Data,
			nullable(m.CorrelationID), nullable(m.CausationID), nullable(m.TenantID), nullable(m.UserID),
			nullable(m.TraceParent), nullable(m.TraceState), extra, w.now)
		if err != nil {
			return eventual.AppendResult{}, err
		}
		pos, err := r.LastInsertId()
		if err != nil {
			return eventual.AppendResult{}, err
		}
		if j == 0 {
			res.FirstPosition = uint64(pos)
		}
		res.LastPosition = uint64(pos)
	}
	st.version += uint64(len(a.Events))
	st.dirty = true
	res.LastVersion = st.version
	return res, nil
}

func (w *batchWriter) newStreamNo() (int64, error) {
	if w.nextNo == 0 {
		var maxNo int64
		if err := w.tx.QueryRowContext(w.ctx, "SELECT COALESCE(MAX(stream_no), 0) FROM streams").Scan(&maxNo); err != nil {
			return 0, err
		}
		w.nextNo = maxNo + 1
	}
	w.nextNo++
	return w.nextNo - 1, nil
}

// flush writes the rows of the streams the transaction changed, in one
// statement.
func (w *batchWriter) flush() error {
	type row struct {
		No      int64  `json:"n"`
		ID      string `json:"i"`
		Version uint64 `json:"v"`
	}
	var changed []row
	for id, st := range w.streams {
		if st.created || st.dirty {
			changed = append(changed, row{st.no, id, st.version})
			st.created, st.dirty = false, false
		}
	}
	if len(changed) == 0 {
		return nil
	}
	list, err := json.Marshal(changed)
	if err != nil {
		return err
	}
	_, err = w.tx.ExecContext(w.ctx, `INSERT INTO streams (stream_no, stream_id, version, first_version, created_at)
		SELECT value->>'n', value->>'i', value->>'v', 1, ? FROM json_each(?) WHERE true
		ON CONFLICT (stream_no) DO UPDATE SET version = excluded.version`, w.now, string(list))
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

func encodeExtra(extra map[string]string) (any, error) {
	if len(extra) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
