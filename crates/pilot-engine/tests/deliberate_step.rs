//! The runner's `deliberate` step against a real store (SQLite, and PostgreSQL when
//! `PILOT_TEST_POSTGRES_URL` is set), on a manual clock: each pass over a waiting run
//! snoozes it without submitting again, the deliberation's result flows on once it is
//! done, and a deliberation that never ends fails the step instead of being polled
//! forever. Each submission is authorised by the key that set the pilot's steps: a
//! run whose key is revoked, lacks the scope or is missing fails the step with
//! nothing reserved, and one already submitted is still waited for. A run whose key
//! has spent its submission rate limit waits for it instead of failing.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{
    ApiKeyId, Credits, DeliberationStatus, Environment, FiredBy, MasterKey, PilotStatus, RunId,
    RunStatus, Scopes, StepStatus, UnixMillis, WorkspaceId, WorkspaceName,
};
use pilot_engine::deliberation::{
    DeliberationDeps, DeliberationsConfig, Pipeline, drive_deliberation,
};
use pilot_engine::drafting::Drafter;
use pilot_engine::runner::{RunDeps, drive_run};
use pilot_engine::steps::StepServices;
use pilot_engine::steps::deliberate::{STALLED_AFTER_MS, deliberation_id};
use pilot_engine::steps::email::{Mailer, SmtpConfig};
use pilot_engine::{JobOutcome, ManualClock};
use pilot_models::{MemorySink, Models, ModelsConfig};
use pilot_operations::{Operations, Policy, Services};
use pilot_outbound::{OutboundClient, OutboundPolicy};
use pilot_store::{CreateRun, NewApiKey, NewPilot, NewRun, PilotTrigger, RateLimit, Store};
use pilot_testkit::{TestDb, backends};
use serde_json::{Value, json};

const NOW: UnixMillis = UnixMillis(1_700_000_000_000);
const ENV: Environment = Environment::Test;
const POLL_MS: i64 = 2_000;

struct Setup {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    runs: RunDeps,
    deliberations: DeliberationDeps,
    workspace: WorkspaceId,
    /// A key holding every scope: the one that sets the pilots' steps.
    key: ApiKeyId,
}

/// Stores a key of the test environment with `scopes` in `workspace`.
async fn key(store: &dyn Store, workspace: WorkspaceId, scopes: &str, digest: &str) -> ApiKeyId {
    let key = NewApiKey {
        environment: ENV,
        name: "steps".into(),
        prefix: "pk_test_abcd".into(),
        digest: digest.into(),
        scopes: Scopes::parse(scopes).unwrap(),
        webhook_secret_sealed: "v1:unused".into(),
    };
    store.create_api_key(workspace, &key, NOW).await.unwrap().id
}

/// The application's submitter: the operations, with the seed's policy but for the
/// submissions a key may make an hour.
fn submitter(
    store: &Arc<dyn Store>,
    clock: &Arc<ManualClock>,
    master_key: &MasterKey,
    models: &Arc<Models>,
    config: &DeliberationsConfig,
    posts_per_hour: i64,
) -> Operations {
    let webhook_guard = OutboundClient::new(OutboundPolicy {
        require_https: true,
        ..OutboundPolicy::default()
    })
    .unwrap();
    Operations::new(
        Services {
            store: store.clone(),
            clock: clock.clone(),
            master_key: master_key.clone(),
            models: models.clone(),
            drafter: Drafter::new(models.clone(), 0),
            webhook_guard,
        },
        Policy {
            public_url: "http://pilot.test".to_owned(),
            mail_domain: "pilot.test".to_owned(),
            pilot_creates: RateLimit {
                limit: 60,
                window_ms: 60_000,
            },
            min_schedule_interval: Duration::from_secs(60),
            // The seed's limits (§6) and idempotency window.
            deliberation_posts: RateLimit {
                limit: posts_per_hour,
                window_ms: 3_600_000,
            },
            deliberation_reads: RateLimit {
                limit: 600,
                window_ms: 60_000,
            },
            idempotency_ttl_ms: 24 * 3_600_000,
            deliberations: config.clone(),
            webhooks: pilot_operations::WebhooksConfig::default(),
            dashboard: pilot_operations::DashboardPolicy::default(),
            environments: pilot_operations::EnvironmentsConfig::default(),
        },
    )
}

async fn setup(store: Arc<dyn Store>) -> Setup {
    setup_with(store, 60).await
}

/// [`setup`], with a key allowed `posts_per_hour` submissions an hour.
async fn setup_with(store: Arc<dyn Store>, posts_per_hour: i64) -> Setup {
    let clock = Arc::new(ManualClock::new(NOW));
    let name = WorkspaceName::parse("acme").unwrap();
    let (workspace, _) = store.create_workspace(&name, &[], NOW).await.unwrap();
    store
        .grant_credits(workspace.id, ENV, Credits::from_credits(10), "test", NOW)
        .await
        .unwrap();
    let models = Arc::new(
        Models::builder(ModelsConfig::default(), Arc::new(MemorySink::new()))
            .clock(Arc::new(ManualClock::new(NOW)))
            .build(),
    );
    let config = DeliberationsConfig::default();
    let (master_key, _) = MasterKey::generate();
    let submitter = submitter(
        &store,
        &clock,
        &master_key,
        &models,
        &config,
        posts_per_hour,
    );
    let services = StepServices {
        submitter: Arc::new(submitter),
        models: models.clone(),
        outbound: Arc::new(OutboundClient::new(OutboundPolicy::default()).unwrap()),
        mailer: Arc::new(Mailer::new(&SmtpConfig::default()).unwrap()),
        deliberations: config.clone(),
        deliberate_poll: Duration::from_millis(POLL_MS as u64),
    };
    let key = key(
        &*store,
        workspace.id,
        "pilots:write deliberations:write",
        "d-all",
    )
    .await;
    Setup {
        runs: RunDeps {
            store: store.clone(),
            clock: clock.clone(),
            master_key,
            services: Arc::new(services),
        },
        deliberations: DeliberationDeps {
            store: store.clone(),
            clock: clock.clone(),
            pipeline: Arc::new(Pipeline::new(models, config, clock.clone())),
        },
        store,
        clock,
        workspace: workspace.id,
        key,
    }
}

impl Setup {
    async fn run(&self, steps: Value) -> RunId {
        self.run_set_by(Some(self.key), steps).await
    }

    /// A run of a pilot whose steps `key` set (`None`: stored before keys were).
    async fn run_set_by(&self, key: Option<ApiKeyId>, steps: Value) -> RunId {
        let pilot = NewPilot {
            title: "Ask".into(),
            description: "Ask the panel".into(),
            status: PilotStatus::Active,
            trigger: PilotTrigger::default(),
            steps,
            steps_key_id: key,
            notify_url: None,
            webhook_verification: None,
        };
        let pilot = self
            .store
            .create_pilot(self.workspace, ENV, &pilot, NOW)
            .await
            .unwrap();
        let created = self
            .store
            .create_run(
                self.workspace,
                ENV,
                pilot.id,
                &NewRun {
                    fired_by: FiredBy::Api,
                    payload: &json!({"product": "Acme CRM"}),
                    request: None,
                },
                NOW,
            )
            .await
            .unwrap();
        let CreateRun::Created(run) = created else {
            panic!("no run: {created:?}")
        };
        run.id
    }

    async fn reserves(&self) -> usize {
        let ledger = self.store.ledger(self.workspace, ENV, 100).await.unwrap();
        ledger.iter().filter(|e| e.kind == "reserve").count()
    }
}

#[tokio::test]
async fn every_pass_over_a_waiting_run_snoozes_it_and_submits_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = setup(db.store.clone()).await;
        let run = s
            .run(json!([
                {"id": "ask", "type": "deliberate", "use_case": "pricing",
                 "question": "Should we price {{ trigger.product }} per seat or by usage?"},
                {"id": "use", "type": "transform",
                 "values": {"summary": "{{ steps.ask.output.summary }}"}}
            ]))
            .await;
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        let id = deliberation_id(&detail.run, 0, "ask", 1);

        // First pass: submitted, the run waiting, the job snoozed for one poll.
        let outcome = drive_run(&s.runs, run, None).await.unwrap();
        assert_eq!(outcome, JobOutcome::SnoozeUntil(NOW.plus_ms(POLL_MS)));
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        assert_eq!(detail.run.status, RunStatus::Waiting, "{backend:?}");
        assert!(detail.steps.is_empty(), "nothing recorded while waiting");
        let submitted = s.store.load_deliberation(&id).await.unwrap().unwrap();
        assert_eq!(submitted.status, DeliberationStatus::Queued);
        assert_eq!(
            submitted.key_id,
            Some(s.key),
            "submitted under the run's key"
        );
        assert_eq!(
            submitted.question,
            "Should we price Acme CRM per seat or by usage?"
        );
        assert_eq!(s.reserves().await, 1);

        // Later passes (a wake-up, or a redelivered job after a crash) find it.
        for pass in 1..=3 {
            s.clock.advance_ms(POLL_MS);
            let outcome = drive_run(&s.runs, run, None).await.unwrap();
            let now = NOW.plus_ms(POLL_MS * pass);
            assert_eq!(outcome, JobOutcome::SnoozeUntil(now.plus_ms(POLL_MS)));
        }
        assert_eq!(s.reserves().await, 1, "submitted once: {backend:?}");

        // The deliberation completes; the next pass records its result and goes on.
        let done = drive_deliberation(&s.deliberations, &id).await.unwrap();
        assert_eq!(done, JobOutcome::Done);
        let completed = s.store.load_deliberation(&id).await.unwrap().unwrap();
        let result = completed.result.clone().expect("a result");
        s.clock.advance_ms(POLL_MS);
        assert_eq!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::Done
        );
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        assert_eq!(detail.run.status, RunStatus::Success, "{detail:?}");
        let ask = &detail.steps[0];
        assert_eq!((ask.status, ask.attempts), (StepStatus::Success, 1));
        assert_eq!(ask.started_at, NOW, "the step started when it submitted");
        assert_eq!(ask.duration_ms, 4 * POLL_MS);
        assert_eq!(
            ask.output,
            Some(json!({
                "deliberation_id": id.as_str(),
                "synthesis": result.synthesis,
                "summary": result.summary,
                "confidence_index": result.confidence_index,
            }))
        );
        assert_eq!(
            detail.steps[1].output,
            Some(json!({"summary": result.summary}))
        );
        assert_eq!(s.reserves().await, 1);
    }
}

#[tokio::test]
async fn a_deliberation_that_never_ends_fails_the_step_past_its_budget() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = setup(db.store.clone()).await;
        let run = s
            .run(json!([{"id": "ask", "type": "deliberate",
                         "question": "Is this deliberation ever going to finish?"}]))
            .await;
        assert!(matches!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::SnoozeUntil(_)
        ));
        // Its job is lost: nobody drives it. Just before the limit the run still
        // waits — and never past the limit.
        let budget = DeliberationsConfig::default().processing_budget_ms as i64;
        let limit = NOW.plus_ms(budget + STALLED_AFTER_MS);
        s.clock.advance_ms(budget + STALLED_AFTER_MS - 1);
        assert_eq!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::SnoozeUntil(limit)
        );
        s.clock.advance_ms(1);
        assert_eq!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::Done
        );
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        assert_eq!(detail.run.status, RunStatus::Failed, "{backend:?}");
        let error = detail.steps[0].error.as_deref().unwrap();
        assert!(
            error.contains("is still queued long past its processing budget"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn only_a_live_key_with_the_scope_submits_and_a_submitted_one_is_waited_for() {
    const ASK: &str = "Should we price Acme CRM per seat or by usage?";
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = setup(db.store.clone()).await;
        let steps = json!([{"id": "ask", "type": "deliberate", "question": ASK}]);
        let narrow = key(&*s.store, s.workspace, "pilots:write", "d-narrow").await;
        let revoked = key(&*s.store, s.workspace, "deliberations:write", "d-revoked").await;
        assert!(
            s.store
                .revoke_api_key(s.workspace, revoked, NOW)
                .await
                .unwrap()
        );
        for (set_by, needle) in [
            (None, "has no authorising API key"),
            (Some(ApiKeyId(9_999)), "no longer exists"),
            (Some(narrow), "lacks the deliberations:write scope"),
            (Some(revoked), "has been revoked"),
        ] {
            let run = s.run_set_by(set_by, steps.clone()).await;
            assert_eq!(
                drive_run(&s.runs, run, None).await.unwrap(),
                JobOutcome::Done
            );
            let detail = s.store.load_run(run).await.unwrap().unwrap();
            assert_eq!(
                detail.run.status,
                RunStatus::Failed,
                "{backend:?} {set_by:?}"
            );
            let error = detail.steps[0].error.as_deref().unwrap();
            assert!(error.contains(needle), "{set_by:?}: {error}");
            assert!(error.contains("nothing was charged"), "{error}");
            let id = deliberation_id(&detail.run, 0, "ask", 1);
            assert_eq!(s.store.load_deliberation(&id).await.unwrap(), None);
        }
        assert_eq!(s.reserves().await, 0, "nothing reserved: {backend:?}");

        // Revoked after its deliberation was submitted: the run waits for it anyway.
        let run = s.run(steps.clone()).await;
        assert!(matches!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::SnoozeUntil(_)
        ));
        assert!(
            s.store
                .revoke_api_key(s.workspace, s.key, NOW)
                .await
                .unwrap()
        );
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        let id = deliberation_id(&detail.run, 0, "ask", 1);
        drive_deliberation(&s.deliberations, &id).await.unwrap();
        s.clock.advance_ms(POLL_MS);
        assert_eq!(
            drive_run(&s.runs, run, None).await.unwrap(),
            JobOutcome::Done
        );
        let detail = s.store.load_run(run).await.unwrap().unwrap();
        assert_eq!(detail.run.status, RunStatus::Success, "{backend:?}");
        assert_eq!(s.reserves().await, 1);
    }
}

#[tokio::test]
async fn a_step_whose_key_spent_its_rate_limit_waits_and_then_submits() {
    const ASK: &str = "Should we price Acme CRM per seat or by usage?";
    for backend in backends() {
        let db = TestDb::new(backend).await;
        // One submission an hour: one request back every hour.
        let s = setup_with(db.store.clone(), 1).await;
        let steps = json!([{"id": "ask", "type": "deliberate", "question": ASK}]);
        let first = s.run(steps.clone()).await;
        assert_eq!(
            drive_run(&s.runs, first, None).await.unwrap(),
            JobOutcome::SnoozeUntil(NOW.plus_ms(POLL_MS))
        );

        // The second run's step waits for the limit, submitting nothing meanwhile.
        let second = s.run(steps).await;
        let back = NOW.plus_ms(3_600_000);
        assert_eq!(
            drive_run(&s.runs, second, None).await.unwrap(),
            JobOutcome::SnoozeUntil(back),
            "{backend:?}"
        );
        let detail = s.store.load_run(second).await.unwrap().unwrap();
        assert_eq!(detail.run.status, RunStatus::Waiting);
        assert!(detail.steps.is_empty(), "not failed: {detail:?}");
        let id = deliberation_id(&detail.run, 0, "ask", 1);
        assert_eq!(s.store.load_deliberation(&id).await.unwrap(), None);
        assert_eq!(s.reserves().await, 1);

        // When it is let through, it submits.
        s.clock.advance_ms(3_600_000);
        assert_eq!(
            drive_run(&s.runs, second, None).await.unwrap(),
            JobOutcome::SnoozeUntil(back.plus_ms(POLL_MS))
        );
        assert!(s.store.load_deliberation(&id).await.unwrap().is_some());
        assert_eq!(s.reserves().await, 2, "{backend:?}");
    }
}
