-- deliberation2: the checkpoints where its panel waits for a person (see
-- src/checkpoints.rs). The new mode and failure code are admitted by the CHECK
-- constraints of `deliberations`, which SQLite cannot alter: the migration runner
-- rewrites them after this file (`widen_deliberation_checks` in migrate.rs).
CREATE TABLE deliberation_checkpoints (
    id              TEXT    PRIMARY KEY,
    deliberation_id TEXT    NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('answers', 'reviews', 'synthesis')),
    offer           TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    answer          TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    UNIQUE (deliberation_id, seq)
);

-- An answer wakes its deliberation's job, found by the id in its payload.
CREATE INDEX jobs_of_deliberation ON jobs (json_extract(payload, '$.deliberation_id'))
    WHERE kind = 'deliberate';
