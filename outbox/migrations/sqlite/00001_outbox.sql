-- The outbox: messages written in the same transaction as the events that
-- caused them, waiting to be relayed to a transport.
--
-- seq orders the rows: SQLite has one writer at a time, so seq follows
-- commit order, and AUTOINCREMENT never reuses the seq of a deleted row.
-- metadata is the JSON of eventual.Metadata ('' when empty). Times are
-- unix microseconds (UTC); sent_at is NULL until the transport acknowledged
-- the message. The partial indexes keep the relay's read of unsent rows and
-- the retention cleanup of sent ones cheap however long the table is.

-- +goose Up
CREATE TABLE eventual_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    key        TEXT    NOT NULL DEFAULT '',
    data       BLOB,
    metadata   TEXT    NOT NULL DEFAULT '',
    reply_to   TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);

CREATE INDEX eventual_outbox_unsent ON eventual_outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX eventual_outbox_sent ON eventual_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE eventual_outbox;
