package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// InTx implements eventual.TxStore. The first append in the transaction
// takes the lock that orders all appends to the store and holds it until
// the transaction ends: inside fn, append through tx, never through the
// Store (it would wait for the lock forever), and keep fn short.
//
// In the transaction, unqualified table names resolve to the store's
// schema first, then to public: the tables of components (outbox, inbox,
// projections) live in the store's schema, next to the events.
func (s *Store) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return s.inTx(ctx, false, fn)
}

// InTxNoSync implements eventual.NoSyncTxStore: InTx with
// synchronous_commit off for the transaction, so that its commit does not
// wait for the WAL flush. A later durable commit flushes it with its own.
func (s *Store) InTxNoSync(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return s.inTx(ctx, true, fn)
}

func (s *Store) inTx(ctx context.Context, noSync bool, fn func(tx eventual.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrapErr(ctx, err, "begin")
	}
	if !s.ownsPool {
		// A pool of the caller's: set the search path for this transaction.
		if _, err := ptx.Exec(ctx, "SET LOCAL search_path TO "+s.opts.schema+", public"); err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
			return s.wrapErr(ctx, err, "begin")
		}
	}
	if noSync {
		if _, err := ptx.Exec(ctx, "SET LOCAL synchronous_commit TO off"); err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
			return s.wrapErr(ctx, err, "begin")
		}
	}
	t := &tx{s: s, tx: ptx}
	defer func() {
		if p := recover(); p != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(t); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return s.wrapErr(ctx, err, "commit")
	}
	if t.appended {
		s.heads.drop(t.touched...)
		s.signal.Notify()
	}
	t.afterCommit.Run()
	return nil
}

// tx is a transaction handed to InTx's fn.
type tx struct {
	s           *Store
	tx          pgx.Tx
	locked      bool // holds the append lock
	appended    bool
	touched     []string // streams appended to
	afterCommit plan.AfterCommit
}

func (t *tx) AfterCommit(fn func()) { t.afterCommit.Add(fn) }

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
	// No insert may meet a stored event ID: a failed statement would abort
	// the caller's whole transaction. So event IDs are looked up first, or
	// after a version conflict where a retry would meet one
	// (plan.LookUpFirst).
	w := &batchWriter{s: t.s, q: t.tx, lock: !t.locked, lookupAll: lookUpFirst}
	r := groupcommit.NewRequest(appends)
	if _, err := w.write(ctx, []*groupcommit.Request{r}); err != nil {
		return nil, t.s.wrapErr(ctx, err, "append")
	}
	t.locked = true
	if r.Err != nil {
		return nil, r.Err
	}
	t.appended = true
	for _, a := range appends {
		t.touched = append(t.touched, a.StreamID)
	}
	return r.Results, nil
}

func (t *tx) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return t.s.readStream(ctx, t.tx, streamID, opts)
}

// LockLog implements eventual.Tx: it takes the append lock (ADR 0002).
func (t *tx) LockLog(ctx context.Context) error {
	if t.locked || t.s.unordered {
		return nil
	}
	if _, err := t.tx.Exec(ctx, t.s.q.lock, t.s.lockKey); err != nil {
		return t.s.wrapErr(ctx, err, "lock the log")
	}
	t.locked = true
	return nil
}

func (t *tx) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	if err := ctx.Err(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.StreamInfo{}, err
	}
	return t.s.streamInfo(ctx, t.tx, streamID)
}

func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	stmt := plan.Classify(query, eventual.DialectPostgres)
	if stmt.RollsBack() {
		// Locks taken since a savepoint are released when it is rolled
		// back to: the next append takes the append lock again.
		t.locked = false
	}
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	t.afterCommit.Ran(stmt)
	return tag.RowsAffected(), nil
}

func (t *tx) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (t *tx) QueryRow(ctx context.Context, query string, args ...any) eventual.Row {
	return t.tx.QueryRow(ctx, query, args...)
}

func (t *tx) Dialect() eventual.Dialect { return eventual.DialectPostgres }

// pgRows adapts pgx.Rows to eventual.Rows.
type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// DeleteStream implements eventual.Store.
func (s *Store) DeleteStream(ctx context.Context, streamID string, expected eventual.ExpectedVersion) error {
	return s.changeStream(ctx, streamID, func(ptx pgx.Tx, info eventual.StreamInfo) error {
		if info.Deleted {
			return nil
		}
		if !expected.Check(info.Version, true) {
			return &eventual.ConflictError{StreamID: streamID, Expected: expected, Actual: info.Version, Exists: true}
		}
		_, err := ptx.Exec(ctx, s.q.deleteStream, streamID, s.opts.now())
		return err
	})
}

// TruncateStream implements eventual.Store.
func (s *Store) TruncateStream(ctx context.Context, streamID string, before uint64) error {
	return s.changeStream(ctx, streamID, func(ptx pgx.Tx, info eventual.StreamInfo) error {
		switch {
		case info.Deleted:
			return fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		case before > info.Version+1:
			return fmt.Errorf("%w: cannot truncate stream %q before version %d: its head is %d", eventual.ErrInvalidArgument, streamID, before, info.Version)
		case before <= info.FirstVersion:
			return nil
		}
		if _, err := ptx.Exec(ctx, s.q.truncate, streamID, int64(before)); err != nil {
			return err
		}
		// Keep the head in the row: the events that told it may be gone.
		_, err := ptx.Exec(ctx, s.q.setFirst, streamID, int64(before), int64(info.Version))
		return err
	})
}

// changeStream runs change on a stream in a transaction that holds the
// append lock, so no append decides on the stream's old state meanwhile.
func (s *Store) changeStream(ctx context.Context, streamID string, change func(pgx.Tx, eventual.StreamInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return err
	}
	defer s.heads.drop(streamID)
	err := pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, s.q.lock, s.lockKey); err != nil {
			return err
		}
		info, err := s.streamInfo(ctx, ptx, streamID)
		if err != nil {
			return err
		}
		return change(ptx, info)
	})
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
