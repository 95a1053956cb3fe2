-- When a key last authenticated a request (Unix ms), written at most once a minute
-- per key; NULL: never since this column existed.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
