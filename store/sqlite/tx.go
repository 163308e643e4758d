package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
	"github.com/eventual-go/eventual/store/internal/iterate"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// InTx implements eventual.TxStore. The transaction holds the database's
// single writer until fn returns: inside fn, append through tx, never
// through the Store, which would wait for the transaction to end.
func (s *Store) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return s.inTx(ctx, false, fn)
}

// InTxNoSync implements eventual.NoSyncTxStore: InTx, committed with
// PRAGMA synchronous = NORMAL, so that the commit writes the WAL without
// waiting for fsync. The next durable transaction's fsync flushes it with
// its own. On a store opened with SyncNormal it is InTx.
func (s *Store) InTxNoSync(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return s.inTx(ctx, true, fn)
}

func (s *Store) inTx(ctx context.Context, noSync bool, fn func(tx eventual.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &tx{s: s}
	err := s.writeTxSync(ctx, noSync, func(stx *sql.Tx) error {
		t.tx = stx
		if err := fn(t); err != nil {
			return err
		}
		return t.flush(ctx) // the rows of the last appends
	}, t.commitCache)
	if err != nil {
		return err
	}
	if len(t.touched) > 0 {
		s.signal.Notify()
	}
	t.afterCommit.Run()
	return nil
}

// tx is a write transaction handed to InTx's fn.
type tx struct {
	s       *Store
	tx      *sql.Tx
	lastID  int64           // SQLite's last_insert_rowid after the last Exec
	touched map[string]bool // streams appended to
	// heads are the streams appended to, as they are once committed.
	heads map[string]cachedStream
	// uncached is set once a writer failed: the next one reads every
	// stream from the database, where this transaction's own appends are
	// (the stream cache holds only what is committed).
	uncached bool
	// validated: the stream cache was checked against data_version in
	// this transaction (a writer does it when it starts).
	validated bool
	// pending: appends were planned whose rows are not written yet. They
	// are written together before the transaction's next statement (so
	// that it sees them) or before the commit: an inbox batch of appends
	// becomes a few multi-row INSERTs.
	pending bool
	// broken is why rows of appends that returned success can no longer
	// be written: every later call, and the commit, fail with it.
	broken      error
	afterCommit plan.AfterCommit
	// w plans and writes the transaction's appends: kept from one Append
	// to the next, so that the streams and event IDs it has seen are not
	// read again (a batch of inbox handlers appends once per message).
	w *writer
	// last is the position of the last event written (0 after a
	// rollback to a savepoint: not known).
	last uint64
	// absent are streams a read of this transaction found missing, and
	// that it has not appended to since: an append that creates one
	// (loading an aggregate, then saving its first events) needs no
	// second query. Used while the transaction trusts what it knows (not
	// uncached): nobody else writes while it holds the writer.
	absent map[string]bool
}

func (t *tx) AfterCommit(fn func()) { t.afterCommit.Add(fn) }

// flush writes the rows of the appends planned since the last flush. If
// it fails, the transaction is broken: those appends returned success.
func (t *tx) flush(ctx context.Context) error {
	if t.broken != nil {
		return t.broken
	}
	if !t.pending || t.w == nil {
		return nil
	}
	t.pending = false
	w := t.w
	defer func() { t.last = max(t.last, w.lastWritten()) }() // rows written stay, even if the rest fail
	if err := w.finish(); err != nil {
		if isUniqueViolation(err) {
			// The cache said a stream was at an older version than it
			// is: it must not be trusted again.
			t.s.cache.clear()
		}
		t.w, t.uncached = nil, true
		t.broken = t.s.wrapErr(ctx, err, "append")
		return t.broken
	}
	return nil
}

// commitCache brings the stream cache up to date once the transaction
// ended (err nil: committed), before the next one starts: the streams it
// appended to get their new heads, or are forgotten if it rolled back.
func (t *tx) commitCache(err error) {
	if err == nil && t.last > 0 {
		t.s.noteCommitted(t.last)
	}
	for id := range t.touched {
		if h, ok := t.heads[id]; ok && err == nil {
			t.s.cache.set(id, h)
		} else {
			t.s.cache.drop(id)
		}
	}
}

var _ eventual.Tx = (*tx)(nil)

func (t *tx) Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error) {
	return plan.First(t.AppendMulti(ctx, eventual.AppendRequest{StreamID: streamID, Expected: expected, Events: events}))
}

func (t *tx) AppendMulti(ctx context.Context, appends ...eventual.AppendRequest) ([]eventual.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lookUpFirst := plan.LookUpFirst(appends)
	appends, err := eventual.PrepareAppend(appends, t.s.opts.maxEventSize)
	if err != nil {
		return nil, err
	}
	if t.broken != nil {
		return nil, t.broken
	}
	if t.w == nil {
		// No insert may meet a stored event ID: IDs are looked up first,
		// or after a version conflict where a retry would meet one
		// (plan.LookUpFirst).
		use := readCache
		if t.uncached {
			use = noCache
		}
		w, err := t.s.newWriter(context.WithoutCancel(ctx), t.tx, use, true)
		if err != nil {
			return nil, t.s.wrapErr(ctx, err, "append")
		}
		t.w = w
	}
	r := groupcommit.NewRequest(appends)
	if t.touched == nil {
		t.touched, t.heads = map[string]bool{}, map[string]cachedStream{}
	}
	for _, a := range appends {
		t.touched[a.StreamID] = true // forgotten by the cache unless committed as planned
	}
	t.w.absent = nil
	if !t.uncached && len(t.absent) > 0 {
		t.w.absent = t.absent
	}
	err = t.w.addLooking(r, lookUpFirst)
	for _, a := range appends {
		delete(t.absent, a.StreamID) // it may exist now
	}
	if err != nil {
		err = t.s.wrapErr(ctx, err, "append")
		if t.pending {
			// The writer goes, and the rows it had not written with it.
			t.broken = err
		}
		t.w, t.uncached, t.pending = nil, true, false // a new writer starts afresh
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	t.pending = true
	for _, a := range appends {
		st := t.w.p.Streams[a.StreamID]
		t.heads[a.StreamID] = cachedStream{no: st.No, version: st.Version, deleted: st.Deleted}
	}
	return r.Results, nil
}

// ReadStream reads through the transaction. A forward read that starts
// past the stream's head, as a cached aggregate's catch-up does, returns
// nothing without a query when the head is known: from this
// transaction's appends, or from the stream cache. A forward read of
// events this transaction appended (a cached aggregate one save behind,
// loaded again in the same transaction) is answered from them.
func (t *tx) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	no, head, known := t.knownStream(ctx, streamID)
	if known && opts.Direction == eventual.Forward && opts.From > head {
		return func(func(eventual.RecordedEvent, error) bool) {}
	}
	if opts.Direction == eventual.Forward && t.w != nil {
		if events, ok := t.w.planned(streamID, max(opts.From, 1), opts.Limit); ok {
			return func(yield func(eventual.RecordedEvent, error) bool) {
				for _, e := range events {
					if !yield(e, nil) {
						return
					}
				}
			}
		}
	}
	if err := t.flush(ctx); err != nil {
		return iterate.Fail(err)
	}
	if onTxStreamQuery != nil {
		onTxStreamQuery(streamID)
	}
	var st *storedStream
	if known {
		st = &storedStream{id: streamID, no: no, version: head}
	}
	seq := t.s.readStream(ctx, t.tx, streamID, opts, st)
	if known || t.uncached {
		return seq
	}
	return func(yield func(eventual.RecordedEvent, error) bool) {
		for e, err := range seq {
			if errors.Is(err, eventual.ErrStreamNotFound) {
				if t.absent == nil {
					t.absent = map[string]bool{}
				}
				t.absent[streamID] = true
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// onTxStreamQuery, when set (by tests), is told of each stream a
// transaction reads with a query.
var onTxStreamQuery func(streamID string)

// knownStream returns the number and head of a stream that exists and is
// not deleted, if the transaction knows them without a query: it appended to the stream,
// or the stream cache holds it (checked against PRAGMA data_version once
// per transaction; the transaction holds the single writer, so nobody
// commits after that).
func (t *tx) knownStream(ctx context.Context, streamID string) (no int64, head uint64, ok bool) {
	if t.uncached {
		return 0, 0, false
	}
	if t.w != nil {
		if st, ok := t.w.p.Streams[streamID]; ok {
			return st.No, st.Version, (st.Exists || st.Created) && !st.Deleted
		}
	} else if !t.validated {
		var v int64
		if err := t.tx.QueryRowContext(context.WithoutCancel(ctx), "PRAGMA data_version").Scan(&v); err != nil {
			return 0, 0, false
		}
		t.s.cache.validate(v)
		t.validated = true
	}
	c, ok := t.s.cache.get(streamID)
	return c.no, c.version, ok && !c.deleted
}

func (t *tx) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	if err := t.flush(ctx); err != nil {
		return eventual.StreamInfo{}, err
	}
	return t.s.publicStreamInfo(ctx, t.tx, streamID)
}

// Exec runs a statement in the transaction. The context is checked before
// it runs, not during: with a context that can end, the driver runs every
// statement on a goroutine of its own (to interrupt it), which costs more
// than the short writes of a transaction take. The transaction itself
// still ends with the context. After a ROLLBACK TO SAVEPOINT the next
// append reads the streams again: what was planned may be undone.
func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	stmt := plan.Classify(query, eventual.DialectSQLite)
	rollback := stmt.RollsBack()
	if !rollback {
		if err := t.flush(ctx); err != nil {
			return 0, err
		}
	}
	r, err := t.tx.ExecContext(context.WithoutCancel(ctx), rebind(query), args...)
	if err != nil {
		return 0, err
	}
	t.afterCommit.Ran(stmt)
	if rollback {
		// Planned heads may be undone: a new writer reads them from the
		// database, and the cache learns none of this transaction's. Rows
		// not written yet were appended after the savepoint (taking one
		// writes them first): the rollback dropped them anyway, and with
		// them what broke the transaction, if anything did.
		t.w, t.uncached, t.pending, t.broken = nil, true, false, nil
		clear(t.heads)
		// Which rows survived is not known: the commit leaves the head
		// to the watcher.
		t.last = 0
	}
	t.lastID, _ = r.LastInsertId() // go-sqlite3 always has it
	return r.RowsAffected()
}

// LastInsertID returns the rowid of the last row inserted by the
// transaction's last Exec (SQLite's last_insert_rowid; meaningful right
// after an INSERT). The outbox learns its rows' seqs from it instead of
// querying sqlite_sequence after each insert.
func (t *tx) LastInsertID() int64 { return t.lastID }

// Query and QueryRow check the context before the query runs, as Exec
// does, and not while it runs (no goroutine per statement).
func (t *tx) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.tx.QueryContext(context.WithoutCancel(ctx), rebind(query), args...)
}

func (t *tx) QueryRow(ctx context.Context, query string, args ...any) eventual.Row {
	if err := ctx.Err(); err != nil {
		return errRow{err}
	}
	if err := t.flush(ctx); err != nil {
		return errRow{err}
	}
	return t.tx.QueryRowContext(context.WithoutCancel(ctx), rebind(query), args...)
}

// errRow is a row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t *tx) Dialect() eventual.Dialect { return eventual.DialectSQLite }

// LockLog implements eventual.Tx: the transaction holds SQLite's single
// writer already.
func (t *tx) LockLog(ctx context.Context) error { return ctx.Err() }

// rebound caches what rebind returns: the same statements run over and
// over (inbox, outbox, read models); sqltext.Cache keeps statements built
// per call from growing it without bound.
var rebound sqltext.Cache[string]

// rebind rewrites PostgreSQL-style placeholders ($1, $2, …) into SQLite's
// numbered ones (?1, ?2, …), which bind by number in any order and any
// number of times. ($1 would be a named parameter in SQLite, bound by order
// of first appearance.) Text inside quotes and comments is left alone.
func rebind(query string) string {
	if !strings.Contains(query, "$") {
		return query
	}
	return rebound.Get(query, rebindQuery)
}

// limitParam reports whether a parameter written after sql is a LIMIT's
// or an OFFSET's. SQLite reads an integer bound to "LIMIT ?" when it
// prepares the statement (3.46 and later), and marks the statement to be
// prepared again whenever that parameter is bound again: every run of a
// cached statement would parse and plan it anew (each read of the log's
// followers did). A unary plus hides the parameter from that and changes
// nothing else, so rebind writes "LIMIT +?N", and the store's own queries
// say "LIMIT +?".
func limitParam(sql string) bool {
	sql = strings.TrimRight(sql, " \t\r\n")
	for _, kw := range []string{"LIMIT", "OFFSET"} {
		if len(sql) < len(kw) || !strings.EqualFold(sql[len(sql)-len(kw):], kw) {
			continue
		}
		if before := sql[:len(sql)-len(kw)]; before == "" || !isIdentByte(before[len(before)-1]) {
			return true
		}
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// rebindQuery does rebind's work.
func rebindQuery(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(query[i+1:], end)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
		case c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			if limitParam(b.String()) {
				b.WriteByte('+')
			}
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DeleteStream implements eventual.Store.
func (s *Store) DeleteStream(ctx context.Context, streamID string, expected eventual.ExpectedVersion) error {
	return s.changeStream(ctx, streamID, func(stx *sql.Tx, st storedStream) error {
		if st.deleted {
			return nil
		}
		if !expected.Check(st.version, true) {
			return &eventual.ConflictError{StreamID: streamID, Expected: expected, Actual: st.version, Exists: true}
		}
		_, err := stx.ExecContext(ctx, "UPDATE streams SET deleted_at = ? WHERE stream_no = ?", s.opts.now().UnixMicro(), st.no)
		return err
	})
}

// TruncateStream implements eventual.Store.
func (s *Store) TruncateStream(ctx context.Context, streamID string, before uint64) error {
	return s.changeStream(ctx, streamID, func(stx *sql.Tx, st storedStream) error {
		switch {
		case st.deleted:
			return fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		case before > st.version+1:
			return fmt.Errorf("%w: cannot truncate stream %q before version %d: its head is %d", eventual.ErrInvalidArgument, streamID, before, st.version)
		case before <= st.first:
			return nil
		}
		if _, err := stx.ExecContext(ctx, "DELETE FROM events WHERE stream_no = ? AND version < ?", st.no, before); err != nil {
			return err
		}
		// Keep the head in the row: the events that told it may be gone.
		_, err := stx.ExecContext(ctx, "UPDATE streams SET first_version = ?, version = ? WHERE stream_no = ?", before, st.version, st.no)
		return err
	})
}

// changeStream runs change on a stream's row in a write transaction.
func (s *Store) changeStream(ctx context.Context, streamID string, change func(*sql.Tx, storedStream) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return err
	}
	err := s.writeTxSync(ctx, false, func(stx *sql.Tx) error {
		st, err := s.streamInfo(ctx, stx, streamID)
		if err != nil {
			return err
		}
		return change(stx, st)
	}, func(error) { s.cache.drop(streamID) }) // before the next batch reads it
	if err == nil || isStoreError(err) {
		return err
	}
	return s.wrapErr(ctx, err, "change stream")
}

// isStoreError reports whether err is one of the store's own errors, to
// return as it is.
func isStoreError(err error) bool {
	for _, target := range []error{eventual.ErrConflict, eventual.ErrStreamNotFound, eventual.ErrStreamDeleted, eventual.ErrInvalidArgument, eventual.ErrClosed} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
