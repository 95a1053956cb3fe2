//! Slow clients and slow requests: the header-read timeout, the body timeout, the
//! whole-request timeout (with event streams going on past it) and the bound on
//! connections. Timeouts are configured short and waited for on the socket — an
//! answer or the server closing — under a generous hang guard; nothing here measures
//! time.

use std::time::Duration;

use pilot_domain::{Environment, Scope, Scopes};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::harness::{
    TestApp, issue_key, json_and_request_id, spawn_node, spawn_with, test_config,
};
use crate::raw::{self, HANG_GUARD, assert_shaped};

const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";

#[tokio::test]
async fn half_sent_heads_and_idle_connections_are_closed_at_the_header_read_timeout() {
    for backend in backends() {
        let mut config = test_config();
        config.http.header_read_timeout_ms = 100;
        let app = spawn_with(backend, config).await;

        // A head that never ends: closed, with nothing said.
        let mut half = raw::connect(&app.url).await;
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: pilot\r\nX-Waiting: ")
            .await
            .unwrap();
        assert_eq!(raw::read_to_close(&mut half).await, b"");

        // A keep-alive connection is served, then closed once idle that long.
        let mut idle = raw::connect(&app.url).await;
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: pilot\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(raw::read_response(&mut idle).await.status, 200);
        assert_eq!(raw::read_to_close(&mut idle).await, b"");

        // Clients that send their heads promptly are unaffected.
        let me = app
            .get("/api/v1/me")
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
    }
}

/// A head announcing `Content-Length: 100` followed by fewer bytes.
fn short_body(path: &str, key: &str, extra_headers: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: pilot\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\n{extra_headers}Content-Length: 100\r\n\r\n{{\"question\": "
    )
}

#[tokio::test]
async fn bodies_shorter_than_their_content_length_are_408_in_the_surface_shape() {
    for backend in backends() {
        let mut config = test_config();
        config.http.body_read_timeout_ms = 100;
        let app = spawn_with(backend, config).await;
        let key = &app.test_key;
        for (path, code, extra) in [
            ("/v1/api/deliberations", Some("request_timeout"), ""),
            ("/api/v1/pilots", None, ""),
            // The idempotency layer reads the body before it claims the key.
            ("/api/v1/pilots", None, "Idempotency-Key: cut-short\r\n"),
        ] {
            let mut stream = raw::connect(&app.url).await;
            stream
                .write_all(short_body(path, key, extra).as_bytes())
                .await
                .unwrap();
            // Answered, then closed: the rest of the body may still be coming.
            let response = raw::parse(&raw::read_to_close(&mut stream).await).expect("an answer");
            let message = assert_shaped(&response, 408, code);
            assert!(message.contains("did not arrive"), "{message}");
            assert_eq!(response.header("connection"), Some("close"));
        }

        // The cut request claimed nothing: the key runs afresh.
        let created = app
            .post("/api/v1/pilots")
            .bearer_auth(key)
            .header("Idempotency-Key", "cut-short")
            .json(&json!({"title": "Whole", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert!(created.headers().get("idempotent-replayed").is_none());
    }
}

async fn pilot_count(app: &TestApp) -> usize {
    app.get_json("/api/v1/pilots", &app.test_key).await["pilots"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn requests_past_the_request_timeout_are_503_and_idempotent_ones_keep_their_answer() {
    for backend in backends() {
        let mut config = test_config();
        config.http.request_timeout_ms = 1_000;
        // The moderation call (on the scripted model in test mode) makes a submit slow.
        config.deliberations.moderation = true;
        let app = spawn_with(backend, config).await;
        let key = &app.test_key;
        let slow_pilot = |slow_ms: u64| json!({"title": "Slow", "description": format!("Summarise orders [[scripted:slow={slow_ms}]]")});

        // Drafting that outlasts the timeout: 503 in the Pilots shape, nothing created.
        let response = app
            .post("/api/v1/pilots")
            .bearer_auth(key)
            .json(&slow_pilot(60_000))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let (body, _) = json_and_request_id(response).await;
        assert!(
            body["error"].as_str().unwrap().contains("did not finish"),
            "{body}"
        );

        // The same on the Deliberations surface, in its shape.
        let response = app
            .post("/v1/api/deliberations")
            .bearer_auth(key)
            .json(&json!({"question": format!("{QUESTION} [[scripted:slow=60000]]")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let (body, request_id) = json_and_request_id(response).await;
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert_eq!(body["error"]["request_id"], request_id.as_str());
        assert_eq!(pilot_count(&app).await, 0);

        // With an Idempotency-Key the request runs to its end behind the 503 and keeps
        // its answer: the retry replays it instead of drafting again.
        let body = slow_pilot(3_000);
        let send = || {
            app.post("/api/v1/pilots")
                .bearer_auth(key)
                .header("Idempotency-Key", "slow-once")
                .json(&body)
                .send()
        };
        assert_eq!(
            send().await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        tokio::time::timeout(HANG_GUARD, async {
            while pilot_count(&app).await == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the idempotent request finishes behind its 503");
        let replayed = send().await.unwrap();
        assert_eq!(replayed.status(), StatusCode::CREATED);
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        assert_eq!(pilot_count(&app).await, 1);
    }
}

#[tokio::test]
async fn event_streams_go_on_past_the_request_timeout() {
    for backend in backends() {
        let mut config = test_config();
        config.http.request_timeout_ms = 500;
        let app = spawn_with(backend, config).await;
        let key = &app.test_key;
        // Every panel call waits a second: the deliberation outlasts the timeout.
        let submitted: Value = app
            .post("/v1/api/deliberations")
            .bearer_auth(key)
            .json(&json!({"question": format!("{QUESTION} [[scripted:slow=1000]]"), "mode": "smartroute1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = submitted["deliberation_id"].as_str().expect("submitted");
        let stream = app
            .get(&format!("/v1/api/deliberations/{id}/events"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        let text = tokio::time::timeout(HANG_GUARD, stream.text())
            .await
            .expect("the stream ends after the terminal event")
            .unwrap();
        assert!(text.contains("event: completed"), "{text}");
    }
}

#[tokio::test]
async fn connections_past_max_connections_wait_until_one_closes() {
    for backend in backends() {
        let mut config = test_config();
        config.http.max_connections = 2;
        let app = spawn_with(backend, config).await;
        const GET: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: pilot\r\n\r\n";

        // Two keep-alive connections, both served and held open.
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = raw::connect(&app.url).await;
            stream.write_all(GET).await.unwrap();
            assert_eq!(raw::read_response(&mut stream).await.status, 200);
            held.push(stream);
        }

        // A third connects (the kernel's backlog takes it) and asks, but is not served…
        let mut waiting = raw::connect(&app.url).await;
        waiting.write_all(GET).await.unwrap();
        // …while the held ones still are, so the server is not merely slow.
        held[0].write_all(GET).await.unwrap();
        assert_eq!(raw::read_response(&mut held[0]).await.status, 200);
        let mut buffer = [0_u8; 64];
        match waiting.try_read(&mut buffer) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the third connection was answered: {other:?}"),
        }

        // Once one closes, the waiting one is accepted and answered.
        drop(held.pop());
        assert_eq!(raw::read_response(&mut waiting).await.status, 200);
    }
}

#[tokio::test]
async fn event_streams_are_bounded_per_key() {
    for backend in backends() {
        let mut config = test_config();
        config.http.max_event_streams_per_key = 1;
        // No worker: the deliberation stays queued, so its streams stay open.
        let app = spawn_node(backend, config, false).await;
        let key = &app.test_key;
        let submitted: Value = app
            .post("/v1/api/deliberations")
            .bearer_auth(key)
            .json(&json!({"question": QUESTION}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = format!(
            "/v1/api/deliberations/{}/events",
            submitted["deliberation_id"].as_str().expect("submitted")
        );
        let open = |key: &str| app.get(&events).bearer_auth(key).send();

        let first = open(key).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let refused = open(key).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        let (body, request_id) = json_and_request_id(refused).await;
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        assert_eq!(body["error"]["request_id"], request_id.as_str());

        // The bound is per key: another key of the tenant still gets its stream.
        let reader = issue_key(
            &app,
            Environment::Test,
            Scopes::new(vec![Scope::DeliberationsRead]),
        )
        .await;
        let other = open(&reader).await.unwrap();
        assert_eq!(other.status(), StatusCode::OK);

        // A stream whose client goes away gives its slot back.
        drop(first);
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                let again = open(key).await.unwrap();
                if again.status() == StatusCode::OK {
                    break;
                }
                assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the slot is given back");
    }
}
