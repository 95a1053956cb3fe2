-- Model usage: one row per metered model call, append-only (SQLite).
-- Instants are INTEGER milliseconds since the Unix epoch, UTC; cost is in
-- micro-credits (1 credit = 1,000,000).

CREATE TABLE model_usage (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER REFERENCES workspaces (id),
    environment   TEXT    CHECK (environment IN ('live', 'test')),
    owner_kind    TEXT    NOT NULL,
    owner_id      TEXT    NOT NULL,
    provider      TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    input_tokens  INTEGER NOT NULL CHECK (input_tokens >= 0),
    output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0),
    -- 0 when the provider reported no usage and the tokens are the estimate.
    usage_known   INTEGER NOT NULL CHECK (usage_known IN (0, 1)),
    latency_ms    INTEGER NOT NULL,
    cost_micros   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE INDEX model_usage_by_time ON model_usage (created_at);
CREATE INDEX model_usage_by_workspace ON model_usage (workspace_id, created_at);

-- Append-only: a usage row is a fact about money spent.
CREATE TRIGGER model_usage_no_update BEFORE UPDATE ON model_usage
BEGIN
    SELECT RAISE(ABORT, 'model_usage is append-only');
END;

CREATE TRIGGER model_usage_no_delete BEFORE DELETE ON model_usage
BEGIN
    SELECT RAISE(ABORT, 'model_usage is append-only');
END;
