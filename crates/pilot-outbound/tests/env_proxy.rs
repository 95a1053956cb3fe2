//! `HTTP_PROXY` in the environment is ignored.
//!
//! Setting environment variables inside a multi-threaded test process is unsound, so
//! the test runs itself again as a child process with the proxy variables set. The
//! parent runs a fake proxy and an origin server on `127.0.0.1`; the child sends one
//! request with a plain `reqwest` client (the control: it must go through the proxy,
//! proving the variables are in effect) and one with the guard's client (it must
//! reach the origin directly). The parent then checks the proxy saw exactly one
//! connection.

mod common;

use std::process::Command;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::routing::get;
use common::{loopback_policy, raw_server, serve};
use pilot_outbound::{OutboundClient, OutboundRequest, StatusCode};

/// Set in the child: the origin's URL.
const ORIGIN_VAR: &str = "PILOT_OUTBOUND_TEST_ORIGIN";
const TEST_NAME: &str = "environment_proxies_are_ignored";

#[tokio::test]
async fn environment_proxies_are_ignored() {
    match std::env::var(ORIGIN_VAR) {
        Ok(origin) => child(&origin).await,
        Err(_) => parent().await,
    }
}

async fn parent() {
    let (proxy_addr, proxied) = raw_server(Some(
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ))
    .await;
    let origin = serve(Router::new().route("/", get(|| async { "origin" }))).await;

    let exe = std::env::current_exe().expect("test binary path");
    let proxy_url = format!("http://{proxy_addr}");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .args([TEST_NAME, "--exact", "--nocapture"])
            .env(ORIGIN_VAR, format!("http://{origin}/"))
            .env("HTTP_PROXY", &proxy_url)
            .env("http_proxy", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("REQUEST_METHOD")
            .output()
    })
    .await
    .expect("join")
    .expect("run the child test");
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        1,
        "only the control request may reach the proxy"
    );
}

async fn child(origin: &str) {
    let control = reqwest::Client::new()
        .get(origin)
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(
        control.status(),
        StatusCode::BAD_GATEWAY,
        "a default client must use the environment's proxy, or this test proves nothing"
    );

    let client = OutboundClient::new(loopback_policy()).expect("client builds");
    let response = client
        .send(OutboundRequest::get(origin))
        .await
        .expect("reaches the origin directly");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..], b"origin");
}
