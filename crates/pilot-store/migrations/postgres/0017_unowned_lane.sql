-- The uncapped lane (jobs without a workspace) claimed without a lane lock.
--
-- Lane 0 had been a lane like the others: held by one claimer at a time, entered by
-- every insert of an unowned job, retired when empty. It has no cap to keep, so it
-- needs none of that: its row now stays for good, only as its place in the turn order,
-- read without a lock; its jobs are taken `FOR UPDATE SKIP LOCKED`, so any number of
-- claimers serve it at once; a claimer that served it moves it to the back of the line
-- if no other claimer is doing so (`SKIP LOCKED` again). Its turn never goes to the
-- future, so a job entering it has nothing to wake, and enqueuers no longer touch it.
DELETE FROM queue_lanes WHERE workspace_id = 0;
INSERT INTO queue_lanes (workspace_id, ready_at) VALUES (0, 0);

CREATE OR REPLACE FUNCTION pilot_lane_enter(lane BIGINT, due BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    turn   BIGINT;
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF lane = 0 THEN
        RETURN;
    END IF;
    LOOP
        INSERT INTO queue_lanes (workspace_id, ready_at) VALUES (lane, due)
        ON CONFLICT (workspace_id) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
        SELECT ready_at INTO turn FROM queue_lanes WHERE workspace_id = lane FOR KEY SHARE;
        IF FOUND THEN
            IF turn > due AND turn > now_ms THEN
                UPDATE queue_lanes SET ready_at = due
                WHERE workspace_id = lane AND ready_at > due;
            END IF;
            RETURN;
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION pilot_lanes_entered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pilot_lane_enter(e.lane, e.due) FROM (
        SELECT workspace_id AS lane, MIN(run_at) AS due FROM entered
        WHERE state = 'queued' AND workspace_id IS NOT NULL GROUP BY 1 ORDER BY 1
    ) e;
    RETURN NULL;
END;
$$;

DROP TRIGGER jobs_enter_lane_on_requeue ON jobs;
CREATE TRIGGER jobs_enter_lane_on_requeue AFTER UPDATE OF state, run_at ON jobs
    FOR EACH ROW WHEN (NEW.state = 'queued' AND NEW.workspace_id IS NOT NULL
                       AND (OLD.state <> 'queued' OR NEW.run_at < OLD.run_at))
    EXECUTE FUNCTION pilot_lane_reentered();

-- The fair claim of 0015, with lane 0 served as above. The workspaces' lanes are
-- walked as before (lane 0 left out of the walk); lane 0 joins the lanes chosen at its
-- place in the turn order when it has a due job, and the lanes past `p_limit` after it
-- are left for the next claim with their turns unchanged. Only the lanes a job was
-- leased from are sent to the back of the line.
CREATE OR REPLACE FUNCTION pilot_claim_fair(
    p_owner TEXT, p_lease_until BIGINT, p_now BIGINT, p_limit INT, p_cap INT
) RETURNS TABLE (
    id BIGINT, kind TEXT, payload JSONB, workspace_id BIGINT, attempts INT,
    max_attempts INT, run_at BIGINT, created_at BIGINT
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    lanes     BIGINT[] := '{}';
    rooms     INT[]    := '{}';
    readies   BIGINT[] := '{}';
    batch     BIGINT[];
    wanted    INT;
    turns     BIGINT[];
    stale     BIGINT[] := '{}';
    fetched   BIGINT;
    last_at   BIGINT := -9223372036854775808;
    last_ws   BIGINT := -1;
    depth     INT;
    zero_at   BIGINT;
    zero_due  BOOLEAN;
    zero_pos  INT := 0;
    unowned   BIGINT[] := '{}';
    served    BIGINT[] := '{}';
    zero_done BOOLEAN := false;
    busy      BIGINT[];
    quiet     BIGINT[];
    retired   BIGINT[];
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    LOOP
        wanted := p_limit - cardinality(lanes);
        SELECT array_agg(b.workspace_id ORDER BY b.ready_at, b.workspace_id),
               array_agg(b.ready_at ORDER BY b.ready_at, b.workspace_id), count(*),
               (array_agg(b.ready_at ORDER BY b.ready_at DESC, b.workspace_id DESC))[1],
               (array_agg(b.workspace_id ORDER BY b.ready_at DESC, b.workspace_id DESC))[1]
        INTO batch, turns, fetched, last_at, last_ws
        FROM (
            SELECT q.workspace_id, q.ready_at FROM queue_lanes q
            WHERE q.ready_at <= p_now AND q.workspace_id <> 0
              AND (q.ready_at, q.workspace_id) > (last_at, last_ws)
            ORDER BY q.ready_at, q.workspace_id LIMIT wanted
            FOR NO KEY UPDATE SKIP LOCKED
        ) b;
        EXIT WHEN fetched = 0;
        SELECT lanes || COALESCE(array_agg(r.ws ORDER BY r.turn) FILTER (WHERE r.serve), '{}'),
               rooms || COALESCE(array_agg(r.room ORDER BY r.turn) FILTER (WHERE r.serve), '{}'),
               readies || COALESCE(array_agg(r.served_at ORDER BY r.turn) FILTER (WHERE r.serve), '{}'),
               stale || COALESCE(array_agg(r.ws) FILTER (WHERE NOT r.due AND r.served_at <= p_now - 1000), '{}')
        INTO lanes, rooms, readies, stale
        FROM (
            SELECT u.ws, u.turn, u.served_at, c.room, d.due, c.room > 0 AND d.due AS serve
            FROM unnest(batch, turns) WITH ORDINALITY AS u(ws, served_at, turn)
            CROSS JOIN LATERAL (
                SELECT p_cap - COUNT(*) AS room
                FROM jobs j WHERE j.workspace_id = u.ws AND j.state = 'running'
            ) c
            CROSS JOIN LATERAL (
                SELECT EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                               AND k.workspace_id = u.ws AND k.run_at <= p_now) AS due
            ) d
        ) r;
        EXIT WHEN cardinality(lanes) >= p_limit OR fetched < wanted;
    END LOOP;

    -- Lane 0: its turn, read without a lock, and whether it has a due job.
    SELECT q.ready_at, EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                               AND k.workspace_id IS NULL AND k.run_at <= p_now)
    INTO zero_at, zero_due
    FROM queue_lanes q WHERE q.workspace_id = 0;
    IF zero_due AND zero_at <= p_now THEN
        zero_pos := 1 + (SELECT count(*) FROM unnest(readies) AS r(turn_at) WHERE r.turn_at < zero_at);
        IF zero_pos <= p_limit THEN
            lanes := (lanes[1:zero_pos - 1] || 0::bigint || lanes[zero_pos:])[1:p_limit];
            rooms := (rooms[1:zero_pos - 1] || p_limit || rooms[zero_pos:])[1:p_limit];
        ELSE
            zero_pos := 0;
        END IF;
    END IF;
    depth := 1 + GREATEST(p_limit - cardinality(lanes), 0);
    IF zero_pos > 0 THEN
        unowned := ARRAY(
            SELECT k.id FROM jobs k
            WHERE k.state = 'queued' AND k.workspace_id IS NULL AND k.run_at <= p_now
            ORDER BY k.run_at, k.id LIMIT depth
            FOR UPDATE SKIP LOCKED
        );
    END IF;

    FOR id, kind, payload, workspace_id, attempts, max_attempts, run_at, created_at IN
        WITH offers AS (
            SELECT o.id, o.rank, l.turn FROM unnest(lanes, rooms) WITH ORDINALITY AS l(ws, room, turn)
            CROSS JOIN LATERAL (
                SELECT k.id, row_number() OVER (ORDER BY k.run_at, k.id) AS rank FROM jobs k
                WHERE l.ws <> 0 AND k.state = 'queued' AND k.workspace_id = l.ws AND k.run_at <= p_now
                ORDER BY k.run_at, k.id LIMIT LEAST(l.room, depth)
            ) o
            UNION ALL
            SELECT u.id, u.rank, zero_pos FROM unnest(unowned) WITH ORDINALITY AS u(id, rank)
        )
        UPDATE jobs j SET state = 'running', lease_owner = p_owner,
                          lease_expires_at = p_lease_until, attempts = j.attempts + 1,
                          updated_at = p_now
        WHERE j.id = ANY (ARRAY(
            SELECT offers.id FROM offers ORDER BY offers.rank, offers.turn LIMIT p_limit
        )) AND j.state NOT IN ('running', 'dead')
        RETURNING j.id, j.kind, j.payload, j.workspace_id, j.attempts, j.max_attempts,
                  j.run_at, j.created_at
    LOOP
        RETURN NEXT;
        IF workspace_id IS NULL THEN
            zero_done := true;
        ELSIF NOT (workspace_id = ANY (served)) THEN
            served := served || workspace_id;
        END IF;
    END LOOP;

    IF zero_done THEN
        PERFORM 1 FROM queue_lanes q WHERE q.workspace_id = 0 FOR NO KEY UPDATE SKIP LOCKED;
        IF FOUND THEN
            UPDATE queue_lanes q SET ready_at = p_now WHERE q.workspace_id = 0;
        END IF;
    END IF;

    IF cardinality(served) > 0 THEN
        SELECT array_agg(u.ws) FILTER (WHERE u.next IS NULL OR u.next <= p_now),
               array_agg(u.ws) FILTER (WHERE u.next > p_now)
        INTO busy, quiet
        FROM (SELECT w AS ws,
                     (SELECT MIN(k.run_at) FROM jobs k WHERE k.state = 'queued' AND k.workspace_id = w) AS next
              FROM unnest(served) AS w) u;
    END IF;
    quiet := COALESCE(quiet, '{}') || stale;

    IF cardinality(quiet) > 0 THEN
        SELECT array_agg(q.workspace_id) INTO retired FROM (
            SELECT q.workspace_id FROM queue_lanes q WHERE q.workspace_id = ANY (quiet)
            FOR UPDATE SKIP LOCKED
        ) q;
        busy := COALESCE(busy, '{}') || ARRAY(
            SELECT w FROM unnest(quiet) w WHERE NOT (w = ANY (COALESCE(retired, '{}')))
        );
    END IF;
    IF cardinality(busy) > 0 THEN
        UPDATE queue_lanes q SET ready_at = p_now WHERE q.workspace_id = ANY (busy);
    END IF;
    IF retired IS NOT NULL THEN
        WITH next AS (
            SELECT r.ws, (SELECT MIN(k.run_at) FROM jobs k
                          WHERE k.state = 'queued' AND k.workspace_id = r.ws) AS run_at
            FROM unnest(retired) AS r(ws)
        ), gone AS (
            DELETE FROM queue_lanes q USING next
            WHERE q.workspace_id = next.ws AND next.run_at IS NULL
        )
        UPDATE queue_lanes q SET ready_at = GREATEST(p_now, next.run_at)
        FROM next WHERE q.workspace_id = next.ws AND next.run_at IS NOT NULL;
    END IF;
END;
$$;
