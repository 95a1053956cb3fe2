//! Claiming due jobs on SQLite: oldest first, or fairly across workspaces.
//!
//! Both run on the writer thread, in its `BEGIN IMMEDIATE` transaction, which takes
//! SQLite's write lock before reading: no two claimers (threads or processes) see the
//! same due rows, and a capped claim's count of running jobs cannot go stale before
//! its update.

use rusqlite::{Connection, params};

use super::row;
use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob};
use crate::rows::ClaimedJobRow;

/// The claim statement around the `WHERE` that chooses the jobs.
macro_rules! lease {
    ($which:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires_at = ?2, \
                    attempts = attempts + 1, updated_at = ?3 ",
            $which,
            " RETURNING id, kind, payload, workspace_id, attempts, max_attempts, run_at, created_at"
        )
    };
}

/// Due jobs, oldest `run_at` first.
const OLDEST_FIRST: &str = lease!(
    "WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ?3 \
                  ORDER BY run_at, id LIMIT ?4)"
);

/// Due jobs round-robin across workspaces under a cap of `?5` running per workspace.
///
/// `lanes` lists the workspaces with queued jobs by skipping through the `jobs_lanes`
/// index (one seek per workspace, however deep its backlog). A workspace is `open`
/// when it has a due job and room under the cap; jobs without a workspace form one
/// more lane, with no cap. Offers are ranked within their lane and taken by rank,
/// then age: every lane's first, then every lane's second… So with `w` lanes open no
/// lane can be given more than `1 + limit - w` jobs, and none offers more (`depth`):
/// a claim reads a few rows per waiting workspace, never a whole backlog. SQLite's
/// `LIMIT` cannot read the outer row, so a workspace offers up to the cap and the
/// rank is held to its room afterwards.
const ROUND_ROBIN: &str = lease!(
    "WHERE id IN (
    WITH RECURSIVE
    lanes (workspace_id) AS (
        SELECT (SELECT workspace_id FROM jobs WHERE state = 'queued' AND workspace_id IS NOT NULL
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
        SELECT l.workspace_id, ?5 - COALESCE(r.n, 0)
        FROM lanes l LEFT JOIN running r ON r.workspace_id = l.workspace_id
        WHERE l.workspace_id IS NOT NULL AND ?5 - COALESCE(r.n, 0) > 0
          AND EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'queued'
                      AND k.workspace_id = l.workspace_id AND k.run_at <= ?3)
    ),
    unowned (open) AS (
        SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued'
                       AND workspace_id IS NULL AND run_at <= ?3)
    ),
    depth (n) AS (
        SELECT MIN(?4, 1 + MAX(?4 - (SELECT COUNT(*) FROM open) - unowned.open, 0))
        FROM unowned
    ),
    offers (id, run_at, workspace_id, room) AS (
        SELECT j.id, j.run_at, j.workspace_id, l.room FROM open l JOIN jobs j ON j.id IN (
            SELECT k.id FROM jobs k
            WHERE k.state = 'queued' AND k.workspace_id = l.workspace_id AND k.run_at <= ?3
            ORDER BY k.run_at, k.id LIMIT MIN((SELECT n FROM depth), ?5))
        UNION ALL
        SELECT id, run_at, NULL, ?4 FROM (
            SELECT id, run_at FROM jobs
            WHERE state = 'queued' AND workspace_id IS NULL AND run_at <= ?3
            ORDER BY run_at, id LIMIT (SELECT n FROM depth))
    ),
    ranked (id, run_at, room, rank) AS (
        SELECT id, run_at, room,
               row_number() OVER (PARTITION BY workspace_id ORDER BY run_at, id)
        FROM offers
    )
    SELECT id FROM ranked WHERE rank <= room ORDER BY rank, run_at, id LIMIT ?4)"
);

/// A [`ClaimRequest`] owned, to travel to the writer thread.
pub(super) struct Claim {
    owner: String,
    limit: i64,
    now: i64,
    lease_until: i64,
    workspace_cap: Option<i64>,
}

impl From<&ClaimRequest<'_>> for Claim {
    fn from(request: &ClaimRequest<'_>) -> Self {
        Claim {
            owner: request.owner.to_owned(),
            limit: i64::from(request.limit),
            now: request.now.0,
            lease_until: request.lease_until.0,
            workspace_cap: request.workspace_cap.map(i64::from),
        }
    }
}

/// Leases the chosen jobs, on the writer's connection (inside its `BEGIN IMMEDIATE`
/// transaction); oldest first.
pub(super) fn claim(conn: &Connection, claim: &Claim) -> StoreResult<Vec<ClaimedJob>> {
    let rows: Vec<ClaimedJobRow> = match claim.workspace_cap {
        Some(cap) => row::all(
            conn,
            ROUND_ROBIN,
            params![claim.owner, claim.lease_until, claim.now, claim.limit, cap],
        )?,
        None => row::all(
            conn,
            OLDEST_FIRST,
            params![claim.owner, claim.lease_until, claim.now, claim.limit],
        )?,
    };
    let mut jobs: Vec<ClaimedJob> = rows.into_iter().map(Into::into).collect();
    jobs.sort_by_key(|job| (job.run_at, job.id));
    Ok(jobs)
}
