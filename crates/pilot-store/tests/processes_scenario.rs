//! The process registry and recovery (issue 10 §6), on SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL: processes register and heartbeat; a
//! process whose heartbeat lapsed gives every job back at once, well before their
//! leases; on SQLite a process whose lock is free (it died) is known gone at once; a
//! clean exit deregisters; and a run's status follows its job whenever the job goes
//! back to the queue or is buried.

mod common;

use common::*;
use pilot_domain::{JobId, JobState, NewJob, RunId, RunStatus, UnixMillis, WorkspaceId};
use pilot_store::{
    Backend, ClaimRequest, ClaimedJob, JobFinish, NewProcess, ReapedProcesses, RunProgress, Store,
};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

/// Leases far longer than any test: only the registry can free these jobs in time.
const LEASE: i64 = 3_600_000;
/// A process's lapse: gone this long after its last heartbeat.
const LAPSE: i64 = 8_000;

fn process(id: &str) -> NewProcess {
    NewProcess {
        id: id.to_owned(),
        host: "test-host".to_owned(),
        pid: 4242,
    }
}

async fn register(store: &dyn Store, id: &str, at: UnixMillis) -> ReapedProcesses {
    store
        .register_process(&process(id), at, at.plus_ms(LAPSE))
        .await
        .unwrap()
}

/// Leases up to `limit` due jobs to `owner` (fairly, cap 10) at `at`.
async fn claim(store: &dyn Store, owner: &str, limit: u32, at: UnixMillis) -> Vec<ClaimedJob> {
    store
        .claim(&ClaimRequest {
            owner,
            limit,
            now: at,
            lease_until: at.plus_ms(LEASE),
            workspace_cap: Some(10),
        })
        .await
        .unwrap()
}

async fn enqueue(store: &dyn Store, workspace: WorkspaceId, count: usize) {
    let jobs: Vec<NewJob> = (0..count)
        .map(|n| NewJob::new("k", json!({ "n": n }), T0).for_workspace(workspace))
        .collect();
    store.enqueue_many(&jobs, T0).await.unwrap();
}

async fn job(store: &dyn Store, id: JobId) -> JobState {
    store.get_job(id).await.unwrap().expect("the job").state
}

async fn run_status(store: &dyn Store, id: RunId) -> RunStatus {
    store
        .load_run(id)
        .await
        .unwrap()
        .expect("the run")
        .run
        .status
}

async fn mark(store: &dyn Store, id: RunId, status: RunStatus) {
    let progress = RunProgress {
        status: Some(status),
        started_at: Some(T0),
        ..RunProgress::default()
    };
    store.record_progress(id, &progress).await.unwrap();
}

#[tokio::test]
async fn a_lapsed_process_gives_all_its_jobs_back_at_once_well_before_their_leases() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        assert_eq!(register(store, "p1", T0).await, ReapedProcesses::default());
        register(store, "p2", T0).await;
        enqueue(store, acme, 12).await;
        // The cap of 10 is full: p1 holds 8, p2 holds 2; two jobs wait.
        let p1 = claim(store, "p1", 8, T0).await;
        let p2 = claim(store, "p2", 8, T0).await;
        assert_eq!((p1.len(), p2.len()), (8, 2), "{backend:?}");
        assert!(claim(store, "p2", 8, T0).await.is_empty());

        // p2 keeps heartbeating; p1 stops (killed).
        let later = T0.plus_ms(LAPSE - 1);
        assert!(
            store
                .heartbeat_process("p2", later, later.plus_ms(LAPSE))
                .await
                .unwrap()
        );
        let early = store.reap_processes(T0.plus_ms(LAPSE), None).await.unwrap();
        assert_eq!(early, ReapedProcesses::default(), "not lapsed yet");

        // Past p1's lapse, and an hour short of the leases: all of p1's jobs at once.
        let lapsed = T0.plus_ms(LAPSE + 1);
        let reaped = store.reap_processes(lapsed, None).await.unwrap();
        assert_eq!(
            reaped,
            ReapedProcesses {
                processes: 1,
                jobs: 8
            },
            "{backend:?}"
        );
        for claimed in &p1 {
            let released = store.get_job(claimed.id).await.unwrap().unwrap();
            assert_eq!(released.state, JobState::Queued, "{backend:?}");
            assert_eq!(released.lease_owner, None);
            assert_eq!(released.run_at, lapsed, "due at once");
            assert_eq!(released.attempts, 1, "the lost attempt counts");
            assert!(released.last_error.unwrap().contains("stopped"));
        }
        for claimed in &p2 {
            assert_eq!(job(store, claimed.id).await, JobState::Running);
        }
        let left: Vec<String> = store
            .list_processes()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(left, ["p2"], "{backend:?}");
        // The workspace's slots are free again for the other processes.
        assert_eq!(claim(store, "p2", 20, lapsed).await.len(), 8, "{backend:?}");

        // p1 was only stalled: its next heartbeat finds it gone, and it registers again.
        assert!(
            !store
                .heartbeat_process("p1", lapsed, lapsed.plus_ms(LAPSE))
                .await
                .unwrap()
        );
        register(store, "p1", lapsed).await;
        assert_eq!(store.list_processes().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn a_clean_exit_deregisters_and_hands_back_what_it_held() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        register(store, "p1", T0).await;
        enqueue(store, acme, 2).await;
        let held = claim(store, "p1", 2, T0).await;
        assert_eq!(store.deregister_process("p1", T0).await.unwrap(), 2);
        for claimed in &held {
            let back = store.get_job(claimed.id).await.unwrap().unwrap();
            assert_eq!((back.state, back.attempts), (JobState::Queued, 0));
        }
        assert!(store.list_processes().await.unwrap().is_empty());
        assert_eq!(store.deregister_process("p1", T0).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn on_sqlite_a_dead_predecessor_is_known_by_its_free_lock_without_waiting() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let acme = workspace(&*db.store, "acme").await;
        enqueue(&*db.store, acme, 3).await;
        // Another process on the same database registers, leases jobs, and dies
        // (closing its store lets go of its lock, as the kernel does for `kill -9`;
        // its row and leases stay).
        let old = pilot_store::open(&db.url, &Default::default())
            .await
            .unwrap();
        register(&*old, "old", T0).await;
        assert_eq!(claim(&*old, "old", 3, T0).await.len(), 3);
        old.close().await;
        drop(old);

        // Its successor starts a second later, long before the lapse.
        let restart = T0.plus_ms(1_000);
        let reaped = register(&*db.store, "new", restart).await;
        match backend {
            Backend::Sqlite => {
                assert_eq!(
                    reaped,
                    ReapedProcesses {
                        processes: 1,
                        jobs: 3
                    }
                );
                assert_eq!(claim(&*db.store, "new", 3, restart).await.len(), 3);
                let dir = db.url.trim_start_matches("sqlite://").to_owned() + "-processes";
                assert!(
                    !std::path::Path::new(&dir).join("old.lock").exists(),
                    "the dead process's lock file is removed"
                );
                assert!(std::path::Path::new(&dir).join("new.lock").exists());
            }
            // PostgreSQL's processes may live anywhere: only the lapse tells.
            Backend::Postgres => {
                assert_eq!(reaped, ReapedProcesses::default());
                let lapsed = T0.plus_ms(LAPSE + 1);
                let reaped = db.store.reap_processes(lapsed, None).await.unwrap();
                assert_eq!(
                    reaped,
                    ReapedProcesses {
                        processes: 1,
                        jobs: 3
                    }
                );
            }
        }
        // A live process's lock is never taken: `new` survives any reap before its lapse.
        let reaped = db
            .store
            .reap_processes(restart.plus_ms(LAPSE - 1), None)
            .await;
        assert_eq!(reaped.unwrap(), ReapedProcesses::default(), "{backend:?}");
    }
}

#[tokio::test]
async fn a_run_reads_queued_again_whenever_its_job_goes_back_and_failed_when_buried() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let pilot = pilot(store, acme, &new_pilot("Recovering")).await;
        let runs: Vec<RunId> = {
            let mut ids = Vec::new();
            for n in 0..4 {
                ids.push(queue_run(store, acme, pilot.id, T0.plus_ms(n)).await.id);
            }
            ids
        };
        register(store, "p1", T0).await;
        let jobs = claim(store, "p1", 4, T0.plus_ms(10)).await;
        assert_eq!(jobs.len(), 4);
        // Three runs had started their steps; one is waiting in a `delay`.
        for (n, run) in runs.iter().enumerate() {
            let status = if n == 3 {
                RunStatus::Waiting
            } else {
                RunStatus::Running
            };
            mark(store, *run, status).await;
        }

        // The process is gone: its running runs wait for a slot again, and say so.
        store
            .reap_processes(T0.plus_ms(LAPSE + 1), None)
            .await
            .unwrap();
        let statuses = [
            run_status(store, runs[0]).await,
            run_status(store, runs[1]).await,
            run_status(store, runs[2]).await,
            run_status(store, runs[3]).await,
        ];
        use RunStatus::{Queued, Waiting};
        assert_eq!(statuses, [Queued, Queued, Queued, Waiting], "{backend:?}");

        // The same on a shutdown's release, a lease's expiry and a retried attempt.
        let now = T0.plus_ms(LAPSE + 2);
        register(store, "p2", now).await;
        let jobs = claim(store, "p2", 4, now).await;
        let by_run = |run: RunId| {
            jobs.iter()
                .find(|job| job.payload == json!({"run_id": run.0}))
                .expect("the run's job")
                .id
        };
        for run in &runs[..3] {
            mark(store, *run, RunStatus::Running).await;
        }
        assert_eq!(
            store.release("p2", &[by_run(runs[0])], now).await.unwrap(),
            1
        );
        assert_eq!(store.reap_expired(now.plus_ms(LEASE + 1)).await.unwrap(), 3);
        for run in &runs[..3] {
            assert_eq!(run_status(store, *run).await, Queued, "{backend:?}");
        }
        let later = now.plus_ms(LEASE + 2);
        let jobs = claim(store, "p2", 4, later).await;
        let first = jobs
            .iter()
            .find(|job| job.payload == json!({"run_id": runs[0].0}))
            .unwrap();
        mark(store, runs[0], RunStatus::Running).await;
        let retry = JobFinish::Retry {
            run_at: later.plus_ms(1_000),
            error: "store: connection reset".into(),
        };
        assert!(store.finish("p2", first.id, &retry, later).await.unwrap());
        assert_eq!(run_status(store, runs[0]).await, Queued, "{backend:?}");

        // A snooze is the run's own doing: it said `waiting` and keeps saying it.
        let waiting = jobs
            .iter()
            .find(|job| job.payload == json!({"run_id": runs[3].0}))
            .unwrap();
        let snooze = JobFinish::Snooze {
            run_at: later.plus_ms(60_000),
        };
        assert!(
            store
                .finish("p2", waiting.id, &snooze, later)
                .await
                .unwrap()
        );
        assert_eq!(run_status(store, runs[3]).await, Waiting, "{backend:?}");

        // A buried job's run ends failed with the reason, instead of running forever.
        let second = jobs
            .iter()
            .find(|job| job.payload == json!({"run_id": runs[1].0}))
            .unwrap();
        let dead = JobFinish::Dead {
            error: "store: gave up".into(),
        };
        assert!(store.finish("p2", second.id, &dead, later).await.unwrap());
        let failed = store.load_run(runs[1]).await.unwrap().unwrap().run;
        assert_eq!(failed.status, RunStatus::Failed, "{backend:?}");
        assert_eq!(
            failed.error.as_deref(),
            Some("the run stopped: store: gave up")
        );
        assert_eq!(failed.finished_at, Some(later));

        // And one buried by the reaper, its attempts spent by processes that died.
        let third = jobs
            .iter()
            .find(|job| job.payload == json!({"run_id": runs[2].0}))
            .unwrap()
            .id;
        let mut at = later;
        loop {
            let record = store.get_job(third).await.unwrap().unwrap();
            if record.state == JobState::Dead {
                break;
            }
            if record.state == JobState::Queued {
                at = at.plus_ms(1);
                claim(store, "p2", 4, at).await;
            }
            at = at.plus_ms(LEASE + 1);
            store.reap_expired(at).await.unwrap();
        }
        let failed = store.load_run(runs[2]).await.unwrap().unwrap().run;
        assert_eq!(failed.status, RunStatus::Failed, "{backend:?}");
        assert!(
            failed
                .error
                .unwrap()
                .starts_with("the run stopped: lease expired"),
            "{backend:?}"
        );
    }
}
