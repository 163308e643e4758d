-- Saga instances, the same SQL for SQLite and PostgreSQL: one row per
-- instance, the state the orchestrator works from. Its history is the event
-- stream saga-<name>-<id>, written in the same transactions; version is
-- that stream's version.
--
-- due_at (unix microseconds) is the instance's durable timer: when the
-- reply it awaits times out, or when its next attempt is due. The
-- scheduler reads due rows through the partial index; a restart loses no
-- timer. awaiting is the prefix of the IDs of the command whose reply the
-- instance waits for ('' when none): a reply answering anything else is
-- late or a duplicate, and ignored.

-- +goose Up
CREATE TABLE eventual_sagas (
    name        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    step        INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    awaiting    TEXT    NOT NULL DEFAULT '',
    due_at      BIGINT,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    version     BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (name, id)
);
CREATE INDEX eventual_sagas_due ON eventual_sagas (name, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX eventual_sagas_status ON eventual_sagas (name, status, updated_at);

-- +goose Down
DROP TABLE eventual_sagas;
