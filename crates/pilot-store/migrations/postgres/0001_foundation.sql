-- Workspaces, API keys and the durable job queue (PostgreSQL).
-- Instants are BIGINT milliseconds since the Unix epoch, UTC, as on SQLite, so one
-- injected clock drives every deadline on both stores.

CREATE TABLE workspaces (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id          BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment           TEXT   NOT NULL CHECK (environment IN ('live', 'test')),
    name                  TEXT   NOT NULL,
    prefix                TEXT   NOT NULL,
    digest                TEXT   NOT NULL UNIQUE,
    scopes                TEXT   NOT NULL,
    webhook_secret_sealed TEXT   NOT NULL,
    created_at            BIGINT NOT NULL,
    revoked_at            BIGINT
);

CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, environment);

CREATE TABLE jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT   NOT NULL,
    payload          JSONB  NOT NULL,
    workspace_id     BIGINT,
    state            TEXT   NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'dead')),
    run_at           BIGINT NOT NULL,
    attempts         INT    NOT NULL DEFAULT 0,
    max_attempts     INT    NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';

-- Wake idle workers on every node when jobs are inserted. NOTIFY is delivered at
-- commit, so a job enqueued inside a larger transaction wakes nobody until it is real.
CREATE FUNCTION pilot_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pilot_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_inserted AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION pilot_jobs_notify();
