-- The event store: one row per stream, one row per event.
--
-- events.position is the global log position. Appenders take it from
-- events_position_seq while holding a transaction-scoped advisory lock, so
-- positions are handed out and committed in the same order (see the
-- store's doc and docs/adr/0002). Stream IDs compare bytewise (COLLATE "C").
--
-- A stream's head is its last event's version. streams.version is written
-- when the row is created and when the stream is truncated, so a stream
-- whose events were all truncated keeps its head; appends do not update the
-- row. recorded_at never goes down along the log (the writer makes sure),
-- so a time range is found by binary search on position, with no index.

-- +goose Up
CREATE TABLE streams (
    stream_id     text COLLATE "C" PRIMARY KEY,
    version       bigint      NOT NULL,
    first_version bigint      NOT NULL DEFAULT 1,
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL
);

CREATE SEQUENCE events_position_seq AS bigint;

CREATE TABLE events (
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
);

CREATE UNIQUE INDEX events_stream_version ON events (stream_id, version);
CREATE UNIQUE INDEX events_event_id ON events (event_id);

-- +goose Down
DROP TABLE events;
DROP SEQUENCE events_position_seq;
DROP TABLE streams;
