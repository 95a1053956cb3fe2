-- Issue 10's hardening (PostgreSQL).

-- Rate limits by GCRA: one row per bucket, holding its theoretical arrival time (the
-- instant the bucket is full again) and whether the last check let its request
-- through (how the one upsert hands its verdict back). Fixed windows' counts are
-- dropped: a missing row is a full bucket.
DROP TABLE rate_limits;
CREATE TABLE rate_limits (
    bucket  TEXT    PRIMARY KEY,
    tat     BIGINT  NOT NULL,
    allowed BOOLEAN NOT NULL
);

-- The process registry: every worker process, the lease owner of the jobs it
-- claims, heartbeating; past `expires_at` without a heartbeat it is gone and its
-- jobs go back to the queue (see the store's `processes.rs`).
CREATE TABLE processes (
    id           TEXT   PRIMARY KEY,
    host         TEXT   NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Who authorised a pilot's steps: the API key that last set them (created the pilot
-- or patched its steps), and on each run the key it was fired under — the pilot's at
-- the time, or the original run's for a retry. A `deliberate` step submits only
-- while that key exists, is not revoked and holds deliberations:write. Pilots stored
-- before this have no key: their `deliberate` steps fail until a key with that
-- scope sets the steps again. (No foreign key: keys are revoked, never deleted, and
-- the step looks its key up within the run's workspace and environment.)
ALTER TABLE pilots ADD COLUMN steps_key_id BIGINT;
ALTER TABLE runs ADD COLUMN authorized_key_id BIGINT;
