-- A step's result may be `running`: the runner records a step as started, with its
-- attempt counted, before a step that does I/O begins (so a step that runs again
-- after a crash shows every execution). SQLite cannot change a CHECK constraint in
-- place: the table is rebuilt with the same columns and key.
CREATE TABLE run_steps_next (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_index  INTEGER NOT NULL,
    step_id     TEXT    NOT NULL,
    step_type   TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('running', 'success', 'failed', 'skipped', 'filtered')),
    output      TEXT,
    error       TEXT,
    attempts    INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_index)
);
INSERT INTO run_steps_next (run_id, step_index, step_id, step_type, status, output, error,
                            attempts, started_at, duration_ms)
    SELECT run_id, step_index, step_id, step_type, status, output, error, attempts,
           started_at, duration_ms
    FROM run_steps;
DROP TABLE run_steps;
ALTER TABLE run_steps_next RENAME TO run_steps;
