-- The inbox: which messages each consumer has handled, recorded in the
-- same transaction as the handling's effects. received_at is unix
-- microseconds (UTC), as on SQLite; rows older than the retention are
-- deleted, by the index on it. Names compare bytewise (COLLATE "C").

-- +goose Up
CREATE TABLE eventual_inbox (
    consumer    text COLLATE "C" NOT NULL,
    message_id  text COLLATE "C" NOT NULL,
    received_at bigint NOT NULL,
    PRIMARY KEY (consumer, message_id)
);

CREATE INDEX eventual_inbox_received ON eventual_inbox (received_at);

-- +goose Down
DROP TABLE eventual_inbox;
