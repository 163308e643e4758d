-- The inbox: which messages each consumer has handled, recorded in the
-- same transaction as the handling's effects. received_at is unix
-- microseconds (UTC); rows older than the retention are deleted, by the
-- index on it.

-- +goose Up
CREATE TABLE eventual_inbox (
    consumer    TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, message_id)
) WITHOUT ROWID;

CREATE INDEX eventual_inbox_received ON eventual_inbox (received_at);

-- +goose Down
DROP TABLE eventual_inbox;
