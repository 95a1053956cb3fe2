//! The Pilots surface (seed 000) end to end: the seed's curl examples with their
//! exact shapes, runs through the step engine, retries, secrets, webhook triggers,
//! scopes and tenant isolation.

use std::time::Duration;

use pilot_domain::{Environment, Scope, Scopes};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_with, test_config};
use crate::sink::Sink;

/// `POST /api/v1/pilots`, asserting `201`; the created pilot.
pub async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let response = app
        .post("/api/v1/pilots")
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// `POST /api/v1/pilots/{pilot}/run`, asserting `202 {"queued": true, …}`; the run id.
pub async fn fire(app: &TestApp, key: &str, pilot: i64, payload: Value) -> i64 {
    let response = app
        .post(&format!("/api/v1/pilots/{pilot}/run"))
        .bearer_auth(key)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["queued"], true);
    body["jobId"].as_i64().expect("jobId")
}

/// Polls the run until it is terminal; the worker gives no other signal.
pub async fn finished_run(app: &TestApp, key: &str, run: i64) -> Value {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let body: Value = app.get_json(&format!("/api/v1/runs/{run}"), key).await;
            if matches!(
                body["status"].as_str(),
                Some("success" | "failed" | "filtered")
            ) {
                return body;
            }
            let notified = app.db.store.job_notify();
            let _ = tokio::time::timeout(Duration::from_millis(25), notified.notified()).await;
        }
    })
    .await
    .expect("the run finishes in time")
}

pub fn three_steps(sink: &str) -> Value {
    json!([
        {"id": "shape", "type": "transform",
         "values": {"order": "{{ trigger.orderId }}", "double": "{{ trigger.total * 2 }}"}},
        {"id": "gate", "type": "condition", "if": "trigger.total > 10"},
        {"id": "notify", "type": "http", "method": "POST", "url": format!("{sink}/hook"),
         "body": {"text": "Order {{ steps.shape.output.order }} doubled is {{ steps.shape.output.double }}"}}
    ])
}

#[tokio::test]
async fn the_seed_examples_answer_in_the_seed_shapes() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();

        // POST /api/v1/pilots drafts steps (the scripted model in test mode).
        let created = create(
            &app,
            &key,
            json!({
                "title": "Summarize new orders",
                "description": "When an order comes in, summarize it with AI and post to Slack.",
                "triggerType": "webhook"
            }),
        )
        .await;
        assert!(created["id"].as_i64().unwrap() > 0);
        assert_eq!(created["title"], "Summarize new orders");
        assert_eq!(created["triggerType"], "webhook");
        let steps = created["steps"].as_array().expect("steps");
        assert!(!steps.is_empty());
        assert!(steps.iter().any(|s| s["type"] == "llm"), "{created}");
        assert!(steps.iter().any(|s| s["type"] == "http"), "{created}");

        // GET /api/v1/pilots lists exactly the seed's fields.
        let list: Value = app.get_json("/api/v1/pilots", &key).await;
        let pilot = &list["pilots"][0];
        let mut fields: Vec<&str> = pilot
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "id",
                "lastRunAt",
                "runCount",
                "status",
                "title",
                "triggerType"
            ]
        );
        assert_eq!(pilot["status"], "active");
        assert_eq!(pilot["runCount"], 0);
        assert_eq!(pilot["lastRunAt"], Value::Null);

        // triggerType defaults to manual.
        let manual = create(
            &app,
            &key,
            json!({"title": "t", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}),
        )
        .await;
        assert_eq!(manual["triggerType"], "manual");

        // POST /run → 202 {"queued": true, "jobId": N}; the runs list shows run N.
        let id = created["id"].as_i64().unwrap();
        let job = fire(&app, &key, id, json!({"orderId": "1234", "total": 49.0})).await;
        let runs: Value = app
            .get_json(&format!("/api/v1/pilots/{id}/runs"), &key)
            .await;
        let run = &runs["runs"][0];
        assert_eq!(run["id"], job);
        // The pilot's trigger type, as in the seed's example; fired through the API.
        assert_eq!(run["triggerType"], "webhook");
        assert_eq!(run["firedBy"], "api");
        for field in ["status", "durationMs", "error", "steps", "startedAt"] {
            assert!(run.get(field).is_some(), "run has {field}: {run}");
        }
    }
}

#[tokio::test]
async fn a_three_step_run_transforms_filters_and_posts() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        let pilot = create(
            &app,
            &key,
            json!({"title": "Orders", "steps": three_steps(&sink.url)}),
        )
        .await;
        let id = pilot["id"].as_i64().unwrap();

        let run = fire(&app, &key, id, json!({"orderId": "1234", "total": 49.0})).await;
        let received = sink.next().await;
        assert_eq!(received.path, "/hook");
        assert_eq!(received.body, json!({"text": "Order 1234 doubled is 98.0"}));
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");
        assert_eq!(run["error"], Value::Null);
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0]["output"], json!({"order": "1234", "double": 98.0}));
        assert_eq!(steps[1]["output"], json!({"passed": true}));
        assert_eq!(steps[2]["output"]["status"], 200);
        for step in steps {
            assert_eq!(step["status"], "success");
            assert!(step["durationMs"].as_i64().unwrap() >= 0);
            assert_eq!(step["attempts"], 1);
        }

        // A total under the condition's bar filters the run and skips the rest.
        let filtered = fire(&app, &key, id, json!({"orderId": "7", "total": 3})).await;
        let filtered = finished_run(&app, &key, filtered).await;
        assert_eq!(filtered["status"], "filtered");
        assert_eq!(filtered["steps"][1]["status"], "filtered");
        assert_eq!(filtered["steps"][2]["status"], "skipped");
        assert!(sink.drain().is_empty(), "a filtered run posts nothing");

        // Run counts and last run time show on the list.
        let list: Value = app.get_json("/api/v1/pilots", &key).await;
        assert_eq!(list["pilots"][0]["runCount"], 2);
        assert!(list["pilots"][0]["lastRunAt"].as_i64().unwrap() > 1_700_000_000);
    }
}

#[tokio::test]
async fn the_seed_example_drafted_in_test_mode_runs_with_the_seed_payload() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        let seed = json!({
            "title": "Summarize new orders",
            "description": "When an order comes in, summarize it with AI and post to Slack.",
            "triggerType": "webhook"
        });
        let created = create(&app, &key, seed.clone()).await;
        // The secret the http step reads is not set yet: named, not refused.
        assert_eq!(
            created["missingSecrets"],
            json!(["SLACK_WEBHOOK_URL"]),
            "{created}"
        );
        // No sample: the prompt passes the whole payload, guessing no field.
        let prompt = created["steps"][0]["prompt"].as_str().unwrap();
        assert!(prompt.ends_with("{{ trigger | tojson }}"), "{created}");
        let id = created["id"].as_i64().unwrap();
        let payload = json!({"orderId": "1234", "total": 49.0});
        let run = fire(&app, &key, id, payload.clone()).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed", "{run}");
        assert_eq!(run["steps"][0]["type"], "llm");
        assert_eq!(run["steps"][0]["status"], "success", "{run}");
        assert_eq!(run["steps"][1]["type"], "http");
        assert_eq!(run["steps"][1]["status"], "failed", "{run}");
        let error = run["steps"][1]["error"].as_str().unwrap();
        assert!(error.contains("SLACK_WEBHOOK_URL"), "{error}");

        // Once the secret is a reachable URL, the whole run succeeds.
        let mut sink = Sink::start().await;
        let put = app
            .client
            .put(format!("{}/api/v1/secrets/SLACK_WEBHOOK_URL", app.url))
            .bearer_auth(&key)
            .json(&json!({"value": format!("{}/slack", sink.url)}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        let run = fire(&app, &key, id, payload).await;
        let posted = sink.next().await;
        assert!(posted.body["text"].is_string(), "{:?}", posted.body);
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");

        // A sample with a text field: the prompt reads it.
        let mut with_sample = seed.clone();
        with_sample["samplePayload"] = json!({"orderId": "1", "text": "2 mugs"});
        let drafted = create(&app, &key, with_sample).await;
        assert_eq!(drafted["missingSecrets"], json!([]), "{drafted}");
        let read: Value = app
            .get_json(&format!("/api/v1/pilots/{}", drafted["id"]), &key)
            .await;
        assert!(read.get("missingSecrets").is_none(), "{read}");
        let prompt = drafted["steps"][0]["prompt"].as_str().unwrap();
        assert!(prompt.ends_with("{{ trigger.text }}"), "{drafted}");
        // A sample must be an object.
        let mut bad = seed;
        bad["samplePayload"] = json!([1]);
        let refused = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn failures_name_the_step_and_retry_resumes_at_it() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        sink.answer_with(500);
        let pilot = create(
            &app,
            &key,
            json!({"title": "Orders", "steps": three_steps(&sink.url)}),
        )
        .await;
        let id = pilot["id"].as_i64().unwrap();
        let run = fire(&app, &key, id, json!({"orderId": "9", "total": 20})).await;
        let failed = finished_run(&app, &key, run).await;
        assert_eq!(failed["status"], "failed");
        assert!(
            failed["error"]
                .as_str()
                .unwrap()
                .contains("step notify failed"),
            "{failed}"
        );
        assert_eq!(failed["steps"][2]["status"], "failed");
        assert!(
            failed["steps"][2]["error"]
                .as_str()
                .unwrap()
                .contains("500")
        );
        sink.drain();

        sink.answer_with(200);
        let retried: Value = app
            .post(&format!("/api/v1/runs/{run}/retry"))
            .bearer_auth(&key)
            .json(&json!({"from": "failed_step"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(retried["queued"], true);
        assert_eq!(retried["retryOf"], run);
        let again = finished_run(&app, &key, retried["jobId"].as_i64().unwrap()).await;
        assert_eq!(again["status"], "success", "{again}");
        assert_eq!(again["retryOf"], run);
        // The earlier steps were carried over, not run again: one request reached the sink.
        assert_eq!(sink.next().await.body["text"], "Order 9 doubled is 40");
        assert_eq!(again["steps"][0]["output"], failed["steps"][0]["output"]);

        // A successful run has no failed step to resume from.
        let response = app
            .post(&format!("/api/v1/runs/{}/retry", again["id"]))
            .bearer_auth(&key)
            .json(&json!({"from": "failed_step"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("no failed step"));
    }
}

#[tokio::test]
async fn secrets_are_write_only_and_redacted_from_outputs() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        let put = app
            .client
            .put(format!("{}/api/v1/secrets/API_TOKEN", app.url))
            .bearer_auth(&key)
            .json(&json!({"value": "tok-very-secret-123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        let listed: Value = app.get_json("/api/v1/secrets", &key).await;
        assert_eq!(listed["secrets"][0]["name"], "API_TOKEN");
        assert!(!listed.to_string().contains("tok-very-secret-123"));
        // The other environment does not see it.
        let other: Value = app.get_json("/api/v1/secrets", &app.test_key).await;
        assert_eq!(other["secrets"], json!([]));

        let steps = json!([{
            "id": "call", "type": "http", "url": format!("{}/echo", sink.url),
            "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
            "body": {"token": "{{ secrets.API_TOKEN }}"}
        }]);
        let pilot = create(&app, &key, json!({"title": "Secret", "steps": steps})).await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;
        let received = sink.next().await;
        assert_eq!(
            received.headers["authorization"],
            "Bearer tok-very-secret-123"
        );
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success");
        let shown = run.to_string();
        assert!(!shown.contains("tok-very-secret-123"), "{shown}");
        assert!(shown.contains("[redacted:API_TOKEN]"), "{shown}");

        let deleted = app
            .client
            .delete(format!("{}/api/v1/secrets/API_TOKEN", app.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        // A template naming a missing secret fails the step, naming what is undefined.
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed");
        assert!(
            run["steps"][0]["error"]
                .as_str()
                .unwrap()
                .contains("secrets.API_TOKEN is undefined"),
            "{run}"
        );
    }
}

#[tokio::test]
async fn a_template_error_names_the_missing_variable_in_the_step_and_the_run() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let steps = json!([{"id": "shape", "type": "transform",
                            "values": {"text": "Order: {{ trigger.text }}"}}]);
        let pilot = create(&app, &key, json!({"title": "Missing", "steps": steps})).await;
        let payload = json!({"orderId": "1234", "total": 49.0});
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), payload).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed");
        let named = "trigger.text is undefined; the payload has: orderId, total";
        let step_error = run["steps"][0]["error"].as_str().unwrap();
        assert!(step_error.contains(named), "{run}");
        assert!(run["error"].as_str().unwrap().contains(named), "{run}");
    }
}

#[tokio::test]
async fn outbound_requests_to_private_addresses_are_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let steps = json!([{"id": "steal", "type": "http", "method": "GET",
                            "url": "http://169.254.169.254/latest/meta-data"}]);
        let pilot = create(&app, &key, json!({"title": "SSRF", "steps": steps})).await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed");
        let error = run["steps"][0]["error"].as_str().unwrap();
        assert!(error.contains("169.254.169.254"), "{error}");
    }
}

#[tokio::test]
async fn paused_pilots_refuse_runs_with_409_and_patch_validates() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "P", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}),
        )
        .await;
        let id = pilot["id"].as_i64().unwrap();
        let patched = app
            .client
            .patch(format!("{}/api/v1/pilots/{id}", app.url))
            .bearer_auth(&key)
            .json(&json!({"status": "paused", "title": "Renamed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        let patched: Value = patched.json().await.unwrap();
        assert_eq!(patched["status"], "paused");
        assert_eq!(patched["title"], "Renamed");

        let response = app
            .post(&format!("/api/v1/pilots/{id}/run"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "Pilot is paused. Set its status to active to run it."})
        );

        for (body, needle) in [
            (
                json!({"status": "sleeping"}),
                "status must be active or paused",
            ),
            (json!({"steps": []}), "at least one step"),
            (json!({"title": "  "}), "title must not be empty"),
            (json!({"triggerType": "schedule"}), "needs schedule"),
            (json!({"colour": "red"}), "unknown field"),
        ] {
            let response = app
                .client
                .patch(format!("{}/api/v1/pilots/{id}", app.url))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{body}"
            );
            let error: Value = response.json().await.unwrap();
            assert!(error["error"].as_str().unwrap().contains(needle), "{error}");
        }

        let deleted = app
            .client
            .delete(format!("{}/api/v1/pilots/{id}", app.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = app
            .get(&format!("/api/v1/pilots/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            gone.json::<Value>().await.unwrap(),
            json!({"error": "Pilot not found."})
        );
    }
}

#[tokio::test]
async fn create_validates_steps_and_input_with_precise_errors() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        for (body, status, needle) in [
            (
                json!({"title": "x", "triggerType": "cron", "description": "d"}),
                422,
                "triggerType must be one of",
            ),
            (
                json!({"title": "x", "steps": [{"id": "a", "type": "http"}]}),
                422,
                "steps[0] (a): missing field `url`",
            ),
            (
                json!({"title": "x", "steps": [{"id": "d", "type": "deliberate",
                       "question": "Should we raise prices?", "use_case": "legal"}]}),
                422,
                "steps[0] (d): use_case must be one of general, pricing",
            ),
            (json!({"title": "x"}), 422, "description"),
            (json!({"description": "no title"}), 422, "title"),
            (
                json!({"title": "x", "triggerType": "schedule", "schedule": {"cron": "0 9 * * *", "timezone": "Mars/Base"}}),
                422,
                "IANA",
            ),
        ] {
            let response = app
                .post("/api/v1/pilots")
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{body}");
            let error: Value = response.json().await.unwrap();
            assert!(
                error["error"].as_str().unwrap().contains(needle),
                "{body} → {error}"
            );
        }
        let malformed = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body("{\"title\":")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

        // The scripted drafter's failure marker: the drafter never gives valid steps.
        let response = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .json(&json!({"title": "x", "description": "anything [[scripted:malformed]]"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("Could not draft"),
            "{error}"
        );

        // A schedule pilot shows its next tick.
        let scheduled = create(
            &app,
            &key,
            json!({"title": "Daily", "triggerType": "schedule",
                   "schedule": {"cron": "0 9 * * *", "timezone": "Europe/Paris"},
                   "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}),
        )
        .await;
        assert_eq!(scheduled["schedule"]["timezone"], "Europe/Paris");
        let next = scheduled["schedule"]["nextRunAt"].as_i64().unwrap();
        assert!(next > 1_700_000_000);
        // And its next five ticks, from that one on, a day apart (23 or 25 hours
        // across a daylight-saving change).
        let times: Vec<i64> = scheduled["schedule"]["nextRunTimes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap())
            .collect();
        assert_eq!(times.len(), 5, "{scheduled}");
        assert_eq!(times[0], next);
        assert!(
            times
                .windows(2)
                .all(|w| [82_800, 86_400, 90_000].contains(&(w[1] - w[0]))),
            "{times:?}"
        );
    }
}

#[tokio::test]
async fn templates_are_checked_at_create_and_patch_naming_the_step_and_variable() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let refused = |body: Value| {
            let app = &app;
            let key = key.clone();
            async move {
                let response = app
                    .post("/api/v1/pilots")
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
                response.json::<Value>().await.unwrap()["error"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let forward = json!([
            {"id": "first", "type": "transform", "values": {"x": "{{ steps.later.output }}"}},
            {"id": "later", "type": "transform", "values": {"y": 1}}
        ]);
        let error = refused(json!({"title": "Forward", "steps": forward})).await;
        assert!(
            error.contains("steps[0] (first): values.x: steps.later is not an earlier step"),
            "{error}"
        );
        let reads_text = json!([{"id": "s", "type": "llm", "prompt": "{{ trigger.text }}"}]);
        let sample = json!({"orderId": "1234", "total": 49.0});
        let error =
            refused(json!({"title": "Sampled", "steps": reads_text, "samplePayload": sample}))
                .await;
        assert!(
            error.contains(
                "steps[0] (s): prompt: trigger.text is not in the samplePayload (it has: orderId, total)"
            ),
            "{error}"
        );
        let error = refused(json!({"title": "Broken", "steps": [
            {"id": "b", "type": "llm", "prompt": "{{ trigger.text "}
        ]}))
        .await;
        assert!(
            error.contains("steps[0] (b): prompt: template syntax error"),
            "{error}"
        );

        // Without a sample, trigger fields are not judged; a patch is checked alike.
        let pilot = create(&app, &key, json!({"title": "Ok", "steps": reads_text})).await;
        let patched = app
            .client
            .patch(format!("{}/api/v1/pilots/{}", app.url, pilot["id"]))
            .bearer_auth(&key)
            .json(&json!({"steps": reads_text, "samplePayload": sample}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error = patched.json::<Value>().await.unwrap()["error"].to_string();
        assert!(
            error.contains("trigger.text is not in the samplePayload"),
            "{error}"
        );
        // A patch with a sample and no steps checks the steps the pilot keeps.
        let sample_only = app
            .client
            .patch(format!("{}/api/v1/pilots/{}", app.url, pilot["id"]))
            .bearer_auth(&key)
            .json(&json!({"samplePayload": sample}))
            .send()
            .await
            .unwrap();
        assert_eq!(sample_only.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Schedule and email payloads have fixed keys, checked without a sample.
        let error = refused(json!({"title": "Tick", "triggerType": "schedule",
            "schedule": {"cron": "0 9 * * *"}, "steps": reads_text}))
        .await;
        assert!(
            error.contains(
                "trigger.text is not in the schedule payload (it has: scheduledAt, firedAt)"
            ),
            "{error}"
        );
        let mail = create(&app, &key, json!({"title": "Mail", "triggerType": "email",
            "steps": [{"id": "s", "type": "llm", "prompt": "{{ trigger.subject }}: {{ trigger.text }}"}]}))
        .await;
        assert_eq!(mail["triggerType"], "email");
        let error = refused(json!({"title": "Mail", "triggerType": "email",
            "steps": [{"id": "s", "type": "llm", "prompt": "{{ trigger.body }}"}]}))
        .await;
        assert!(
            error.contains("trigger.body is not in the email payload"),
            "{error}"
        );
        // Turning a pilot into a schedule pilot checks the steps it keeps.
        let to_schedule = app
            .client
            .patch(format!("{}/api/v1/pilots/{}", app.url, pilot["id"]))
            .bearer_auth(&key)
            .json(&json!({"triggerType": "schedule", "schedule": {"cron": "0 9 * * *"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(to_schedule.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn pilot_creation_is_rate_limited_per_workspace() {
    for backend in backends() {
        let mut config = test_config();
        config.pilots.creates_per_minute = 3;
        let app = spawn_with(backend, config).await;
        let body =
            json!({"title": "x", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]});
        for _ in 0..3 {
            create(&app, &app.test_key, body.clone()).await;
        }
        // The limit is the workspace's: the live key shares it.
        let response = app
            .post("/api/v1/pilots")
            .bearer_auth(&app.live_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after));
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .starts_with("Rate limit exceeded")
        );
    }
}

#[tokio::test]
async fn webhook_triggers_fire_runs_by_their_secret_url() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Hook", "triggerType": "webhook",
                   "steps": [{"id": "echo", "type": "transform", "values": {"got": "{{ trigger.n }}"}}]}),
        )
        .await;
        let hook = pilot["webhookUrl"].as_str().expect("webhookUrl").to_owned();
        assert!(
            hook.starts_with("http://") && hook.contains("/hooks/pilots/wh_"),
            "{hook}"
        );
        let response = app
            .client
            .post(&hook)
            .json(&json!({"n": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let job = response.json::<Value>().await.unwrap()["jobId"]
            .as_i64()
            .unwrap();
        let run = finished_run(&app, &key, job).await;
        assert_eq!(run["triggerType"], "webhook");
        assert_eq!(run["steps"][0]["output"], json!({"got": 5}));

        let unknown = app
            .post("/hooks/pilots/wh_nope")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            unknown.json::<Value>().await.unwrap(),
            json!({"error": "Unknown webhook."})
        );
    }
}

#[tokio::test]
async fn runs_say_how_they_were_fired() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Fired", "triggerType": "webhook",
                   "steps": [{"id": "echo", "type": "transform", "values": {"got": "{{ trigger.n }}"}}]}),
        )
        .await;
        let id = pilot["id"].as_i64().unwrap();
        let how = |run: &Value| {
            (
                run["triggerType"].as_str().unwrap().to_owned(),
                run["firedBy"].as_str().unwrap().to_owned(),
            )
        };

        // Through POST /run: the pilot's trigger type, fired by the API.
        let run = fire(&app, &key, id, json!({"n": 1})).await;
        let by_api = finished_run(&app, &key, run).await;
        assert_eq!(how(&by_api), ("webhook".into(), "api".into()), "{by_api}");

        // Through its webhook URL.
        let hook = pilot["webhookUrl"].as_str().expect("webhookUrl").to_owned();
        let response = app
            .client
            .post(&hook)
            .json(&json!({"n": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let job = response.json::<Value>().await.unwrap()["jobId"]
            .as_i64()
            .unwrap();
        let by_hook = finished_run(&app, &key, job).await;
        assert_eq!(
            how(&by_hook),
            ("webhook".into(), "webhook".into()),
            "{by_hook}"
        );

        // A retry keeps its original's trigger type.
        let retried: Value = app
            .post(&format!("/api/v1/runs/{run}/retry"))
            .bearer_auth(&key)
            .json(&json!({"from": "start"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let again = finished_run(&app, &key, retried["jobId"].as_i64().unwrap()).await;
        assert_eq!(how(&again), ("webhook".into(), "retry".into()), "{again}");

        // The runs list shows the same.
        let runs: Value = app
            .get_json(&format!("/api/v1/pilots/{id}/runs"), &key)
            .await;
        let listed: Vec<_> = runs["runs"].as_array().unwrap().iter().map(how).collect();
        assert_eq!(
            listed,
            [
                ("webhook".into(), "retry".into()),
                ("webhook".into(), "webhook".into()),
                ("webhook".into(), "api".into()),
            ]
        );
    }
}

#[tokio::test]
async fn every_pilot_endpoint_hides_other_tenants_and_checks_scopes() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let pilot = create(
            &app,
            &app.live_key,
            json!({"title": "Mine", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}),
        )
        .await;
        let id = pilot["id"].as_i64().unwrap();
        let run = fire(&app, &app.live_key, id, json!({})).await;
        finished_run(&app, &app.live_key, run).await;

        // The test key of the same workspace is another tenant: 404 everywhere.
        let other = app.test_key.clone();
        let paths = [
            ("GET", format!("/api/v1/pilots/{id}")),
            ("PATCH", format!("/api/v1/pilots/{id}")),
            ("DELETE", format!("/api/v1/pilots/{id}")),
            ("POST", format!("/api/v1/pilots/{id}/run")),
            ("GET", format!("/api/v1/pilots/{id}/runs")),
            ("GET", format!("/api/v1/runs/{run}")),
            ("POST", format!("/api/v1/runs/{run}/retry")),
        ];
        for (method, path) in &paths {
            let response = app
                .client
                .request(method.parse().unwrap(), format!("{}{path}", app.url))
                .bearer_auth(&other)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        }
        let list: Value = app.get_json("/api/v1/pilots", &other).await;
        assert_eq!(list["pilots"], json!([]));

        // A read-only key reads but cannot write: 403 in the Pilots shape.
        let reader = crate::harness::issue_key(
            &app,
            Environment::Live,
            Scopes::new(vec![Scope::PilotsRead]),
        )
        .await;
        let read = app
            .get(&format!("/api/v1/pilots/{id}"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK);
        let write = app
            .post(&format!("/api/v1/pilots/{id}/run"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(write.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            write.json::<Value>().await.unwrap(),
            json!({"error": "This API key lacks the pilots:write scope."})
        );
    }
}

#[tokio::test]
async fn pilot_posts_honour_idempotency_keys() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let body = json!({"title": "Once", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]});
        let send = |body: &Value| {
            app.post("/api/v1/pilots")
                .bearer_auth(&app.test_key)
                .header("Idempotency-Key", "create-once")
                .json(body)
                .send()
        };
        let first = send(&body).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let again = send(&body).await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
        let other = send(&json!({"title": "Twice", "steps": body["steps"]}))
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::CONFLICT);
        assert_eq!(
            other.json::<Value>().await.unwrap(),
            json!({"error": "This Idempotency-Key was already used with a different request."})
        );
        let list: Value = app.get_json("/api/v1/pilots", &app.test_key).await;
        assert_eq!(list["pilots"].as_array().unwrap().len(), 1);
    }
}
