package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
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

// queryEvents runs a query selecting eventColumns and returns its events.
func queryEvents(ctx context.Context, q querier, query string, args ...any) ([]eventual.RecordedEvent, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []eventual.RecordedEvent
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
	var (
		resolved bool
		next     = opts.From // next version to read; backward 0: the end
		done     bool
	)
	return iterate.Pages(ctx, opts.Limit, 0, func(ctx context.Context, n int) ([]eventual.RecordedEvent, error) {
		if err := s.checkOpen(); err != nil {
			return nil, err
		}
		if !resolved {
			info, err := s.streamInfo(ctx, q, streamID)
			if err != nil {
				return nil, err
			}
			if info.Deleted {
				return nil, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
			}
			resolved = true
			if opts.Direction == eventual.Backward && (next == 0 || next > info.Version) {
				next = info.Version
			}
		}
		if done {
			return nil, nil
		}
		var page []eventual.RecordedEvent
		var err error
		if opts.Direction == eventual.Forward {
			page, err = queryEvents(ctx, q, s.q.readForward, streamID, int64(next), n)
			if len(page) > 0 {
				next = page[len(page)-1].Version + 1
			}
		} else {
			page, err = queryEvents(ctx, q, s.q.readBackward, streamID, int64(next), n)
			if len(page) > 0 {
				next = page[len(page)-1].Version - 1
				done = next == 0
			}
		}
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
	order := " ORDER BY position LIMIT $3"
	cond := "position >= $1 AND position <= $2"
	if opts.Direction == eventual.Backward {
		order = " ORDER BY position DESC LIMIT $3"
		cond = "position <= $1 AND position >= $2"
	}
	query := s.q.eventColumnsFrom + cond + where + order
	var (
		bounded bool
		lo, hi  uint64 // position range of the time range
		cursor  = opts.From
		empty   bool
	)
	return iterate.Pages(ctx, opts.Limit, 0, func(ctx context.Context, n int) ([]eventual.RecordedEvent, error) {
		if err := s.checkOpen(); err != nil {
			return nil, err
		}
		if !bounded {
			var err error
			lo, hi, empty, err = s.timeBounds(ctx, opts.Since, opts.Until)
			if err != nil {
				return nil, s.wrapErr(ctx, err, "read all")
			}
			bounded = true
		}
		if empty {
			return nil, nil
		}
		var a, b uint64
		if opts.Direction == eventual.Forward {
			a, b = max(cursor, lo), hi
		} else {
			a, b = hi, lo
			if cursor != 0 {
				a = min(cursor, hi)
			}
		}
		page, err := queryEvents(ctx, s.pool, query, append([]any{int64(a), int64(b), n}, args...)...)
		if err != nil {
			return nil, s.wrapErr(ctx, err, "read all")
		}
		if len(page) > 0 {
			last := page[len(page)-1].Position
			if opts.Direction == eventual.Forward {
				cursor = last + 1
			} else if last <= 1 {
				empty = true
			} else {
				cursor = last - 1
			}
		}
		return page, nil
	})
}

// timeBounds turns a time range into a position range [lo, hi]. It relies
// on recorded_at never going down along the log (see plan.Recorded), which
// makes binary search on position possible. empty reports that no event is
// in the range.
func (s *Store) timeBounds(ctx context.Context, since, until time.Time) (lo, hi uint64, empty bool, err error) {
	hi = math.MaxInt64
	if !since.IsZero() {
		p, ok, err := s.firstAtOrAfter(ctx, ceilMicro(since))
		if err != nil || !ok {
			return 0, 0, !ok, err
		}
		lo = p
	}
	if !until.IsZero() {
		// The last event recorded before until is the one before the
		// first recorded at or after it.
		p, ok, err := s.firstAtOrAfter(ctx, ceilMicro(until))
		if err != nil {
			return 0, 0, false, err
		}
		if ok {
			if p <= max(lo, 1) {
				return 0, 0, true, nil
			}
			hi = p - 1
		}
	}
	return lo, hi, false, nil
}

// firstAtOrAfter returns the position of the first event recorded at or
// after t. f(x), the time of the first event at or after position x, never
// decreases as x grows, gaps or not; so a lower-bound binary search over x
// finds the answer in about log2(head) reads.
func (s *Store) firstAtOrAfter(ctx context.Context, t time.Time) (uint64, bool, error) {
	at := func(x uint64) (pos int64, recorded time.Time, err error) {
		err = s.pool.QueryRow(ctx, s.q.firstAt, int64(x)).Scan(&pos, &recorded)
		return pos, recorded, err
	}
	head, err := s.HeadPosition(ctx)
	if err != nil || head == 0 {
		return 0, false, err
	}
	if _, recorded, err := at(head); err != nil || recorded.Before(t) {
		return 0, false, err
	}
	lo, hi := uint64(1), head
	for lo < hi {
		mid := lo + (hi-lo)/2
		_, recorded, err := at(mid)
		if err != nil {
			return 0, false, err
		}
		if !recorded.Before(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	pos, _, err := at(lo)
	return uint64(pos), err == nil, err
}

// ceilMicro rounds t up to a whole microsecond, the precision of
// timestamptz, so comparisons agree with ones at full precision.
func ceilMicro(t time.Time) time.Time {
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		return r.Add(time.Microsecond)
	}
	return t
}

// Subscribe implements eventual.Store.
func (s *Store) Subscribe(ctx context.Context, opts eventual.SubscribeOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Filter.Validate(); err != nil {
		return iterate.Fail(err)
	}
	s.startListen()
	where, args := filterSQL(opts.Filter, 4)
	filtered := where != ""
	query := s.q.eventColumnsFrom + "position >= $1 AND position <= $2" + where + " ORDER BY position LIMIT $3"
	const pageSize = iterate.DefaultPageSize
	return iterate.Subscribe(ctx, opts.From, &s.signal, s.opts.pollInterval, func(ctx context.Context, from uint64) (iterate.LivePage, error) {
		if err := s.checkOpen(); err != nil {
			return iterate.LivePage{}, err
		}
		// Positions up to a committed head are final: appends take them
		// under the lock they commit with. Reading up to a head read first
		// lets a filtered read move past the events it skipped.
		head := uint64(math.MaxInt64)
		if filtered {
			var err error
			if head, err = s.HeadPosition(ctx); err != nil {
				return iterate.LivePage{}, err
			}
			if head < from {
				return iterate.LivePage{Next: from}, nil
			}
		}
		page, err := queryEvents(ctx, s.pool, query, append([]any{int64(from), int64(head), pageSize}, args...)...)
		if err != nil {
			return iterate.LivePage{}, s.wrapErr(ctx, err, "subscribe")
		}
		lp := iterate.LivePage{Events: page, Next: from, More: len(page) == pageSize}
		switch {
		case lp.More || !filtered:
			if len(page) > 0 {
				lp.Next = page[len(page)-1].Position + 1
			}
		default:
			lp.Next = head + 1
		}
		return lp, nil
	})
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
