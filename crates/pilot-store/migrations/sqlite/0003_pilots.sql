-- Pilots, their runs and step results, workspace secrets, rate-limit windows (SQLite),
-- and the index fair claiming walks.
--
-- JSON (steps, payloads, outputs) is kept as the text serde_json wrote, as on
-- PostgreSQL, so both backends decode it the same way.
-- AUTOINCREMENT: a deleted pilot's or run's id must never name a new one (a queued
-- `run_pilot` job may still carry the old run id).

CREATE TABLE pilots (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment          TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    title                TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('active', 'paused')),
    trigger_type         TEXT    NOT NULL CHECK (trigger_type IN ('manual', 'webhook', 'schedule', 'email')),
    steps                TEXT    NOT NULL,
    schedule_cron        TEXT,
    schedule_timezone    TEXT,
    next_fire_at         INTEGER,
    webhook_token_digest TEXT    UNIQUE,
    webhook_token_sealed TEXT,
    email_address        TEXT    UNIQUE,
    run_count            INTEGER NOT NULL DEFAULT 0,
    last_run_at          INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE INDEX pilots_by_tenant ON pilots (workspace_id, environment, id);
-- What the scheduler polls: active schedule pilots by their next tick.
CREATE INDEX pilots_due_schedules ON pilots (next_fire_at, id)
    WHERE status = 'active' AND trigger_type = 'schedule';

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    pilot_id     INTEGER NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL,
    environment  TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    status       TEXT    NOT NULL
                 CHECK (status IN ('queued', 'running', 'waiting', 'success', 'failed', 'filtered')),
    trigger_type TEXT    NOT NULL CHECK (trigger_type IN ('manual', 'webhook', 'schedule', 'email')),
    payload      TEXT    NOT NULL,
    steps        TEXT    NOT NULL,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    -- The run this one repeats: a run of the same pilot, deleted with it.
    retry_of     INTEGER
);

-- Leads with pilot_id so that deleting a pilot finds its runs through it too (the
-- cascade looks runs up by pilot_id alone); the tenant columns keep list_runs in it.
CREATE INDEX runs_by_pilot ON runs (pilot_id, workspace_id, environment, id DESC);

CREATE TABLE run_steps (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_index  INTEGER NOT NULL,
    step_id     TEXT    NOT NULL,
    step_type   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('success', 'failed', 'skipped', 'filtered')),
    output      TEXT,
    error       TEXT,
    attempts    INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_index)
);

CREATE TABLE secrets (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment  TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    name         TEXT    NOT NULL,
    sealed_value TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, environment, name)
);

-- Fixed windows: one row per bucket and window, counted by upsert.
CREATE TABLE rate_limits (
    bucket       TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Fair claiming's lanes: each workspace's due jobs in claim order, and the distinct
-- workspaces with queued jobs, found by skipping through this index.
CREATE INDEX jobs_lanes ON jobs (workspace_id, run_at, id) WHERE state = 'queued';
