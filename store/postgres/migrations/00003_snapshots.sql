-- The latest snapshot of each stream (see eventual.SnapshotStore).

-- +goose Up
CREATE TABLE snapshots (
    stream_id      text COLLATE "C" PRIMARY KEY,
    version        bigint      NOT NULL,
    schema_version integer     NOT NULL,
    data           bytea       NOT NULL,
    taken_at       timestamptz NOT NULL
);

-- +goose Down
DROP TABLE snapshots;
