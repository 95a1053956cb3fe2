-- What fired a run: `api`, `webhook`, `schedule`, `email` or `retry` (a run's
-- `trigger_type` is its pilot's trigger type when it fired). Runs from before this
-- migration are read from what they kept: a retry by `retry_of`, the others by the
-- trigger they were recorded with (`manual` was the API).
ALTER TABLE runs ADD COLUMN fired_by TEXT NOT NULL DEFAULT 'api'
    CHECK (fired_by IN ('api', 'webhook', 'schedule', 'email', 'retry'));
UPDATE runs SET fired_by = CASE
    WHEN retry_of IS NOT NULL THEN 'retry'
    WHEN trigger_type = 'manual' THEN 'api'
    ELSE trigger_type
END;
