-- Model usage: one row per metered model call, append-only (PostgreSQL).
-- Instants are BIGINT milliseconds since the Unix epoch, UTC; cost is in
-- micro-credits (1 credit = 1,000,000).

CREATE TABLE model_usage (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT  REFERENCES workspaces (id),
    environment   TEXT    CHECK (environment IN ('live', 'test')),
    owner_kind    TEXT    NOT NULL,
    owner_id      TEXT    NOT NULL,
    provider      TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    input_tokens  BIGINT  NOT NULL CHECK (input_tokens >= 0),
    output_tokens BIGINT  NOT NULL CHECK (output_tokens >= 0),
    -- false when the provider reported no usage and the tokens are the estimate.
    usage_known   BOOLEAN NOT NULL,
    latency_ms    BIGINT  NOT NULL,
    cost_micros   BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE INDEX model_usage_by_time ON model_usage (created_at);
CREATE INDEX model_usage_by_workspace ON model_usage (workspace_id, created_at);

-- Append-only: a usage row is a fact about money spent.
CREATE FUNCTION model_usage_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'model_usage is append-only';
END;
$$;

CREATE TRIGGER model_usage_no_change BEFORE UPDATE OR DELETE ON model_usage
    FOR EACH ROW EXECUTE FUNCTION model_usage_append_only();
