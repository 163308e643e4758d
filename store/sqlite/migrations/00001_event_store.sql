-- The event store: one row per stream, one row per event.
--
-- Times are unix microseconds (UTC). events.position is the global log
-- position: the writer hands positions out after sqlite_sequence's value
-- inside its write transaction (SQLite has one writer at a time, so they
-- follow commit order), and AUTOINCREMENT keeps sqlite_sequence at the
-- highest position ever written, so a truncated last event's position is
-- never reused. events.stream_no is the integer key of the stream, used by
-- the (stream_no, version) index because small integer keys keep that index
-- compact and the pages a commit touches few.
--
-- A stream's head is its last event's version. streams.version is written
-- when the row is created and when the stream is truncated, so a stream
-- whose events were all truncated keeps its head; appends do not write the
-- row. recorded_at never goes down along the log (the writer makes sure),
-- so a time range is found by binary search on position, with no index.

-- +goose Up
CREATE TABLE streams (
    stream_no     INTEGER PRIMARY KEY,
    stream_id     TEXT    NOT NULL UNIQUE,
    version       INTEGER NOT NULL,
    first_version INTEGER NOT NULL DEFAULT 1,
    deleted_at    INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE events (
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
);

CREATE UNIQUE INDEX events_stream_version ON events (stream_no, version);
CREATE UNIQUE INDEX events_event_id ON events (event_id);

-- +goose Down
DROP TABLE events;
DROP TABLE streams;
