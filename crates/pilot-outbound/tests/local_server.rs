//! The guard against a real server on `127.0.0.1`, allow-listed as an operator would
//! for development. Every other address stays forbidden, which is what the redirect
//! tests rely on: a hop to `169.254.169.254` is refused before it is attempted.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use common::{loopback_policy, raw_server, serve};
use pilot_outbound::{OutboundClient, OutboundError, OutboundPolicy, OutboundRequest, Reason};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const BIG: usize = 10_000;
const LIMIT: usize = 1_000;

/// Echoes the request as JSON: method, body and headers.
async fn echo(method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    axum::Json(json!({
        "method": method.as_str(),
        "body": String::from_utf8_lossy(&body),
        "headers": headers,
    }))
}

/// `/chain/{n}` redirects to `/chain/{n-1}` until `/chain/0` answers.
async fn chain(Path(n): Path<u32>) -> Response {
    match n.checked_sub(1) {
        None => "end of chain".into_response(),
        Some(next) => redirect_response(302, &format!("/chain/{next}")),
    }
}

/// `/to?location=…&status=…` redirects anywhere, `302` by default.
async fn to(Query(query): Query<BTreeMap<String, String>>) -> Response {
    let status = query
        .get("status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(302);
    redirect_response(status, query.get("location").map_or("/", String::as_str))
}

fn redirect_response(status: u16, location: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    (status, [(header::LOCATION, location.to_owned())]).into_response()
}

fn big_body() -> Vec<u8> {
    (0..BIG).map(|i| b'a' + (i % 26) as u8).collect()
}

/// The same bytes as `/big`, in chunks and without a `Content-Length`.
async fn big_stream() -> Response {
    let chunks = big_body()
        .chunks(100)
        .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    Body::from_stream(futures::stream::iter(chunks)).into_response()
}

fn app() -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/chain/{n}", get(chain))
        .route("/to", any(to))
        .route("/big", get(|| async { big_body() }))
        .route("/big-stream", get(big_stream))
        .route("/exact", get(|| async { vec![b'x'; LIMIT] }))
}

async fn start() -> (OutboundClient, String) {
    start_with(loopback_policy()).await
}

async fn start_with(policy: OutboundPolicy) -> (OutboundClient, String) {
    let addr = serve(app()).await;
    let client = OutboundClient::new(policy).expect("client builds");
    (client, format!("http://{addr}"))
}

fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("JSON body")
}

#[tokio::test]
async fn a_post_reaches_an_allow_listed_server() {
    let (client, base) = start().await;
    let response = client
        .send(
            OutboundRequest::post(format!("{base}/echo"))
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .body(r#"{"event":"run.completed"}"#),
        )
        .await
        .expect("allowed");
    assert_eq!(response.status, StatusCode::OK);
    assert!(!response.truncated);
    assert_eq!(response.url.as_str(), format!("{base}/echo"));
    let echoed = json_body(&response.body);
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["body"], r#"{"event":"run.completed"}"#);
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert!(
        echoed["headers"]["user-agent"]
            .as_str()
            .is_some_and(|ua| ua.starts_with("Pilot/"))
    );
    assert!(echoed["headers"].get("referer").is_none());
}

#[tokio::test]
async fn check_url_accepts_an_allow_listed_name() {
    let (client, base) = start().await;
    let port = base.rsplit(':').next().expect("a port");
    let url = client
        .check_url(&format!("http://localhost:{port}/hook"))
        .await
        .expect("localhost resolves to 127.0.0.1, which is allowed");
    assert_eq!(url.host_str(), Some("localhost"));
}

#[tokio::test]
async fn a_name_reaches_the_server_through_the_guarded_resolver() {
    let (client, base) = start().await;
    let port = base.rsplit(':').next().expect("a port");
    let response = client
        .send(OutboundRequest::get(format!(
            "http://localhost:{port}/echo"
        )))
        .await
        .expect("localhost's 127.0.0.1 is allowed");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(json_body(&response.body)["method"], "GET");
}

#[tokio::test]
async fn a_redirect_chain_within_the_limit_is_followed() {
    let (client, base) = start().await;
    let response = client
        .send(OutboundRequest::get(format!("{base}/chain/3")))
        .await
        .expect("three redirects are allowed");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..], b"end of chain");
    assert_eq!(response.url.path(), "/chain/0");
}

#[tokio::test]
async fn one_redirect_too_many_is_an_error() {
    let (client, base) = start().await;
    let err = client
        .send(OutboundRequest::get(format!("{base}/chain/4")))
        .await
        .expect_err("four redirects exceed the limit of three");
    assert_eq!(
        err,
        OutboundError::TooManyRedirects {
            url: format!("{base}/…"),
            max: 3
        }
    );

    let (strict, base) = start_with(OutboundPolicy {
        max_redirects: 0,
        ..loopback_policy()
    })
    .await;
    let err = strict
        .send(OutboundRequest::get(format!("{base}/chain/1")))
        .await
        .expect_err("no redirects are followed");
    assert!(matches!(
        err,
        OutboundError::TooManyRedirects { max: 0, .. }
    ));
}

#[tokio::test]
async fn a_redirect_to_cloud_metadata_is_refused() {
    let (client, base) = start().await;
    let url = format!("{base}/to?location=http://169.254.169.254/latest/meta-data/");
    let err = client
        .send(OutboundRequest::get(url))
        .await
        .expect_err("the hop is forbidden");
    assert_eq!(
        err,
        OutboundError::ForbiddenAddress {
            host: "169.254.169.254".into(),
            ip: "169.254.169.254".parse().expect("test address"),
            reason: Reason::LinkLocal,
        }
    );
}

#[tokio::test]
async fn a_redirect_to_another_loopback_address_or_scheme_is_refused() {
    let (client, base) = start().await;
    for (location, expected_ip) in [
        ("http://[::1]/", "::1"),
        ("http://127.0.0.2/", "127.0.0.2"),
        ("http://0x7f000002/", "127.0.0.2"),
    ] {
        let err = client
            .send(OutboundRequest::get(format!(
                "{base}/to?location={location}"
            )))
            .await
            .expect_err(location);
        assert!(
            matches!(&err, OutboundError::ForbiddenAddress { ip, .. } if ip.to_string() == expected_ip),
            "{location}: {err:?}"
        );
    }
    let err = client
        .send(OutboundRequest::get(format!(
            "{base}/to?location=file:///etc/passwd"
        )))
        .await
        .expect_err("file: is not followed");
    assert!(matches!(err, OutboundError::SchemeNotAllowed { scheme, .. } if scheme == "file"));
}

#[tokio::test]
async fn redirects_rewrite_methods_like_browsers() {
    let (client, base) = start().await;
    let post = |status: u16| {
        OutboundRequest::post(format!("{base}/to?location=/echo&status={status}"))
            .header(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))
            .body("payload")
    };

    let see_other = client.send(post(303)).await.expect("followed");
    let echoed = json_body(&see_other.body);
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["body"], "");
    assert!(echoed["headers"].get("content-type").is_none());

    let temporary = client.send(post(307)).await.expect("followed");
    let echoed = json_body(&temporary.body);
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["body"], "payload");
    assert_eq!(echoed["headers"]["content-type"], "text/plain");
}

#[tokio::test]
async fn a_redirect_to_another_origin_drops_credentials() {
    let (client, first) = start().await;
    let second = format!("http://{}", serve(app()).await);
    let request = |target: &str| {
        OutboundRequest::post(format!("{first}/to?location={target}/echo&status=307"))
            .header(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer s3cr3t"),
            )
            .header(
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_static("k3y"),
            )
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .body("{}")
    };

    let same_origin = json_body(&client.send(request(&first)).await.expect("followed").body);
    assert_eq!(same_origin["headers"]["authorization"], "Bearer s3cr3t");
    assert_eq!(same_origin["headers"]["x-api-key"], "k3y");

    let cross_origin = json_body(&client.send(request(&second)).await.expect("followed").body);
    assert_eq!(cross_origin["method"], "POST");
    assert_eq!(cross_origin["body"], "{}");
    assert_eq!(cross_origin["headers"]["content-type"], "application/json");
    assert!(cross_origin["headers"].get("authorization").is_none());
    assert!(cross_origin["headers"].get("x-api-key").is_none());
}

#[tokio::test]
async fn a_large_body_is_truncated_or_refused() {
    let (client, base) = start_with(OutboundPolicy {
        max_response_bytes: LIMIT,
        ..loopback_policy()
    })
    .await;
    for path in ["/big", "/big-stream"] {
        let url = format!("{base}{path}");
        let response = client
            .send(OutboundRequest::get(&url))
            .await
            .expect("truncated, not refused");
        assert!(response.truncated, "{path}");
        assert_eq!(response.body, big_body()[..LIMIT], "{path}");

        let err = client
            .send_strict(OutboundRequest::get(&url))
            .await
            .expect_err("over the bound");
        assert_eq!(
            err,
            OutboundError::BodyTooLarge {
                url: format!("{base}/…"),
                limit: LIMIT
            },
            "{path}"
        );
    }

    let exact = client
        .send_strict(OutboundRequest::get(format!("{base}/exact")))
        .await
        .expect("a body of exactly the bound fits");
    assert_eq!(exact.body.len(), LIMIT);
    assert!(!exact.truncated);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (addr, _) = raw_server(None).await;
    let client = OutboundClient::new(loopback_policy()).expect("client builds");
    let err = client
        .send(
            OutboundRequest::get(format!("http://{addr}/slow")).timeout(Duration::from_millis(200)),
        )
        .await
        .expect_err("no answer");
    assert_eq!(
        err,
        OutboundError::Timeout {
            url: format!("http://{addr}/…"),
            timeout_ms: 200
        }
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    drop(listener);
    let client = OutboundClient::new(loopback_policy()).expect("client builds");
    let err = client
        .send(OutboundRequest::get(format!("http://{addr}/x?key=s3cr3t")))
        .await
        .expect_err("nothing listens");
    match err {
        OutboundError::Connect { url, message } => {
            assert_eq!(url, format!("http://{addr}/…"));
            assert!(message.to_lowercase().contains("refused"), "{message}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_response_is_an_http_error() {
    let (addr, _) = raw_server(Some(b"this is not HTTP\r\n\r\n")).await;
    let client = OutboundClient::new(loopback_policy()).expect("client builds");
    let err = client
        .send(OutboundRequest::get(format!("http://{addr}/x?key=s3cr3t")))
        .await
        .expect_err("not a response");
    match err {
        OutboundError::Http { url, message } => {
            assert_eq!(url, format!("http://{addr}/…"));
            assert!(
                !message.is_empty() && !message.contains("s3cr3t"),
                "{message}"
            );
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_without_redirects_gets_the_redirect_itself() {
    let (client, base) = start().await;
    let response = client
        .send(OutboundRequest::get(format!("{base}/chain/1")).without_redirects())
        .await
        .expect("the 3xx is the answer");
    assert!(response.status.is_redirection(), "{}", response.status);
    assert_eq!(response.url.path(), "/chain/1");
}

#[tokio::test]
async fn fixed_host_answers_are_checked_like_dns_answers() {
    let addr = serve(app()).await;
    let port = addr.port();
    let mut policy = OutboundPolicy::default();
    policy
        .hosts
        .insert("rebound.example".into(), vec!["127.0.0.1".parse().unwrap()]);
    let guarded = OutboundClient::new(policy.clone()).unwrap();
    let err = guarded
        .send(OutboundRequest::get(format!(
            "http://rebound.example:{port}/chain/0"
        )))
        .await
        .expect_err("loopback is refused however the name resolved");
    assert_eq!(
        err,
        OutboundError::ResolvesToNothingAllowed {
            host: "rebound.example".into()
        }
    );
    policy.allow_list = vec!["127.0.0.1/32".parse().unwrap()];
    let allowed = OutboundClient::new(policy).unwrap();
    let response = allowed
        .send(OutboundRequest::get(format!(
            "http://rebound.example:{port}/chain/0"
        )))
        .await
        .expect("allow-listed, the fixed answer is used");
    assert!(response.status.is_success());
}
