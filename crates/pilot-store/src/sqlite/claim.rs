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

/// The lanes whose turn has come, in turn order (`queue_lanes`, migration 0015).
const LANES_DUE: &str =
    "SELECT workspace_id FROM queue_lanes WHERE ready_at <= ?1 ORDER BY ready_at, workspace_id";

/// A workspace's running jobs, against the cap.
const RUNNING: &str = "SELECT COUNT(*) FROM jobs WHERE workspace_id = ?1 AND state = 'running'";

/// A lane's first `?3` due jobs, in claim order.
const DUE_IN_WORKSPACE: &str = "SELECT id FROM jobs \
    WHERE state = 'queued' AND workspace_id = ?1 AND run_at <= ?2 ORDER BY run_at, id LIMIT ?3";
const DUE_UNOWNED: &str = "SELECT id FROM jobs \
    WHERE state = 'queued' AND workspace_id IS NULL AND run_at <= ?1 ORDER BY run_at, id LIMIT ?2";

/// The earliest `run_at` of a lane's queued jobs.
const NEXT_IN_WORKSPACE: &str =
    "SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND workspace_id = ?1";
const NEXT_UNOWNED: &str =
    "SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND workspace_id IS NULL";

const LEASE_ONE: &str = lease!("WHERE id = ?5 AND state = 'queued'");

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
        Some(cap) => round_robin(conn, claim, cap)?,
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

/// Due jobs round-robin across workspaces under a cap of `cap` running per workspace,
/// the PostgreSQL claim's rules (`postgres/claim.rs`) without its locks — the writer
/// is alone: the lanes whose turn has come, in turn order, each with its room (lanes
/// at the cap keep their place, and the walk stops at `limit` lanes with room); then
/// every lane's first due job, every lane's second, and so on, within each lane's
/// room; then each served lane goes to the back of the line, or, with nothing due
/// left, its turn moves to its next job, or it is deleted with none.
fn round_robin(conn: &Connection, claim: &Claim, cap: i64) -> StoreResult<Vec<ClaimedJobRow>> {
    let limit = claim.limit.max(0);
    let mut lanes: Vec<(i64, i64)> = Vec::new();
    {
        let mut due = conn.prepare_cached(LANES_DUE)?;
        let mut walk = due.query(params![claim.now])?;
        while (lanes.len() as i64) < limit {
            let Some(lane) = walk.next()? else { break };
            let lane: i64 = lane.get(0)?;
            let room = if lane == 0 {
                limit
            } else {
                cap - row::scalar::<i64>(conn, RUNNING, params![lane])?
            };
            if room > 0 {
                lanes.push((lane, room));
            }
        }
    }
    if lanes.is_empty() {
        return Ok(Vec::new());
    }
    let depth = 1 + (limit - lanes.len() as i64).max(0);
    let mut offers: Vec<Vec<i64>> = Vec::with_capacity(lanes.len());
    for &(lane, room) in &lanes {
        let take = room.min(depth);
        offers.push(if lane == 0 {
            row::column(conn, DUE_UNOWNED, params![claim.now, take])?
        } else {
            row::column(conn, DUE_IN_WORKSPACE, params![lane, claim.now, take])?
        });
    }
    let mut leased = Vec::new();
    'ranks: for rank in 0..depth as usize {
        for lane in &offers {
            if leased.len() as i64 >= limit {
                break 'ranks;
            }
            if let Some(&id) = lane.get(rank) {
                leased.extend(row::optional::<ClaimedJobRow>(
                    conn,
                    LEASE_ONE,
                    params![claim.owner, claim.lease_until, claim.now, claim.limit, id],
                )?);
            }
        }
    }
    for &(lane, _) in &lanes {
        let next: Option<i64> = if lane == 0 {
            row::scalar(conn, NEXT_UNOWNED, [])?
        } else {
            row::scalar(conn, NEXT_IN_WORKSPACE, params![lane])?
        };
        match next {
            None => row::execute(
                conn,
                "DELETE FROM queue_lanes WHERE workspace_id = ?1",
                params![lane],
            )?,
            Some(run_at) => row::execute(
                conn,
                "UPDATE queue_lanes SET ready_at = MAX(?2, ?3) WHERE workspace_id = ?1",
                params![lane, claim.now, run_at],
            )?,
        };
    }
    Ok(leased)
}
