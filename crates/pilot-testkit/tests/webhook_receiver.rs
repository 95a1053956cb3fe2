//! The webhook receiver itself: scripted answers, exact recording, both signature
//! checks under an injected clock, waiting, hanging, capturing.

use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use pilot_domain::WebhookSecret;
use pilot_domain::webhook::{SignatureError, sign};
use pilot_testkit::webhook_receiver::{CAPTURE_DIR_VAR, Reply, WebhookReceiver};
use serde_json::Value;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// POSTs `body` with both schemes' headers, signed for `event_id` at `timestamp`.
async fn deliver(
    url: &str,
    secret: &str,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> reqwest::Response {
    let signed = sign(secret, event_id, timestamp, body).unwrap();
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", pilot_domain::webhook::USER_AGENT)
        .header("X-Pilot5-Event", "deliberation.completed")
        .header("X-Pilot5-Event-Id", event_id)
        .header("X-Pilot5-Timestamp", signed.timestamp.to_string())
        .header("X-Pilot5-Signature", &signed.pilot5)
        .header("webhook-id", event_id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", &signed.standard)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn post(url: &str, body: &'static [u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn answers_the_scripted_replies_in_order_then_the_fallback() {
    let receiver = WebhookReceiver::start().await;
    assert!(
        receiver
            .url()
            .starts_with(&format!("http://127.0.0.1:{}/", receiver.port()))
    );
    assert!(receiver.url().ends_with("/hook"));
    receiver
        .push(Reply::status(503).retry_after("120"))
        .push(Reply::status(429).retry_after("Wed, 21 Oct 2026 07:28:00 GMT"))
        .push(Reply::status(410).body("gone for good"));
    let mut answers = Vec::new();
    for _ in 0..4 {
        let response = post(&receiver.url(), b"{}").await;
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((
            response.status().as_u16(),
            retry_after,
            response.text().await.unwrap(),
        ));
    }
    assert_eq!(
        answers,
        [
            (503, Some("120".to_owned()), String::new()),
            (
                429,
                Some("Wed, 21 Oct 2026 07:28:00 GMT".to_owned()),
                String::new()
            ),
            (410, None, "gone for good".to_owned()),
            (200, None, String::new()),
        ]
    );
    receiver.set_fallback(Reply::status(500));
    assert_eq!(post(&receiver.url(), b"{}").await.status().as_u16(), 500);
    let received = receiver.wait_for(5).await;
    let statuses: Vec<u16> = received.iter().map(|r| r.reply.status).collect();
    assert_eq!(statuses, [503, 429, 410, 200, 500]);
}

#[tokio::test]
async fn records_path_headers_and_the_exact_body_bytes() {
    let receiver = WebhookReceiver::start().await;
    let body: &[u8] = b"{ \"a\" :\t1,\n \"b\": \"\xc3\xa9\" }\r\n\xff\x00";
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let response = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/some/where?x=1",
            receiver.port()
        ))
        .header("X-Pilot5-Attempt", "3")
        .header("X-Mixed-Case", "Value With Spaces")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let got = receiver.wait_for(1).await;
    let request = &got[0];
    assert_eq!(request.path, "/some/where");
    assert_eq!(request.body, body);
    assert_eq!(request.headers["x-pilot5-attempt"], "3");
    assert_eq!(request.header("X-Mixed-Case"), Some("Value With Spaces"));
    assert!(request.headers.keys().all(|k| *k == k.to_ascii_lowercase()));
    assert!(request.unix_ms >= before && request.unix_ms <= before + 10_000);
    assert!(request.at <= Instant::now());
    // No signature headers: neither scheme verifies.
    assert_eq!(request.pilot5, Err(SignatureError::Malformed));
    assert_eq!(request.standard, Err(SignatureError::Malformed));
    assert_eq!(request.captured, None);
}

#[tokio::test]
async fn other_methods_are_refused_and_not_recorded() {
    let receiver = WebhookReceiver::start().await;
    let response = reqwest::get(receiver.url()).await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn verifies_both_signatures_of_a_signed_body() {
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start().await;
    receiver.set_secret(secret.expose());
    let body = br#"{"id":"evt_1","event":"deliberation.completed"}"#;
    let now = now_secs();
    deliver(&receiver.url(), secret.expose(), "evt_1", now, body).await;
    // A body changed after signing, and a body signed with another secret.
    let signed = sign(secret.expose(), "evt_2", now, body).unwrap();
    reqwest::Client::new()
        .post(receiver.url())
        .header("X-Pilot5-Timestamp", now.to_string())
        .header("X-Pilot5-Signature", &signed.pilot5)
        .header("webhook-id", "evt_2")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", &signed.standard)
        .body(&br#"{"id":"evt_1","event":"deliberation.failed"}"#[..])
        .send()
        .await
        .unwrap();
    let other = WebhookSecret::generate();
    deliver(&receiver.url(), other.expose(), "evt_3", now, body).await;

    let got = receiver.wait_for(3).await;
    assert!(got[0].pilot5_ok() && got[0].standard_ok(), "{:?}", got[0]);
    assert_eq!(got[1].pilot5, Err(SignatureError::Mismatch));
    assert_eq!(got[1].standard, Err(SignatureError::Mismatch));
    assert_eq!(got[2].pilot5, Err(SignatureError::Mismatch));
    assert_eq!(got[2].standard, Err(SignatureError::Mismatch));
}

#[tokio::test]
async fn refuses_a_stale_signature_under_the_injected_clock() {
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start().await;
    let clock = std::sync::Arc::new(pilot_domain::ManualClock::new(pilot_domain::UnixMillis(
        1_800_000_000_000,
    )));
    receiver
        .set_secret(secret.expose())
        .set_clock(clock.clone());
    let body = br#"{"n":1}"#;
    // Signed at the manual clock's "now": verifies, days away from the system clock.
    deliver(
        &receiver.url(),
        secret.expose(),
        "evt_a",
        1_800_000_000,
        body,
    )
    .await;
    // Two days later on the manual clock, an attempt signed back then is stale …
    clock.advance_ms(2 * 86_400_000);
    deliver(
        &receiver.url(),
        secret.expose(),
        "evt_a",
        1_800_000_000,
        body,
    )
    .await;
    // … one signed afresh is not, and 300 s is the edge.
    let later = 1_800_000_000 + 2 * 86_400;
    deliver(&receiver.url(), secret.expose(), "evt_a", later - 300, body).await;
    deliver(&receiver.url(), secret.expose(), "evt_a", later + 301, body).await;
    receiver.set_tolerance_secs(400);
    deliver(&receiver.url(), secret.expose(), "evt_a", later + 301, body).await;

    let got = receiver.wait_for(5).await;
    let checks: Vec<_> = got
        .iter()
        .map(|r| (r.pilot5.clone(), r.standard.clone()))
        .collect();
    let stale = (Err(SignatureError::Stale), Err(SignatureError::Stale));
    assert_eq!(
        checks,
        [
            (Ok(()), Ok(())),
            stale.clone(),
            (Ok(()), Ok(())),
            stale,
            (Ok(()), Ok(()))
        ]
    );

    // And a closure works as well as a clock.
    receiver.set_now(|| 42).set_tolerance_secs(300);
    deliver(&receiver.url(), secret.expose(), "evt_b", 40, body).await;
    assert!(receiver.wait_for(6).await[5].pilot5_ok());
}

#[tokio::test]
async fn a_delayed_reply_waits_before_answering() {
    let receiver = WebhookReceiver::start().await;
    receiver.push(Reply::status(202).delay(Duration::from_millis(300)));
    let started = Instant::now();
    let response = post(&receiver.url(), b"{}").await;
    assert_eq!(response.status().as_u16(), 202);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Recorded on arrival, before the delay.
    let got = receiver.wait_for(1).await;
    assert!(got[0].at < started + Duration::from_millis(300));
}

#[tokio::test]
async fn a_hanging_reply_ends_when_the_receiver_is_dropped() {
    let receiver = WebhookReceiver::start().await;
    receiver.push(Reply::hang());
    let url = receiver.url();
    let client = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .body("{}")
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let got = receiver.wait_for(1).await;
    assert!(got[0].reply.hang);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!client.is_finished(), "a hanging reply answered");
    drop(receiver);
    let outcome = tokio::time::timeout(Duration::from_secs(5), client)
        .await
        .expect("the client is released when the receiver is dropped")
        .unwrap();
    assert!(
        outcome.is_err(),
        "no answer, a closed connection: {outcome:?}"
    );
}

#[tokio::test]
#[should_panic(expected = "waited 200ms for 2 request(s), 1 arrived")]
async fn wait_for_fails_the_test_instead_of_hanging() {
    let receiver = WebhookReceiver::start().await;
    receiver.set_wait_timeout(Duration::from_millis(200));
    post(&receiver.url(), b"{}").await;
    receiver.wait_for(2).await;
}

/// The wait is on wall-clock time: a paused tokio clock, which jumps to the next timer
/// whenever the runtime idles on I/O, does not end it early.
#[tokio::test(start_paused = true)]
async fn wait_for_is_not_fooled_by_a_paused_tokio_clock() {
    let receiver = WebhookReceiver::start().await;
    let port = receiver.port();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    });
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].body, b"{}");
    let answer = tokio::task::spawn_blocking(move || sender.join().unwrap())
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn captures_each_request_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start().await;
    receiver
        .set_secret(secret.expose())
        .set_capture_dir(Some(dir.path().to_owned()));
    let body = b"{\"id\": \"evt_c\"}\n";
    deliver(&receiver.url(), secret.expose(), "evt_c", now_secs(), body).await;
    deliver(&receiver.url(), secret.expose(), "evt_d", now_secs(), body).await;
    let got = receiver.wait_for(2).await;

    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(got[0].captured.as_ref(), Some(&files[0]));
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(
        name.contains(&format!("-{}-", receiver.port())) && name.ends_with(".json"),
        "{name}"
    );
    let capture: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(capture["secret"], secret.expose());
    assert_eq!(capture["headers"]["webhook-id"], "evt_c");
    assert_eq!(
        capture["headers"]["x-pilot5-signature"],
        got[0].headers["x-pilot5-signature"]
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(capture["body_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, body);
    assert_eq!(capture["received_at"], got[0].unix_ms / 1000);
}

/// Signed deliveries for CI's outside verifiers (`.ci/verify_webhooks.py`): with
/// `PILOT_TEST_CAPTURE_DIR` set, they land there; otherwise in a temporary directory.
#[tokio::test]
async fn signed_deliveries_are_captured_for_outside_verifiers() {
    let scratch = tempfile::tempdir().unwrap();
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start().await;
    receiver.set_secret(secret.expose());
    if std::env::var_os(CAPTURE_DIR_VAR).is_none() {
        receiver.set_capture_dir(Some(scratch.path().to_owned()));
    }
    let bodies = [
        (
            "evt_01HV4Z2X8Q9T7M3N5P6R8S0W2Y",
            r#"{"id":"evt_01HV4Z2X8Q9T7M3N5P6R8S0W2Y","event":"deliberation.completed","created_at":"2026-04-29T10:04:12Z","data":{"deliberation_id":"del_01HXYZ","status":"completed","credits_charged":3.87,"metadata":{"z":1,"order_id":"ord_123"}}}"#,
        ),
        (
            "evt_01HV4Z2X8Q9T7M3N5P6R8S0W2Z",
            "{\n  \"id\": \"evt_01HV4Z2X8Q9T7M3N5P6R8S0W2Z\",\n  \"event\": \"run.failed\",\n  \"data\": {\"error\": \"caf\u{e9} \u{2014} d\u{e9}j\u{e0} vu\"}\n}",
        ),
    ];
    for (event_id, body) in bodies {
        deliver(
            &receiver.url(),
            secret.expose(),
            event_id,
            now_secs(),
            body.as_bytes(),
        )
        .await;
    }
    let got = receiver.wait_for(2).await;
    for request in &got {
        assert!(request.pilot5_ok() && request.standard_ok(), "{request:?}");
        assert!(request.captured.is_some(), "not captured: {request:?}");
    }
}
