-- Fair claiming without a global lock (see `postgres/claim.rs` for the protocol).
--
-- A lane is a workspace with queued jobs (lane 0: jobs without a workspace), and its
-- `ready_at` is when its turn comes: the moment it was last served, or its earliest
-- queued job's `run_at` when that is later. Claimers take the lanes whose turn has
-- come, in turn order, each lane locked `FOR NO KEY UPDATE SKIP LOCKED`: two claimers
-- never hold one lane, and never wait for each other.
CREATE TABLE queue_lanes (
    workspace_id BIGINT PRIMARY KEY,
    ready_at     BIGINT NOT NULL
);

CREATE INDEX queue_lanes_turns ON queue_lanes (ready_at, workspace_id);

-- A lane's running jobs, counted under its lock against the cap (at most the cap's
-- worth of index entries). It replaces `jobs_leased` for the reaper too (every
-- running job, a few per worker, read whole): with two partial indexes on running
-- jobs, a generic plan may count a workspace's by scanning all of them.
DROP INDEX jobs_leased;
CREATE INDEX jobs_running ON jobs (workspace_id, lease_expires_at) WHERE state = 'running';

-- The lanes of the jobs queued before this migration.
INSERT INTO queue_lanes (workspace_id, ready_at)
SELECT COALESCE(workspace_id, 0), MIN(run_at) FROM jobs WHERE state = 'queued' GROUP BY 1;

-- A job that becomes queued (inserted, or handed back) enters its lane, holding the
-- lane's row `FOR KEY SHARE` until its transaction ends: that lock does not conflict
-- with claimers' `FOR NO KEY UPDATE`, and it is what keeps a claimer from retiring the
-- lane (deleting it, or moving its turn to the future) while this job is not yet
-- visible to it. A lane that is missing is created; one asleep until after this job's
-- `run_at` is woken.
CREATE FUNCTION pilot_lane_enter(lane BIGINT, due BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    turn   BIGINT;
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    LOOP
        INSERT INTO queue_lanes (workspace_id, ready_at) VALUES (lane, due)
        ON CONFLICT (workspace_id) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
        SELECT ready_at INTO turn FROM queue_lanes WHERE workspace_id = lane FOR KEY SHARE;
        IF FOUND THEN
            -- Only a lane asleep until after this job is woken early: a lane whose
            -- turn has come (or all but: a claimer's clock read after this job's) is
            -- left alone, so that enqueuers never take its row lock, which they would
            -- hold to their commit (and claimers would skip the lane meanwhile).
            IF turn > due AND turn > now_ms THEN
                UPDATE queue_lanes SET ready_at = due
                WHERE workspace_id = lane AND ready_at > due;
            END IF;
            RETURN;
        END IF;
        -- The lane was retired between the two statements: create it again.
    END LOOP;
END;
$$;

-- Inserts enter their lanes once per statement (a batch of jobs, once per workspace
-- in it), in workspace order; a job handed back enters its lane as it is.
CREATE FUNCTION pilot_lanes_entered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pilot_lane_enter(e.lane, e.due) FROM (
        SELECT COALESCE(workspace_id, 0) AS lane, MIN(run_at) AS due FROM entered
        WHERE state = 'queued' GROUP BY 1 ORDER BY 1
    ) e;
    RETURN NULL;
END;
$$;

CREATE FUNCTION pilot_lane_reentered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pilot_lane_enter(COALESCE(NEW.workspace_id, 0), NEW.run_at);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_enter_lanes_on_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS entered
    FOR EACH STATEMENT EXECUTE FUNCTION pilot_lanes_entered();

CREATE TRIGGER jobs_enter_lane_on_requeue AFTER UPDATE OF state, run_at ON jobs
    FOR EACH ROW WHEN (NEW.state = 'queued' AND (OLD.state <> 'queued' OR NEW.run_at < OLD.run_at))
    EXECUTE FUNCTION pilot_lane_reentered();

-- One fair claim, in one round trip. Each statement below reads a snapshot taken when
-- it starts (READ COMMITTED, a VOLATILE function), so every statement after a lock
-- sees whatever the lock's previous holder committed.
--
-- 1. Lanes whose turn has come, in turn order, locked as they are read and skipped
--    when another claimer holds them; a lane's room is the cap less its running jobs,
--    counted under that lock (only claimers holding it can add to them). Lanes at the
--    cap keep their place; the walk stops at `p_limit` lanes with room.
-- 2. The jobs: every chosen lane's first due job in turn order, then every lane's
--    second, and so on, each lane within its room, `p_limit` in all.
-- 3. Served lanes with more due jobs go to the back of the line (`ready_at = p_now`).
--    A lane with only later jobs is retired — its turn moved to its next job's
--    `run_at` — only under `FOR UPDATE` taken with SKIP LOCKED, so never while an
--    enqueuer holds it `FOR KEY SHARE`, and decided by a statement that starts after
--    that lock: it sees every job entered before. A lane it cannot retire goes to the
--    back of the line instead, and a later claim looks again.
--
-- Emptied lanes: a lane served empty stays, at the back of the line, and is deleted
-- (retired as above) only when a claim finds it still empty more than a second after
-- its last service. Deleting it at once made every burst after an empty moment
-- re-create it, and concurrent enqueuers inserting one lane wait for each other's
-- commits; a lane that stays is only locked `FOR KEY SHARE`, which they share. The
-- walk passes over such lanes (no due job: not served) until they go.
CREATE FUNCTION pilot_claim_fair(
    p_owner TEXT, p_lease_until BIGINT, p_now BIGINT, p_limit INT, p_cap INT
) RETURNS TABLE (
    id BIGINT, kind TEXT, payload JSONB, workspace_id BIGINT, attempts INT,
    max_attempts INT, run_at BIGINT, created_at BIGINT
) LANGUAGE plpgsql
-- Planned once per connection: planning these statements costs more than running them.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    lanes   BIGINT[] := '{}';
    rooms   INT[]    := '{}';
    batch   BIGINT[];
    wanted  INT;
    turns   BIGINT[];
    stale   BIGINT[] := '{}';
    fetched BIGINT;
    last_at BIGINT := -9223372036854775808;
    last_ws BIGINT := -1;
    depth   INT;
    busy    BIGINT[];
    quiet   BIGINT[];
    retired BIGINT[];
BEGIN
    -- The claim's commit need not wait for the WAL flush: a lease lost in a crash
    -- leaves its job queued, to run again (at-least-once), and no lane is wrong for it.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Lanes are locked a batch at a time (each batch as many as are still wanted,
    -- read on from where the last one ended), then their rooms counted in one
    -- statement that starts after the batch's locks.
    LOOP
        wanted := p_limit - cardinality(lanes);
        SELECT array_agg(b.workspace_id ORDER BY b.ready_at, b.workspace_id),
               array_agg(b.ready_at ORDER BY b.ready_at, b.workspace_id), count(*),
               (array_agg(b.ready_at ORDER BY b.ready_at DESC, b.workspace_id DESC))[1],
               (array_agg(b.workspace_id ORDER BY b.ready_at DESC, b.workspace_id DESC))[1]
        INTO batch, turns, fetched, last_at, last_ws
        FROM (
            SELECT q.workspace_id, q.ready_at FROM queue_lanes q
            WHERE q.ready_at <= p_now AND (q.ready_at, q.workspace_id) > (last_at, last_ws)
            ORDER BY q.ready_at, q.workspace_id LIMIT wanted
            FOR NO KEY UPDATE SKIP LOCKED
        ) b;
        EXIT WHEN fetched = 0;
        -- Lanes with room and a due job are served; an emptied lane whose last service
        -- is older than a second is stale, to retire below; a younger one is left
        -- as it is (see "Emptied lanes" above).
        SELECT lanes || COALESCE(array_agg(r.ws ORDER BY r.turn) FILTER (WHERE r.serve), '{}'),
               rooms || COALESCE(array_agg(r.room ORDER BY r.turn) FILTER (WHERE r.serve), '{}'),
               stale || COALESCE(array_agg(r.ws) FILTER (WHERE NOT r.due AND r.served_at <= p_now - 1000), '{}')
        INTO lanes, rooms, stale
        FROM (
            SELECT u.ws, u.turn, u.served_at, c.room, d.due, c.room > 0 AND d.due AS serve
            FROM unnest(batch, turns) WITH ORDINALITY AS u(ws, served_at, turn)
            CROSS JOIN LATERAL (
                SELECT CASE WHEN u.ws = 0 THEN p_limit ELSE p_cap - COUNT(*) END AS room
                FROM jobs j WHERE j.workspace_id = u.ws AND j.state = 'running'
            ) c
            CROSS JOIN LATERAL (
                SELECT CASE WHEN u.ws = 0
                    THEN EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                                 AND k.workspace_id IS NULL AND k.run_at <= p_now)
                    ELSE EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                                 AND k.workspace_id = u.ws AND k.run_at <= p_now)
                END AS due
            ) d
        ) r;
        EXIT WHEN cardinality(lanes) >= p_limit OR fetched < wanted;
    END LOOP;
    depth := 1 + GREATEST(p_limit - cardinality(lanes), 0);

    RETURN QUERY
    WITH offers AS (
        SELECT o.id, o.rank, l.turn FROM unnest(lanes, rooms) WITH ORDINALITY AS l(ws, room, turn)
        CROSS JOIN LATERAL (
            SELECT k.id, row_number() OVER (ORDER BY k.run_at, k.id) AS rank FROM jobs k
            WHERE l.ws <> 0 AND k.state = 'queued' AND k.workspace_id = l.ws AND k.run_at <= p_now
            ORDER BY k.run_at, k.id LIMIT LEAST(l.room, depth)
        ) o
        UNION ALL
        SELECT o.id, o.rank, l.turn FROM unnest(lanes) WITH ORDINALITY AS l(ws, turn)
        CROSS JOIN LATERAL (
            SELECT k.id, row_number() OVER (ORDER BY k.run_at, k.id) AS rank FROM jobs k
            WHERE l.ws = 0 AND k.state = 'queued' AND k.workspace_id IS NULL AND k.run_at <= p_now
            ORDER BY k.run_at, k.id LIMIT depth
        ) o
    ), leased AS (
        -- By primary key from an array: a join would let the generic plan hash the
        -- whole queue. The state is re-checked (still queued) in a form no partial
        -- index on queued jobs matches, so that the plan cannot scan one of those
        -- for the ids instead.
        UPDATE jobs j SET state = 'running', lease_owner = p_owner,
                          lease_expires_at = p_lease_until, attempts = j.attempts + 1,
                          updated_at = p_now
        WHERE j.id = ANY (ARRAY(
            SELECT offers.id FROM offers ORDER BY offers.rank, offers.turn LIMIT p_limit
        )) AND j.state NOT IN ('running', 'dead')
        RETURNING j.id, j.kind, j.payload, j.workspace_id, j.attempts, j.max_attempts,
                  j.run_at, j.created_at
    )
    SELECT * FROM leased;

    -- Served lanes with more due go to the back of the line, and so do served lanes
    -- left empty (kept a moment, not retired: see "Emptied lanes" above); those with
    -- only later jobs, and the stale, are retired.
    SELECT array_agg(u.ws) FILTER (WHERE u.next IS NULL OR u.next <= p_now),
           array_agg(u.ws) FILTER (WHERE u.next > p_now)
    INTO busy, quiet
    FROM (SELECT w AS ws, CASE WHEN w = 0
            THEN (SELECT MIN(k.run_at) FROM jobs k WHERE k.state = 'queued' AND k.workspace_id IS NULL)
            ELSE (SELECT MIN(k.run_at) FROM jobs k WHERE k.state = 'queued' AND k.workspace_id = w)
        END AS next
          FROM unnest(lanes) AS w) u;
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
            SELECT r.ws, CASE WHEN r.ws = 0
                    THEN (SELECT MIN(k.run_at) FROM jobs k WHERE k.state = 'queued' AND k.workspace_id IS NULL)
                    ELSE (SELECT MIN(k.run_at) FROM jobs k WHERE k.state = 'queued' AND k.workspace_id = r.ws)
                END AS run_at
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

-- Wake-ups are sent after commits now, by the store (`postgres/wakeups.rs`): a NOTIFY
-- inside a transaction serialises commits on a database-wide lock.
DROP TRIGGER jobs_inserted ON jobs;
DROP FUNCTION pilot_jobs_notify();
