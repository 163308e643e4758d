package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/iterate"
)

// querier is what reads need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryEvents runs a query selecting eventColumns and returns its events,
// in a slice made for expect of them (0: unknown).
func queryEvents(ctx context.Context, q querier, expect int, query string, args ...any) ([]eventual.RecordedEvent, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]eventual.RecordedEvent, 0, expect)
	var (
		pos, version                     int64
		id                               [16]byte
		schema                           int32
		corr, caus, tenant, user, tp, ts pgtype.Text
		extra                            map[string]string
		recorded                         time.Time
	)
	for rows.Next() {
		var e eventual.RecordedEvent
		extra = nil
		if err := rows.Scan(&pos, &e.StreamID, &version, &id, &e.Type, &schema, &e.Data,
			&corr, &caus, &tenant, &user, &tp, &ts, &extra, &recorded); err != nil {
			return nil, err
		}
		e.Position, e.Version, e.ID, e.SchemaVersion = uint64(pos), uint64(version), uuid.UUID(id), int(schema)
		e.Metadata = eventual.Metadata{
			CorrelationID: corr.String, CausationID: caus.String, TenantID: tenant.String, UserID: user.String,
			TraceParent: tp.String, TraceState: ts.String, Extra: extra,
		}
		e.RecordedAt = recorded.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReadStream implements eventual.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return s.readStream(ctx, s.pool, streamID, opts)
}

func (s *Store) readStream(ctx context.Context, q querier, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return iterate.Fail(err)
	}
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	resolve := func(ctx context.Context) (uint64, error) {
		if err := s.checkOpen(); err != nil {
			return 0, err
		}
		info, err := s.streamInfo(ctx, q, streamID)
		if err != nil {
			return 0, err
		}
		if info.Deleted {
			return 0, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		}
		return info.Version, nil
	}
	return iterate.Stream(ctx, opts, resolve, func(ctx context.Context, from uint64, n int, backward bool, expect int) ([]eventual.RecordedEvent, error) {
		query := s.q.readForward
		if backward {
			query = s.q.readBackward
		}
		page, err := queryEvents(ctx, q, expect, query, streamID, int64(from), n)
		return page, s.wrapErr(ctx, err, "read stream")
	})
}

// filterSQL returns the SQL conditions (each starting with " AND ") and
// arguments of a filter, numbering placeholders from first.
func filterSQL(f eventual.Filter, first int) (string, []any) {
	var b strings.Builder
	var args []any
	if len(f.Types) > 0 {
		args = append(args, f.Types)
		b.WriteString(" AND type = ANY($" + strconv.Itoa(first+len(args)-1) + ")")
	}
	if f.StreamPrefix != "" {
		args = append(args, f.StreamPrefix)
		b.WriteString(" AND starts_with(stream_id, $" + strconv.Itoa(first+len(args)-1) + ")")
	}
	return b.String(), args
}

// ReadAll implements eventual.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventual.ReadAllOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	where, args := filterSQL(opts.Filter, 4)
	forward := s.q.eventColumnsFrom + "position >= $1 AND position <= $2" + where + " ORDER BY position LIMIT $3"
	backward := s.q.eventColumnsFrom + "position >= $1 AND position <= $2" + where + " ORDER BY position DESC LIMIT $3"
	bounds := func(ctx context.Context) (uint64, uint64, bool, error) {
		head, err := s.HeadPosition(ctx)
		if err != nil {
			return 0, 0, false, err
		}
		lo, hi, empty, err := iterate.TimeRange(ctx, opts.Since, opts.Until, head, s.firstAt)
		return lo, hi, empty, s.wrapErr(ctx, err, "read all")
	}
	return iterate.Log(ctx, opts, bounds, func(ctx context.Context, lo, hi uint64, n int, back bool) ([]eventual.RecordedEvent, error) {
		if err := s.checkOpen(); err != nil {
			return nil, err
		}
		query := forward
		if back {
			query = backward
		}
		page, err := queryEvents(ctx, s.pool, iterate.Span(lo, hi, n), query, append([]any{int64(lo), int64(hi), n}, args...)...)
		return page, s.wrapErr(ctx, err, "read all")
	})
}

// firstAt returns the first event at or after position x: its position and
// when it was recorded.
func (s *Store) firstAt(ctx context.Context, x uint64) (uint64, time.Time, error) {
	var pos int64
	var recorded time.Time
	err := s.pool.QueryRow(ctx, s.q.firstAt, int64(x)).Scan(&pos, &recorded)
	return uint64(pos), recorded, err
}

// Subscribe implements eventual.Store.
func (s *Store) Subscribe(ctx context.Context, opts eventual.SubscribeOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Filter.Validate(); err != nil {
		return iterate.Fail(err)
	}
	s.startListen()
	where, args := filterSQL(opts.Filter, 4)
	query := s.q.eventColumnsFrom + "position >= $1 AND position <= $2" + where + " ORDER BY position LIMIT $3"
	// Positions up to a committed head are final: appends take them under
	// the lock they commit with.
	live := iterate.Live(where != "", s.HeadPosition, func(ctx context.Context, from, to uint64, n int) ([]eventual.RecordedEvent, error) {
		if err := s.checkOpen(); err != nil {
			return nil, err
		}
		page, err := queryEvents(ctx, s.pool, iterate.Span(from, to, n), query, append([]any{int64(from), int64(to), n}, args...)...)
		return page, s.wrapErr(ctx, err, "subscribe")
	})
	return iterate.Subscribe(ctx, opts.From, &s.signal, s.opts.pollInterval, live)
}

// StreamInfo implements eventual.Store.
func (s *Store) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	if err := ctx.Err(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := s.checkOpen(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.StreamInfo{}, err
	}
	return s.streamInfo(ctx, s.pool, streamID)
}

func (s *Store) streamInfo(ctx context.Context, q querier, streamID string) (eventual.StreamInfo, error) {
	info := eventual.StreamInfo{StreamID: streamID}
	var v, first int64
	err := q.QueryRow(ctx, s.q.stream, streamID).Scan(&info.StreamID, &v, &first, &info.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, fmt.Errorf("%w: %q", eventual.ErrStreamNotFound, streamID)
	}
	if err != nil {
		return info, s.wrapErr(ctx, err, "read stream")
	}
	info.Version, info.FirstVersion = uint64(v), uint64(first)
	return info, nil
}

// HeadPosition implements eventual.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	var p int64
	err := s.pool.QueryRow(ctx, s.q.head).Scan(&p)
	return uint64(p), s.wrapErr(ctx, err, "head position")
}

// Appended implements eventual.Notifier: appends by any process wake it,
// through LISTEN/NOTIFY.
func (s *Store) Appended() <-chan struct{} {
	s.startListen()
	return s.signal.C()
}

// Query implements eventual.Querier, on the pool. On a pool of the
// caller's (New), the query runs in a read-only transaction that sets the
// search path, as InTx does, so that unqualified names resolve to the
// store's schema; it ends when the rows are closed.
func (s *Store) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if s.ownsPool {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return pgRows{rows}, nil
	}
	ptx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := ptx.Query(ctx, query, args...)
	if err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return txRows{pgRows{rows}, ptx, ctx}, nil
}

// QueryRow implements eventual.Querier, on the pool (see Query).
func (s *Store) QueryRow(ctx context.Context, query string, args ...any) eventual.Row {
	if s.ownsPool {
		return s.pool.QueryRow(ctx, query, args...)
	}
	return txRow{s: s, ctx: ctx, query: query, args: args}
}

// readTx begins a read-only transaction with the store's search path.
func (s *Store) readTx(ctx context.Context) (pgx.Tx, error) {
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	if _, err := ptx.Exec(ctx, "SET LOCAL search_path TO "+s.opts.schema+", public"); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return ptx, nil
}

// txRows ends its transaction when closed.
type txRows struct {
	pgRows
	tx  pgx.Tx
	ctx context.Context
}

func (r txRows) Close() error {
	err := r.pgRows.Close()
	return errors.Join(err, r.tx.Rollback(context.WithoutCancel(r.ctx)))
}

// txRow runs its query in a read transaction when scanned.
type txRow struct {
	s     *Store
	ctx   context.Context
	query string
	args  []any
}

func (r txRow) Scan(dest ...any) error {
	if err := r.s.checkOpen(); err != nil {
		return err
	}
	ptx, err := r.s.readTx(r.ctx)
	if err != nil {
		return err
	}
	defer func() { _ = ptx.Rollback(context.WithoutCancel(r.ctx)) }()
	return ptx.QueryRow(r.ctx, r.query, r.args...).Scan(dest...)
}
