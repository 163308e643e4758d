-- The projection runner's bookkeeping: one row per projection. The same SQL
-- serves SQLite and PostgreSQL.
--
-- checkpoint is the global log position up to which the active generation
-- of the projection's tables has seen the log; it is written in the same
-- transaction as the rows it covers. A rebuild fills generation
-- rebuild_generation from position 0 up to rebuild_checkpoint while the
-- active generation keeps serving; the swap sets generation to it.
-- updated_at is unix microseconds (UTC).

-- +goose Up
CREATE TABLE eventual_projections (
    name               TEXT    PRIMARY KEY,
    version            INTEGER NOT NULL,
    generation         INTEGER NOT NULL,
    checkpoint         BIGINT  NOT NULL,
    state              TEXT    NOT NULL,
    failed_position    BIGINT  NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    rebuild_generation INTEGER NOT NULL DEFAULT 0,
    rebuild_version    INTEGER NOT NULL DEFAULT 0,
    rebuild_checkpoint BIGINT  NOT NULL DEFAULT 0,
    updated_at         BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE eventual_projections;
