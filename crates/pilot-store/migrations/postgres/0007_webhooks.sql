-- Webhooks out: endpoints, deliveries, attempts, the tenants' signing secrets for
-- run events, and a pilot's notify URL (postgres).
--
-- A delivery carries its whole event (id, kind, data) so that run events, which
-- have no outbox of their own, and deliberation events are sent by one code path.
-- Instants are BIGINT Unix milliseconds, JSON is TEXT, as everywhere else.

-- A workspace + environment + URL: what consecutive failures disable.
CREATE TABLE webhook_endpoints (
    id                   TEXT    PRIMARY KEY,
    workspace_id         BIGINT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment          TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    url                  TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('enabled', 'disabled')),
    disabled_reason      TEXT    CHECK (disabled_reason IN ('consecutive_failures', 'gone')),
    consecutive_failures BIGINT    NOT NULL DEFAULT 0,
    last_success_at      BIGINT,
    last_failure_at      BIGINT,
    created_at           BIGINT    NOT NULL,
    updated_at           BIGINT    NOT NULL,
    UNIQUE (workspace_id, environment, url)
);

CREATE TABLE webhook_deliveries (
    id                 TEXT    PRIMARY KEY,
    event_id           TEXT    NOT NULL,
    event              TEXT    NOT NULL
                       CHECK (event IN ('deliberation.completed', 'deliberation.failed',
                                        'run.completed', 'run.failed')),
    workspace_id       BIGINT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment        TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    endpoint_id        TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The submitting key, whose webhook secret signs; NULL: the tenant's signing
    -- secret (run events). No foreign key, as for deliberations.key_id.
    key_id             BIGINT,
    payload            TEXT    NOT NULL,
    event_at           BIGINT    NOT NULL,
    state              TEXT    NOT NULL
                       CHECK (state IN ('pending', 'succeeded', 'failed', 'dead', 'disabled')),
    attempts           BIGINT    NOT NULL DEFAULT 0,
    scheduled_attempts BIGINT    NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT,
    last_status        BIGINT,
    last_error         TEXT,
    created_at         BIGINT    NOT NULL,
    updated_at         BIGINT    NOT NULL
);

-- Listings: a tenant's newest first (ids are ULIDs: they sort by creation).
CREATE INDEX webhook_deliveries_by_tenant
    ON webhook_deliveries (workspace_id, environment, id);
-- Enable (disabled ones) and recover (dead and failed since).
CREATE INDEX webhook_deliveries_by_endpoint
    ON webhook_deliveries (endpoint_id, state, created_at);

CREATE TABLE webhook_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number           BIGINT    NOT NULL,
    manual           BOOLEAN NOT NULL,
    started_at       BIGINT    NOT NULL,
    status           BIGINT,
    response_excerpt TEXT,
    latency_ms       BIGINT    NOT NULL,
    error            TEXT
);

CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
CREATE INDEX webhook_attempts_by_age ON webhook_attempts (started_at);

-- What signs run events: one secret per workspace and environment, sealed like
-- the keys' webhook secrets; replaced to rotate.
CREATE TABLE webhook_signing_secrets (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    sealed       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, environment)
);

-- Where a pilot's run.completed / run.failed go (NULL: nowhere).
ALTER TABLE pilots ADD COLUMN notify_url TEXT;
