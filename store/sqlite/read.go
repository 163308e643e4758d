package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/internal/iterate"
)

// querier is what reads need: the reader pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const eventColumns = `position, stream_id, version, event_id, type, schema_version, data,
	correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at`

// queryEvents runs a query selecting eventColumns and returns its events.
func queryEvents(ctx context.Context, q querier, query string, args ...any) ([]eventual.RecordedEvent, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []eventual.RecordedEvent
	var (
		id                                   sql.RawBytes
		corr, caus, tenant, user, tp, ts, ex sql.NullString
		recorded                             int64
	)
	for rows.Next() {
		var e eventual.RecordedEvent
		if err := rows.Scan(&e.Position, &e.StreamID, &e.Version, &id, &e.Type, &e.SchemaVersion, &e.Data,
			&corr, &caus, &tenant, &user, &tp, &ts, &ex, &recorded); err != nil {
			return nil, err
		}
		if e.ID, err = uuid.FromBytes(id); err != nil {
			return nil, fmt.Errorf("event at position %d: bad ID: %w", e.Position, err)
		}
		e.Metadata = eventual.Metadata{
			CorrelationID: corr.String, CausationID: caus.String, TenantID: tenant.String, UserID: user.String,
			TraceParent: tp.String, TraceState: ts.String,
		}
		if ex.Valid {
			if err := json.Unmarshal([]byte(ex.String), &e.Metadata.Extra); err != nil {
				return nil, fmt.Errorf("event at position %d: bad metadata: %w", e.Position, err)
			}
		}
		e.RecordedAt = time.UnixMicro(recorded).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReadStream implements eventual.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return s.readStream(ctx, s.r, streamID, opts)
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
		no       int64
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
			if info.deleted {
				return nil, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
			}
			resolved, no = true, info.no
			if opts.Direction == eventual.Backward && (next == 0 || next > info.version) {
				next = info.version
			}
		}
		if done {
			return nil, nil
		}
		var page []eventual.RecordedEvent
		var err error
		if opts.Direction == eventual.Forward {
			page, err = queryEvents(ctx, q, "SELECT "+eventColumns+" FROM events WHERE stream_no = ? AND version >= ? ORDER BY version LIMIT ?", no, next, n)
			if len(page) > 0 {
				next = page[len(page)-1].Version + 1
			}
		} else {
			page, err = queryEvents(ctx, q, "SELECT "+eventColumns+" FROM events WHERE stream_no = ? AND version <= ? ORDER BY version DESC LIMIT ?", no, next, n)
			if len(page) > 0 {
				next = page[len(page)-1].Version - 1
				done = next == 0
			}
		}
		return page, s.wrapErr(ctx, err, "read stream")
	})
}

// ReadAll implements eventual.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventual.ReadAllOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	where, args := filterSQL(opts.Filter)
	var (
		bounded bool
		lo, hi  uint64 // position range from the time range; hi 0: none
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
		var q strings.Builder
		qargs := make([]any, 0, len(args)+4)
		q.WriteString("SELECT " + eventColumns + " FROM events WHERE ")
		if opts.Direction == eventual.Forward {
			q.WriteString("position >= ?")
			qargs = append(qargs, max(cursor, lo))
			if hi > 0 {
				q.WriteString(" AND position <= ?")
				qargs = append(qargs, hi)
			}
		} else {
			upper := cursor // 0 only before the first page: the end
			if upper == 0 {
				upper = math.MaxInt64
			}
			if hi > 0 {
				upper = min(upper, hi)
			}
			q.WriteString("position <= ? AND position >= ?")
			qargs = append(qargs, upper, lo)
		}
		q.WriteString(where)
		qargs = append(qargs, args...)
		if opts.Direction == eventual.Forward {
			q.WriteString(" ORDER BY position LIMIT ?")
		} else {
			q.WriteString(" ORDER BY position DESC LIMIT ?")
		}
		qargs = append(qargs, n)
		page, err := queryEvents(ctx, s.r, q.String(), qargs...)
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

// timeBounds turns a time range into a position range [lo, hi] (hi 0: no
// upper bound). It relies on recorded_at never going down along the log
// (see plan.Recorded), which makes binary search on position possible.
// empty reports that no event is in the range.
func (s *Store) timeBounds(ctx context.Context, since, until time.Time) (lo, hi uint64, empty bool, err error) {
	if since.IsZero() && until.IsZero() {
		return 0, 0, false, nil
	}
	if !since.IsZero() {
		// The first event recorded at or after since.
		p, ok, err := s.firstAtOrAfter(ctx, ceilMicro(since))
		if err != nil || !ok {
			return 0, 0, !ok, err
		}
		lo = p
	}
	if !until.IsZero() {
		// The last event recorded before until: the one before the first
		// recorded at or after until.
		p, ok, err := s.firstAtOrAfter(ctx, ceilMicro(until))
		if err != nil {
			return 0, 0, false, err
		}
		if !ok {
			p = math.MaxInt64
		}
		if p <= max(lo, 1) {
			return 0, 0, true, nil
		}
		hi = p - 1
	}
	return lo, hi, false, nil
}

// firstAtOrAfter returns the position of the first event recorded at or
// after t (unix µs). f(x), the time of the first event at or after
// position x, never decreases as x grows, gaps or not; so a lower-bound
// binary search over x finds the answer in about log2(head) reads.
func (s *Store) firstAtOrAfter(ctx context.Context, t int64) (uint64, bool, error) {
	at := func(x uint64) (pos uint64, recorded int64, err error) {
		err = s.r.QueryRowContext(ctx, "SELECT position, recorded_at FROM events WHERE position >= ? ORDER BY position LIMIT 1", x).Scan(&pos, &recorded)
		return pos, recorded, err
	}
	head, err := s.HeadPosition(ctx)
	if err != nil || head == 0 {
		return 0, false, err
	}
	if _, recorded, err := at(head); err != nil || recorded < t {
		return 0, false, err
	}
	lo, hi := uint64(1), head
	for lo < hi {
		mid := lo + (hi-lo)/2
		_, recorded, err := at(mid)
		if err != nil {
			return 0, false, err
		}
		if recorded >= t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	pos, _, err := at(lo)
	return pos, err == nil, err
}

// ceilMicro rounds t up to a whole microsecond, the precision of stored
// times, so comparisons agree with ones at full precision.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Sub(time.UnixMicro(us)) > 0 {
		us++
	}
	return us
}

// filterSQL returns the SQL conditions (each starting with " AND ") and
// arguments of a filter.
func filterSQL(f eventual.Filter) (string, []any) {
	var b strings.Builder
	var args []any
	if len(f.Types) > 0 {
		b.WriteString(" AND type IN (")
		for i, t := range f.Types {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, t)
		}
		b.WriteString(")")
	}
	if f.StreamPrefix != "" {
		// substr and length count characters; so does RuneCountInString.
		b.WriteString(" AND substr(stream_id, 1, ?) = ?")
		args = append(args, utf8.RuneCountInString(f.StreamPrefix), f.StreamPrefix)
	}
	return b.String(), args
}

// Subscribe implements eventual.Store.
func (s *Store) Subscribe(ctx context.Context, opts eventual.SubscribeOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Filter.Validate(); err != nil {
		return iterate.Fail(err)
	}
	s.startWatch()
	where, args := filterSQL(opts.Filter)
	filtered := where != ""
	query := "SELECT " + eventColumns + " FROM events WHERE position >= ? AND position <= ?" + where + " ORDER BY position LIMIT ?"
	const pageSize = iterate.DefaultPageSize
	return iterate.Subscribe(ctx, opts.From, &s.signal, time.Second, func(ctx context.Context, from uint64) (iterate.LivePage, error) {
		if err := s.checkOpen(); err != nil {
			return iterate.LivePage{}, err
		}
		// Positions up to the head are final: SQLite's single writer
		// assigns them in commit order. Reading up to a head read first
		// lets a filtered read move past events it skipped.
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
		qargs := append(append([]any{from, head}, args...), pageSize)
		page, err := queryEvents(ctx, s.r, query, qargs...)
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

// storedStream is a stream as its row and its last event tell.
type storedStream struct {
	id      string
	no      int64
	version uint64
	first   uint64
	deleted bool
}

// streamColumns select a stream (alias s) for scanStream. The stream's
// head is its last event's version, or the version kept in its row when
// truncation removed every event.
const streamColumns = `s.stream_id, s.stream_no,
	max(s.version, COALESCE((SELECT max(e.version) FROM events e WHERE e.stream_no = s.stream_no), 0)),
	s.first_version, s.deleted_at`

type scanner interface{ Scan(dest ...any) error }

func scanStream(row scanner) (storedStream, error) {
	var st storedStream
	var deleted sql.NullInt64
	if err := row.Scan(&st.id, &st.no, &st.version, &st.first, &deleted); err != nil {
		return st, err
	}
	st.deleted = deleted.Valid
	return st, nil
}

func (s *Store) streamInfo(ctx context.Context, q querier, streamID string) (storedStream, error) {
	st, err := scanStream(q.QueryRowContext(ctx, "SELECT "+streamColumns+" FROM streams s WHERE s.stream_id = ?", streamID))
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("%w: %q", eventual.ErrStreamNotFound, streamID)
	}
	if err != nil {
		return st, s.wrapErr(ctx, err, "read stream")
	}
	return st, nil
}

// StreamInfo implements eventual.Store.
func (s *Store) StreamInfo(ctx context.Context, streamID string) (eventual.StreamInfo, error) {
	return s.publicStreamInfo(ctx, s.r, streamID)
}

func (s *Store) publicStreamInfo(ctx context.Context, q querier, streamID string) (eventual.StreamInfo, error) {
	if err := ctx.Err(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := s.checkOpen(); err != nil {
		return eventual.StreamInfo{}, err
	}
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return eventual.StreamInfo{}, err
	}
	st, err := s.streamInfo(ctx, q, streamID)
	if err != nil {
		return eventual.StreamInfo{}, err
	}
	return eventual.StreamInfo{StreamID: streamID, Version: st.version, FirstVersion: st.first, Deleted: st.deleted}, nil
}

// HeadPosition implements eventual.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	var p uint64
	err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(position), 0) FROM events").Scan(&p)
	return p, s.wrapErr(ctx, err, "head position")
}
