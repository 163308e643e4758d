-- The checkpoints of the event relays (outbox.EventRelay): the global log
-- position up to which each relay, by name, has published. Times are unix
-- microseconds (UTC).

-- +goose Up
CREATE TABLE eventual_event_relays (
    name       TEXT    PRIMARY KEY,
    checkpoint INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE eventual_event_relays;
