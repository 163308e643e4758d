-- append_batch writes a group commit's events in one statement, so that the
-- append lock is held for the server's work only, not across client round
-- trips (see docs/adr/0002).
--
-- The client decides every append in memory against the stream heads it
-- believes current (heads: the head per stream, -1 for "no stream") and
-- sends the events to write. The function takes the lock, checks those
-- heads (raising SQLSTATE EV001 when any changed: the client then decides
-- again on fresh data), takes positions from the sequence, writes the
-- events and the rows of new streams, notifies, and returns the positions
-- in the order of the events given. search_path is pinned to the schema the
-- migration ran in, so the function finds its store's tables whatever the
-- caller's search_path.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION append_batch(
    lock_key bigint,
    stream_ids text[], heads bigint[],
    ev_streams text[], ev_versions bigint[], ev_ids uuid[], ev_types text[], ev_schemas int[], ev_data bytea[],
    ev_corr text[], ev_caus text[], ev_tenant text[], ev_user text[], ev_tpar text[], ev_tsta text[], ev_extra jsonb[],
    new_streams text[], new_versions bigint[],
    channel text, now_ts timestamptz
) RETURNS bigint[]
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    n int := cardinality(ev_ids);
    positions bigint[];
    stamp timestamptz;
    stale int;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT count(*) INTO stale
    FROM unnest(stream_ids, heads) AS x(id, head)
    LEFT JOIN streams s ON s.stream_id = x.id
    WHERE CASE WHEN x.head < 0 THEN s.stream_id IS NOT NULL
               ELSE s.stream_id IS NULL OR s.deleted_at IS NOT NULL
                    OR greatest(s.version, COALESCE((SELECT max(e.version) FROM events e WHERE e.stream_id = x.id), 0)) <> x.head
          END;
    IF stale > 0 THEN
        RAISE EXCEPTION 'eventual: % stream heads changed since they were read', stale USING ERRCODE = 'EV001';
    END IF;
    SELECT array_agg(p ORDER BY p) INTO positions
    FROM (SELECT nextval('events_position_seq') AS p FROM generate_series(1, n)) q;
    stamp := greatest(now_ts, (SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1));
    INSERT INTO events (position, stream_id, version, event_id, type, schema_version, data,
        correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at)
    SELECT *, stamp FROM unnest(positions, ev_streams, ev_versions, ev_ids, ev_types, ev_schemas, ev_data,
        ev_corr, ev_caus, ev_tenant, ev_user, ev_tpar, ev_tsta, ev_extra);
    IF cardinality(new_streams) > 0 THEN
        INSERT INTO streams (stream_id, version, created_at)
        SELECT id, v, stamp FROM unnest(new_streams, new_versions) AS u(id, v);
    END IF;
    PERFORM pg_notify(channel, '');
    RETURN positions;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION append_batch;
