//! Jobs that leave `running` without completing, on PostgreSQL — and the runs that
//! follow them (the rule is the SQLite twin's, `sqlite/requeue.rs`): a `running` run
//! of a re-queued `run_pilot` job reads `queued` again, and the run of a buried one
//! ends `failed`, in the same statement as the job's own change.
//!
//! A run ended so is a run event when its pilot has a notify URL: the statement
//! also answers those runs ([`ended_runs!`]), and whoever runs a statement that may
//! bury jobs runs it in a transaction and writes those runs' deliveries before it
//! commits (`webhook_events::deliver_ended_runs`).

use super::webhook_events::ended_runs;

/// The `followed` CTE: the runs of the `run_pilot` jobs in a `moved` CTE (`kind,
/// state, payload` of each job an update moved) follow them, and it returns them as
/// they end up. `now` and `why` name the parameters holding the instant and the
/// reason a buried run gives.
macro_rules! followed {
    ($now:literal, $why:literal) => {
        concat!(
            "followed AS ( \
                UPDATE runs SET \
                    status = CASE WHEN m.state = 'dead' THEN 'failed' ELSE 'queued' END, \
                    error = CASE WHEN m.state = 'dead' \
                                 THEN 'the run stopped: ' || ",
            $why,
            "::text ELSE runs.error END, \
                    finished_at = CASE WHEN m.state = 'dead' THEN ",
            $now,
            "::bigint ELSE runs.finished_at END \
                FROM moved m \
                WHERE m.kind = 'run_pilot' AND runs.id = (m.payload ->> 'run_id')::bigint \
                  AND (runs.status = 'running' \
                       OR (m.state = 'dead' AND runs.status IN ('queued', 'waiting'))) \
                RETURNING runs.id, runs.pilot_id, runs.workspace_id, runs.environment, \
                    runs.status, runs.started_at, runs.finished_at, runs.error \
             )"
        )
    };
}
pub(super) use followed;

/// Wraps an `UPDATE jobs …` (without `RETURNING`) so that the runs of the jobs it
/// moves follow them ([`followed!`]), and the statement answers how many moved and
/// the runs it ended that make run events ([`ended_runs!`]).
macro_rules! runs_follow {
    ($moving:literal, now = $now:literal, why = $why:literal) => {
        concat!(
            "WITH moved AS (",
            $moving,
            " RETURNING kind, state, payload), ",
            followed!($now, $why),
            " SELECT (SELECT COUNT(*) FROM moved), ",
            ended_runs!()
        )
    };
}

/// Hands `owner`'s (`$3`) jobs `ids` (`$2`) back untouched at `$1`: attempt returned.
pub(super) const RELEASE: &str = runs_follow!(
    "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), \
            lease_owner = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1 \
     WHERE id = ANY($2) AND lease_owner = $3 AND state = 'running'",
    now = "$1",
    why = "''"
);

/// Hands back at `$1` every job leased to the processes `$2`. Unless `$4` (give
/// back), the attempt counts, with `$3` as the reason, and a job out of attempts is
/// buried.
pub(super) const RELEASE_OWNERS: &str = runs_follow!(
    "UPDATE jobs SET \
        attempts = CASE WHEN $4 THEN GREATEST(attempts - 1, 0) ELSE attempts END, \
        state = CASE WHEN NOT $4 AND attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
        last_error = CASE WHEN $4 THEN last_error ELSE $3 END, \
        lease_owner = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1 \
     WHERE state = 'running' AND lease_owner = ANY($2)",
    now = "$1",
    why = "$3"
);

/// Re-queues at `$1` jobs whose lease expired before it, or buries them (`$2`: why).
pub(super) const REAP_EXPIRED: &str = runs_follow!(
    "UPDATE jobs SET \
        state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
        last_error = $2, lease_owner = NULL, lease_expires_at = NULL, run_at = $1, \
        updated_at = $1 \
     WHERE state = 'running' AND lease_expires_at < $1",
    now = "$1",
    why = "$2"
);

/// Settles one job that did not complete, to be retried or buried: state `$1`, due
/// `$2` (`NULL` keeps it), error `$3`, `$4` attempts given back, at `$5`; job `$6`
/// of owner `$7`.
pub(super) const FINISH_FOLLOWED: &str = runs_follow!(
    "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), \
            last_error = COALESCE($3, last_error), attempts = attempts - $4, \
            lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 \
     WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
    now = "$5",
    why = "COALESCE($3, '')"
);

/// A snooze: the run said `waiting` itself, so nothing follows.
pub(super) const SNOOZE: &str = "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), \
            last_error = COALESCE($3, last_error), attempts = attempts - $4, \
            lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 \
     WHERE id = $6 AND lease_owner = $7 AND state = 'running'";
