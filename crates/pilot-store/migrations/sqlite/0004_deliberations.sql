-- Deliberations, their panel's work, credits, idempotency keys and the outbox of
-- terminal events (SQLite).
--
-- Amounts are INTEGER micro-credits (1 credit = 1,000,000). JSON (metadata, panel
-- content, confidence inputs, payloads, responses) is the text serde_json wrote, as
-- in 0003_pilots.

CREATE TABLE deliberations (
    id                TEXT    PRIMARY KEY,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment       TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    -- No foreign key: keys are revoked, never deleted, and a deliberation is kept
    -- whatever happens to the key that submitted it. NULL: a pilot run's `deliberate`
    -- step submitted it, not an API key.
    key_id            INTEGER,
    mode              TEXT    NOT NULL CHECK (mode IN ('deliberation1', 'smartroute1')),
    use_case          TEXT    NOT NULL
                      CHECK (use_case IN ('general', 'pricing', 'code', 'strategy', 'marketing',
                                          'logistics')),
    difficulty        TEXT    NOT NULL CHECK (difficulty IN ('EASY', 'MEDIUM', 'HARD')),
    question          TEXT    NOT NULL,
    webhook_url       TEXT,
    metadata          TEXT,
    status            TEXT    NOT NULL
                      CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    estimate_micros   INTEGER NOT NULL CHECK (estimate_micros >= 0),
    -- Set when terminal: never more than the reservation.
    charged_micros    INTEGER CHECK (charged_micros BETWEEN 0 AND estimate_micros),
    synthesis         TEXT,
    summary           TEXT,
    minority_report   TEXT,
    confidence_index  REAL,
    confidence_inputs TEXT,
    degraded          INTEGER CHECK (degraded IN (0, 1)),
    failure_code      TEXT    CHECK (failure_code IN ('processing_timeout', 'processing_failed')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    completed_at      INTEGER
);

CREATE INDEX deliberations_by_tenant ON deliberations (workspace_id, environment, created_at);

-- AUTOINCREMENT: `seq` is the order entries were recorded in, across concurrent
-- writers, and is never reused.
CREATE TABLE deliberation_panel (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    deliberation_id TEXT    NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    stage           TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE INDEX deliberation_panel_by_deliberation ON deliberation_panel (deliberation_id, seq);

-- A tenant without a row has a balance of zero.
CREATE TABLE credit_balances (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment    TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    balance_micros INTEGER NOT NULL CHECK (balance_micros >= 0),
    PRIMARY KEY (workspace_id, environment)
);

-- Every change to a balance, written in the transaction that makes it: the entries
-- of a tenant sum to its balance. `deliberation_id` has no foreign key: the ledger is
-- a record of money and outlives what it mentions.
CREATE TABLE credit_ledger (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id),
    environment          TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    amount_micros        INTEGER NOT NULL,
    kind                 TEXT    NOT NULL,
    deliberation_id      TEXT,
    note                 TEXT    NOT NULL,
    balance_after_micros INTEGER NOT NULL CHECK (balance_after_micros >= 0),
    created_at           INTEGER NOT NULL,
    -- Each kind moves credits one way only, and never by nothing.
    CHECK ((kind = 'grant' AND amount_micros > 0)
        OR (kind = 'reserve' AND amount_micros < 0)
        OR (kind = 'refund' AND amount_micros > 0)
        OR (kind = 'charge_adjustment' AND amount_micros <> 0))
);

CREATE INDEX credit_ledger_by_tenant ON credit_ledger (workspace_id, environment, id);

-- Append-only: a ledger entry is a fact about money.
CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only');
END;

CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only');
END;

-- `status` and `response` stay NULL while the first request is being handled.
CREATE TABLE idempotency_keys (
    scope      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    body_hash  TEXT    NOT NULL,
    status     INTEGER,
    response   TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- The outbox: terminal events recorded with the state change that causes them, and
-- delivered later by the webhook sender.
CREATE TABLE deliberation_events (
    id              TEXT    PRIMARY KEY,
    event           TEXT    NOT NULL,
    deliberation_id TEXT    NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    workspace_id    INTEGER NOT NULL,
    environment     TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    key_id          INTEGER,
    webhook_url     TEXT,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);

CREATE INDEX deliberation_events_by_deliberation
    ON deliberation_events (deliberation_id, created_at);
CREATE INDEX deliberation_events_undelivered ON deliberation_events (created_at)
    WHERE delivered_at IS NULL;
