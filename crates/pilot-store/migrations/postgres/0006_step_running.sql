-- A step's result may be `running`: the runner records a step as started, with its
-- attempt counted, before a step that does I/O begins (so a step that runs again
-- after a crash shows every execution).
ALTER TABLE run_steps DROP CONSTRAINT run_steps_status_check;
ALTER TABLE run_steps ADD CONSTRAINT run_steps_status_check
    CHECK (status IN ('running', 'success', 'failed', 'skipped', 'filtered'));
