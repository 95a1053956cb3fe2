//! Managing webhooks out on the Deliberations surface (`/v1/api/webhooks/…`), end
//! to end: test-mode deliberations report to a local receiver
//! (`pilot_testkit::WebhookReceiver`, plain http on loopback: `[webhooks]
//! allow_http` and `[outbound] allow_list`), and their deliveries are listed,
//! filtered, paged, read with their attempts, replayed, recovered and released by
//! enabling their endpoint; scopes, the surface's error shape, malformed ids and
//! tenant isolation. Waits are on the receiver's arrivals and on the queue's
//! notifications (as `deliberations.rs` waits for results), bounded.

use std::time::Duration;

use pilot_domain::webhook::RECOVER_MAX_AGE_MS;
use pilot_domain::{Clock, Environment, Scopes, SystemClock, UnixMillis, WorkspaceName};
use pilot_operations::Operator;
use pilot_testkit::backends;
use pilot_testkit::webhook_receiver::{Reply, WebhookReceiver};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, issue_key, json_and_request_id, spawn_with, test_config};
use crate::webhooks::{submit, webhook_config};

const DELIVERIES: &str = "/v1/api/webhooks/deliveries";
const ENDPOINTS: &str = "/v1/api/webhooks/endpoints";

/// `GET path` until `done` holds of its body (whatever the status, which must be
/// 200): woken by the queue's notifications — every write that queues or settles
/// a job —, looking at least every 50 ms, failing the test after 30 s.
async fn until(app: &TestApp, key: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let notified = app.db.store.job_notify();
            let response = app.get(path).bearer_auth(key).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            last = response.json().await.unwrap();
            if done(&last) {
                return last.clone();
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified.notified()).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("{path} never got there: {last}"))
}

/// The newest delivery once it has `attempts` attempts recorded.
async fn newest_after(app: &TestApp, key: &str, attempts: i64) -> Value {
    let page = until(app, key, DELIVERIES, |page| {
        page["data"][0]["attempts"].as_i64() == Some(attempts)
    })
    .await;
    page["data"][0].clone()
}

/// A delivery's detail once `done` holds of it.
async fn delivery_until(
    app: &TestApp,
    key: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    until(app, key, &format!("{DELIVERIES}/{id}"), done).await
}

fn items(page: &Value) -> &Vec<Value> {
    page["data"].as_array().expect("a list")
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {value}"))
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// An RFC 3339 instant as the surface writes it: whole seconds, UTC.
fn is_instant(value: &Value) -> bool {
    value.as_str().is_some_and(|raw| {
        raw.ends_with('Z') && raw.len() == 20 && UnixMillis::from_rfc3339(raw).is_some()
    })
}

fn now() -> UnixMillis {
    SystemClock.now()
}

fn rfc3339(at: UnixMillis) -> String {
    at.to_rfc3339().unwrap()
}

/// The surface's error: status, and the body's code and message, its shape checked.
async fn refusal(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let (body, request_id) = json_and_request_id(response).await;
    assert_eq!(keys(&body), ["error"], "{body}");
    assert_eq!(keys(&body["error"]), ["code", "message", "request_id"]);
    assert_eq!(body["error"]["request_id"], request_id.as_str());
    (
        status,
        field(&body["error"], "code").to_owned(),
        field(&body["error"], "message").to_owned(),
    )
}

fn recover(app: &TestApp, key: &str, endpoint: &str, body: Value) -> reqwest::RequestBuilder {
    app.post(&format!("{ENDPOINTS}/{endpoint}/recover"))
        .bearer_auth(key)
        .json(&body)
}

#[tokio::test]
async fn deliveries_are_listed_filtered_paged_and_read_with_their_attempts() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let key = app.test_key.clone();
        let receiver = WebhookReceiver::start().await;
        receiver.set_fallback(Reply::status(400).body("no such order"));
        let (a, b) = (
            format!("{}/a", receiver.url()),
            format!("{}/b", receiver.url()),
        );
        for (n, url) in [&a, &a, &b].into_iter().enumerate() {
            submit(&app, url, "Managed").await;
            receiver.wait_for(n + 1).await;
        }
        // A 400 is not retried: each delivery is `failed` after its one attempt.
        let page = until(&app, &key, DELIVERIES, |page| {
            items(page).len() == 3 && items(page).iter().all(|d| d["status"] == "failed")
        })
        .await;
        assert_eq!(keys(&page), ["data", "has_more", "next_before"]);
        assert_eq!(page["has_more"], false);
        assert_eq!(page["next_before"], Value::Null);
        let listed = items(&page);
        let ids: Vec<&str> = listed.iter().map(|d| field(d, "id")).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        for delivery in listed {
            assert_eq!(
                keys(delivery),
                [
                    "attempts",
                    "created_at",
                    "endpoint_id",
                    "event",
                    "event_id",
                    "id",
                    "last_error",
                    "last_response_status",
                    "next_attempt_at",
                    "status",
                    "updated_at",
                    "url"
                ]
            );
            assert!(field(delivery, "id").starts_with("dlv_"));
            assert!(field(delivery, "event_id").starts_with("evt_"));
            assert!(field(delivery, "endpoint_id").starts_with("wep_"));
            assert_eq!(delivery["event"], "deliberation.completed");
            assert_eq!(delivery["attempts"], 1);
            assert_eq!(delivery["last_response_status"], 400);
            assert_eq!(delivery["next_attempt_at"], Value::Null);
            assert!(is_instant(&delivery["created_at"]) && is_instant(&delivery["updated_at"]));
        }
        assert_eq!(listed[0]["url"], b.as_str());
        assert_eq!(listed[1]["url"], a.as_str());
        assert_eq!(listed[2]["url"], a.as_str());
        assert_eq!(listed[1]["endpoint_id"], listed[2]["endpoint_id"]);
        assert_ne!(listed[0]["endpoint_id"], listed[1]["endpoint_id"]);

        // Filters.
        let endpoint_a = field(&listed[1], "endpoint_id").to_owned();
        let only_a = app
            .get_json(&format!("{DELIVERIES}?endpoint={endpoint_a}"), &key)
            .await;
        assert_eq!(items(&only_a).len(), 2);
        assert!(items(&only_a).iter().all(|d| d["url"] == a.as_str()));
        for (status, count) in [("failed", 3), ("succeeded", 0), ("pending", 0), ("dead", 0)] {
            let filtered = app
                .get_json(&format!("{DELIVERIES}?status={status}"), &key)
                .await;
            assert_eq!(items(&filtered).len(), count, "{status}");
        }
        let bad = app
            .get(&format!(
                "{DELIVERIES}?status=sent&endpoint=nope&before=42&limit=0"
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let (status, code, message) = refusal(bad).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
        );
        assert_eq!(
            message,
            "status must be one of pending, succeeded, failed, dead, disabled; \
             endpoint must be an endpoint id (wep_…); before must be a delivery id (dlv_…); \
             limit must be a plain decimal number from 1 to 100"
        );
        let too_many = app
            .get(&format!("{DELIVERIES}?limit=101"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(refusal(too_many).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        // Pages.
        let first = app.get_json(&format!("{DELIVERIES}?limit=2"), &key).await;
        assert_eq!(items(&first).len(), 2);
        assert_eq!(first["has_more"], true);
        assert_eq!(first["next_before"], ids[1]);
        let second = app
            .get_json(&format!("{DELIVERIES}?limit=2&before={}", ids[1]), &key)
            .await;
        assert_eq!(items(&second).len(), 1);
        assert_eq!(items(&second)[0]["id"], ids[2]);
        assert_eq!(second["has_more"], false);
        assert_eq!(second["next_before"], Value::Null);
        let exact = app.get_json(&format!("{DELIVERIES}?limit=3"), &key).await;
        assert_eq!(
            (exact["has_more"].clone(), items(&exact).len()),
            (json!(false), 3)
        );

        // One delivery, with its attempt.
        let detail = app
            .get_json(&format!("{DELIVERIES}/{}", ids[2]), &key)
            .await;
        let mut expected_keys = keys(&listed[2]);
        expected_keys.push("attempts_detail");
        expected_keys.sort_unstable();
        let mut detail_keys = keys(&detail);
        detail_keys.sort_unstable();
        assert_eq!(detail_keys, expected_keys);
        assert_eq!(detail["id"], ids[2]);
        let attempts = detail["attempts_detail"].as_array().unwrap();
        assert_eq!(attempts.len(), 1);
        let attempt = &attempts[0];
        assert_eq!(
            keys(attempt),
            [
                "error",
                "latency_ms",
                "manual",
                "number",
                "response_body",
                "response_status",
                "started_at"
            ]
        );
        assert_eq!(attempt["number"], 1);
        assert_eq!(attempt["manual"], false);
        assert_eq!(attempt["response_status"], 400);
        assert_eq!(attempt["response_body"], "no such order");
        assert!(attempt["latency_ms"].as_i64().unwrap() >= 0);
        assert!(is_instant(&attempt["started_at"]));
        let sent = receiver.received();
        assert_eq!(sent[0].header("x-pilot5-delivery-id"), Some(ids[2]));

        // The endpoints, oldest first.
        let endpoints = app.get_json(ENDPOINTS, &key).await;
        assert_eq!(keys(&endpoints), ["data"]);
        let endpoints = items(&endpoints);
        assert_eq!(endpoints.len(), 2);
        assert_eq!(
            keys(&endpoints[0]),
            [
                "consecutive_failures",
                "created_at",
                "disabled_reason",
                "id",
                "last_failure_at",
                "last_success_at",
                "state",
                "url"
            ]
        );
        assert_eq!(endpoints[0]["id"], endpoint_a.as_str());
        assert_eq!(endpoints[0]["url"], a.as_str());
        assert_eq!(endpoints[0]["consecutive_failures"], 2);
        assert_eq!(endpoints[1]["url"], b.as_str());
        assert_eq!(endpoints[1]["consecutive_failures"], 1);
        for endpoint in endpoints {
            assert_eq!(endpoint["state"], "enabled");
            assert_eq!(endpoint["disabled_reason"], Value::Null);
            assert_eq!(endpoint["last_success_at"], Value::Null);
            assert!(is_instant(&endpoint["last_failure_at"]));
        }
    }
}

#[tokio::test]
async fn replay_recover_and_enable_make_new_attempts() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let key = app.test_key.clone();
        let receiver = WebhookReceiver::start().await;
        receiver.set_fallback(Reply::status(400));
        let url = receiver.url();

        // A failed delivery, replayed: one manual attempt, which succeeds.
        submit(&app, &url, "Managed").await;
        receiver.wait_for(1).await;
        let failed = newest_after(&app, &key, 1).await;
        assert_eq!(failed["status"], "failed");
        let id = field(&failed, "id").to_owned();
        receiver.push(Reply::ok());
        let replayed = app
            .post(&format!("{DELIVERIES}/{id}/replay"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(replayed.status(), StatusCode::ACCEPTED);
        let replayed: Value = replayed.json().await.unwrap();
        assert_eq!(replayed["id"], id.as_str());
        assert_eq!(replayed["status"], "failed", "as it stood");
        let sent = receiver.wait_for(2).await;
        assert_eq!(sent[1].header("x-pilot5-attempt"), Some("2"));
        assert_eq!(
            sent[1].header("x-pilot5-event-id"),
            sent[0].header("x-pilot5-event-id")
        );
        let detail = delivery_until(&app, &key, &id, |d| d["status"] == "succeeded").await;
        assert_eq!(detail["attempts"], 2);
        assert_eq!(detail["last_response_status"], 200);
        let attempts = detail["attempts_detail"].as_array().unwrap();
        assert_eq!(
            attempts
                .iter()
                .map(|a| (
                    a["number"].clone(),
                    a["manual"].clone(),
                    a["response_status"].clone()
                ))
                .collect::<Vec<_>>(),
            [
                (json!(1), json!(false), json!(400)),
                (json!(2), json!(true), json!(200))
            ]
        );
        // A replay under an Idempotency-Key is made once; the retry gets its answer.
        let keyed = || {
            app.post(&format!("{DELIVERIES}/{id}/replay"))
                .bearer_auth(&key)
                .header("Idempotency-Key", "replay-once")
        };
        let first = keyed().send().await.unwrap();
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let first: Value = first.json().await.unwrap();
        let again = keyed().send().await.unwrap();
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        receiver.wait_for(3).await;
        delivery_until(&app, &key, &id, |d| d["attempts"] == 3).await;

        // Another failed delivery to the endpoint, recovered since an hour ago: only
        // it (the first succeeded) gets a manual attempt.
        submit(&app, &url, "Managed").await;
        receiver.wait_for(4).await;
        let second = newest_after(&app, &key, 1).await;
        assert_eq!(second["status"], "failed");
        let endpoint = field(&second, "endpoint_id").to_owned();
        let since = now().plus_ms(-3_600_000);
        let recovered = recover(&app, &key, &endpoint, json!({"since": rfc3339(since)}))
            .send()
            .await
            .unwrap();
        assert_eq!(recovered.status(), StatusCode::ACCEPTED);
        assert_eq!(
            recovered.json::<Value>().await.unwrap(),
            json!({"endpoint_id": endpoint, "queued": 1, "since": rfc3339(since)})
        );
        let sent = receiver.wait_for(5).await;
        assert_eq!(
            sent[4].header("x-pilot5-delivery-id"),
            Some(field(&second, "id"))
        );
        let second = delivery_until(&app, &key, field(&second, "id"), |d| d["attempts"] == 2).await;
        assert_eq!(second["attempts_detail"][1]["manual"], true);
        assert_eq!(second["status"], "failed");

        // `since` is bounded: 14 days back at most, not in the future, RFC 3339.
        for since in [
            json!(rfc3339(now().plus_ms(-RECOVER_MAX_AGE_MS - 86_400_000))),
            json!(rfc3339(now().plus_ms(3_600_000))),
            json!("yesterday"),
            json!("2026-04-29T10:00:00"),
            json!(1_745_921_052),
        ] {
            let refused = recover(&app, &key, &endpoint, json!({"since": since}))
                .send()
                .await
                .unwrap();
            let (status, code, message) = refusal(refused).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{since}");
            assert_eq!(code, "validation_error");
            assert!(message.contains("since"), "{since}: {message}");
        }
        let empty = recover(&app, &key, &endpoint, json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(refusal(empty).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        // A 410 disables its endpoint; what is sent there meanwhile waits, and
        // enabling the endpoint sends it.
        let gone_url = format!("{url}/gone");
        receiver.push(Reply::status(410));
        submit(&app, &gone_url, "Managed").await;
        receiver.wait_for(6).await;
        let endpoints = until(&app, &key, ENDPOINTS, |page| {
            items(page)
                .iter()
                .any(|e| e["url"] == gone_url.as_str() && e["state"] == "disabled")
        })
        .await;
        let gone = items(&endpoints)
            .iter()
            .find(|e| e["url"] == gone_url.as_str())
            .unwrap()
            .clone();
        assert_eq!(gone["disabled_reason"], "gone");
        submit(&app, &gone_url, "Managed").await;
        let waiting = until(
            &app,
            &key,
            &format!("{DELIVERIES}?status=disabled"),
            |page| items(page).len() == 1,
        )
        .await;
        let waiting = field(&items(&waiting)[0], "id").to_owned();
        receiver.push(Reply::ok());
        let enabled = app
            .post(&format!("{ENDPOINTS}/{}/enable", field(&gone, "id")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(enabled.status(), StatusCode::OK);
        let enabled: Value = enabled.json().await.unwrap();
        assert_eq!(keys(&enabled), ["endpoint", "released"]);
        assert_eq!(enabled["released"], 1);
        assert_eq!(enabled["endpoint"]["id"], gone["id"]);
        assert_eq!(enabled["endpoint"]["state"], "enabled");
        assert_eq!(enabled["endpoint"]["disabled_reason"], Value::Null);
        assert_eq!(enabled["endpoint"]["consecutive_failures"], 0);
        let sent = receiver.wait_for(7).await;
        assert_eq!(
            sent[6].header("x-pilot5-delivery-id"),
            Some(waiting.as_str())
        );
        delivery_until(&app, &key, &waiting, |d| d["status"] == "succeeded").await;
    }
}

#[tokio::test]
async fn scopes_malformed_ids_and_other_tenants_are_refused_in_the_surfaces_shape() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let key = app.test_key.clone();
        let receiver = WebhookReceiver::start().await;
        receiver.set_fallback(Reply::status(400));
        submit(&app, &receiver.url(), "Managed").await;
        receiver.wait_for(1).await;
        let delivery = newest_after(&app, &key, 1).await;
        let (id, endpoint) = (field(&delivery, "id"), field(&delivery, "endpoint_id"));
        let since = json!({"since": rfc3339(now().plus_ms(-60_000))});
        let writes = |key: &str| {
            [
                app.post(&format!("{DELIVERIES}/{id}/replay"))
                    .bearer_auth(key),
                recover(&app, key, endpoint, since.clone()),
                app.post(&format!("{ENDPOINTS}/{endpoint}/enable"))
                    .bearer_auth(key),
            ]
        };
        let reads = |key: &str| {
            [
                DELIVERIES.to_owned(),
                format!("{DELIVERIES}/{id}"),
                ENDPOINTS.to_owned(),
            ]
            .map(|path| app.get(&path).bearer_auth(key))
        };

        // A read-only key reads, and may not write; a key without the surface's
        // scopes may do neither.
        let reader = issue_key(
            &app,
            Environment::Test,
            Scopes::parse("deliberations:read").unwrap(),
        )
        .await;
        for read in reads(&reader) {
            assert_eq!(read.send().await.unwrap().status(), StatusCode::OK);
        }
        for write in writes(&reader) {
            let (status, code, message) = refusal(write.send().await.unwrap()).await;
            assert_eq!(
                (status, code.as_str(), message.as_str()),
                (
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "This API key lacks the deliberations:write scope."
                )
            );
        }
        let pilots_only = issue_key(
            &app,
            Environment::Test,
            Scopes::parse("pilots:read pilots:write").unwrap(),
        )
        .await;
        for read in reads(&pilots_only) {
            let (status, code, message) = refusal(read.send().await.unwrap()).await;
            assert_eq!(
                (status, code.as_str(), message.as_str()),
                (
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "This API key lacks the deliberations:read scope."
                )
            );
        }

        // Ids that are not ours are not found, like unknown ones.
        let unknown_delivery = "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y";
        let unknown_endpoint = "wep_01HV4Z2X8Q9T7M3N5P6R8S0W2Y";
        let not_found = [
            app.get(&format!("{DELIVERIES}/nope")),
            app.get(&format!("{DELIVERIES}/{}", id.to_lowercase())),
            app.get(&format!("{DELIVERIES}/{endpoint}")),
            app.get(&format!("{DELIVERIES}/{unknown_delivery}")),
            app.post(&format!("{DELIVERIES}/dlv_x/replay")),
            app.post(&format!("{DELIVERIES}/{unknown_delivery}/replay")),
            app.post(&format!("{ENDPOINTS}/{id}/enable")),
            app.post(&format!("{ENDPOINTS}/{unknown_endpoint}/enable")),
            app.post(&format!("{ENDPOINTS}/wep_/recover")).json(&since),
            app.post(&format!("{ENDPOINTS}/{unknown_endpoint}/recover"))
                .json(&since),
        ];
        for request in not_found {
            let (status, code, message) =
                refusal(request.bearer_auth(&key).send().await.unwrap()).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::NOT_FOUND, "not_found")
            );
            assert!(
                message == "No delivery with that id in this workspace and environment."
                    || message
                        == "No webhook endpoint with that id in this workspace and environment.",
                "{message}"
            );
        }

        // Another workspace's key, and this workspace's other environment's, see
        // none of it.
        let acme = app
            .app
            .operations(app.url.clone())
            .create_workspace(&Operator::console(), &WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap();
        for other in [acme.test.token.expose().to_owned(), app.live_key.clone()] {
            for path in [
                DELIVERIES.to_owned(),
                format!("{DELIVERIES}?endpoint={endpoint}"),
                ENDPOINTS.to_owned(),
            ] {
                let empty = app.get_json(&path, &other).await;
                assert_eq!(items(&empty).len(), 0, "{path}: {empty}");
            }
            let detail = app
                .get(&format!("{DELIVERIES}/{id}"))
                .bearer_auth(&other)
                .send()
                .await
                .unwrap();
            assert_eq!(refusal(detail).await.0, StatusCode::NOT_FOUND);
            for write in writes(&other) {
                let (status, code, _) = refusal(write.send().await.unwrap()).await;
                assert_eq!(
                    (status, code.as_str()),
                    (StatusCode::NOT_FOUND, "not_found")
                );
            }
        }
        // And nothing they asked for happened.
        let unchanged = app.get_json(&format!("{DELIVERIES}/{id}"), &key).await;
        assert_eq!(unchanged["attempts"], 1);
    }
}

/// Deliveries of `acme`'s test environment written straight into the store of a
/// data directory (no server runs: nothing is sent), for the CLI to manage: a
/// failed one to `/a`, one to `/b` whose `410` disabled its endpoint, and one
/// waiting for `/b`. Their ids, newest first.
async fn seed_deliveries(dir: &std::path::Path) -> [String; 3] {
    use pilot_domain::webhook::{DeliveryId, Verdict};
    use pilot_domain::{Credits, DeliberationId, Difficulty, FailureCode, Mode, UseCase};
    use pilot_store::{AttemptOutcome, AttemptRecord, DeliveryQuery, NewDeliberation};

    let url = format!("sqlite://{}", dir.join("pilot.db").display());
    let store = pilot_store::open(&url, &pilot_store::StoreOptions::default())
        .await
        .unwrap();
    let acme = store.find_workspace("acme").await.unwrap().unwrap().id;
    let mut ids: Vec<DeliveryId> = Vec::new();
    for (n, (path, answer)) in [
        ("a", Some((400, Verdict::Fail))),
        ("b", Some((410, Verdict::Gone))),
        ("b", None),
    ]
    .into_iter()
    .enumerate()
    {
        let at = now();
        let id = DeliberationId::from_ulid_text(&format!("01HV4Z2X8Q9T7M3N5P6R8S0W2{n}"));
        let new = NewDeliberation {
            id: id.clone(),
            key_id: None,
            mode: Mode::Smartroute1,
            use_case: UseCase::General,
            difficulty: Difficulty::Medium,
            question: "Should we price per seat or by usage?".into(),
            webhook_url: Some(format!("https://hooks.example/{path}")),
            metadata: None,
            estimate: Credits::from_credits(1),
        };
        store
            .create_deliberation(acme, Environment::Test, &new, at)
            .await
            .unwrap();
        assert!(
            store
                .fail_deliberation(&id, FailureCode::ProcessingFailed, at)
                .await
                .unwrap()
        );
        let query = DeliveryQuery {
            limit: 1,
            ..DeliveryQuery::default()
        };
        let delivery = store
            .list_deliveries(acme, Environment::Test, &query)
            .await
            .unwrap()
            .remove(0);
        if let Some((status, verdict)) = answer {
            let outcome = AttemptOutcome {
                attempt: AttemptRecord {
                    number: 1,
                    manual: false,
                    started_at: at,
                    status: Some(status),
                    response_excerpt: Some("no such order\nsorry".into()),
                    latency_ms: 12,
                    error: None,
                },
                verdict,
                retry_at: None,
            };
            store
                .record_attempt(&delivery.id, &outcome, at)
                .await
                .unwrap()
                .unwrap();
        }
        ids.push(delivery.id);
    }
    store.close().await;
    let mut ids = ids.into_iter().rev().map(|id| id.to_string());
    [(); 3].map(|()| ids.next().unwrap())
}

#[tokio::test]
async fn the_cli_lists_shows_replays_recovers_enables_and_shows_the_signing_secret() {
    use crate::cli::{after, ok, refused};

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["workspaces", "create", "acme"]);
    let [waiting, gone, failed] = seed_deliveries(dir).await;
    let acme = ["--workspace", "acme", "--env", "test"];
    let with = |args: &[&'static str]| [args, &acme[..]].concat();

    let listed = ok(dir, &with(&["deliveries", "list"]));
    assert_eq!(
        listed[0],
        format!(
            "{:<30} {:<22} {:<9} {:>8}  {:<20} {:<20} url",
            "id", "event", "status", "attempts", "created", "next attempt"
        )
    );
    assert_eq!(listed.len(), 4, "{listed:#?}");
    for (line, (id, status, attempts, url)) in listed[1..].iter().zip([
        (&waiting, "disabled", 0, "https://hooks.example/b"),
        (&gone, "failed", 1, "https://hooks.example/b"),
        (&failed, "failed", 1, "https://hooks.example/a"),
    ]) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns[0], id);
        assert_eq!(columns[1], "deliberation.failed");
        assert_eq!(columns[2], status);
        assert_eq!(columns[3], attempts.to_string());
        assert!(UnixMillis::from_rfc3339(columns[4]).is_some(), "{line}");
        assert_eq!(columns[5], "-", "no next attempt: {line}");
        assert_eq!(columns[6], url);
    }
    let disabled = ok(dir, &with(&["deliveries", "list", "--status", "disabled"]));
    assert_eq!(disabled.len(), 2);
    let paged = ok(dir, &with(&["deliveries", "list", "--limit", "1"]));
    assert_eq!(paged.len(), 3);
    assert_eq!(paged[2], format!("more: --before {waiting}"));
    let rest = ok(
        dir,
        &[
            &["deliveries", "list", "--before", waiting.as_str()][..],
            &acme[..],
        ]
        .concat(),
    );
    assert_eq!(rest.len(), 3);
    assert_eq!(
        refused(
            dir,
            &with(&["deliveries", "list", "--status", "sent", "--limit", "0"])
        ),
        "error: status must be one of pending, succeeded, failed, dead, disabled; \
         limit must be a plain decimal number from 1 to 100"
    );
    let live = ok(
        dir,
        &["deliveries", "list", "--workspace", "acme", "--env", "live"],
    );
    assert_eq!(live.len(), 1, "the live environment has none: {live:#?}");

    let shown = ok(
        dir,
        &[&["deliveries", "show", failed.as_str()][..], &acme[..]].concat(),
    );
    assert_eq!(after(&shown, "delivery:"), failed);
    assert!(after(&shown, "event:").starts_with("deliberation.failed (evt_"));
    assert!(after(&shown, "endpoint:").ends_with(" https://hooks.example/a"));
    assert_eq!(after(&shown, "status:"), "failed");
    assert_eq!(after(&shown, "attempts:"), "1");
    assert_eq!(after(&shown, "next attempt:"), "-");
    let attempt = shown.last().unwrap();
    let columns: Vec<&str> = attempt.split_whitespace().collect();
    assert_eq!(columns[0], "1");
    assert!(UnixMillis::from_rfc3339(columns[1]).is_some(), "{attempt}");
    assert_eq!(
        &columns[2..],
        ["no", "400", "12", "ms", "no", "such", "order", "sorry"]
    );
    assert_eq!(
        refused(
            dir,
            &with(&["deliveries", "show", "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y"])
        ),
        "error: No delivery with that id in this workspace and environment."
    );

    assert_eq!(
        ok(
            dir,
            &[&["deliveries", "replay", failed.as_str()][..], &acme[..]].concat()
        ),
        [format!(
            "queued a manual attempt of {failed} (failed, 1 attempts so far)"
        )]
    );

    let endpoints = ok(dir, &with(&["endpoints", "list"]));
    assert_eq!(endpoints.len(), 3, "{endpoints:#?}");
    assert!(endpoints[0].starts_with(&format!("{:<30} {:<32} {:>8}", "id", "state", "failures")));
    let endpoint_of = |line: &String| line.split_whitespace().next().unwrap().to_owned();
    let (a, b) = (endpoint_of(&endpoints[1]), endpoint_of(&endpoints[2]));
    assert!(
        endpoints[1].contains(" enabled ") && endpoints[1].ends_with(" https://hooks.example/a")
    );
    assert!(
        endpoints[2].contains(" disabled (gone) ")
            && endpoints[2].ends_with(" https://hooks.example/b"),
        "{}",
        endpoints[2]
    );

    let since = rfc3339(now().plus_ms(-3_600_000));
    assert_eq!(
        ok(
            dir,
            &[
                &[
                    "endpoints",
                    "recover",
                    a.as_str(),
                    "--since",
                    since.as_str()
                ][..],
                &acme[..]
            ]
            .concat()
        ),
        [format!(
            "queued a manual attempt of 1 dead or failed deliveries of {a} since {since}"
        )]
    );
    assert_eq!(
        refused(
            dir,
            &[
                &["endpoints", "recover", a.as_str(), "--since", "yesterday"][..],
                &acme[..]
            ]
            .concat()
        ),
        "error: since must be an RFC 3339 instant with its offset, such as 2026-04-29T10:04:12Z"
    );
    assert_eq!(
        ok(
            dir,
            &[&["endpoints", "enable", b.as_str()][..], &acme[..]].concat()
        ),
        [format!("enabled {b}; released 1 waiting deliveries")]
    );
    let pending = ok(dir, &with(&["deliveries", "list", "--status", "pending"]));
    assert!(pending[1].starts_with(&waiting), "{pending:#?}");

    // The run events' signing secret: made once, shown again, rotated.
    let secret = |args: &[&str]| {
        let lines = ok(dir, args);
        (lines[0].clone(), after(&lines, "secret:").to_owned())
    };
    let live = ["webhooks", "secret", "--workspace", "acme", "--env", "live"];
    let (said, first) = secret(&live);
    assert_eq!(said, "the run events' signing secret of acme (live)");
    assert!(first.starts_with("whsec_") && first.len() > 40, "{first}");
    assert_eq!(secret(&live).1, first);
    let (said, rotated) = secret(&[&live[..], &["--rotate"]].concat());
    assert_eq!(
        said,
        "rotated the run events' signing secret of acme (live); deliveries signed from now on use the new one"
    );
    assert!(rotated.starts_with("whsec_") && rotated != first);
    assert_eq!(secret(&live).1, rotated);
    let (_, test) = secret(&["webhooks", "secret", "--workspace", "acme", "--env", "test"]);
    assert!(
        test != rotated && test != first,
        "each environment has its own"
    );
    assert_eq!(
        refused(
            dir,
            &["webhooks", "secret", "--workspace", "nope", "--env", "live"]
        ),
        "error: no workspace named \"nope\" (see `pilot workspaces list`)"
    );
}

/// `POST /api/v1/pilots` of a one-step pilot, with `extra` fields.
async fn create_pilot(app: &TestApp, key: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"title": "Notify", "steps": [
        {"id": "shape", "type": "transform", "values": {"ok": true}}
    ]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/api/v1/pilots")
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch_pilot(app: &TestApp, key: &str, id: i64, body: Value) -> reqwest::Response {
    app.client
        .patch(format!("{}/api/v1/pilots/{id}", app.url))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A Pilots-surface refusal: `{"error": "..."}`, status and message.
async fn pilots_refusal(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let (body, _) = json_and_request_id(response).await;
    assert_eq!(keys(&body), ["error"], "{body}");
    (status, field(&body, "error").to_owned())
}

#[tokio::test]
async fn a_pilots_notify_url_is_set_changed_and_cleared() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let key = app.live_key.clone();
        let created =
            create_pilot(&app, &key, json!({"notifyUrl": "http://127.0.0.1:9/runs"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["notifyUrl"], "http://127.0.0.1:9/runs");
        let id = created["id"].as_i64().unwrap();
        let path = format!("/api/v1/pilots/{id}");
        assert_eq!(
            app.get_json(&path, &key).await["notifyUrl"],
            "http://127.0.0.1:9/runs"
        );

        let renamed: Value = patch_pilot(&app, &key, id, json!({"title": "Renamed"}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            renamed["notifyUrl"], "http://127.0.0.1:9/runs",
            "left as it was"
        );
        let moved: Value = patch_pilot(
            &app,
            &key,
            id,
            json!({"notifyUrl": "http://127.0.0.1:9/other"}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(moved["notifyUrl"], "http://127.0.0.1:9/other");
        let cleared = patch_pilot(&app, &key, id, json!({"notifyUrl": null})).await;
        assert_eq!(cleared.status(), StatusCode::OK);
        let cleared: Value = cleared.json().await.unwrap();
        assert!(cleared.get("notifyUrl").is_none(), "{cleared}");
        assert!(app.get_json(&path, &key).await.get("notifyUrl").is_none());
        let plain: Value = create_pilot(&app, &key, json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert!(plain.get("notifyUrl").is_none(), "{plain}");

        // What is not a URL events can go to is refused, naming the field, on create
        // and on patch alike.
        let long = format!("http://127.0.0.1:9/{}", "x".repeat(2048));
        for (body, says) in [
            (
                json!({"notifyUrl": "ftp://127.0.0.1/runs"}),
                "notifyUrl is not allowed",
            ),
            (
                json!({"notifyUrl": "not a url"}),
                "notifyUrl is not allowed",
            ),
            (
                json!({"notifyUrl": long}),
                "notifyUrl must be at most 2048 characters",
            ),
            (json!({"notifyUrl": 5}), "notifyUrl"),
        ] {
            let (status, message) =
                pilots_refusal(create_pilot(&app, &key, body.clone()).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
            assert!(message.contains(says), "{body}: {message}");
            let (status, message) =
                pilots_refusal(patch_pilot(&app, &key, id, body.clone()).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
            assert!(message.contains(says), "{body}: {message}");
        }
    }
}

#[tokio::test]
async fn a_notify_url_needs_https_and_a_public_address_unless_the_server_allows_them() {
    for backend in backends() {
        // Without `[webhooks] allow_http`: no plain http, even to an allowed address.
        let strict = spawn_with(backend, test_config()).await;
        // Without `[outbound] allow_list`: no loopback, even over plain http allowed.
        let mut public_only = webhook_config();
        public_only.outbound = pilot_outbound::OutboundPolicy::default();
        let public_only = spawn_with(backend, public_only).await;
        for (app, url, says) in [
            (
                &strict,
                "http://127.0.0.1:9/runs",
                "the `http` scheme is not allowed; use https",
            ),
            (
                &public_only,
                "http://127.0.0.1:9/runs",
                "127.0.0.1 is a loopback address",
            ),
            (
                &public_only,
                "https://127.0.0.1/runs",
                "127.0.0.1 is a loopback address",
            ),
            (
                &public_only,
                "http://10.1.2.3/runs",
                "10.1.2.3 is a private network address",
            ),
        ] {
            let key = app.live_key.clone();
            let (status, message) =
                pilots_refusal(create_pilot(app, &key, json!({"notifyUrl": url})).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {message}");
            assert!(
                message.starts_with("notifyUrl is not allowed: "),
                "{message}"
            );
            assert!(message.contains(says), "{url}: {message}");
            let pilot: Value = create_pilot(app, &key, json!({}))
                .await
                .json()
                .await
                .unwrap();
            let id = pilot["id"].as_i64().unwrap();
            let (status, message) =
                pilots_refusal(patch_pilot(app, &key, id, json!({"notifyUrl": url})).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {message}");
            assert!(message.contains(says), "{url}: {message}");
        }
    }
}

#[tokio::test]
async fn run_events_are_signed_with_the_environments_secret_which_rotates() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let key = app.live_key.clone();
        let receiver = WebhookReceiver::start().await;
        let created: Value = create_pilot(&app, &key, json!({"notifyUrl": receiver.url()}))
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_i64().unwrap();
        // Setting the notify URL made the live environment's secret: it is in force.
        let store = &app.db.store;
        let default = store.find_workspace("default").await.unwrap().unwrap().id;
        assert_ne!(
            store
                .ensure_signing_secret(default, Environment::Live, "v1:not-a-secret", now())
                .await
                .unwrap(),
            "v1:not-a-secret"
        );
        let ops = app.app.operations(app.url.clone());
        let operator = Operator::console();
        let shown = ops
            .signing_secret(&operator, "default", Environment::Live)
            .await
            .unwrap();
        assert!(!shown.rotated);
        receiver.set_secret(shown.secret.expose());
        let fire = || async {
            let fired = app
                .post(&format!("/api/v1/pilots/{id}/run"))
                .bearer_auth(&key)
                .json(&json!({"orderId": "1234"}))
                .send()
                .await
                .unwrap();
            assert_eq!(fired.status(), StatusCode::ACCEPTED);
        };
        fire().await;
        let got = receiver.wait_for(1).await.remove(0);
        assert_eq!(got.header("x-pilot5-event"), Some("run.completed"));
        assert!(
            got.pilot5_ok() && got.standard_ok(),
            "{:?} {:?}",
            got.pilot5,
            got.standard
        );

        // Rotated: the next delivery is signed with the new secret only.
        let rotated = ops
            .rotate_signing_secret(&operator, "default", Environment::Live)
            .await
            .unwrap();
        assert!(rotated.rotated);
        assert_ne!(rotated.secret.expose(), shown.secret.expose());
        receiver.set_secret(rotated.secret.expose());
        fire().await;
        let got = receiver.wait_for(2).await.remove(1);
        assert!(
            got.pilot5_ok() && got.standard_ok(),
            "{:?} {:?}",
            got.pilot5,
            got.standard
        );
        let test = ops
            .signing_secret(&operator, "default", Environment::Test)
            .await
            .unwrap();
        assert_ne!(
            test.secret.expose(),
            rotated.secret.expose(),
            "each environment its own"
        );
    }
}
