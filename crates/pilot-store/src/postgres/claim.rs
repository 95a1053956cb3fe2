//! Claiming due jobs on PostgreSQL: oldest first, or fairly across workspaces.
//!
//! Oldest first is one statement: `FOR UPDATE SKIP LOCKED` lets concurrent claimers
//! take disjoint rows without waiting on each other.
//!
//! A fair claim is one call of `pilot_claim_fair` (migration `0015_queue_lanes.sql`),
//! which walks `queue_lanes` — one row per workspace with queued jobs, ordered by whose
//! turn it is — and holds each lane it serves `FOR NO KEY UPDATE SKIP LOCKED`. Why the
//! cap is never overshot: only a claimer holding a lane leases that workspace's jobs,
//! and it counts the workspace's running jobs in a statement that starts after it took
//! the lock, so it sees every lease the lane's previous holder committed; a running
//! job only ever stops running under it. Why no queued job is stranded: a job that
//! becomes queued holds its lane `FOR KEY SHARE` (a trigger), which does not block
//! claimers but does block the `FOR UPDATE` a claimer needs to retire the lane
//! (delete it, or put its turn in the future); a claimer takes that lock with SKIP
//! LOCKED and decides in a statement that starts after it, so it either sees the job
//! or leaves the lane's turn at now. Why it is fair: a served lane goes to the back of
//! the line (`ready_at = now`), and a lane at its cap keeps its place. And why it is
//! flat in the number of workspaces: it reads the first lanes of an index, skipping at
//! most the lanes at their cap (no more than the jobs running, over the cap).
//!
//! Lane 0 (jobs without a workspace) has no cap, so it is served without a lane lock
//! (migration `0017_unowned_lane.sql`): its permanent row is only its place in the
//! turn order, its jobs are taken `FOR UPDATE SKIP LOCKED`, and any number of
//! claimers serve it at once.
//!
//! The claim's commit does not wait for the WAL flush (`synchronous_commit = off`,
//! for its transaction only): a lease lost in a crash leaves the job `queued`, to run
//! again, which at-least-once delivery allows anyway; other sessions see the lease at
//! once either way.

use sqlx::PgPool;

use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob};
use crate::rows::ClaimedJobRow;

/// The claim statement around the `WHERE` that chooses the jobs.
macro_rules! lease {
    ($which:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, \
                    attempts = attempts + 1, updated_at = $3 ",
            $which,
            " RETURNING id, kind, payload, workspace_id, attempts, max_attempts, run_at, created_at"
        )
    };
}

/// Due jobs, oldest `run_at` first.
const OLDEST_FIRST: &str = lease!(
    "WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 \
                  ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)"
);

/// Due jobs round-robin across workspaces under a cap of `$5` running per workspace:
/// the `pilot_claim_fair` function (migrations `0015_queue_lanes.sql`, `0017`), one round trip.
const ROUND_ROBIN: &str = "SELECT id, kind, payload, workspace_id, attempts, max_attempts, run_at, \
                                  created_at \
                           FROM pilot_claim_fair($1, $2, $3, $4::int, $5::int)";

pub(super) async fn claim(
    pool: &PgPool,
    request: &ClaimRequest<'_>,
) -> StoreResult<Vec<ClaimedJob>> {
    let query = |sql| {
        sqlx::query_as::<_, ClaimedJobRow>(sql)
            .bind(request.owner)
            .bind(request.lease_until.0)
            .bind(request.now.0)
            .bind(i64::from(request.limit))
    };
    let rows = match request.workspace_cap {
        None => query(OLDEST_FIRST).fetch_all(pool).await?,
        Some(cap) => {
            query(ROUND_ROBIN)
                .bind(i64::from(cap))
                .fetch_all(pool)
                .await?
        }
    };
    let mut jobs: Vec<ClaimedJob> = rows.into_iter().map(Into::into).collect();
    jobs.sort_by_key(|job| (job.run_at, job.id));
    Ok(jobs)
}
