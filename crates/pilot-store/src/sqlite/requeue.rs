//! Jobs that leave `running` without completing, on SQLite — and the runs that follow
//! them.
//!
//! A job goes back to `queued` when its worker hands it back (shutdown), when its
//! lease expires, when its process is gone, or when an attempt failed and will be
//! retried; it is buried (`dead`) when it has no attempts left. Whenever that job is
//! a `run_pilot` job, its run follows in the same transaction: a `running` run goes
//! back to `queued` (it is waiting for a worker and a slot under the cap again, and
//! says so), and a run whose job is buried ends `failed` with the reason, instead of
//! claiming to run forever. A run that is `waiting` (a `delay` or `deliberate` step)
//! stays waiting when its job is re-queued.
//!
//! Every statement here returns, for each job it moved, the job's new state and its
//! run's id when it has one; [`runs_follow`] applies the rule to those.

use pilot_domain::UnixMillis;
use rusqlite::{Connection, params};

use super::jobs::ids_json;
use super::row;
use super::webhooks::queue_run_event;
use crate::error::StoreResult;

/// What each moving statement returns: the job's new state, and its run's id.
macro_rules! moved {
    ($update:literal) => {
        concat!(
            $update,
            " RETURNING state, CASE WHEN kind = '",
            "run_pilot",
            "' THEN json_extract(payload, '$.run_id') END"
        )
    };
}

/// The jobs one statement moved.
type Moved = Vec<(String, Option<i64>)>;

/// Hands `owner`'s jobs `ids` back untouched (shutdown): due now, attempt returned.
pub(super) fn release(conn: &Connection, owner: &str, ids: &str, now: i64) -> StoreResult<usize> {
    let moved: Moved = row::all(
        conn,
        moved!(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), \
                    lease_owner = NULL, lease_expires_at = NULL, run_at = ?1, updated_at = ?1 \
             WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3 \
               AND state = 'running'"
        ),
        params![now, ids, owner],
    )?;
    runs_follow(conn, &moved, "", now)
}

/// Hands back every job leased to the processes `owners`, due now. Unless
/// `give_back`, the attempt counts (`reason` says why) and a job out of attempts is
/// buried.
pub(super) fn release_owners(
    conn: &Connection,
    owners: &[String],
    give_back: bool,
    reason: &str,
    now: i64,
) -> StoreResult<usize> {
    if owners.is_empty() {
        return Ok(0);
    }
    let owners = serde_json::to_string(owners).expect("a list of strings serializes");
    let moved: Moved = row::all(
        conn,
        moved!(
            "UPDATE jobs SET \
                attempts = CASE WHEN ?4 THEN MAX(attempts - 1, 0) ELSE attempts END, \
                state = CASE WHEN NOT ?4 AND attempts >= max_attempts THEN 'dead' \
                             ELSE 'queued' END, \
                last_error = CASE WHEN ?4 THEN last_error ELSE ?3 END, \
                lease_owner = NULL, lease_expires_at = NULL, run_at = ?1, updated_at = ?1 \
             WHERE state = 'running' AND lease_owner IN (SELECT value FROM json_each(?2))"
        ),
        params![now, owners, reason, give_back],
    )?;
    runs_follow(conn, &moved, reason, now)
}

/// Re-queues jobs whose lease expired before `now`, or buries them.
pub(super) fn reap_expired(conn: &Connection, now: i64) -> StoreResult<usize> {
    const WHY: &str = "lease expired: the worker running this job stopped responding";
    let moved: Moved = row::all(
        conn,
        moved!(
            "UPDATE jobs SET \
                state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                last_error = ?2, lease_owner = NULL, lease_expires_at = NULL, run_at = ?1, \
                updated_at = ?1 \
             WHERE state = 'running' AND lease_expires_at < ?1"
        ),
        params![now, WHY],
    )?;
    runs_follow(conn, &moved, WHY, now)
}

/// Settles one job `owner` holds that did not complete: `state` at `run_at` (`None`
/// keeps it), with `error`, giving `give_back` attempts back. Runs follow unless the
/// job was snoozed (`follow` false: its run said `waiting` itself).
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    conn: &Connection,
    owner: &str,
    id: i64,
    state: &str,
    run_at: Option<i64>,
    error: Option<&str>,
    give_back: i32,
    follow: bool,
    now: i64,
) -> StoreResult<bool> {
    let moved: Moved = row::all(
        conn,
        moved!(
            "UPDATE jobs SET state = ?1, run_at = COALESCE(?2, run_at), \
                    last_error = COALESCE(?3, last_error), attempts = attempts - ?4, \
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = ?5 \
             WHERE id = ?6 AND lease_owner = ?7 AND state = 'running'"
        ),
        params![state, run_at, error, give_back, now, id, owner],
    )?;
    if follow {
        runs_follow(conn, &moved, error.unwrap_or(""), now)?;
    }
    Ok(moved.len() == 1)
}

/// The rule of this module for the jobs a statement moved; returns how many moved.
fn runs_follow(conn: &Connection, moved: &Moved, why: &str, now: i64) -> StoreResult<usize> {
    let runs = |wanted: &str| {
        ids_json(
            moved
                .iter()
                .filter(|(state, _)| state == wanted)
                .filter_map(|(_, run)| *run),
        )
    };
    let (queued, dead) = (runs("queued"), runs("dead"));
    if queued != "[]" {
        row::execute(
            conn,
            "UPDATE runs SET status = 'queued' \
             WHERE status = 'running' AND id IN (SELECT value FROM json_each(?1))",
            [queued],
        )?;
    }
    if dead != "[]" {
        let mut ending = conn.prepare_cached(
            "UPDATE runs SET status = 'failed', error = ?2, finished_at = ?3 \
             WHERE status IN ('queued', 'running', 'waiting') \
               AND id IN (SELECT value FROM json_each(?1)) RETURNING id",
        )?;
        let ended: Vec<i64> = ending
            .query_map(params![dead, format!("the run stopped: {why}"), now], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        for run in ended {
            queue_run_event(conn, pilot_domain::RunId(run), UnixMillis(now))?;
        }
    }
    Ok(moved.len())
}

#[cfg(test)]
mod tests {
    use crate::pilots::RUN_JOB_KIND;

    #[test]
    fn the_statements_name_the_run_job_kind() {
        assert_eq!(RUN_JOB_KIND, "run_pilot");
        assert!(moved!("UPDATE jobs SET x = 1").contains("kind = 'run_pilot'"));
    }
}
