//! The `deliberate` step through the real server: a pilot run submits a deliberation
//! in its own workspace and environment (credits reserved and settled), waits for it
//! without holding a worker, and hands its result to the next step; a failed
//! deliberation fails the step and is refunded (and a `retry` submits a new one); a
//! short balance, a guardrail or a bad rendered question fails the step with nothing
//! charged.

use std::time::Duration;

use pilot_domain::{Credits, DeliberationId, Environment, JobId, JobState, RunId, WorkspaceId};
use pilot_engine::steps::deliberate::deliberation_id;
use pilot_store::{LedgerEntry, RUN_JOB_KIND};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_with, test_config};
use crate::pilots::{finished_run, fire};

const QUESTION: &str = "Should we price {{ trigger.product }} per seat or by usage for mid-market?";

/// A server whose waiting `deliberate` steps look at their deliberation every 100 ms.
async fn spawn(backend: pilot_store::Backend) -> TestApp {
    let mut config = test_config();
    config.pilots.deliberate_poll_ms = 100;
    spawn_with(backend, config).await
}

async fn create(app: &TestApp, key: &str, steps: Value) -> i64 {
    let pilot =
        crate::pilots::create(app, key, json!({"title": "Ask the panel", "steps": steps})).await;
    pilot["id"].as_i64().unwrap()
}

async fn run_view(app: &TestApp, key: &str, run: i64) -> Value {
    app.get_json(&format!("/api/v1/runs/{run}"), key).await
}

async fn workspace(app: &TestApp) -> WorkspaceId {
    app.db
        .store
        .find_workspace("default")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The id attempt `attempt` of step `index` of `run` submits its deliberation under.
async fn expected_id(
    app: &TestApp,
    run: i64,
    index: usize,
    step: &str,
    attempt: u32,
) -> DeliberationId {
    let detail = app.db.store.load_run(RunId(run)).await.unwrap().unwrap();
    deliberation_id(&detail.run, index, step, attempt)
}

/// The ledger, oldest first, after checking it sums to the balance.
async fn ledger(app: &TestApp, environment: Environment) -> (Credits, Vec<LedgerEntry>) {
    let ws = workspace(app).await;
    let balance = app.db.store.balance(ws, environment).await.unwrap();
    let mut entries = app.db.store.ledger(ws, environment, 1000).await.unwrap();
    entries.reverse();
    let sum = entries.iter().fold(0_i64, |sum, e| sum + e.amount.micros());
    assert_eq!(sum, balance.micros(), "the ledger sums to the balance");
    (balance, entries)
}

/// The run's queue job (the only `run_pilot` job of a fresh store).
async fn run_job(app: &TestApp) -> Option<pilot_store::JobRecord> {
    for id in 1..=50 {
        if let Some(job) = app.db.store.get_job(JobId(id)).await.unwrap()
            && job.kind == RUN_JOB_KIND
        {
            return Some(job);
        }
    }
    None
}

#[tokio::test]
async fn a_deliberate_step_waits_durably_and_feeds_its_result_to_the_next_step() {
    for backend in backends() {
        let app = spawn(backend).await;
        let key = app.test_key.clone();
        let (before, _) = ledger(&app, Environment::Test).await;
        // Each scripted call takes 300 ms, so the panel takes a second or more.
        let pilot = create(
            &app,
            &key,
            json!([
                {"id": "ask", "type": "deliberate",
                 "question": format!("{QUESTION} [[scripted:slow=300]]"),
                 "use_case": "pricing"},
                {"id": "use", "type": "transform",
                 "values": {"summary": "{{ steps.ask.output.summary }}",
                            "asked": "{{ steps.ask.output.deliberation_id }}"}}
            ]),
        )
        .await;
        let run = fire(&app, &key, pilot, json!({"product": "Acme CRM"})).await;
        let id = expected_id(&app, run, 0, "ask", 1).await;

        // While the deliberation runs, the run is `waiting`, nothing is recorded for
        // the step, and the run's job is queued for later: no worker, no lease.
        let mut seen_waiting = false;
        tokio::time::timeout(Duration::from_secs(20), async {
            while !seen_waiting {
                let view = run_view(&app, &key, run).await;
                let pending = app
                    .get(&format!("/v1/api/deliberations/{id}"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .unwrap();
                if view["status"] == "waiting" && pending.status() == StatusCode::ACCEPTED {
                    assert_eq!(view["steps"], json!([]), "{view}");
                    // It wakes every 100 ms to look, briefly: catch it between looks.
                    let job = run_job(&app).await.expect("the run's job is still queued");
                    if job.state == JobState::Queued {
                        assert_eq!(job.lease_owner, None, "{job:?}");
                        seen_waiting = true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the run waits on its deliberation");

        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "success", "{done}");
        let ask = &done["steps"][0];
        assert_eq!(ask["status"], "success");
        assert_eq!(ask["type"], "deliberate");
        assert_eq!(ask["attempts"], 1);
        let output = &ask["output"];
        assert_eq!(output["deliberation_id"], id.as_str());
        let summary = output["summary"].as_str().unwrap();
        assert!(summary.len() > 5, "{output}");
        assert!(output["synthesis"].as_str().unwrap().len() > 10, "{output}");
        let confidence = output["confidence_index"].as_f64().unwrap();
        assert!((0.0..=10.0).contains(&confidence), "{output}");
        let keys: Vec<&str> = output
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "deliberation_id",
                "synthesis",
                "summary",
                "confidence_index"
            ]
        );
        // The next step read the deliberation's summary.
        assert_eq!(
            done["steps"][1]["output"],
            json!({"summary": summary, "asked": id.as_str()})
        );

        // The deliberation is the workspace's own, seen with the same environment's key
        // (and not with the other environment's).
        let shown: Value = app
            .get_json(&format!("/v1/api/deliberations/{id}"), &key)
            .await;
        assert_eq!(shown["status"], "completed", "{shown}");
        assert_eq!(shown["summary"], summary);
        assert_eq!(shown["use_case"], "pricing");
        assert_eq!(shown["mode"], "deliberation1");
        let hidden = app
            .get(&format!("/v1/api/deliberations/{id}"))
            .bearer_auth(&app.live_key)
            .send()
            .await
            .unwrap();
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
        let record = app.db.store.load_deliberation(&id).await.unwrap().unwrap();
        let digest = pilot_domain::ApiKeyToken::parse(&key).unwrap().digest();
        let setter = app
            .db
            .store
            .find_key_by_digest(&digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.key_id,
            Some(setter.key.id),
            "submitted under the key that set the pilot's steps"
        );
        assert_eq!(
            record.question,
            "Should we price Acme CRM per seat or by usage for mid-market? [[scripted:slow=300]]"
        );
        assert_eq!(
            record.metadata,
            Some(json!({"pilot_id": pilot, "run_id": run, "step_id": "ask"}))
        );

        // The panel took long enough for the run to look several times.
        let took = record.completed_at.unwrap().0 - record.created_at.0;
        assert!(took >= 600, "the deliberation took {took} ms");

        // Credits: reserved once, however many times the run woke to look, and
        // settled: the balance is down by exactly what was charged.
        let charged = record.credits_charged.expect("settled");
        let (after, entries) = ledger(&app, Environment::Test).await;
        assert_eq!(after, before.checked_sub(charged).unwrap());
        let mine: Vec<(&str, i64)> = entries
            .iter()
            .filter(|e| e.deliberation_id.as_ref() == Some(&id))
            .map(|e| (e.kind.as_str(), e.amount.micros()))
            .collect();
        assert_eq!(mine[0], ("reserve", -4_200_000), "{mine:?}");
        assert!(
            mine.len() <= 2,
            "one reservation, at most one refund: {mine:?}"
        );
        assert_eq!(
            entries.iter().filter(|e| e.kind == "reserve").count(),
            1,
            "one deliberation was submitted"
        );
    }
}

#[tokio::test]
async fn a_failed_deliberation_fails_the_step_refunded_and_retry_submits_anew() {
    for backend in backends() {
        let app = spawn(backend).await;
        let key = app.test_key.clone();
        let (before, _) = ledger(&app, Environment::Test).await;
        let pilot = create(
            &app,
            &key,
            json!([
                {"id": "ask", "type": "deliberate", "mode": "smartroute1",
                 "question": format!("{QUESTION} [[scripted:fail]]")},
                {"id": "after", "type": "transform", "values": {"never": true}}
            ]),
        )
        .await;
        let run = fire(&app, &key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert!(
            done["error"]
                .as_str()
                .unwrap()
                .starts_with("step ask failed: deliberation del_"),
            "{done}"
        );
        let ask = &done["steps"][0];
        assert_eq!(ask["status"], "failed");
        assert_eq!(ask["attempts"], 1);
        let error = ask["error"].as_str().unwrap();
        assert!(error.contains("processing_failed"), "{error}");
        assert!(error.contains("refunded"), "{error}");
        assert_eq!(done["steps"][1]["status"], "skipped");
        let id = expected_id(&app, run, 0, "ask", 1).await;
        let failed = app.db.store.load_deliberation(&id).await.unwrap().unwrap();
        assert_eq!(
            failed.failure.map(|c| c.as_str()),
            Some("processing_failed")
        );
        let (after, entries) = ledger(&app, Environment::Test).await;
        assert_eq!(after, before, "refunded in full");
        let kinds: Vec<&str> = entries[1..].iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["reserve", "refund"]);

        // With a retry policy, each attempt is a new deliberation, after the backoff.
        let pilot = create(
            &app,
            &key,
            json!([
                {"id": "ask", "type": "deliberate", "mode": "smartroute1",
                 "question": format!("{QUESTION} [[scripted:fail]]"),
                 "retry": {"max_attempts": 2, "backoff_ms": 200}}
            ]),
        )
        .await;
        let run = fire(&app, &key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["steps"][0]["attempts"], 2, "{done}");
        let first = expected_id(&app, run, 0, "ask", 1).await;
        let second = expected_id(&app, run, 0, "ask", 2).await;
        assert!(
            done["steps"][0]["error"]
                .as_str()
                .unwrap()
                .contains(second.as_str())
        );
        let first = app
            .db
            .store
            .load_deliberation(&first)
            .await
            .unwrap()
            .unwrap();
        let second = app
            .db
            .store
            .load_deliberation(&second)
            .await
            .unwrap()
            .unwrap();
        assert!(
            second.created_at >= first.completed_at.unwrap().plus_ms(200),
            "the second attempt waited out the backoff"
        );
        let (after, entries) = ledger(&app, Environment::Test).await;
        assert_eq!(after, before);
        let kinds: Vec<&str> = entries[1..].iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "reserve", "refund", "reserve", "refund", "reserve", "refund"
            ]
        );
    }
}

#[tokio::test]
async fn a_short_balance_a_guardrail_or_a_bad_question_fails_the_step_charging_nothing() {
    for backend in backends() {
        let app = spawn(backend).await;

        // Live credits start at zero.
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!([{"id": "ask", "type": "deliberate", "question": QUESTION}]),
        )
        .await;
        let run = fire(&app, &key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(
            done["steps"][0]["error"],
            "insufficient credits: balance 0 < estimated 4.2"
        );
        let id = expected_id(&app, run, 0, "ask", 1).await;
        assert_eq!(app.db.store.load_deliberation(&id).await.unwrap(), None);
        let (balance, entries) = ledger(&app, Environment::Live).await;
        assert_eq!((balance, entries.len()), (Credits::ZERO, 0));

        // Test mode: a blocked question, a question too short once rendered, and one
        // carrying a secret's value (here from the payload: a question may not read
        // `secrets` at all, see below) are refused before anything is charged.
        let key = app.test_key.clone();
        let (before, entries_before) = ledger(&app, Environment::Test).await;
        let put = app
            .client
            .put(format!("{}/api/v1/secrets/API_TOKEN", app.url))
            .bearer_auth(&key)
            .json(&json!({"value": "tok-123456789"}))
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "{}", put.status());
        for (question, needle) in [
            (
                format!("{QUESTION} [[scripted:block]]"),
                "content_blocked: the question failed the safety guardrails",
            ),
            (
                "Why {{ trigger.product }}?".to_owned(),
                "question must be 10 to 2000 characters once rendered (got 9)",
            ),
            (
                "Should we rotate the token {{ trigger.token }} now?".to_owned(),
                "the question carries a secret's value",
            ),
        ] {
            let pilot = create(
                &app,
                &key,
                json!([{"id": "ask", "type": "deliberate", "question": question}]),
            )
            .await;
            let payload = json!({"product": "Acme", "token": "tok-123456789"});
            let run = fire(&app, &key, pilot, payload).await;
            let done = finished_run(&app, &key, run).await;
            assert_eq!(done["status"], "failed", "{done}");
            let error = done["steps"][0]["error"].as_str().unwrap();
            assert!(error.contains(needle), "{question}: {error}");
            let id = expected_id(&app, run, 0, "ask", 1).await;
            assert_eq!(app.db.store.load_deliberation(&id).await.unwrap(), None);
        }
        // A question that reads a secret is refused when the pilot is created.
        let refused = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .json(
                &json!({"title": "Rotate", "steps": [{"id": "ask", "type": "deliberate",
                "question": "Should we rotate the token {{ secrets.API_TOKEN }} now?"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("steps[0] (ask): question reads secrets"),
            "{body}"
        );
        let (after, entries_after) = ledger(&app, Environment::Test).await;
        assert_eq!(after, before);
        assert_eq!(entries_after.len(), entries_before.len());
    }
}
