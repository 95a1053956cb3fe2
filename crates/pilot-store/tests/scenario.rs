//! The storage scenario: every case runs against SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

use std::collections::HashSet;

use pilot_domain::{
    ApiKeyToken, Environment, JobId, JobState, NewJob, Scopes, UnixMillis, WorkspaceName,
};
use pilot_store::{ClaimRequest, JobFinish, NewApiKey, StoreError};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

fn new_key(environment: Environment) -> (ApiKeyToken, NewApiKey) {
    let token = ApiKeyToken::generate(environment);
    let key = NewApiKey {
        environment,
        name: format!("{environment} key"),
        prefix: token.display_prefix(),
        digest: token.digest(),
        scopes: Scopes::all(),
        webhook_secret_sealed: format!("sealed-{}", environment),
    };
    (token, key)
}

fn name(raw: &str) -> WorkspaceName {
    WorkspaceName::parse(raw).unwrap()
}

/// Waits for a wake-up that must come; a missing one fails the test instead of hanging it.
async fn within_10s(woken: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(10), woken)
        .await
        .expect("no wake-up within 10 s");
}

const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn claim<'a>(owner: &'a str, limit: u32, now: UnixMillis) -> ClaimRequest<'a> {
    ClaimRequest {
        owner,
        limit,
        now,
        lease_until: now.plus_ms(30_000),
        workspace_cap: None,
    }
}

#[tokio::test]
async fn workspaces_and_keys() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let (live_token, live) = new_key(Environment::Live);
        let (test_token, test) = new_key(Environment::Test);
        let (acme, keys) = store
            .create_workspace(&name("acme"), &[live, test], T0)
            .await
            .unwrap();
        assert_eq!(acme.name, "acme");
        assert_eq!(keys.len(), 2);

        let duplicate = store.create_workspace(&name("acme"), &[], T0).await;
        assert!(
            matches!(duplicate, Err(StoreError::Conflict(_))),
            "{backend:?}"
        );

        let found = store
            .find_key_by_digest(&live_token.digest())
            .await
            .unwrap()
            .expect("live key found");
        assert_eq!(found.workspace_name, "acme");
        assert_eq!(found.key.environment, Environment::Live);
        assert_eq!(found.key.prefix, live_token.display_prefix());
        assert_eq!(found.key.scopes, Scopes::all());
        assert!(
            store
                .find_key_by_digest("0".repeat(64).as_str())
                .await
                .unwrap()
                .is_none()
        );

        let only_test = store
            .list_api_keys(acme.id, Some(Environment::Test))
            .await
            .unwrap();
        assert_eq!(only_test.len(), 1);
        assert_eq!(only_test[0].prefix, test_token.display_prefix());
        assert_eq!(store.list_api_keys(acme.id, None).await.unwrap().len(), 2);

        // Another workspace sees none of acme's keys and cannot revoke them.
        let (other, _) = store
            .create_workspace(&name("other"), &[], T0)
            .await
            .unwrap();
        assert!(
            store
                .list_api_keys(other.id, None)
                .await
                .unwrap()
                .is_empty()
        );
        let live_id = found.key.id;
        assert!(!store.revoke_api_key(other.id, live_id, T0).await.unwrap());
        assert!(
            store
                .sealed_webhook_secret(other.id, Environment::Live, live_id)
                .await
                .unwrap()
                .is_none()
        );
        // The webhook secret is scoped to its environment too.
        assert!(
            store
                .sealed_webhook_secret(acme.id, Environment::Test, live_id)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .sealed_webhook_secret(acme.id, Environment::Live, live_id)
                .await
                .unwrap()
                .as_deref(),
            Some("sealed-live")
        );

        assert!(
            store
                .revoke_api_key(acme.id, live_id, T0.plus_ms(5))
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_api_key(acme.id, live_id, T0.plus_ms(6))
                .await
                .unwrap()
        );
        let revoked = store
            .find_key_by_digest(&live_token.digest())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.key.revoked_at, Some(T0.plus_ms(5)));

        let names: Vec<String> = store
            .list_workspaces()
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, ["acme", "other"]);
        assert_eq!(
            store.find_workspace("other").await.unwrap().unwrap().id,
            other.id
        );
    }
}

#[tokio::test]
async fn claims_only_due_jobs_in_order_and_leases_them_exclusively() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let later = store
            .enqueue(&NewJob::new("k", json!({"n": 3}), T0.plus_ms(10_000)), T0)
            .await
            .unwrap();
        let first = store
            .enqueue(&NewJob::new("k", json!({"n": 1}), T0), T0)
            .await
            .unwrap();
        let second = store
            .enqueue(&NewJob::new("k", json!({"n": 2}), T0), T0)
            .await
            .unwrap();

        let claimed = store.claim(&claim("a", 10, T0)).await.unwrap();
        let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
        assert_eq!(ids, [first, second], "{backend:?}");
        assert_eq!(claimed[0].payload, json!({"n": 1}));
        assert_eq!(claimed[0].attempts, 1);
        assert!(store.claim(&claim("b", 10, T0)).await.unwrap().is_empty());

        // Only the lease holder can complete.
        assert_eq!(store.complete("b", &[first]).await.unwrap(), 0);
        assert_eq!(store.complete("a", &[first]).await.unwrap(), 1);
        assert!(store.get_job(first).await.unwrap().is_none());

        let counts = store.queue_counts().await.unwrap();
        assert_eq!((counts.queued, counts.running, counts.dead), (1, 1, 0));

        let due_later = store
            .claim(&claim("b", 10, T0.plus_ms(10_000)))
            .await
            .unwrap();
        assert_eq!(due_later.len(), 1);
        assert_eq!(due_later[0].id, later);
        let _ = second;
    }
}

#[tokio::test]
async fn retry_snooze_dead_and_release_settle_a_job() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let id = store
            .enqueue(&NewJob::new("k", json!(null), T0).max_attempts(2), T0)
            .await
            .unwrap();

        store.claim(&claim("a", 1, T0)).await.unwrap();
        let retry = JobFinish::Retry {
            run_at: T0.plus_ms(1_000),
            error: "boom".into(),
        };
        assert!(!store.finish("other", id, &retry, T0).await.unwrap());
        assert!(store.finish("a", id, &retry, T0).await.unwrap());
        let job = store.get_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.run_at, T0.plus_ms(1_000));
        assert_eq!(job.attempts, 1);
        assert_eq!(job.last_error.as_deref(), Some("boom"));
        assert!(job.lease_owner.is_none());

        // Snoozing gives the attempt back.
        store
            .claim(&claim("a", 1, T0.plus_ms(1_000)))
            .await
            .unwrap();
        let snooze = JobFinish::Snooze {
            run_at: T0.plus_ms(5_000),
        };
        assert!(
            store
                .finish("a", id, &snooze, T0.plus_ms(1_000))
                .await
                .unwrap()
        );
        let job = store.get_job(id).await.unwrap().unwrap();
        assert_eq!((job.attempts, job.run_at), (1, T0.plus_ms(5_000)));

        // Releasing (shutdown) gives the attempt back and makes it due now.
        store
            .claim(&claim("a", 1, T0.plus_ms(5_000)))
            .await
            .unwrap();
        assert_eq!(
            store.release("a", &[id], T0.plus_ms(6_000)).await.unwrap(),
            1
        );
        let job = store.get_job(id).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 1));

        store
            .claim(&claim("a", 1, T0.plus_ms(6_000)))
            .await
            .unwrap();
        let dead = JobFinish::Dead {
            error: "gave up".into(),
        };
        assert!(
            store
                .finish("a", id, &dead, T0.plus_ms(6_000))
                .await
                .unwrap()
        );
        let job = store.get_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Dead);
        assert_eq!(job.last_error.as_deref(), Some("gave up"));
        assert!(
            store
                .claim(&claim("a", 1, T0.plus_ms(99_000)))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.queue_counts().await.unwrap().dead, 1);
    }
}

#[tokio::test]
async fn reaper_requeues_expired_leases_and_buries_exhausted_jobs() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let retried = store
            .enqueue(&NewJob::new("k", json!(1), T0), T0)
            .await
            .unwrap();
        let exhausted = store
            .enqueue(&NewJob::new("k", json!(2), T0).max_attempts(1), T0)
            .await
            .unwrap();
        store.claim(&claim("ghost", 10, T0)).await.unwrap();

        // Leases run to T0 + 30s: nothing to reap before then.
        assert_eq!(store.reap_expired(T0.plus_ms(30_000)).await.unwrap(), 0);
        assert_eq!(
            store
                .heartbeat("ghost", &[retried], T0.plus_ms(60_000))
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.reap_expired(T0.plus_ms(30_001)).await.unwrap(), 1);
        assert_eq!(
            store.get_job(exhausted).await.unwrap().unwrap().state,
            JobState::Dead
        );
        assert_eq!(store.reap_expired(T0.plus_ms(60_001)).await.unwrap(), 1);
        let job = store.get_job(retried).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert!(job.last_error.unwrap().contains("lease expired"));
        // The late worker can no longer complete what it lost.
        assert_eq!(store.complete("ghost", &[retried]).await.unwrap(), 0);
        let again = store
            .claim(&claim("b", 10, T0.plus_ms(60_001)))
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
    }
}

#[tokio::test]
async fn enqueue_many_and_concurrent_claimers_take_each_job_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.store.clone();
        let jobs: Vec<NewJob> = (0..400)
            .map(|n| NewJob::new("k", json!({"n": n}), T0))
            .collect();
        assert_eq!(store.enqueue_many(&jobs, T0).await.unwrap(), 400);

        let claimers = (0..4).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = format!("w{w}");
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim(&claim(&owner, 7, T0)).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    let ids: Vec<JobId> = batch.iter().map(|j| j.id).collect();
                    assert_eq!(
                        store.complete(&owner, &ids).await.unwrap(),
                        ids.len() as u64
                    );
                    mine.extend(batch.into_iter().map(|j| j.payload["n"].as_i64().unwrap()));
                }
            })
        });
        let mut seen = HashSet::new();
        for claimer in claimers {
            for n in claimer.await.unwrap() {
                assert!(seen.insert(n), "job {n} ran twice on {backend:?}");
            }
        }
        assert_eq!(seen.len(), 400);
        assert_eq!(store.queue_counts().await.unwrap(), Default::default());
    }
}

#[tokio::test]
async fn ping_and_notify() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        db.store.ping().await.unwrap();
        let notify = db.store.job_notify();
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        db.store
            .enqueue(&NewJob::new("k", json!(0), T0), T0)
            .await
            .unwrap();
        within_10s(woken).await;
        assert_eq!(db.store.backend(), backend);
    }
}

/// A second process's insert wakes this one through `LISTEN/NOTIFY`.
#[tokio::test]
async fn postgres_notifies_other_connections() {
    if !backends().contains(&pilot_store::Backend::Postgres) {
        return;
    }
    let db = TestDb::new(pilot_store::Backend::Postgres).await;
    let other = pilot_store::open(&db.url, &Default::default())
        .await
        .unwrap();
    let notify = db.store.job_notify();
    let woken = notify.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    other
        .enqueue(&NewJob::new("k", json!(0), T0), T0)
        .await
        .unwrap();
    within_10s(woken).await;
    other.close().await;
}

/// (workspace, environment, model, input, output, usage known, cost in micros, at)
type UsageRow = (
    Option<pilot_domain::WorkspaceId>,
    Environment,
    &'static str,
    i64,
    i64,
    bool,
    i64,
    UnixMillis,
);

fn usage(row: UsageRow) -> pilot_domain::UsageRecord {
    let (workspace_id, environment, model, input, output, usage_known, cost, created_at) = row;
    pilot_domain::UsageRecord {
        workspace_id,
        environment: Some(environment),
        owner_kind: "run_step".into(),
        owner_id: "run_1/summarize".into(),
        provider: "openai".into(),
        model: model.into(),
        input_tokens: input,
        output_tokens: output,
        usage_known,
        latency_ms: 120,
        cost: pilot_domain::Credits::from_micros(cost),
        created_at,
    }
}

#[tokio::test]
async fn usage_is_appended_and_summarized_by_day_and_model() {
    use pilot_store::{DAY_MS, UsageQuery};

    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let (acme, _) = store
            .create_workspace(&name("acme"), &[], T0)
            .await
            .unwrap();
        let (other, _) = store
            .create_workspace(&name("other"), &[], T0)
            .await
            .unwrap();
        let day0 = UnixMillis(T0.0 - T0.0 % DAY_MS);
        let day1 = day0.plus_ms(DAY_MS);
        let (live, test) = (Environment::Live, Environment::Test);
        let (a, o) = (Some(acme.id), Some(other.id));
        let (t1, t2) = (T0.plus_ms(1), T0.plus_ms(2));
        let (t3, t4) = (day1.plus_ms(1), day1.plus_ms(2));
        let rows: [UsageRow; 6] = [
            (a, live, "small", 100, 10, true, 5, T0),
            (a, live, "small", 200, 20, false, 7, t1),
            (a, live, "large", 1, 2, true, 1_000_000, t2),
            (a, test, "small", 9, 9, true, 0, day1),
            (o, live, "small", 5, 5, true, 3, t3),
            (None, live, "small", 1, 1, true, 1, t4),
        ];
        for row in rows {
            store.record_usage(&usage(row)).await.unwrap();
        }

        let all = store.usage_summary(&UsageQuery::since(day0)).await.unwrap();
        let shape: Vec<(UnixMillis, &str, i64, i64, i64, i64, i64)> = all
            .iter()
            .map(|r| {
                (
                    r.day,
                    r.model.as_str(),
                    r.calls,
                    r.estimated_calls,
                    r.input_tokens,
                    r.output_tokens,
                    r.cost.micros(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (day0, "large", 1, 0, 1, 2, 1_000_000),
                (day0, "small", 2, 1, 300, 30, 12),
                (day1, "small", 3, 0, 15, 15, 4),
            ],
            "{backend:?}"
        );
        assert!(all.iter().all(|r| r.provider == "openai"));

        // One workspace's live calls only.
        let acme_live = store
            .usage_summary(&UsageQuery {
                since: day0,
                workspace_id: Some(acme.id),
                environment: Some(live),
            })
            .await
            .unwrap();
        assert_eq!(acme_live.len(), 2);
        assert_eq!(acme_live.iter().map(|r| r.calls).sum::<i64>(), 3);
        // Since the second day, both environments.
        let recent = store
            .usage_summary(&UsageQuery {
                since: day1,
                workspace_id: Some(acme.id),
                environment: None,
            })
            .await
            .unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!((recent[0].day, recent[0].input_tokens), (day1, 9));
        assert!(
            store
                .usage_summary(&UsageQuery::since(day1.plus_ms(DAY_MS)))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
