-- Fair claiming's lanes (the PostgreSQL twin explains them): one row per workspace
-- with queued jobs (lane 0: jobs without a workspace), ordered by whose turn it is.
-- SQLite's one writer claims, so the lanes need no row locks here; the triggers keep
-- them in step with the jobs, in the same transaction.
CREATE TABLE queue_lanes (
    workspace_id INTEGER PRIMARY KEY,
    ready_at     INTEGER NOT NULL
);

CREATE INDEX queue_lanes_turns ON queue_lanes (ready_at, workspace_id);

CREATE INDEX jobs_running_by_workspace ON jobs (workspace_id) WHERE state = 'running';

INSERT INTO queue_lanes (workspace_id, ready_at)
SELECT COALESCE(workspace_id, 0), MIN(run_at) FROM jobs WHERE state = 'queued' GROUP BY 1;

-- A job that becomes queued enters its lane: the lane is created, or its turn brought
-- forward to the job's `run_at` when it lay later.
CREATE TRIGGER jobs_enter_lane_on_insert AFTER INSERT ON jobs WHEN NEW.state = 'queued'
BEGIN
    INSERT INTO queue_lanes (workspace_id, ready_at) VALUES (COALESCE(NEW.workspace_id, 0), NEW.run_at)
    ON CONFLICT (workspace_id) DO UPDATE SET ready_at = excluded.ready_at
    WHERE excluded.ready_at < queue_lanes.ready_at;
END;

CREATE TRIGGER jobs_enter_lane_on_requeue AFTER UPDATE OF state, run_at ON jobs
WHEN NEW.state = 'queued' AND (OLD.state <> 'queued' OR NEW.run_at < OLD.run_at)
BEGIN
    INSERT INTO queue_lanes (workspace_id, ready_at) VALUES (COALESCE(NEW.workspace_id, 0), NEW.run_at)
    ON CONFLICT (workspace_id) DO UPDATE SET ready_at = excluded.ready_at
    WHERE excluded.ready_at < queue_lanes.ready_at;
END;
