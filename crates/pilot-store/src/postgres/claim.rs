//! Claiming due jobs on PostgreSQL: oldest first, or fairly across workspaces.
//!
//! Oldest first is one statement: `FOR UPDATE SKIP LOCKED` lets concurrent claimers
//! take disjoint rows without waiting on each other. A fair claim counts each
//! workspace's running jobs, and two claimers counting at once could both see room
//! for the last slot; so fair claimers take a transaction-scoped advisory lock first
//! and run one at a time. The lock is taken in its own statement, before the claim's:
//! in READ COMMITTED each statement reads a snapshot from its own start, so the claim
//! then sees every job the previous holder leased.
//!
//! Claims are serialized, so the time the lock is held bounds the queue's throughput.
//! Two settings, for the claim's transaction only, keep it short. The commit does not
//! wait for the WAL flush (`synchronous_commit = off`): a lease lost in a crash puts
//! the job back to `queued`, to run again, which at-least-once delivery allows
//! anyway; other sessions see the lease at once either way. And the statement is
//! planned once per connection (`force_generic_plan`) rather than on every claim,
//! which for this query costs more than running it.

use sqlx::PgPool;

use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob};
use crate::rows::ClaimedJobRow;

/// The advisory lock key fair claimers serialize on (`"pilotjob"` in ASCII).
const FAIR_CLAIM_LOCK: i64 = 0x7069_6c6f_746a_6f62;

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

/// Due jobs round-robin across workspaces under a cap of `$5` running per workspace.
///
/// `lanes` lists the workspaces with queued jobs by skipping through the `jobs_lanes`
/// index (one seek per workspace, however deep its backlog). A workspace is `open`
/// when it has a due job and room under the cap; jobs without a workspace form one
/// more lane, with no cap. Offers are ranked within their lane and taken by rank,
/// then age: every lane's first, then every lane's second… So with `w` lanes open no
/// lane can be given more than `1 + limit - w` jobs, and none offers more (`depth`):
/// a claim reads a few rows per waiting workspace, never a whole backlog.
/// `state = 'queued'` is checked again by the update itself, so a row that changed
/// since the snapshot is never leased.
const ROUND_ROBIN: &str = lease!(
    "WHERE state = 'queued' AND id IN (
    WITH RECURSIVE
    lanes (workspace_id) AS (
        (SELECT workspace_id FROM jobs WHERE state = 'queued' AND workspace_id IS NOT NULL
         ORDER BY workspace_id LIMIT 1)
        UNION ALL
        SELECT (SELECT j.workspace_id FROM jobs j
                WHERE j.state = 'queued' AND j.workspace_id > lanes.workspace_id
                ORDER BY j.workspace_id LIMIT 1)
        FROM lanes WHERE lanes.workspace_id IS NOT NULL
    ),
    running (workspace_id, n) AS (
        SELECT workspace_id, COUNT(*) FROM jobs
        WHERE state = 'running' AND workspace_id IS NOT NULL GROUP BY workspace_id
    ),
    open (workspace_id, room) AS (
        SELECT l.workspace_id, $5 - COALESCE(r.n, 0)
        FROM lanes l LEFT JOIN running r ON r.workspace_id = l.workspace_id
        WHERE l.workspace_id IS NOT NULL AND $5 - COALESCE(r.n, 0) > 0
          AND EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                      AND k.workspace_id = l.workspace_id AND k.run_at <= $3)
    ),
    unowned (open) AS (
        SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued'
                       AND workspace_id IS NULL AND run_at <= $3)::int
    ),
    depth (n) AS (
        SELECT LEAST($4, 1 + GREATEST($4 - (SELECT COUNT(*) FROM open) - unowned.open, 0))
        FROM unowned
    ),
    offers (id, run_at, rank) AS (
        SELECT o.id, o.run_at, o.rank FROM open l CROSS JOIN depth d CROSS JOIN LATERAL (
            SELECT id, run_at, row_number() OVER (ORDER BY run_at, id) AS rank FROM jobs
            WHERE state = 'queued' AND workspace_id = l.workspace_id AND run_at <= $3
            ORDER BY run_at, id LIMIT LEAST(l.room, d.n)
        ) o
        UNION ALL
        SELECT id, run_at, row_number() OVER (ORDER BY run_at, id) FROM (
            SELECT id, run_at FROM jobs
            WHERE state = 'queued' AND workspace_id IS NULL AND run_at <= $3
            ORDER BY run_at, id LIMIT (SELECT n FROM depth)
        ) unowned_jobs
    )
    SELECT id FROM offers ORDER BY rank, run_at, id LIMIT $4)"
);

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
            let mut tx = pool.begin().await?;
            sqlx::query(
                "SELECT pg_advisory_xact_lock($1), \
                        set_config('synchronous_commit', 'off', true), \
                        set_config('plan_cache_mode', 'force_generic_plan', true)",
            )
            .bind(FAIR_CLAIM_LOCK)
            .execute(&mut *tx)
            .await?;
            let rows = query(ROUND_ROBIN)
                .bind(i64::from(cap))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        }
    };
    let mut jobs: Vec<ClaimedJob> = rows.into_iter().map(Into::into).collect();
    jobs.sort_by_key(|job| (job.run_at, job.id));
    Ok(jobs)
}
