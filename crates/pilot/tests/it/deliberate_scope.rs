//! Scope on the `deliberate` step (issue 10 §3): a key with `pilots:write` alone gets
//! `403` where `POST /v1/api/deliberations` would refuse it — creating or patching a
//! pilot whose steps (sent or drafted) hold a `deliberate` step — and a run submits
//! its deliberation under the key that set the steps, which must still be valid when
//! the step runs: once it is revoked, the step fails and nothing is charged.

use pilot_domain::{ApiKeyId, ApiKeyToken, Environment, RunId, Scopes, WorkspaceId};
use pilot_engine::steps::deliberate::deliberation_id;
use pilot_models::ProviderConfig;
use pilot_testkit::backends;
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, issue_key, spawn_with, test_config};
use crate::pilots::{create, finished_run, fire};

const QUESTION: &str = "Should we price {{ trigger.product }} per seat or by usage?";

fn deliberate() -> Value {
    json!([{"id": "ask", "type": "deliberate", "mode": "smartroute1", "question": QUESTION}])
}

fn transform() -> Value {
    json!([{"id": "shape", "type": "transform", "values": {"x": 1}}])
}

async fn workspace(app: &TestApp) -> WorkspaceId {
    let found = app.db.store.find_workspace("default").await.unwrap();
    found.expect("the default workspace").id
}

/// The stored id of a key given in clear.
async fn key_id(app: &TestApp, key: &str) -> ApiKeyId {
    let digest = ApiKeyToken::parse(key).unwrap().digest();
    let found = app.db.store.find_key_by_digest(&digest).await.unwrap();
    found.expect("a stored key").key.id
}

/// `POST` or `PATCH` a pilot with `key`: the status and the body.
async fn send(request: reqwest::RequestBuilder, key: &str, body: Value) -> (StatusCode, Value) {
    let response = request.bearer_auth(key).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn forbidden(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let message = body["error"]
        .as_str()
        .expect("the Pilots shape: {\"error\": \"...\"}");
    assert!(message.contains("deliberations:write"), "{message}");
    assert!(message.contains("deliberate step"), "{message}");
}

#[tokio::test]
async fn a_deliberate_step_needs_deliberations_write_to_be_created_or_patched_in() {
    for backend in backends() {
        let app = spawn_with(backend, test_config()).await;
        let narrow = issue_key(
            &app,
            Environment::Test,
            Scopes::parse("pilots:write").unwrap(),
        )
        .await;
        let pilots = format!("{}/api/v1/pilots", app.url);

        let (status, body) = send(
            app.client.post(&pilots),
            &narrow,
            json!({"title": "Ask", "steps": deliberate()}),
        )
        .await;
        forbidden(status, &body);
        let listed: Value = app.get_json("/api/v1/pilots", &narrow).await;
        assert_eq!(
            listed["pilots"],
            json!([]),
            "{backend:?}: nothing was created"
        );

        // The same key may keep any other pilot, but not patch a deliberate step in.
        let plain = create(
            &app,
            &narrow,
            json!({"title": "Plain", "steps": transform()}),
        )
        .await;
        let one = format!("{pilots}/{}", plain["id"]);
        let (status, body) = send(
            app.client.patch(&one),
            &narrow,
            json!({"steps": deliberate()}),
        )
        .await;
        forbidden(status, &body);
        let kept: Value = app
            .get_json(&format!("/api/v1/pilots/{}", plain["id"]), &narrow)
            .await;
        assert_eq!(kept["steps"], transform(), "{backend:?}");

        // A key with the scope may; the narrow key may still change everything else,
        // and the pilot keeps the key that set its steps.
        let (status, body) = send(
            app.client.patch(&one),
            &app.test_key,
            json!({"steps": deliberate()}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) =
            send(app.client.patch(&one), &narrow, json!({"title": "Renamed"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = pilot_domain::PilotId(plain["id"].as_i64().unwrap());
        let stored = app
            .db
            .store
            .get_pilot(workspace(&app).await, Environment::Test, id)
            .await;
        let stored = stored.unwrap().unwrap();
        assert_eq!(stored.steps_key_id, Some(key_id(&app, &app.test_key).await));
        let created = create(
            &app,
            &app.test_key,
            json!({"title": "Full", "steps": deliberate()}),
        )
        .await;
        assert_eq!(created["steps"], deliberate());
    }
}

#[tokio::test]
async fn drafted_steps_are_held_to_the_same_scope() {
    for backend in backends() {
        let llm = FakeLlm::start().await;
        let drafted = json!({"steps": deliberate()}).to_string();
        llm.set_fallback(FakeReply::text(drafted).usage(100, 50));
        let mut config = test_config();
        config.models.live_provider = "fake".to_owned();
        config.models.providers.insert(
            "fake".to_owned(),
            ProviderConfig {
                base_url: llm.openai_base_url(),
                ..ProviderConfig::default()
            },
        );
        config.models.roles.drafter = "fake-model".to_owned();
        let app = spawn_with(backend, config).await;
        let narrow = issue_key(
            &app,
            Environment::Live,
            Scopes::parse("pilots:write").unwrap(),
        )
        .await;
        let body = json!({"title": "Drafted", "description": "Ask the panel about pricing."});
        let pilots = format!("{}/api/v1/pilots", app.url);
        let (status, refused) = send(app.client.post(&pilots), &narrow, body.clone()).await;
        forbidden(status, &refused);
        let (status, created) = send(app.client.post(&pilots), &app.live_key, body).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {created}");
        assert_eq!(created["steps"], deliberate());
    }
}

#[tokio::test]
async fn a_run_submits_under_the_key_that_set_its_steps_and_fails_once_it_is_revoked() {
    for backend in backends() {
        let app = spawn_with(backend, test_config()).await;
        let setter = issue_key(&app, Environment::Test, Scopes::all()).await;
        let setter_id = key_id(&app, &setter).await;
        let pilot = create(
            &app,
            &setter,
            json!({"title": "Ask", "steps": deliberate()}),
        )
        .await;
        let pilot = pilot["id"].as_i64().unwrap();

        // Fired by another key (any trigger would do): the steps' key authorises it.
        let run = fire(&app, &app.test_key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &app.test_key, run).await;
        assert_eq!(done["status"], "success", "{backend:?}: {done}");
        let detail = app.db.store.load_run(RunId(run)).await.unwrap().unwrap();
        assert_eq!(detail.run.authorized_key_id, Some(setter_id));
        let id = deliberation_id(&detail.run, 0, "ask", 1);
        let record = app.db.store.load_deliberation(&id).await.unwrap().unwrap();
        assert_eq!(
            record.key_id,
            Some(setter_id),
            "the deliberation carries the key"
        );

        // Revoked: the pilot's runs fail at the deliberate step, charging nothing.
        let ws = workspace(&app).await;
        assert!(
            app.db
                .store
                .revoke_api_key(ws, setter_id, pilot_domain::UnixMillis(2))
                .await
                .unwrap()
        );
        let reserves = || async {
            let ledger = app
                .db
                .store
                .ledger(ws, Environment::Test, 500)
                .await
                .unwrap();
            ledger.iter().filter(|e| e.kind == "reserve").count()
        };
        let before = reserves().await;
        let run = fire(&app, &app.test_key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &app.test_key, run).await;
        assert_eq!(done["status"], "failed", "{backend:?}: {done}");
        let error = done["steps"][0]["error"].as_str().unwrap();
        assert!(error.contains("has been revoked"), "{error}");
        assert!(error.contains("nothing was charged"), "{error}");
        assert_eq!(reserves().await, before, "{backend:?}: nothing reserved");
        let detail = app.db.store.load_run(RunId(run)).await.unwrap().unwrap();
        let id = deliberation_id(&detail.run, 0, "ask", 1);
        assert_eq!(app.db.store.load_deliberation(&id).await.unwrap(), None);

        // Setting the steps again with a valid key with the scope mends the pilot.
        let one = format!("{}/api/v1/pilots/{pilot}", app.url);
        let (status, _) = send(
            app.client.patch(&one),
            &app.test_key,
            json!({"steps": deliberate()}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let run = fire(&app, &app.test_key, pilot, json!({"product": "Acme CRM"})).await;
        let done = finished_run(&app, &app.test_key, run).await;
        assert_eq!(done["status"], "success", "{backend:?}: {done}");
    }
}
