-- deliberation2: its mode, its failure code, and the checkpoints where its panel
-- waits for a person (see src/checkpoints.rs).
ALTER TABLE deliberations DROP CONSTRAINT deliberations_mode_check;
ALTER TABLE deliberations ADD CONSTRAINT deliberations_mode_check
    CHECK (mode IN ('deliberation1', 'smartroute1', 'deliberation2'));
ALTER TABLE deliberations DROP CONSTRAINT deliberations_failure_code_check;
ALTER TABLE deliberations ADD CONSTRAINT deliberations_failure_code_check
    CHECK (failure_code IN ('processing_timeout', 'processing_failed', 'checkpoint_expired'));

CREATE TABLE deliberation_checkpoints (
    id              TEXT   PRIMARY KEY,
    deliberation_id TEXT   NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    seq             INT    NOT NULL,
    kind            TEXT   NOT NULL CHECK (kind IN ('answers', 'reviews', 'synthesis')),
    offer           TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    answer          TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    answered_at     BIGINT,
    UNIQUE (deliberation_id, seq)
);

-- An answer wakes its deliberation's job, found by the id in its payload.
CREATE INDEX jobs_of_deliberation ON jobs ((payload ->> 'deliberation_id'))
    WHERE kind = 'deliberate';
