-- The event store: one row per stream, one row per event.
--
-- Times are unix microseconds (UTC). events.position is the global log
-- position: AUTOINCREMENT never reuses a position, even after the last
-- events were truncated, and SQLite's single writer assigns positions in
-- commit order. events.stream_no is the integer key of the stream, used by
-- the (stream_no, version) index because small integer keys keep that index
-- compact and the pages a commit touches few.

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
CREATE INDEX events_recorded_at ON events (recorded_at);

-- +goose Down
DROP TABLE events;
DROP TABLE streams;
