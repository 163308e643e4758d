-- The latest snapshot of each stream (see eventual.SnapshotStore). Times
-- are unix microseconds (UTC).

-- +goose Up
CREATE TABLE snapshots (
    stream_id      TEXT    PRIMARY KEY,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    taken_at       INTEGER NOT NULL
);

-- +goose Down
DROP TABLE snapshots;
