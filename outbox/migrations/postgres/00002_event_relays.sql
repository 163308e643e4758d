-- The checkpoints of the event relays (outbox.EventRelay): the global log
-- position up to which each relay, by name, has published. Times are unix
-- microseconds (UTC).

-- +goose Up
CREATE TABLE eventual_event_relays (
    name       text COLLATE "C" PRIMARY KEY,
    checkpoint bigint NOT NULL,
    updated_at bigint NOT NULL
);

-- +goose Down
DROP TABLE eventual_event_relays;
