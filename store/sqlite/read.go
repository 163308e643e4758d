package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"
	"unicode/utf8"

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

// ReadStream implements eventual.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return s.readStream(ctx, s.r, streamID, opts, nil)
}

// readStream reads a stream through q. known, when not nil, is the stream
// as the caller knows it (a transaction that holds the writer): its number
// and head are not read again.
func (s *Store) readStream(ctx context.Context, q querier, streamID string, opts eventual.ReadStreamOptions, known *storedStream) iter.Seq2[eventual.RecordedEvent, error] {
	if err := eventual.ValidateStreamID(streamID); err != nil {
		return iterate.Fail(err)
	}
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	var no int64
	resolve := func(ctx context.Context) (uint64, error) {
		if err := s.checkOpen(); err != nil {
			return 0, err
		}
		if known != nil {
			no = known.no
			return known.version, nil
		}
		if onStreamInfoQuery != nil {
			onStreamInfoQuery(streamID)
		}
		st, err := s.streamInfo(ctx, q, streamID)
		if err != nil {
			return 0, err
		}
		if st.deleted {
			return 0, fmt.Errorf("%w: %q", eventual.ErrStreamDeleted, streamID)
		}
		no = st.no
		return st.version, nil
	}
	return iterate.Stream(ctx, opts, resolve, func(ctx context.Context, from uint64, n int, backward bool, expect int) ([]eventual.RecordedEvent, error) {
		page, err := queryEvents(ctx, q, expect, streamPageSQL(backward), no, from, n)
		return page, s.wrapErr(ctx, err, "read stream")
	})
}

// streamPageSQL reads a page of a stream's events: its stream_no, the
// version to start at, and the page's size. (LIMIT +?, not LIMIT ?: see
// limitParam.)
func streamPageSQL(backward bool) string {
	if backward {
		return "SELECT " + eventColumns + " FROM events WHERE stream_no = ? AND version <= ? ORDER BY version DESC LIMIT +?"
	}
	return "SELECT " + eventColumns + " FROM events WHERE stream_no = ? AND version >= ? ORDER BY version LIMIT +?"
}

// logPageSQL reads a page of the log: the lowest and highest positions,
// the arguments of where (filterSQL), and the page's size.
func logPageSQL(where string, backward bool) string {
	order := " ORDER BY position LIMIT +?"
	if backward {
		order = " ORDER BY position DESC LIMIT +?"
	}
	return "SELECT " + eventColumns + " FROM events WHERE position >= ? AND position <= ?" + where + order
}

// ReadAll implements eventual.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventual.ReadAllOptions) iter.Seq2[eventual.RecordedEvent, error] {
	if err := opts.Validate(); err != nil {
		return iterate.Fail(err)
	}
	where, args := filterSQL(opts.Filter)
	forward, backward := logPageSQL(where, false), logPageSQL(where, true)
	bounds := func(ctx context.Context) (uint64, uint64, bool, error) {
		if onePage(opts) {
			// One statement reads the whole page, and sees the log as it
			// was when it started: no head needed to bound it. The log's
			// followers read this way, a page at a time.
			return 1, math.MaxInt64, false, nil
		}
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
		page, err := queryEvents(ctx, s.r, iterate.Span(lo, hi, n), query, append(append([]any{lo, hi}, args...), n)...)
		return page, s.wrapErr(ctx, err, "read all")
	})
}

// onePage tells whether a ReadAll is one forward page (one statement) with
// no time range.
func onePage(opts eventual.ReadAllOptions) bool {
	return opts.Direction != eventual.Backward && opts.Since.IsZero() && opts.Until.IsZero() &&
		opts.Limit > 0 && opts.Limit <= iterate.DefaultPageSize
}

// firstAt returns the first event at or after position x: its position and
// when it was recorded.
func (s *Store) firstAt(ctx context.Context, x uint64) (uint64, time.Time, error) {
	var pos uint64
	var recorded int64
	err := s.r.QueryRowContext(ctx, "SELECT position, recorded_at FROM events WHERE position >= ? ORDER BY position LIMIT 1", x).Scan(&pos, &recorded)
	return pos, time.UnixMicro(recorded), err
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
	query := logPageSQL(where, false)
	// Positions up to a committed head are final: SQLite's single writer
	// assigns them in commit order.
	live := iterate.Live(where != "", s.HeadPosition, func(ctx context.Context, from, to uint64, n int) ([]eventual.RecordedEvent, error) {
		if err := s.checkOpen(); err != nil {
			return nil, err
		}
		page, err := queryEvents(ctx, s.r, iterate.Span(from, to, n), query, append(append([]any{from, to}, args...), n)...)
		return page, s.wrapErr(ctx, err, "subscribe")
	})
	return iterate.Subscribe(ctx, opts.From, &s.signal, time.Second, live)
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

// headQuery reads the position of the last committed event.
const headQuery = "SELECT COALESCE(MAX(position), 0) FROM events"

// HeadPosition implements eventual.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if onHeadQuery != nil {
		onHeadQuery()
	}
	var p uint64
	err := s.r.QueryRowContext(ctx, headQuery).Scan(&p)
	return p, s.wrapErr(ctx, err, "head position")
}

// onStreamInfoQuery, when set (by tests), is told of each stream a read
// looks up with a query before reading its events.
var onStreamInfoQuery func(streamID string)

// onHeadQuery, when set (by tests), is told of each HeadPosition query.
var onHeadQuery func()

// Appended implements eventual.Notifier: appends by this handle wake at
// once, those of other processes on the same file within the poll
// interval.
func (s *Store) Appended() <-chan struct{} {
	s.startWatch()
	return s.signal.C()
}

// Query implements eventual.Querier, on the read connections.
func (s *Store) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.r.QueryContext(ctx, rebind(query), args...)
}

// QueryRow implements eventual.Querier, on the read connections.
func (s *Store) QueryRow(ctx context.Context, query string, args ...any) eventual.Row {
	return s.r.QueryRowContext(ctx, rebind(query), args...)
}
