package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// rawTable is the scratch table of the raw-insert baseline. It is created
// fresh in the benchmarked database and dropped at the end.
const rawTable = "bench_raw_events"

// rawDDL returns the statements that create rawTable as a copy of the
// events table and its indexes, taken from a store's first migration, so
// that the baseline writes rows of the same shape into the same structure,
// without any event-store logic.
func rawDDL(migrations fs.FS) ([]string, error) {
	b, err := fs.ReadFile(migrations, "00001_event_store.sql")
	if err != nil {
		return nil, fmt.Errorf("read the events table's migration: %w", err)
	}
	up, _, _ := strings.Cut(string(b), "-- +goose Down")
	var out []string
	for stmt := range strings.SplitSeq(up, ";") {
		var code []string
		for line := range strings.SplitSeq(stmt, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				code = append(code, line)
			}
		}
		s := strings.TrimSpace(strings.Join(code, "\n"))
		if strings.HasPrefix(s, "CREATE TABLE events ") || strings.Contains(s, " ON events ") {
			out = append(out, eventsName.ReplaceAllString(s, rawTable+"$1"))
		}
	}
	if len(out) == 0 || !strings.HasPrefix(out[0], "CREATE TABLE "+rawTable) {
		return nil, errors.New("the migration does not create the events table")
	}
	return out, nil
}

// eventsName matches the events table's name and its indexes' names.
var eventsName = regexp.MustCompile(`\bevents(_[a-z_]+)?\b`)

// sqliteRawInsert inserts one row; the baseline prepares it once per
// transaction.
const sqliteRawInsert = `INSERT INTO bench_raw_events (stream_no, version, stream_id, event_id, type, schema_version, data,
	correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// postgresRawColumns are the columns the baseline's COPY fills.
var postgresRawColumns = []string{
	"position", "stream_id", "version", "event_id", "type", "schema_version", "data",
	"correlation_id", "causation_id", "tenant_id", "user_id", "trace_parent", "trace_state", "extra", "recorded_at",
}
