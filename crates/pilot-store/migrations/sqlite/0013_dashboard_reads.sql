-- What the dashboard's reads need (SQLite): a tenant's runs across its pilots,
-- newest first, with or without a status; its deliberations in insertion order
-- (rowid, which an index on the tenant columns keeps after them), with or without
-- a status; its model usage by time.

CREATE INDEX runs_by_tenant ON runs (workspace_id, environment, id DESC);
CREATE INDEX runs_by_tenant_status ON runs (workspace_id, environment, status, id DESC);
CREATE INDEX deliberations_by_tenant_seq ON deliberations (workspace_id, environment);
CREATE INDEX deliberations_by_tenant_status ON deliberations (workspace_id, environment, status);
CREATE INDEX model_usage_by_tenant ON model_usage (workspace_id, environment, created_at);
