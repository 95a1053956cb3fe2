-- Issue 10's hardening (SQLite).

-- Rate limits by GCRA: one row per bucket, holding its theoretical arrival time (the
-- instant the bucket is full again) and whether the last check let its request
-- through (how the one upsert hands its verdict back). Fixed windows' counts are
-- dropped: a missing row is a full bucket.
DROP TABLE rate_limits;
CREATE TABLE rate_limits (
    bucket  TEXT    PRIMARY KEY,
    tat     INTEGER NOT NULL,
    allowed INTEGER NOT NULL
) WITHOUT ROWID;

-- The process registry: every worker process, the lease owner of the jobs it
-- claims, heartbeating; past `expires_at` without a heartbeat it is gone and its
-- jobs go back to the queue (see the store's `processes.rs`).
CREATE TABLE processes (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
