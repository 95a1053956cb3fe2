//! Fair claiming (DESIGN §3 "Fair use"): a per-workspace cap on running jobs, and
//! round-robin across workspaces, on SQLite and, when `PILOT_TEST_POSTGRES_URL` is
//! set, PostgreSQL.

use std::collections::HashMap;

use pilot_domain::{JobId, NewJob, UnixMillis, WorkspaceId};
use pilot_store::{ClaimRequest, ClaimedJob, Store};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

const T0: UnixMillis = UnixMillis(1_700_000_000_000);
const A: WorkspaceId = WorkspaceId(1);
const B: WorkspaceId = WorkspaceId(2);

fn claim(owner: &str, limit: u32, workspace_cap: Option<u32>) -> ClaimRequest<'_> {
    ClaimRequest {
        owner,
        limit,
        now: T0.plus_ms(1_000),
        lease_until: T0.plus_ms(30_000),
        workspace_cap,
    }
}

/// Enqueues `count` jobs in `lane` (`None`: no workspace), due at `run_at`.
async fn enqueue(store: &dyn Store, lane: Option<WorkspaceId>, count: usize, run_at: UnixMillis) {
    let jobs: Vec<NewJob> = (0..count)
        .map(|n| {
            let job = NewJob::new("k", json!({ "n": n }), run_at);
            match lane {
                Some(workspace) => job.for_workspace(workspace),
                None => job,
            }
        })
        .collect();
    assert_eq!(store.enqueue_many(&jobs, T0).await.unwrap(), count as u64);
}

/// How many of `jobs` each lane got.
fn per_lane(jobs: &[ClaimedJob]) -> HashMap<Option<WorkspaceId>, usize> {
    let mut counts = HashMap::new();
    for job in jobs {
        *counts.entry(job.workspace_id).or_default() += 1;
    }
    counts
}

fn ids(jobs: &[ClaimedJob]) -> Vec<JobId> {
    jobs.iter().map(|job| job.id).collect()
}

#[tokio::test]
async fn a_small_workspace_is_served_past_a_large_backlog() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        // The case: a thousand of A's runs queued before B's one.
        enqueue(store, Some(A), 1_000, T0).await;
        enqueue(store, Some(B), 1, T0.plus_ms(1)).await;

        let first = store.claim(&claim("w", 2, Some(10))).await.unwrap();
        assert_eq!(
            per_lane(&first),
            HashMap::from([(Some(A), 1), (Some(B), 1)]),
            "{backend:?}"
        );
        assert_eq!(first[0].payload, json!({"n": 0}), "A's oldest job first");
    }
}

#[tokio::test]
async fn lanes_take_turns_including_the_unowned_lane() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        enqueue(store, Some(A), 3, T0).await;
        enqueue(store, Some(B), 2, T0).await;
        enqueue(store, None, 2, T0).await;

        let rounds = [
            HashMap::from([(Some(A), 1), (Some(B), 1), (None, 1)]),
            HashMap::from([(Some(A), 1), (Some(B), 1), (None, 1)]),
            HashMap::from([(Some(A), 1)]),
        ];
        for (round, expected) in rounds.into_iter().enumerate() {
            let owner = format!("w{round}");
            let jobs = store.claim(&claim(&owner, 3, Some(10))).await.unwrap();
            assert_eq!(per_lane(&jobs), expected, "round {round} on {backend:?}");
        }
    }
}

/// Claims of one job: the unowned lane (claimed without a lane lock on PostgreSQL)
/// still takes its turn with the workspaces, neither ahead of them nor behind.
#[tokio::test]
async fn single_job_claims_rotate_through_the_unowned_lane_too() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        enqueue(store, Some(A), 3, T0).await;
        enqueue(store, Some(B), 3, T0).await;
        enqueue(store, None, 3, T0).await;

        let mut order = Vec::new();
        for round in 0..6 {
            let owner = format!("w{round}");
            // Each claim a moment after the last, as a clock would have it: a lane
            // served goes behind those served before it.
            let request = ClaimRequest {
                now: T0.plus_ms(1_000 + round),
                ..claim(&owner, 1, Some(10))
            };
            let jobs = store.claim(&request).await.unwrap();
            assert_eq!(jobs.len(), 1, "round {round} on {backend:?}");
            order.push(jobs[0].workspace_id);
        }
        assert_eq!(
            order,
            [None, Some(A), Some(B), None, Some(A), Some(B)],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn the_cap_holds_a_workspace_until_its_running_jobs_finish() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        enqueue(store, Some(A), 10, T0).await;
        enqueue(store, None, 5, T0).await;

        // Jobs without a workspace are not capped; A's are, across every claimer.
        let first = store.claim(&claim("w1", 20, Some(3))).await.unwrap();
        assert_eq!(
            per_lane(&first),
            HashMap::from([(Some(A), 3), (None, 5)]),
            "{backend:?}"
        );
        let blocked = store.claim(&claim("w2", 20, Some(3))).await.unwrap();
        assert!(blocked.is_empty(), "{backend:?}: {blocked:?}");

        // One of A's finishes: one more may start.
        let a_done = first
            .iter()
            .find(|job| job.workspace_id == Some(A))
            .expect("A had jobs running");
        assert_eq!(store.complete("w1", &[a_done.id]).await.unwrap(), 1);
        let next = store.claim(&claim("w2", 20, Some(3))).await.unwrap();
        assert_eq!(
            per_lane(&next),
            HashMap::from([(Some(A), 1)]),
            "{backend:?}"
        );
        assert!(!ids(&first).contains(&next[0].id));

        // With fairness off the cap does not apply.
        let uncapped = store.claim(&claim("w3", 20, None)).await.unwrap();
        assert_eq!(
            per_lane(&uncapped),
            HashMap::from([(Some(A), 6)]),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_capped_claims_never_overshoot_the_cap() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        enqueue(&*db.store, Some(A), 20, T0).await;

        let claimers: Vec<_> = (0..6)
            .map(|n| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    let owner = format!("w{n}");
                    store.claim(&claim(&owner, 5, Some(3))).await.unwrap().len()
                })
            })
            .collect();
        let mut leased = 0;
        for claimer in claimers {
            leased += claimer.await.unwrap();
        }
        assert_eq!(leased, 3, "{backend:?}");
        assert_eq!(db.store.queue_counts().await.unwrap().running, 3);
    }
}

#[tokio::test]
async fn full_or_not_yet_due_workspaces_do_not_shrink_another_ones_share() {
    const C: WorkspaceId = WorkspaceId(3);
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        enqueue(store, Some(A), 4, T0).await;
        let full = store.claim(&claim("w1", 10, Some(3))).await.unwrap();
        assert_eq!(
            per_lane(&full),
            HashMap::from([(Some(A), 3)]),
            "{backend:?}"
        );
        enqueue(store, Some(B), 10, T0).await;
        enqueue(store, Some(C), 10, T0.plus_ms(60_000)).await;

        // A is at its cap and C has nothing due, so B is the only lane open: it may
        // fill the claim up to its own cap, as if A and C had no jobs at all.
        let next = store.claim(&claim("w2", 3, Some(3))).await.unwrap();
        assert_eq!(
            per_lane(&next),
            HashMap::from([(Some(B), 3)]),
            "{backend:?}"
        );
    }
}
