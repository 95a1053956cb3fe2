//! The Deliberations surface (seed 003) end to end on the scripted model: every error
//! row of §3 and §7, validation boundaries, idempotency under concurrency, credits
//! under concurrency with an exact ledger, rate-limit headers, polling to a result,
//! failures with full refunds, the panel and the event stream.

use std::time::Duration;

use pilot_domain::{Credits, Environment};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_node, spawn_with, test_config};

const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";

fn submit(app: &TestApp, key: &str, body: &Value) -> reqwest::RequestBuilder {
    app.post("/v1/api/deliberations")
        .bearer_auth(key)
        .json(body)
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    assert!(
        error["request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("req_")),
        "{status}: {body}"
    );
    (
        status,
        error["code"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

async fn workspace_id(app: &TestApp) -> pilot_domain::WorkspaceId {
    app.db
        .store
        .find_workspace("default")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Polls until the deliberation is terminal; returns the `200` payload.
async fn finished(app: &TestApp, key: &str, id: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let response = app
                .get(&format!("/v1/api/deliberations/{id}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::OK {
                return response.json::<Value>().await.unwrap();
            }
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let pending: Value = response.json().await.unwrap();
            assert!(matches!(
                pending["status"].as_str(),
                Some("queued" | "running")
            ));
            let notified = app.db.store.job_notify();
            let _ = tokio::time::timeout(Duration::from_millis(50), notified.notified()).await;
        }
    })
    .await
    .expect("the deliberation finishes in time")
}

#[tokio::test]
async fn a_test_mode_deliberation_runs_to_a_result_and_settles_credits() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        let response = submit(
            &app,
            &key,
            &json!({"question": QUESTION, "mode": "deliberation1", "use_case": "pricing",
                    "metadata": {"order_id": "ord_123"}}),
        )
        .header("Idempotency-Key", "7c1d-first")
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["x-ratelimit-limit"], "60");
        assert_eq!(response.headers()["x-ratelimit-remaining"], "59");
        let accepted: Value = response.json().await.unwrap();
        let id = accepted["deliberation_id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("del_") && id.len() == 30, "{id}");
        assert_eq!(accepted["status"], "queued");
        assert_eq!(accepted["estimated_credits"], 4.2);
        assert_eq!(
            accepted["result_url"],
            format!("{}/v1/api/deliberations/{id}/result", app.url)
        );

        let done = finished(&app, &key, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(done["synthesis"].as_str().unwrap().len() > 10);
        assert!(done["summary"].as_str().unwrap().len() > 5);
        let confidence = done["confidence_index"].as_f64().unwrap();
        assert!((0.0..=10.0).contains(&confidence));
        assert_eq!(done["error"], Value::Null);
        assert_eq!(done["mode"], "deliberation1");
        assert_eq!(done["use_case"], "pricing");
        // Test mode charges like live: the scripted model's metered tokens at the
        // default price, within the reservation.
        let charged = done["credits_charged"].as_f64().unwrap();
        assert!(charged > 0.0 && charged <= 4.2, "{charged}");
        for field in ["created_at", "updated_at", "completed_at"] {
            assert!(done[field].as_str().unwrap().ends_with('Z'), "{field}");
        }
        // /result answers the same payload.
        let result: Value = app
            .get_json(&format!("/v1/api/deliberations/{id}/result"), &key)
            .await;
        assert_eq!(result["synthesis"], done["synthesis"]);
        // The panel: five answers, reviews and the arbiter's synthesis.
        let panel: Value = app
            .get_json(&format!("/v1/api/deliberations/{id}?include=panel"), &key)
            .await;
        let entries = panel["panel"].as_array().unwrap();
        assert_eq!(entries.iter().filter(|e| e["stage"] == "answer").count(), 5);
        assert!(entries.iter().any(|e| e["stage"] == "synthesis"));

        // The ledger: 100 starter credits, the reservation, the refund of the excess.
        let ws = workspace_id(&app).await;
        let balance = app.db.store.balance(ws, Environment::Test).await.unwrap();
        let expected = Credits::from_credits(100)
            .checked_sub(Credits::from_f64(charged).unwrap())
            .unwrap();
        assert_eq!(balance, expected);
        let ledger = app
            .db
            .store
            .ledger(ws, Environment::Test, 100)
            .await
            .unwrap();
        let sum = ledger.iter().fold(0_i64, |sum, e| sum + e.amount.micros());
        assert_eq!(sum, balance.micros(), "the ledger sums to the balance");
        let shown: Value = app.get_json("/v1/api/balance", &key).await;
        assert_eq!(shown["balance"].as_f64().unwrap(), balance.as_f64());

        // The event stream replays to the terminal event.
        let stream = app
            .get(&format!("/v1/api/deliberations/{id}/events"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let text = tokio::time::timeout(Duration::from_secs(20), stream.text())
            .await
            .expect("the stream ends after the terminal event")
            .unwrap();
        assert!(text.contains("event: answer"), "{text}");
        assert!(text.contains("event: completed"), "{text}");
    }
}

/// `GET /v1/api/pricing` is the table submits reserve from, and the model prices in
/// force, for the key's environment.
#[tokio::test]
async fn the_pricing_endpoint_is_what_submits_reserve() {
    for backend in backends() {
        let mut config = test_config();
        config.models.prices.insert(
            "gpt-x".into(),
            pilot_domain::Price {
                input_per_million: Credits::from_credits(2),
                output_per_million: Credits::from_credits(8),
            },
        );
        let app = spawn_with(backend, config).await;
        let pricing: Value = app.get_json("/v1/api/pricing", &app.test_key).await;
        assert_eq!(pricing["environment"], "test");
        let fields: Vec<&String> = pricing.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            ["default_price", "environment", "estimates", "prices"]
        );
        assert_eq!(
            pricing["prices"],
            json!([{"input_per_million": 2.0, "model": "gpt-x", "output_per_million": 8.0}])
        );
        assert_eq!(
            pricing["default_price"],
            json!({"input_per_million": 1.0, "output_per_million": 4.0})
        );
        let estimates = pricing["estimates"].as_array().unwrap();
        assert_eq!(estimates.len(), 9, "three modes, three difficulties");
        // deliberation2's rows are what MCP and the dashboard reserve (checkpoints.rs
        // holds a submission to one); REST refuses the mode.
        for estimate in estimates.iter().filter(|e| e["mode"] != "deliberation2") {
            let body = json!({"question": QUESTION, "mode": estimate["mode"],
                              "difficulty": estimate["difficulty"]});
            let response = submit(&app, &app.test_key, &body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{estimate}");
            let accepted: Value = response.json().await.unwrap();
            assert_eq!(
                accepted["estimated_credits"], estimate["estimated_credits"],
                "{estimate}"
            );
        }
        let live: Value = app.get_json("/v1/api/pricing", &app.live_key).await;
        assert_eq!(live["environment"], "live");
        assert_eq!(live["estimates"], pricing["estimates"]);
    }
}

/// Test credits behave like live ones: a test balance short of the estimate is
/// `402`, topped up as `pilot credits grant --env test` does it submits, and the
/// scripted model's tokens are charged, the rest of the reservation refunded.
#[tokio::test]
async fn test_credits_run_out_are_topped_up_and_are_charged_like_live() {
    for backend in backends() {
        let mut config = test_config();
        // An estimate above the 100 starter test credits.
        config.deliberations.estimates.deliberation1 = [Credits::from_credits(150); 3];
        let app = spawn_with(backend, config).await;
        let ws = workspace_id(&app).await;
        let live = app.db.store.balance(ws, Environment::Live).await.unwrap();
        let body = json!({"question": QUESTION});
        let refused = submit(&app, &app.test_key, &body).send().await.unwrap();
        let (status, code, _) = error_code(refused).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::PAYMENT_REQUIRED, "insufficient_credits")
        );
        assert_eq!(
            app.db.store.balance(ws, Environment::Test).await.unwrap(),
            Credits::from_credits(100),
            "nothing reserved"
        );

        let granted = app
            .app
            .operations(app.url.clone())
            .grant_credits(
                &pilot_operations::Operator::console(),
                "default",
                Environment::Test,
                Credits::from_credits(60),
                "top-up",
            )
            .await
            .unwrap();
        assert_eq!(granted.balance, Credits::from_credits(160));
        let accepted: Value = submit(&app, &app.test_key, &body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(accepted["estimated_credits"], 150.0);
        let done = finished(
            &app,
            &app.test_key,
            accepted["deliberation_id"].as_str().unwrap(),
        )
        .await;
        assert_eq!(done["status"], "completed", "{done}");
        let charged = Credits::from_f64(done["credits_charged"].as_f64().unwrap()).unwrap();
        assert!(charged > Credits::ZERO, "{charged}");
        let balance = app.db.store.balance(ws, Environment::Test).await.unwrap();
        assert_eq!(
            balance,
            Credits::from_credits(160).checked_sub(charged).unwrap()
        );
        // The live balance never moved.
        assert_eq!(
            app.db.store.balance(ws, Environment::Live).await.unwrap(),
            live
        );
    }
}

#[tokio::test]
async fn scripted_markers_fail_with_the_documented_codes_and_refund_in_full() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        let ws = workspace_id(&app).await;
        for (marker, code) in [
            ("[[scripted:fail]]", "processing_failed"),
            ("[[scripted:timeout]]", "processing_timeout"),
        ] {
            let before = app.db.store.balance(ws, Environment::Test).await.unwrap();
            let accepted: Value = submit(
                &app,
                &key,
                &json!({"question": format!("{QUESTION} {marker}")}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            let id = accepted["deliberation_id"].as_str().unwrap();
            let done = finished(&app, &key, id).await;
            assert_eq!(done["status"], "failed", "{done}");
            assert_eq!(done["error"]["code"], code);
            assert!(done["error"]["message"].as_str().unwrap().len() > 20);
            assert_eq!(done["synthesis"], Value::Null);
            assert_eq!(done["confidence_index"], Value::Null);
            assert_eq!(done["credits_charged"].as_f64(), Some(0.0));
            let after = app.db.store.balance(ws, Environment::Test).await.unwrap();
            assert_eq!(after, before, "{marker}: fully refunded");
        }

        // A blocked question: 403 content_blocked, nothing charged or queued.
        let before = app.db.store.balance(ws, Environment::Test).await.unwrap();
        let response = submit(
            &app,
            &key,
            &json!({"question": format!("{QUESTION} [[scripted:block]]")}),
        )
        .send()
        .await
        .unwrap();
        let (status, code, _) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "content_blocked")
        );
        assert_eq!(
            app.db.store.balance(ws, Environment::Test).await.unwrap(),
            before
        );
    }
}

#[tokio::test]
async fn every_documented_error_row_answers_with_its_code() {
    for backend in backends() {
        let mut config = test_config();
        config.limits.deliberation_submissions_per_hour = 20;
        let app = spawn_with(backend, config).await;
        let key = app.test_key.clone();

        // 402: the live environment has no credits.
        let response = submit(&app, &app.live_key, &json!({"question": QUESTION}))
            .send()
            .await
            .unwrap();
        let (status, code, message) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::PAYMENT_REQUIRED, "insufficient_credits")
        );
        assert_eq!(message, "Workspace balance 0.00 < estimated 4.20");

        // 404: unknown, malformed, or another environment's id.
        for id in ["del_01HXYZABCDEFGHJKMNPQRSTVWX", "nope"] {
            let response = app
                .get(&format!("/v1/api/deliberations/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let (status, code, _) = error_code(response).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::NOT_FOUND, "not_found")
            );
        }

        // 422: each validation limit at its boundary.
        let meta_ok = json!({"k": "v".repeat(4096 - 8)});
        let meta_big = json!({"k": "v".repeat(4096 - 7)});
        for (body, ok) in [
            (json!({"question": "x".repeat(9)}), false),
            (json!({"question": "x".repeat(2001)}), false),
            (
                json!({"question": QUESTION, "mode": "deliberation2"}),
                false,
            ),
            (json!({"question": QUESTION, "use_case": "legal"}), false),
            (
                json!({"question": QUESTION, "difficulty": "EXTREME"}),
                false,
            ),
            (
                json!({"question": QUESTION, "webhook_url": "http://example.com/h"}),
                false,
            ),
            (
                json!({"question": QUESTION, "webhook_url": "https://10.0.0.1/h"}),
                false,
            ),
            (
                json!({"question": QUESTION, "webhook_url": "https://169.254.169.254/h"}),
                false,
            ),
            (json!({"question": QUESTION, "metadata": meta_big}), false),
            (json!({"question": QUESTION, "colour": "red"}), false),
            (
                json!({"question": "x".repeat(10), "metadata": meta_ok}),
                true,
            ),
        ] {
            let response = submit(&app, &key, &body).send().await.unwrap();
            if ok {
                assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
            } else {
                let (status, code, _) = error_code(response).await;
                assert_eq!(
                    (status, code.as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
                    "{body}"
                );
            }
        }

        // 409: one key, another body.
        let first = submit(&app, &key, &json!({"question": QUESTION}))
            .header("Idempotency-Key", "k-1")
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let first: Value = first.json().await.unwrap();
        let replay = submit(&app, &key, &json!({"question": QUESTION}))
            .header("Idempotency-Key", "k-1")
            .send()
            .await
            .unwrap();
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(
            replay.json::<Value>().await.unwrap()["deliberation_id"],
            first["deliberation_id"]
        );
        let response = submit(&app, &key, &json!({"question": format!("{QUESTION}?")}))
            .header("Idempotency-Key", "k-1")
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "idempotency_conflict")
        );
        let response = submit(&app, &key, &json!({"question": QUESTION}))
            .header("Idempotency-Key", "k".repeat(256))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // 429 once the hourly POST budget (20 here) is spent, with Retry-After.
        let mut last = None;
        for _ in 0..25 {
            last = Some(
                submit(&app, &key, &json!({"question": QUESTION}))
                    .send()
                    .await
                    .unwrap(),
            );
            if last.as_ref().unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
        }
        let limited = last.unwrap();
        assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
        let retry_after: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry_after));
        assert!(limited.headers().contains_key("ratelimit"));
        assert!(limited.headers().contains_key("ratelimit-policy"));
        let (status, code, _) = error_code(limited).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
    }
}

#[tokio::test]
async fn rate_limit_headers_count_down_on_polls() {
    for backend in backends() {
        let mut config = test_config();
        config.limits.deliberation_reads_per_minute = 3;
        let app = spawn_with(backend, config).await;
        let path = "/v1/api/deliberations/del_01HXYZABCDEFGHJKMNPQRSTVWX";
        let mut remaining = Vec::new();
        for _ in 0..4 {
            let response = app
                .get(path)
                .bearer_auth(&app.test_key)
                .send()
                .await
                .unwrap();
            remaining.push((
                response.status().as_u16(),
                response.headers()["x-ratelimit-remaining"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
        assert_eq!(
            remaining,
            [
                (404, "2".into()),
                (404, "1".into()),
                (404, "0".into()),
                (429, "0".into())
            ]
        );
    }
}

/// The §6 fields of a response: limit, remaining, reset, and the IETF pair.
fn limit_fields(response: &reqwest::Response) -> [String; 5] {
    [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "ratelimit",
        "ratelimit-policy",
    ]
    .map(|name| response.headers()[name].to_str().unwrap().to_owned())
}

#[tokio::test]
async fn no_second_burst_fits_around_a_minute_boundary_and_the_fields_say_so() {
    use std::sync::Arc;

    use pilot_engine::ManualClock;
    for backend in backends() {
        let mut config = test_config();
        config.limits.deliberation_reads_per_minute = 5;
        // A second before a minute's end (the old fixed window's boundary).
        let minute = 60_000;
        let start = (1_700_000_000_000 / minute + 1) * minute - 1_000;
        let clock = Arc::new(ManualClock::new(pilot_domain::UnixMillis(start)));
        let app = crate::harness::spawn_on_clock(backend, config, false, clock.clone()).await;
        let path = "/v1/api/deliberations/del_01HXYZABCDEFGHJKMNPQRSTVWX";
        let poll = || app.get(path).bearer_auth(&app.test_key).send();

        let first = poll().await.unwrap();
        let start_secs = start / 1000;
        assert_eq!(
            limit_fields(&first),
            [
                "5".to_owned(),
                "4".to_owned(),
                // Full again when the one spent request has refilled: 12 s on.
                (start_secs + 12).to_string(),
                "\"default\";r=4;t=12".to_owned(),
                "\"default\";q=5;w=60".to_owned(),
            ],
            "{backend:?}"
        );
        for _ in 0..4 {
            assert_eq!(poll().await.unwrap().status(), StatusCode::NOT_FOUND);
        }
        // Two seconds later the next minute has begun: a fixed window would let five
        // more through. The bucket is empty; one request refills every 12 s.
        clock.advance_ms(2_000);
        let refused = poll().await.unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{backend:?}"
        );
        let fields = limit_fields(&refused);
        assert_eq!(fields[1], "0");
        assert_eq!(
            fields[2],
            (start_secs + 60).to_string(),
            "all five back a minute on"
        );
        assert_eq!(fields[3], "\"default\";r=0;t=10");
        assert_eq!(refused.headers()["retry-after"], "10");
        // Retrying when told to works, once.
        clock.advance_ms(10_000);
        assert_eq!(poll().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(
            poll().await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

#[tokio::test]
async fn one_idempotency_key_under_concurrency_creates_one_deliberation() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let body = json!({"question": QUESTION});
        let requests = (0..100).map(|_| {
            submit(&app, &app.test_key, &body)
                .header("Idempotency-Key", "same-key")
                .send()
        });
        let responses = futures::future::join_all(requests).await;
        let mut ids = std::collections::BTreeSet::new();
        for response in responses {
            let response = response.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            ids.insert(body["deliberation_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "one deliberation for one key");
        let ws = workspace_id(&app).await;
        let ledger = app
            .db
            .store
            .ledger(ws, Environment::Test, 500)
            .await
            .unwrap();
        assert_eq!(ledger.iter().filter(|e| e.kind == "reserve").count(), 1);
    }
}

#[tokio::test]
async fn concurrent_submits_never_overdraw_the_balance() {
    for backend in backends() {
        let mut config = test_config();
        config.limits.deliberation_submissions_per_hour = 1_000;
        // No worker: nothing settles (or refunds) while the submits race.
        let app = spawn_node(backend, config, false).await;
        let ws = workspace_id(&app).await;
        // Exactly ten estimates' worth (10 × 4.2) on the live balance.
        app.db
            .store
            .grant_credits(
                ws,
                Environment::Live,
                Credits::from_micros(42_000_000),
                "test",
                pilot_domain::UnixMillis(1),
            )
            .await
            .unwrap();
        let body = json!({"question": QUESTION});
        let requests = (0..100).map(|_| submit(&app, &app.live_key, &body).send());
        let statuses: Vec<u16> = futures::future::join_all(requests)
            .await
            .into_iter()
            .map(|r| r.unwrap().status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 202).count(),
            10,
            "{statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 90);
        let ledger = app
            .db
            .store
            .ledger(ws, Environment::Live, 500)
            .await
            .unwrap();
        let balance = app.db.store.balance(ws, Environment::Live).await.unwrap();
        let sum = ledger.iter().fold(0_i64, |sum, e| sum + e.amount.micros());
        assert_eq!(sum, balance.micros(), "the ledger sums to the balance");
        assert!(balance.micros() >= 0);
    }
}

#[tokio::test]
async fn expired_idempotency_keys_are_purged_by_the_scheduler() {
    use std::sync::Arc;

    use pilot_engine::ManualClock;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let response = submit(&app, &app.test_key, &json!({"question": QUESTION}))
            .header("Idempotency-Key", "old")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let day = 24 * 3_600_000;
        let later = Arc::new(ManualClock::new(pilot_domain::UnixMillis(
            app.app.clock.now().0 + day + 1_000,
        )));
        // The server keeps keys for a day (`limits.idempotency_ttl_hours`).
        assert_eq!(
            app.app
                .operations(app.url.clone())
                .policy()
                .idempotency_ttl_ms,
            day
        );
        let scheduler = app.operations_at(later);
        let purge = || async { scheduler.housekeeping().await.unwrap().idempotency_keys };
        assert_eq!(purge().await, 1);
        assert_eq!(purge().await, 0);
    }
}

#[tokio::test]
async fn refilled_rate_limit_buckets_are_purged_by_the_scheduler() {
    use std::sync::Arc;

    use pilot_engine::ManualClock;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let path = "/v1/api/deliberations/del_01HXYZABCDEFGHJKMNPQRSTVWX";
        let response = app
            .get(path)
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let at = |ms| {
            Arc::new(ManualClock::new(pilot_domain::UnixMillis(
                app.app.clock.now().0 + ms,
            )))
        };
        // One poll of 600 a minute refills in 100 ms; not yet purged at once.
        let purged = |ops: pilot_operations::Operations| async move {
            ops.housekeeping().await.unwrap().rate_limit_buckets
        };
        let (now, later) = (app.operations_at(at(0)), app.operations_at(at(1_000)));
        assert_eq!(purged(now).await, 0, "{backend:?}");
        assert_eq!(purged(later.clone()).await, 1, "{backend:?}");
        assert_eq!(purged(later).await, 0);
    }
}
