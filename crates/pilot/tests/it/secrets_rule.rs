//! Secrets resolve only in the fields that send them out (issue 10 §2): a reference
//! anywhere else is a `422` at create and patch, and at run time nothing but a
//! sending step's templates can see a secret — not a transform, not `{{ debug() }}`,
//! not a step stored before the rule.

use pilot_domain::{PilotStatus, UnixMillis};
use pilot_store::{NewPilot, PilotTrigger};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app};
use crate::pilots::{create, finished_run, fire};
use crate::sink::Sink;

const SECRET: &str = "tok-very-secret-123";

async fn put_secret(app: &TestApp, key: &str) {
    let put = app
        .client
        .put(format!("{}/api/v1/secrets/API_TOKEN", app.url))
        .bearer_auth(key)
        .json(&json!({"value": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
}

#[tokio::test]
async fn a_secret_outside_a_sending_field_is_refused_at_create_and_patch() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let leaky = json!([{"id": "shape", "type": "transform",
                            "values": {"t": "{{ secrets.API_TOKEN | upper }}"}}]);
        let created = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .json(&json!({"title": "Leak", "steps": leaky}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = created.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("steps[0] (shape): values.t reads secrets; secrets may be used only where they are sent out"),
            "{body}"
        );

        let fine = json!([{"id": "call", "type": "http", "url": "https://hooks.example/x",
                           "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"}}]);
        let pilot = create(&app, &key, json!({"title": "Fine", "steps": fine})).await;
        let patched = app
            .client
            .patch(format!("{}/api/v1/pilots/{}", app.url, pilot["id"]))
            .bearer_auth(&key)
            .json(&json!({"steps": [{"id": "gate", "type": "condition",
                                     "if": "secrets.API_TOKEN | length > 3"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = patched.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("steps[0] (gate): if reads secrets"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn debug_and_transforms_cannot_see_secrets_while_the_request_sends_them() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        put_secret(&app, &key).await;
        let mut sink = Sink::start().await;
        let steps = json!([
            {"id": "look", "type": "transform", "values": {"dump": "{{ debug() }}"}},
            {"id": "call", "type": "http", "url": format!("{}/hook", sink.url),
             "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
             "body": {"seen": "{{ steps.look.output.dump | length }}"}}
        ]);
        let pilot = create(&app, &key, json!({"title": "Look", "steps": steps})).await;
        let run = fire(
            &app,
            &key,
            pilot["id"].as_i64().unwrap(),
            json!({"orderId": "A-1"}),
        )
        .await;
        let received = sink.next().await;
        assert_eq!(
            received.headers["authorization"],
            format!("Bearer {SECRET}")
        );
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "success", "{done}");
        let dump = done["steps"][0]["output"]["dump"].as_str().unwrap();
        // The transform's whole context: the trigger, and no secrets at all — not
        // even redacted ones.
        assert!(dump.contains("A-1"), "{dump}");
        for absent in ["secrets", "API_TOKEN", "[redacted", SECRET] {
            assert!(!dump.contains(absent), "{absent} in {dump}");
        }
    }
}

#[tokio::test]
async fn a_step_stored_before_the_rule_fails_naming_secrets_and_leaks_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        put_secret(&app, &key).await;
        // As an older Pilot stored it, unchecked by today's rule.
        let workspace = app
            .db
            .store
            .find_workspace("default")
            .await
            .unwrap()
            .unwrap();
        let stored = app
            .db
            .store
            .create_pilot(
                workspace.id,
                pilot_domain::Environment::Live,
                &NewPilot {
                    title: "Old".into(),
                    description: String::new(),
                    status: PilotStatus::Active,
                    trigger: PilotTrigger::default(),
                    steps: json!([{"id": "shape", "type": "transform",
                                   "values": {"t": "{{ secrets.API_TOKEN[::-1] }}"}}]),
                    steps_key_id: None,
                    notify_url: None,
                    webhook_verification: None,
                },
                UnixMillis(1),
            )
            .await
            .unwrap();
        let run = fire(&app, &key, stored.id.0, json!({})).await;
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "failed", "{done}");
        let error = done["error"].as_str().unwrap();
        assert!(error.contains("values.t reads secrets"), "{error}");
        let shown = done.to_string();
        let reversed: String = SECRET.chars().rev().collect();
        assert!(
            !shown.contains(SECRET) && !shown.contains(&reversed),
            "{shown}"
        );
    }
}

/// Every run unseals and redacts all its tenant's secrets: their number is bounded.
#[tokio::test]
async fn a_workspace_holds_at_most_max_secrets_per_environment() {
    use pilot_domain::secret::MAX_SECRETS;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let put = |name: String| {
            app.client
                .put(format!("{}/api/v1/secrets/{name}", app.url))
                .bearer_auth(&key)
                .json(&json!({"value": "some-value"}))
                .send()
        };
        for n in 0..MAX_SECRETS {
            assert_eq!(
                put(format!("S{n}")).await.unwrap().status(),
                StatusCode::CREATED
            );
        }
        let refused = put("ONE_MORE".into()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("at most 100 secrets"),
            "{body}"
        );
        // Changing one that exists is fine, and the other environment has its own.
        assert_eq!(put("S0".into()).await.unwrap().status(), StatusCode::OK);
        let other = app
            .client
            .put(format!("{}/api/v1/secrets/ONE_MORE", app.url))
            .bearer_auth(&app.test_key)
            .json(&json!({"value": "some-value"}))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::CREATED);
    }
}
