//! Request heads over the application's limits are answered in the surface's shape
//! with a request id (`414`, `431`); what hyper answers itself — malformed heads,
//! heads past its raised ceilings — goes out bare, as README "Limits and timeouts"
//! says.

use pilot_testkit::backends;

use crate::harness::spawn_app;
use crate::raw::{self, RawResponse, assert_shaped};

fn get(path: &str, headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: pilot\r\nConnection: close\r\n{headers}\r\n")
}

/// hyper's own answer: a status and nothing else — no body, no request id.
fn assert_bare(response: &RawResponse, status: u16) {
    assert_eq!(response.status, status, "{response:?}");
    assert!(response.header("x-request-id").is_none(), "{response:?}");
    assert_eq!(response.body, "", "{response:?}");
}

#[tokio::test]
async fn heads_over_the_limits_are_414_and_431_in_the_surface_shape() {
    let backend = backends()[0];
    let app = spawn_app(backend).await;
    let long_query = format!("?q={}", "a".repeat(9 * 1024));
    let many: String = (0..150).map(|i| format!("X-Pad-{i}: v\r\n")).collect();
    let big = format!("X-Pad: {}\r\n", "v".repeat(20 * 1024));
    // No key needed: the head is judged before authentication.
    for (prefix, code) in [
        ("/api/v1/pilots", None),
        ("/v1/api/deliberations", Some(())),
        ("/healthz", None),
    ] {
        let shape = |c: &'static str| code.map(|()| c);
        let response = raw::exchange(
            &app.url,
            get(&format!("{prefix}{long_query}"), "").as_bytes(),
        )
        .await
        .expect("an answer");
        let message = assert_shaped(&response, 414, shape("uri_too_long"));
        assert!(message.contains("8192 bytes"), "{message}");
        for headers in [&many, &big] {
            let response = raw::exchange(&app.url, get(prefix, headers).as_bytes())
                .await
                .expect("an answer");
            assert_shaped(&response, 431, shape("headers_too_large"));
        }
    }
}

#[tokio::test]
async fn what_hyper_answers_itself_goes_out_bare() {
    let backend = backends()[0];
    let app = spawn_app(backend).await;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        // Malformed request lines and header lines: no request to route.
        (
            b"GET /healthz HTTP/1.1 extra\r\nHost: pilot\r\n\r\n".to_vec(),
            400,
        ),
        (b"NOT A REQUEST\r\n\r\n".to_vec(), 400),
        (
            b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n".to_vec(),
            400,
        ),
        // A URI past what the `http` crate can hold (64 KiB).
        (
            get(&format!("/healthz?q={}", "a".repeat(70 * 1024)), "").into_bytes(),
            414,
        ),
        // A head past hyper's ceiling (four times the application's limits).
        (
            get(
                "/healthz",
                &format!("X-Pad: {}\r\n", "v".repeat(200 * 1024)),
            )
            .into_bytes(),
            431,
        ),
    ];
    for (request, status) in cases {
        let response = raw::exchange(&app.url, &request).await.expect("an answer");
        assert_bare(&response, status);
    }
}
