-- Workspaces, API keys and the durable job queue (SQLite).
-- Instants are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment           TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    name                  TEXT    NOT NULL,
    prefix                TEXT    NOT NULL,
    digest                TEXT    NOT NULL UNIQUE,
    scopes                TEXT    NOT NULL,
    webhook_secret_sealed TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER
);

CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, environment);

-- AUTOINCREMENT: completed jobs are deleted, and an id must never be handed out twice.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    workspace_id     INTEGER,
    state            TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'dead')),
    run_at           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';
