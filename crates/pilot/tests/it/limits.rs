//! Inputs that size work are bounded at validation (issue 10 §1): an `llm` step's
//! schema, a schedule's frequency, a step's retries. Each is a `422` naming what is
//! wrong, through the real server.

use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_with, test_config};

/// `POST /api/v1/pilots` with `body`: the status and the error message, if any.
async fn try_create(app: &TestApp, body: Value) -> (StatusCode, String) {
    let response = app
        .post("/api/v1/pilots")
        .bearer_auth(&app.test_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_unbounded_schema_of_the_issue_is_refused_naming_its_path() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (status, error) = try_create(
            &app,
            json!({"title": "Tags", "steps": [{"id": "extract", "type": "llm",
                "prompt": "Tags for {{ trigger.text }}", "output": "json",
                "schema": {"type": "object", "properties": {"tags": {"type": "array",
                    "minItems": 100_000_000, "items": {"type": "string"}}}}}]}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error,
            "Invalid steps: steps[0] (extract): schema/properties/tags/minItems is 100000000; at most 1000"
        );
        let (status, error) = try_create(
            &app,
            json!({"title": "Waits", "steps": [{"id": "call", "type": "http",
                "url": "https://hooks.example/x", "retry": {"max_attempts": 10, "backoff_ms": 600_000}}]}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error.contains("steps[0] (call): retry waits 306600000 ms in all"),
            "{error}"
        );
    }
}

fn scheduled(cron: &str) -> Value {
    json!({"title": "Tick", "triggerType": "schedule",
           "schedule": {"cron": cron, "timezone": "UTC"},
           "steps": [{"id": "wait", "type": "delay", "seconds": 1}]})
}

#[tokio::test]
async fn schedules_that_fire_more_often_than_the_minimum_are_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (status, error) = try_create(&app, scheduled("* * * * * *")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error,
            "schedule.cron \"* * * * * *\" can fire 1 s apart; ticks must be at least 60 s apart"
        );
        let (status, error) = try_create(&app, scheduled("* * * * *")).await;
        assert_eq!(status, StatusCode::CREATED, "{error}");
        let (status, error) = try_create(&app, scheduled("0 9 * * 1")).await;
        assert_eq!(status, StatusCode::CREATED, "{error}");

        // A server configured for a lower minimum takes every 30 seconds, not every 10.
        let mut config = test_config();
        config.pilots.min_schedule_interval_secs = 30;
        let lower = spawn_with(backend, config).await;
        let (status, error) = try_create(&lower, scheduled("*/30 * * * * *")).await;
        assert_eq!(status, StatusCode::CREATED, "{error}");
        let (status, _) = try_create(&lower, scheduled("*/10 * * * * *")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
