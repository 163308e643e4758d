package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/flatjson"
)

// eventColumnCount is the number of eventColumns.
const eventColumnCount = 15

// queryEvents runs a query selecting eventColumns and returns its events,
// in a slice made for expect of them (0: unknown). On the reader pool it
// reads the driver's rows directly (readRaw); in a transaction, through
// database/sql.
func queryEvents(ctx context.Context, q querier, expect int, query string, args ...any) ([]eventual.RecordedEvent, error) {
	if db, ok := q.(*sql.DB); ok {
		return readRaw(ctx, db, expect, query, args)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]eventual.RecordedEvent, 0, expect)
	vals := make([]any, eventColumnCount) // Scan into *any copies blobs
	ptrs := make([]any, eventColumnCount)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	dest := make([]driver.Value, eventColumnCount)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			dest[i] = v
		}
		e, err := decodeEvent(dest)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// readRaw runs a query selecting eventColumns on a reader connection and
// reads the rows from the driver itself, without database/sql's
// conversions: they cost a reflective assignment per column and a second
// copy of every blob, a third of a catch-up read's time. mattn/go-sqlite3
// hands out fresh values for every row (it copies text and blobs out of
// SQLite), so they are kept as they are; TestReadKeepsEveryEventsData
// catches a driver that would reuse them.
func readRaw(ctx context.Context, db *sql.DB, expect int, query string, args []any) ([]eventual.RecordedEvent, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := make([]eventual.RecordedEvent, 0, expect)
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("the SQLite driver cannot run queries directly")
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return err
			}
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
		}
		rows, err := qc.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		dest := make([]driver.Value, eventColumnCount)
		for {
			if err := rows.Next(dest); err != nil {
				if err == io.EOF {
					return rows.Close()
				}
				_ = rows.Close()
				return err
			}
			e, err := decodeEvent(dest)
			if err != nil {
				_ = rows.Close()
				return err
			}
			out = append(out, e)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeEvent makes an event of the values of one row of eventColumns, as
// the driver gives them: int64, string, []byte or nil.
func decodeEvent(v []driver.Value) (eventual.RecordedEvent, error) {
	var e eventual.RecordedEvent
	pos, err1 := asInt(v[0])
	version, err2 := asInt(v[2])
	schema, err3 := asInt(v[5])
	recorded, err4 := asInt(v[14])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return e, fmt.Errorf("event at position %v: %w", v[0], err)
	}
	e.Position, e.Version, e.SchemaVersion = uint64(pos), uint64(version), int(schema)
	e.StreamID, e.Type = asString(v[1]), asString(v[4])
	id, err := uuid.FromBytes(asBytes(v[3]))
	if err != nil {
		return e, fmt.Errorf("event at position %d: bad ID: %w", e.Position, err)
	}
	e.ID = id
	e.Data = asBytes(v[6])
	e.Metadata = eventual.Metadata{
		CorrelationID: asString(v[7]), CausationID: asString(v[8]), TenantID: asString(v[9]), UserID: asString(v[10]),
		TraceParent: asString(v[11]), TraceState: asString(v[12]),
	}
	if v[13] != nil {
		var err error
		if e.Metadata.Extra, err = flatjson.UnmarshalStringMap(asBytes(v[13])); err != nil {
			return e, fmt.Errorf("event at position %d: bad metadata: %w", e.Position, err)
		}
	}
	e.RecordedAt = time.UnixMicro(recorded).UTC()
	return e, nil
}

func asInt(v any) (int64, error) {
	if n, ok := v.(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf("column holds %T, not an integer", v)
}

// asString returns text as a string; NULL is "".
func asString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

// asBytes returns a blob as it is, text as bytes; NULL is nil.
func asBytes(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}
