//! Bad input answered in each surface's shape: never a 500 in the wrong shape, never
//! a framework's plain text.

use axum::Router;
use axum::routing::{get, post};
use pilot_http::extract::Json;
use pilot_http::{HttpConfig, Surface, api_surface};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::harness::{json_and_request_id, spawn_app};

#[derive(Deserialize)]
#[allow(dead_code)]
struct Probe {
    question: String,
}

async fn probe(Json(probe): Json<Probe>) -> axum::Json<Value> {
    axum::Json(json!({ "length": probe.question.len() }))
}

async fn explode() -> &'static str {
    panic!("secret internal detail")
}

/// A server whose surfaces carry probe routes behind exactly the production layers.
async fn spawn_probe(app: &crate::harness::TestApp) -> String {
    let mut state = app.app.app_state(app.url.clone());
    state.config = HttpConfig {
        body_limit_bytes: 1024,
        ..HttpConfig::default()
    };
    let routes = || {
        Router::new()
            .route("/probe", post(probe))
            .route("/explode", get(explode))
    };
    let router = Router::new()
        .nest("/api/v1", api_surface(routes(), Surface::Pilots, &state))
        .nest(
            "/v1/api",
            api_surface(routes(), Surface::Deliberations, &state),
        )
        .layer(axum::middleware::from_fn(pilot_http::request_id::assign))
        .with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Checks one response against a surface's error shape.
async fn assert_error(
    surface: Surface,
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> String {
    assert_eq!(response.status(), status);
    let (body, request_id) = json_and_request_id(response).await;
    match surface {
        Surface::Pilots => {
            let object = body.as_object().expect("object");
            assert_eq!(object.len(), 1, "{body}");
            body["error"]
                .as_str()
                .expect("error is a string")
                .to_owned()
        }
        Surface::Deliberations => {
            assert_eq!(body["error"]["code"], code, "{body}");
            assert_eq!(body["error"]["request_id"], request_id.as_str());
            body["error"]["message"].as_str().unwrap().to_owned()
        }
    }
}

#[tokio::test]
async fn bad_bodies_get_the_surface_shape() {
    let backend = backends()[0];
    let app = spawn_app(backend).await;
    let base = spawn_probe(&app).await;
    let client = reqwest::Client::new();
    for (surface, prefix) in [
        (Surface::Pilots, "/api/v1"),
        (Surface::Deliberations, "/v1/api"),
    ] {
        let url = format!("{base}{prefix}/probe");
        let send = |body: reqwest::Body, content_type: Option<&str>| {
            let mut request = client.post(&url).bearer_auth(&app.test_key).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            request.send()
        };

        let ok = send("{\"question\":\"abc\"}".into(), Some("application/json"))
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);

        let malformed = send("{\"question\":".into(), Some("application/json"))
            .await
            .unwrap();
        let message = assert_error(
            surface,
            malformed,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert!(message.contains("not valid JSON"), "{message}");

        let wrong_type = send("{\"question\":\"abc\"}".into(), Some("text/plain"))
            .await
            .unwrap();
        assert_error(
            surface,
            wrong_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;

        let no_type = send("{\"question\":\"abc\"}".into(), None).await.unwrap();
        assert_error(
            surface,
            no_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;

        let wrong_field = send("{\"question\": 5}".into(), Some("application/json"))
            .await
            .unwrap();
        let message = assert_error(
            surface,
            wrong_field,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        assert!(message.contains("question"), "{message}");

        let big = format!("{{\"question\":\"{}\"}}", "x".repeat(4096));
        let too_large = send(big.clone().into(), Some("application/json"))
            .await
            .unwrap();
        assert_error(
            surface,
            too_large,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;

        // Without a Content-Length (chunked), the limit holds while reading.
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
        let chunked = send(reqwest::Body::wrap_stream(stream), Some("application/json"))
            .await
            .unwrap();
        assert_error(
            surface,
            chunked,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;

        let wrong_method = client
            .get(&url)
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        assert_error(
            surface,
            wrong_method,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;

        let panicked = client
            .get(format!("{base}{prefix}/explode"))
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        let message = assert_error(
            surface,
            panicked,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        )
        .await;
        assert!(!message.contains("secret"), "{message}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_surface_shape() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let response = app
            .get("/api/v1/nothing-here")
            .bearer_auth(&app.live_key)
            .send()
            .await
            .unwrap();
        assert_error(
            Surface::Pilots,
            response,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let response = app
            .get("/v1/api/nothing-here")
            .bearer_auth(&app.live_key)
            .send()
            .await
            .unwrap();
        assert_error(
            Surface::Deliberations,
            response,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let response = app.get("/elsewhere").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let (body, _) = json_and_request_id(response).await;
        assert_eq!(body, json!({ "error": "Not found." }));
    }
}
