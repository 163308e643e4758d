-- The outbox: messages written in the same transaction as the events that
-- caused them, waiting to be relayed to a transport.
--
-- seq orders the rows. A sequence hands numbers out when transactions ask,
-- not when they commit, so Outbox.Add takes the event store's append lock
-- (docs/adr/0002) before it inserts: seq is then taken and committed in the
-- same order, and a row never becomes visible behind one already relayed.
-- metadata is the JSON of eventual.Metadata ('' when empty). Times are
-- unix microseconds (UTC), as on SQLite; sent_at is NULL until the
-- transport acknowledged the message. The partial indexes keep the relay's
-- read of unsent rows and the retention cleanup of sent ones cheap however
-- long the table is.

-- +goose Up
CREATE TABLE eventual_outbox (
    seq        bigserial PRIMARY KEY,
    id         text   NOT NULL,
    subject    text   NOT NULL,
    type       text   NOT NULL,
    key        text   NOT NULL DEFAULT '',
    data       bytea,
    metadata   text   NOT NULL DEFAULT '',
    reply_to   text   NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    sent_at    bigint
);

CREATE INDEX eventual_outbox_unsent ON eventual_outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX eventual_outbox_sent ON eventual_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE eventual_outbox;
