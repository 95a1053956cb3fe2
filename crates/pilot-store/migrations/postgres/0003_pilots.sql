-- Pilots, their runs and step results, workspace secrets, rate-limit windows
-- (PostgreSQL), and the index fair claiming walks.
--
-- JSON (steps, payloads, outputs) is TEXT, not JSONB: JSONB refuses strings holding
-- \u0000 and rewrites what it stores, and a run must get back exactly the JSON it was
-- given; both backends then decode it the same way. Nothing queries inside it.

CREATE TABLE pilots (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id         BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment          TEXT   NOT NULL CHECK (environment IN ('live', 'test')),
    title                TEXT   NOT NULL,
    description          TEXT   NOT NULL,
    status               TEXT   NOT NULL CHECK (status IN ('active', 'paused')),
    trigger_type         TEXT   NOT NULL CHECK (trigger_type IN ('manual', 'webhook', 'schedule', 'email')),
    steps                TEXT   NOT NULL,
    schedule_cron        TEXT,
    schedule_timezone    TEXT,
    next_fire_at         BIGINT,
    webhook_token_digest TEXT   UNIQUE,
    webhook_token_sealed TEXT,
    email_address        TEXT   UNIQUE,
    run_count            BIGINT NOT NULL DEFAULT 0,
    last_run_at          BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE INDEX pilots_by_tenant ON pilots (workspace_id, environment, id);
-- What the scheduler polls: active schedule pilots by their next tick.
CREATE INDEX pilots_due_schedules ON pilots (next_fire_at, id)
    WHERE status = 'active' AND trigger_type = 'schedule';

CREATE TABLE runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pilot_id     BIGINT NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL,
    environment  TEXT   NOT NULL CHECK (environment IN ('live', 'test')),
    status       TEXT   NOT NULL
                 CHECK (status IN ('queued', 'running', 'waiting', 'success', 'failed', 'filtered')),
    trigger_type TEXT   NOT NULL CHECK (trigger_type IN ('manual', 'webhook', 'schedule', 'email')),
    payload      TEXT   NOT NULL,
    steps        TEXT   NOT NULL,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    -- The run this one repeats: a run of the same pilot, deleted with it.
    retry_of     BIGINT
);

-- Leads with pilot_id so that deleting a pilot finds its runs through it too (the
-- cascade looks runs up by pilot_id alone); the tenant columns keep list_runs in it.
CREATE INDEX runs_by_pilot ON runs (pilot_id, workspace_id, environment, id DESC);

CREATE TABLE run_steps (
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_index  INT    NOT NULL,
    step_id     TEXT   NOT NULL,
    step_type   TEXT   NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('success', 'failed', 'skipped', 'filtered')),
    output      TEXT,
    error       TEXT,
    attempts    INT    NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (run_id, step_index)
);

CREATE TABLE secrets (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment  TEXT   NOT NULL CHECK (environment IN ('live', 'test')),
    name         TEXT   NOT NULL,
    sealed_value TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, environment, name)
);

-- Fixed windows: one row per bucket and window, counted by upsert.
CREATE TABLE rate_limits (
    bucket       TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Fair claiming's lanes: each workspace's due jobs in claim order, and the distinct
-- workspaces with queued jobs, found by skipping through this index.
CREATE INDEX jobs_lanes ON jobs (workspace_id, run_at, id) WHERE state = 'queued';
