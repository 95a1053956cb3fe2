-- What the dashboard's reads need (PostgreSQL): a tenant's runs across its pilots,
-- newest first, with or without a status; its deliberations in insertion order
-- (`seq`, numbered for the rows already there too), with or without a status; its
-- model usage by time.

CREATE INDEX runs_by_tenant ON runs (workspace_id, environment, id DESC);
CREATE INDEX runs_by_tenant_status ON runs (workspace_id, environment, status, id DESC);
ALTER TABLE deliberations ADD COLUMN seq BIGSERIAL;
CREATE INDEX deliberations_by_tenant_seq ON deliberations (workspace_id, environment, seq DESC);
CREATE INDEX deliberations_by_tenant_status
    ON deliberations (workspace_id, environment, status, seq DESC);
CREATE INDEX model_usage_by_tenant ON model_usage (workspace_id, environment, created_at);
