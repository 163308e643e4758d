package bench

// rawTable is the scratch table of the raw-insert baseline. It is created
// fresh in the benchmarked database and dropped at the end.
const rawTable = "bench_raw_events"

// The DDL below copies the events table and its indexes from the backends'
// migrations, renamed to rawTable, so that the baseline writes rows of the
// same shape into the same structure, without any event-store logic.
// TestRawDDLMatchesMigrations keeps the copies in step with the migrations.

// sqliteRawDDL mirrors store/sqlite/migrations/00001_event_store.sql.
var sqliteRawDDL = []string{
	`CREATE TABLE bench_raw_events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_no      INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    stream_id      TEXT    NOT NULL,
    event_id       BLOB    NOT NULL,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 0,
    data           BLOB,
    correlation_id TEXT,
    causation_id   TEXT,
    tenant_id      TEXT,
    user_id        TEXT,
    trace_parent   TEXT,
    trace_state    TEXT,
    extra          TEXT,
    recorded_at    INTEGER NOT NULL
)`,
	`CREATE UNIQUE INDEX bench_raw_events_stream_version ON bench_raw_events (stream_no, version)`,
	`CREATE UNIQUE INDEX bench_raw_events_event_id ON bench_raw_events (event_id)`,
}

// sqliteRawInsert inserts one row; the baseline prepares it once per
// transaction.
const sqliteRawInsert = `INSERT INTO bench_raw_events (stream_no, version, stream_id, event_id, type, schema_version, data,
	correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// postgresRawDDL mirrors store/postgres/migrations/00001_event_store.sql.
// It runs with the benchmark's schema as the search path.
var postgresRawDDL = []string{
	`CREATE TABLE bench_raw_events (
    position       bigint      PRIMARY KEY,
    stream_id      text COLLATE "C" NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    type           text        NOT NULL,
    schema_version integer     NOT NULL DEFAULT 0,
    data           bytea,
    correlation_id text,
    causation_id   text,
    tenant_id      text,
    user_id        text,
    trace_parent   text,
    trace_state    text,
    extra          jsonb,
    recorded_at    timestamptz NOT NULL
)`,
	`CREATE UNIQUE INDEX bench_raw_events_stream_version ON bench_raw_events (stream_id, version)`,
	`CREATE UNIQUE INDEX bench_raw_events_event_id ON bench_raw_events (event_id)`,
}

// postgresRawColumns are the columns the baseline's COPY fills.
var postgresRawColumns = []string{
	"position", "stream_id", "version", "event_id", "type", "schema_version", "data",
	"correlation_id", "causation_id", "tenant_id", "user_id", "trace_parent", "trace_state", "extra", "recorded_at",
}
