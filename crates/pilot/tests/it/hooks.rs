//! The webhook trigger with real senders' bodies: JSON as is, forms, multipart with
//! files, raw text and bytes, each run's payload read back through a step.

use std::future::IntoFuture;

use pilot_testkit::backends;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_with, test_config};
use crate::pilots::{create, finished_run};

/// A webhook pilot whose one step outputs its whole payload; its URL.
async fn echo_pilot(app: &TestApp) -> (i64, String) {
    let pilot = create(
        app,
        &app.live_key,
        json!({"title": "Echo", "triggerType": "webhook",
               "steps": [{"id": "echo", "type": "transform", "values": {"payload": "{{ trigger | tojson }}"}}]}),
    )
    .await;
    let url = pilot["webhookUrl"].as_str().unwrap().to_owned();
    (pilot["id"].as_i64().unwrap(), url)
}

/// Sends `request`, asserting `202`; the payload the run saw.
async fn payload_of(app: &TestApp, request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = finished_run(app, &app.live_key, body["jobId"].as_i64().unwrap()).await;
    assert_eq!(run["status"], "success", "{run}");
    match &run["steps"][0]["output"]["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

#[tokio::test]
async fn every_kind_of_body_becomes_a_payload() {
    for backend in backends() {
        let mut config = test_config();
        config.http.body_limit_bytes = 1024 * 1024;
        let app = spawn_with(backend, config).await;
        let (_, url) = echo_pilot(&app).await;

        // JSON, with or without a Content-Type: the payload as is.
        let p = payload_of(
            &app,
            app.client
                .post(&url)
                .json(&json!({"orderId": "1234", "total": 49.0})),
        )
        .await;
        assert_eq!(p, json!({"orderId": "1234", "total": 49.0}));
        let p = payload_of(&app, app.client.post(&url).body(r#"[1, 2]"#)).await;
        assert_eq!(p, json!([1, 2]));
        let p = payload_of(&app, app.client.post(&url)).await;
        assert_eq!(p, json!({}));

        // A form, as Slack's commands and Twilio send: fields under `form`, the
        // request beside them, credentials left out.
        let p = payload_of(
            &app,
            app.client
                .post(format!("{url}?source=slack&source=x"))
                .header("Authorization", "Bearer secret-never-shown")
                .header("Cookie", "c=1")
                .header("X-Slack-Signature", "v0=abc")
                .form(&[
                    ("command", "/order"),
                    ("text", "1234 now"),
                    ("tag", "a"),
                    ("tag", "b"),
                ]),
        )
        .await;
        assert_eq!(
            p["form"],
            json!({"command": "/order", "text": "1234 now", "tag": ["a", "b"]})
        );
        assert_eq!(p["request"]["method"], "POST");
        assert_eq!(p["request"]["query"], json!({"source": ["slack", "x"]}));
        assert_eq!(
            p["request"]["contentType"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(p["request"]["headers"]["x-slack-signature"], "v0=abc");
        assert!(p["request"]["headers"].get("authorization").is_none());
        assert!(p["request"]["headers"].get("cookie").is_none());
        assert!(!p.to_string().contains("secret-never-shown"));

        // Multipart: fields, a small file with its content, a large one omitted.
        let big = vec![7u8; pilot_operations::triggers::MAX_WEBHOOK_FILE_BYTES + 1];
        let form = Form::new()
            .text("subject", "Order 1234")
            .part(
                "small",
                Part::bytes(vec![0u8, 1, 2])
                    .file_name("a.bin")
                    .mime_str("application/octet-stream")
                    .unwrap(),
            )
            .part(
                "big",
                Part::bytes(big)
                    .file_name("big.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        let p = payload_of(&app, app.client.post(&url).multipart(form)).await;
        assert_eq!(p["form"], json!({"subject": "Order 1234"}));
        assert_eq!(
            p["files"],
            json!([
                {"field": "small", "name": "a.bin", "contentType": "application/octet-stream", "size": 3, "content": "AAEC"},
                {"field": "big", "name": "big.png", "contentType": "image/png",
                 "size": pilot_operations::triggers::MAX_WEBHOOK_FILE_BYTES + 1, "omitted": true}
            ])
        );
        assert!(
            p["request"]["contentType"]
                .as_str()
                .unwrap()
                .starts_with("multipart/form-data; boundary=")
        );

        // Raw text, and bytes that are not UTF-8.
        let p = payload_of(
            &app,
            app.client
                .post(&url)
                .header("Content-Type", "text/plain")
                .body("order 1234 in"),
        )
        .await;
        assert_eq!(p["text"], "order 1234 in");
        let p = payload_of(
            &app,
            app.client
                .post(&url)
                .header("Content-Type", "application/xml")
                .body("<order id=\"1\"/>"),
        )
        .await;
        assert_eq!(p["text"], "<order id=\"1\"/>");
        let p = payload_of(
            &app,
            app.client
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .body(vec![0xffu8, 0xfe, 0]),
        )
        .await;
        assert_eq!(p["base64"], "//4A");
        assert_eq!(p["request"]["contentType"], "application/octet-stream");

        // A body that says it is JSON and is not: 400 in the Pilots shape.
        let bad = app
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let error: Value = bad.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("not valid JSON"),
            "{error}"
        );
    }
}

/// The runs of `pilot`, newest first.
async fn runs_of(app: &TestApp, pilot: i64) -> Vec<Value> {
    let body: Value = app
        .get_json(&format!("/api/v1/pilots/{pilot}/runs"), &app.live_key)
        .await;
    body["runs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn get_and_head_check_the_url_and_queue_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (pilot, url) = echo_pilot(&app).await;

        let plain = app.client.get(&url).send().await.unwrap();
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.json::<Value>().await.unwrap(), json!({"ok": true}));

        for query in [
            "challenge=abc123",
            "hub.mode=subscribe&hub.challenge=abc123&hub.verify_token=t",
        ] {
            let echo = app
                .client
                .get(format!("{url}?{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(echo.status(), StatusCode::OK, "{query}");
            let content_type = echo.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(content_type.starts_with("text/plain"), "{content_type}");
            assert_eq!(echo.text().await.unwrap(), "abc123");
        }
        let too_long = app
            .client
            .get(format!("{url}?challenge={}", "a".repeat(1025)))
            .send()
            .await
            .unwrap();
        assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);

        for query in ["", "?challenge=abc123"] {
            let head = app
                .client
                .head(format!("{url}{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), StatusCode::OK, "HEAD {query}");
            assert_eq!(head.bytes().await.unwrap().len(), 0);
        }

        let unknown = app
            .client
            .get(format!("{}/hooks/pilots/wh_nope?challenge=x", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            unknown.json::<Value>().await.unwrap(),
            json!({"error": "Unknown webhook."})
        );
        let head = app
            .client
            .head(format!("{}/hooks/pilots/wh_nope", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND);

        assert_eq!(runs_of(&app, pilot).await, Vec::<Value>::new());
    }
}

/// `PATCH /api/v1/pilots/{pilot}` with `body`, asserting `200`; the pilot.
async fn patch(app: &TestApp, pilot: i64, body: Value) -> Value {
    let response = app
        .client
        .patch(format!("{}/api/v1/pilots/{pilot}", app.url))
        .bearer_auth(&app.live_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_paused_pilot_is_409_and_an_unknown_token_404_in_the_pilots_shape() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (pilot, url) = echo_pilot(&app).await;
        patch(&app, pilot, json!({"status": "paused"})).await;

        // Whatever the body, even one that would be 400: nothing queued.
        for body in [r#"{"n": 1}"#, "{"] {
            let response = app
                .client
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CONFLICT, "{body}");
            assert_eq!(
                response.json::<Value>().await.unwrap(),
                json!({"error": "Pilot is paused. Set its status to active to run it."})
            );
        }
        let form = app
            .client
            .post(&url)
            .form(&[("a", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::CONFLICT);
        // The URL is still the pilot's: a sender's check passes.
        let get = app.client.get(&url).send().await.unwrap();
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(runs_of(&app, pilot).await, Vec::<Value>::new());

        // Active again, the same URL fires.
        patch(&app, pilot, json!({"status": "active"})).await;
        let p = payload_of(&app, app.client.post(&url).json(&json!({"n": 2}))).await;
        assert_eq!(p, json!({"n": 2}));

        // Unknown tokens — malformed, well formed but unknown, a pilot's that is no
        // longer a webhook pilot's — are 404 whatever the method.
        let unknown_shape = json!({"error": "Unknown webhook."});
        let mut unknown = vec![
            format!("{}/hooks/pilots/nope", app.url),
            format!(
                "{}/hooks/pilots/wh_ijqK8cdJYLIyRDM9zCauNLfocEXLARXe",
                app.url
            ),
        ];
        let (other, other_url) = echo_pilot(&app).await;
        patch(&app, other, json!({"triggerType": "manual"})).await;
        unknown.push(other_url);
        for url in &unknown {
            let post = app.client.post(url).json(&json!({})).send().await.unwrap();
            assert_eq!(post.status(), StatusCode::NOT_FOUND, "{url}");
            assert_eq!(post.json::<Value>().await.unwrap(), unknown_shape);
            let form = app
                .client
                .post(url)
                .form(&[("a", "1")])
                .send()
                .await
                .unwrap();
            assert_eq!(form.status(), StatusCode::NOT_FOUND, "{url}");
            let get = app.client.get(url).send().await.unwrap();
            assert_eq!(get.status(), StatusCode::NOT_FOUND, "{url}");
        }
        assert_eq!(runs_of(&app, other).await, Vec::<Value>::new());
    }
}

#[tokio::test]
async fn rotating_the_token_stops_the_old_url_at_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (pilot, old) = echo_pilot(&app).await;
        let shown: Value = app
            .get_json(&format!("/api/v1/pilots/{pilot}"), &app.live_key)
            .await;
        assert_eq!(shown["webhookUrl"], old.as_str());

        // `false` (and any other patch) keeps the token.
        let kept = patch(
            &app,
            pilot,
            json!({"rotateWebhookToken": false, "title": "Echo 2"}),
        )
        .await;
        assert_eq!(kept["webhookUrl"], old.as_str());

        let rotated = patch(&app, pilot, json!({"rotateWebhookToken": true})).await;
        let new = rotated["webhookUrl"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert!(new.contains("/hooks/pilots/wh_"), "{new}");
        let shown: Value = app
            .get_json(&format!("/api/v1/pilots/{pilot}"), &app.live_key)
            .await;
        assert_eq!(shown["webhookUrl"], new.as_str());

        let gone = app
            .client
            .post(&old)
            .json(&json!({"n": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            gone.json::<Value>().await.unwrap(),
            json!({"error": "Unknown webhook."})
        );
        let check = app.client.get(&old).send().await.unwrap();
        assert_eq!(check.status(), StatusCode::NOT_FOUND);
        assert_eq!(runs_of(&app, pilot).await, Vec::<Value>::new());

        let p = payload_of(&app, app.client.post(&new).json(&json!({"n": 2}))).await;
        assert_eq!(p, json!({"n": 2}));

        // Only a webhook pilot has a token to rotate.
        let manual = crate::pilots::create(
            &app,
            &app.live_key,
            json!({"title": "Manual", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]}),
        )
        .await;
        let refused = app
            .client
            .patch(format!("{}/api/v1/pilots/{}", app.url, manual["id"]))
            .bearer_auth(&app.live_key)
            .json(&json!({"rotateWebhookToken": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = refused.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("rotateWebhookToken"),
            "{error}"
        );
    }
}

/// HMAC-SHA256 of `data` keyed with `secret`'s text.
fn hmac(secret: &str, data: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn signed_senders_pass_and_bad_or_missing_signatures_are_401() {
    use base64::Engine as _;
    use pilot_domain::webhook::signature::sign;
    let b64 = base64::engine::general_purpose::STANDARD;
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const PLAIN: &str = "a-shared-secret";
    let body = br#"{"orderId": "1234"}"#.to_vec();

    for backend in backends() {
        let app = spawn_app(backend).await;
        let (pilot, url) = echo_pilot(&app).await;
        let now = now_secs();
        let stale = now - 301;

        // (verification, good headers, bad headers, a replayed old timestamp's)
        type Headers = Vec<(&'static str, String)>;
        let cases: Vec<(Value, Headers, Headers, Option<Headers>)> = vec![
            (
                json!({"scheme": "pilot5", "secret": WHSEC}),
                {
                    let s = sign(WHSEC, "evt_1", now, &body).unwrap();
                    vec![
                        ("X-Pilot5-Signature", s.pilot5),
                        ("X-Pilot5-Timestamp", now.to_string()),
                    ]
                },
                vec![
                    (
                        "X-Pilot5-Signature",
                        format!("t={now},v1={}", "00".repeat(32)),
                    ),
                    ("X-Pilot5-Timestamp", now.to_string()),
                ],
                Some({
                    let s = sign(WHSEC, "evt_1", stale, &body).unwrap();
                    vec![
                        ("X-Pilot5-Signature", s.pilot5),
                        ("X-Pilot5-Timestamp", stale.to_string()),
                    ]
                }),
            ),
            (
                json!({"scheme": "standard-webhooks", "secret": WHSEC}),
                {
                    let s = sign(WHSEC, "msg_1", now, &body).unwrap();
                    vec![
                        ("webhook-id", "msg_1".into()),
                        ("webhook-timestamp", now.to_string()),
                        ("webhook-signature", s.standard),
                    ]
                },
                {
                    let s = sign(WHSEC, "msg_other", now, &body).unwrap();
                    vec![
                        ("webhook-id", "msg_1".into()),
                        ("webhook-timestamp", now.to_string()),
                        ("webhook-signature", s.standard),
                    ]
                },
                Some({
                    let s = sign(WHSEC, "msg_1", stale, &body).unwrap();
                    vec![
                        ("webhook-id", "msg_1".into()),
                        ("webhook-timestamp", stale.to_string()),
                        ("webhook-signature", s.standard),
                    ]
                }),
            ),
            (
                json!({"scheme": "github", "secret": PLAIN}),
                vec![(
                    "X-Hub-Signature-256",
                    format!("sha256={}", hex::encode(hmac(PLAIN, &body))),
                )],
                vec![(
                    "X-Hub-Signature-256",
                    format!("sha256={}", hex::encode(hmac("wrong", &body))),
                )],
                None,
            ),
            (
                json!({"scheme": "stripe", "secret": WHSEC}),
                {
                    let mac = hmac(
                        WHSEC,
                        format!("{now}.{}", String::from_utf8_lossy(&body)).as_bytes(),
                    );
                    vec![(
                        "Stripe-Signature",
                        format!("t={now},v1={}", hex::encode(mac)),
                    )]
                },
                vec![(
                    "Stripe-Signature",
                    format!("t={now},v1={}", "ab".repeat(32)),
                )],
                Some({
                    let mac = hmac(
                        WHSEC,
                        format!("{stale}.{}", String::from_utf8_lossy(&body)).as_bytes(),
                    );
                    vec![(
                        "Stripe-Signature",
                        format!("t={stale},v1={}", hex::encode(mac)),
                    )]
                }),
            ),
            (
                json!({"scheme": "hmac-sha256", "secret": PLAIN, "header": "X-Signature", "encoding": "base64"}),
                vec![("X-Signature", b64.encode(hmac(PLAIN, &body)))],
                vec![("X-Signature", b64.encode(hmac(PLAIN, b"other body")))],
                None,
            ),
            (
                json!({"scheme": "hmac-sha256", "secret": PLAIN, "header": "X-Signature"}),
                vec![("X-Signature", hex::encode(hmac(PLAIN, &body)))],
                vec![("X-Signature", "zz".into())],
                None,
            ),
        ];
        let mut queued = 0;
        for (verification, good, bad, replayed) in cases {
            let shown = patch(&app, pilot, json!({"webhookVerification": verification})).await;
            assert_eq!(
                shown["webhookVerification"]["scheme"],
                verification["scheme"]
            );
            assert!(
                !shown
                    .to_string()
                    .contains(verification["secret"].as_str().unwrap()),
                "{shown}"
            );

            let send = |headers: &Headers| {
                let mut request = app
                    .client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(body.clone());
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                request
            };
            let p = payload_of(&app, send(&good)).await;
            assert_eq!(p, json!({"orderId": "1234"}), "{verification}");
            queued += 1;
            let mut refused = vec![("bad", bad), ("missing", vec![])];
            if let Some(replayed) = replayed {
                refused.push(("replayed", replayed));
            }
            for (what, headers) in refused {
                let response = send(&headers).send().await.unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{what} {verification}"
                );
                let error: Value = response.json().await.unwrap();
                assert_eq!(
                    error,
                    json!({"error": "The webhook signature is missing or does not match."})
                );
            }
            assert_eq!(runs_of(&app, pilot).await.len(), queued, "{verification}");
        }

        // Bad settings are 422; null removes the verification.
        for bad in [
            json!({"scheme": "nope", "secret": PLAIN}),
            json!({"scheme": "standard-webhooks", "secret": PLAIN}),
            json!({"scheme": "hmac-sha256", "secret": PLAIN}),
            json!({"scheme": "github", "secret": PLAIN, "header": "X"}),
            json!({"scheme": "stripe", "secret": PLAIN, "toleranceSecs": 0}),
        ] {
            let response = app
                .client
                .patch(format!("{}/api/v1/pilots/{pilot}", app.url))
                .bearer_auth(&app.live_key)
                .json(&json!({"webhookVerification": bad}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let cleared = patch(&app, pilot, json!({"webhookVerification": null})).await;
        assert!(cleared.get("webhookVerification").is_none(), "{cleared}");
        let p = payload_of(&app, app.client.post(&url).json(&json!({"n": 1}))).await;
        assert_eq!(p, json!({"n": 1}));
    }
}

/// A JSON body stays the payload as is, and the request beside it is `request`:
/// method, query, content type and headers, credentials left out. A pilot created
/// with `webhookVerification` checks senders from its first request, and a retry
/// keeps the request its original saw.
#[tokio::test]
async fn a_json_run_reads_its_request_and_verification_is_set_at_create() {
    const SECRET: &str = "created-with-a-secret";
    for backend in backends() {
        let app = spawn_app(backend).await;
        let pilot = create(
            &app,
            &app.live_key,
            json!({"title": "GitHub events", "triggerType": "webhook",
                   "webhookVerification": {"scheme": "github", "secret": SECRET},
                   "steps": [{"id": "seen", "type": "transform", "values": {
                       "event": "{{ request.headers['x-github-event'] }}",
                       "method": "{{ request.method }}",
                       "query": "{{ request.query.source }}",
                       "auth": "{{ request.headers.authorization is defined }}",
                       "action": "{{ trigger.action }}"}}]}),
        )
        .await;
        assert_eq!(pilot["webhookVerification"]["scheme"], "github", "{pilot}");
        assert!(
            !pilot.to_string().contains(SECRET),
            "the secret is write-only"
        );
        let url = format!("{}?source=ci", pilot["webhookUrl"].as_str().unwrap());
        let body = br#"{"action": "opened"}"#.to_vec();
        let unsigned = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
        let signature = format!("sha256={}", hex::encode(hmac(SECRET, &body)));
        let response = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-hub-signature-256", signature)
            .header("authorization", "Bearer not-for-steps")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let queued: Value = response.json().await.unwrap();
        let run = finished_run(&app, &app.live_key, queued["jobId"].as_i64().unwrap()).await;
        assert_eq!(run["status"], "success", "{run}");
        let seen = &run["steps"][0]["output"];
        assert_eq!(
            seen,
            &json!({"action": "opened", "auth": false, "event": "pull_request",
                    "method": "POST", "query": "ci"}),
            "{run}"
        );
        let retried = app
            .post(&format!("/api/v1/runs/{}/retry", run["id"]))
            .bearer_auth(&app.live_key)
            .send()
            .await
            .unwrap();
        let retried: Value = retried.json().await.unwrap();
        let again = finished_run(&app, &app.live_key, retried["jobId"].as_i64().unwrap()).await;
        assert_eq!(again["firedBy"], "retry");
        assert_eq!(&again["steps"][0]["output"], seen, "{again}");
    }
}

/// `[environments] accept = ["live"]` on a second server over the same store: a test
/// pilot's webhook URL is unknown there (404), while the server accepting both fires
/// it, and a live pilot's fires on either.
#[tokio::test]
async fn a_live_only_server_does_not_know_test_pilots_webhooks() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let steps = json!([{"id": "echo", "type": "transform", "values": {"n": "1"}}]);
        let mut urls = Vec::new();
        for key in [&app.test_key, &app.live_key] {
            let pilot = create(
                &app,
                key,
                json!({"title": "Hook", "triggerType": "webhook", "steps": steps}),
            )
            .await;
            urls.push(pilot["webhookUrl"].as_str().unwrap().to_owned());
        }

        let mut config = test_config();
        config.environments.accept = vec![pilot_domain::Environment::Live];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let router = app
            .node(config)
            .await
            .router(live_url.clone(), shutdown.clone());
        let server = tokio::spawn(axum::serve(listener, router).into_future());

        let on_live_only = |url: &str| url.replacen(&app.url, &live_url, 1);
        let (test_hook, live_hook) = (&urls[0], &urls[1]);
        let refused = app
            .client
            .post(on_live_only(test_hook))
            .json(&json!({}))
            .send();
        let refused = refused.await.unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{backend:?}");
        for url in [
            on_live_only(live_hook),
            live_hook.clone(),
            test_hook.clone(),
        ] {
            let fired = app.client.post(&url).json(&json!({})).send().await.unwrap();
            assert_eq!(fired.status(), StatusCode::ACCEPTED, "{url} on {backend:?}");
        }
        shutdown.cancel();
        server.abort();
    }
}
