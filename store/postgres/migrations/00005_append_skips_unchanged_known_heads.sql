-- append_batch stops checking known heads while no stream row has changed,
-- and takes its positions from the sequence at once (see docs/adr/0002).
--
-- A known head (one the store wrote or read itself, of a stream the batch
-- appends to) can only go stale in ways the (stream_id, version) index
-- does not catch when its streams row changes: a deletion or a truncation.
-- stream_changes.generation counts the statements that update or delete
-- streams rows (a trigger, so raw SQL counts too). The client sends, with
-- each known head, the generation it was read at; a known head read at the
-- current generation needs no check, and a batch whose heads are all such
-- runs no check at all. Older known heads are checked as in 00004; the
-- function returns the current generation, at which the client then
-- caches the batch's heads. Each head is checked with its own lookup by
-- key (see the loop).
--
-- Under the append lock nobody else takes positions, so one nextval and
-- one setval reserve the batch's n consecutive positions; the function
-- returns the first (the rest follow) and the generation.
--
-- The function of 00004 stays, so that processes not yet upgraded keep
-- appending; it checks every known head, which stays correct.

-- +goose Up
CREATE TABLE stream_changes (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint  NOT NULL
);
INSERT INTO stream_changes (id, generation) VALUES (true, 0);

-- +goose StatementBegin
CREATE FUNCTION count_stream_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE stream_changes SET generation = generation + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER streams_changed AFTER UPDATE OR DELETE OR TRUNCATE ON streams
    FOR EACH STATEMENT EXECUTE FUNCTION count_stream_change();

-- +goose StatementBegin
CREATE FUNCTION append_batch(
    lock_key bigint,
    stream_ids text[], heads bigint[], known boolean[], known_generations bigint[],
    ev_streams text[], ev_versions bigint[], ev_ids uuid[], ev_types text[], ev_schemas int[], ev_data bytea[],
    ev_corr text[], ev_caus text[], ev_tenant text[], ev_user text[], ev_tpar text[], ev_tsta text[], ev_extra jsonb[],
    new_streams text[], new_versions bigint[],
    channel text, now_ts timestamptz,
    OUT first_position bigint, OUT generation bigint
)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    n int := cardinality(ev_ids);
    stamp timestamptz;
    stale int := 0;
    ok boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT c.generation INTO generation FROM stream_changes c;
    IF false = ANY(known) OR generation <> ANY(known_generations) THEN
        -- One lookup by key per head to check: a set-based query over the
        -- arrays had its plan cached while streams was small and kept
        -- scanning the whole table as it grew.
        FOR i IN 1 .. cardinality(stream_ids) LOOP
            CONTINUE WHEN known[i] AND known_generations[i] = generation;
            IF heads[i] < 0 THEN
                ok := NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream_id = stream_ids[i]);
            ELSIF known[i] THEN
                ok := EXISTS (SELECT 1 FROM streams s
                    WHERE s.stream_id = stream_ids[i] AND s.deleted_at IS NULL AND s.version <= heads[i]);
            ELSE
                ok := EXISTS (SELECT 1 FROM streams s
                    WHERE s.stream_id = stream_ids[i] AND s.deleted_at IS NULL
                      AND greatest(s.version, COALESCE((SELECT max(e.version) FROM events e
                          WHERE e.stream_id = stream_ids[i]), 0)) = heads[i]);
            END IF;
            IF NOT ok THEN
                stale := stale + 1;
            END IF;
        END LOOP;
    END IF;
    IF stale > 0 THEN
        RAISE EXCEPTION 'eventual: % stream heads changed since they were read', stale USING ERRCODE = 'EV001';
    END IF;
    first_position := nextval('events_position_seq');
    IF n > 1 THEN
        PERFORM setval('events_position_seq', first_position + n - 1);
    END IF;
    stamp := greatest(now_ts, (SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1));
    INSERT INTO events (position, stream_id, version, event_id, type, schema_version, data,
        correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at)
    SELECT first_position + u.ord - 1, u.stream_id, u.version, u.event_id, u.type, u.schema_version, u.data,
        u.corr, u.caus, u.tenant, u.usr, u.tpar, u.tsta, u.extra, stamp
    FROM unnest(ev_streams, ev_versions, ev_ids, ev_types, ev_schemas, ev_data,
        ev_corr, ev_caus, ev_tenant, ev_user, ev_tpar, ev_tsta, ev_extra)
        WITH ORDINALITY AS u(stream_id, version, event_id, type, schema_version, data,
            corr, caus, tenant, usr, tpar, tsta, extra, ord);
    IF cardinality(new_streams) > 0 THEN
        INSERT INTO streams (stream_id, version, created_at)
        SELECT id, v, stamp FROM unnest(new_streams, new_versions) AS u(id, v);
    END IF;
    PERFORM pg_notify(channel, '');
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION append_batch(bigint, text[], bigint[], boolean[], bigint[], text[], bigint[], uuid[], text[], int[], bytea[],
    text[], text[], text[], text[], text[], text[], jsonb[], text[], bigint[], text, timestamptz);
DROP TRIGGER streams_changed ON streams;
DROP FUNCTION count_stream_change();
DROP TABLE stream_changes;
