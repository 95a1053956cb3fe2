//! Every 401 case on both surfaces, with exact bodies.

use pilot_domain::{ApiKeyId, UnixMillis};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{json_and_request_id, spawn_app};

const UNKNOWN_KEY: &str = "pk_live_0000000000000000000000000000000000000000";

/// (header value or none, expected message) for each way a key can be wrong.
fn bad_credentials(revoked_key: &str) -> Vec<(Option<String>, &'static str)> {
    vec![
        (None, pilot_http::auth::MISSING),
        (Some("".into()), pilot_http::auth::MALFORMED),
        (Some("Bearer".into()), pilot_http::auth::MALFORMED),
        (
            Some("Basic dXNlcjpwYXNz".into()),
            pilot_http::auth::MALFORMED,
        ),
        (
            Some("Bearer bp_your_key".into()),
            pilot_http::auth::MALFORMED,
        ),
        (
            Some("Bearer pk_live_short".into()),
            pilot_http::auth::MALFORMED,
        ),
        (
            Some(format!("Bearer {UNKNOWN_KEY}")),
            pilot_http::auth::UNKNOWN,
        ),
        (
            Some(format!("Bearer {revoked_key}")),
            pilot_http::auth::REVOKED,
        ),
    ]
}

#[tokio::test]
async fn every_401_on_the_pilots_surface_has_the_documented_body() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let revoked = revoke_live_key(&app).await;
        for (header, message) in bad_credentials(&revoked) {
            for path in ["/api/v1/pilots", "/api/v1/me", "/api/v1/no-such-route"] {
                let mut request = app.get(path);
                if let Some(value) = &header {
                    request = request.header("authorization", value);
                }
                let response = request.send().await.unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{path} {header:?}"
                );
                let (body, _) = json_and_request_id(response).await;
                assert_eq!(body, json!({ "error": message }), "{path} {header:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_401_on_the_deliberations_surface_has_the_documented_body() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let revoked = revoke_live_key(&app).await;
        for (header, message) in bad_credentials(&revoked) {
            let mut request = app.post("/v1/api/deliberations");
            if let Some(value) = &header {
                request = request.header("authorization", value);
            }
            let response = request
                .json(&json!({"question": "x"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
            // The body was never read, so the connection ends with the answer.
            assert_eq!(response.headers()["connection"], "close", "{header:?}");
            let (body, request_id) = json_and_request_id(response).await;
            assert_eq!(
                body,
                json!({ "error": {
                    "code": "invalid_api_key",
                    "message": message,
                    "request_id": request_id,
                }}),
                "{header:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_valid_key_is_accepted_on_both_surfaces() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        for path in ["/api/v1/me", "/v1/api/me"] {
            let response = app
                .get(path)
                .bearer_auth(&app.live_key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let (body, _) = json_and_request_id(response).await;
            assert_eq!(body["workspace"], "default");
            assert_eq!(body["environment"], "live");
            assert_eq!(body["key"]["prefix"], app.live_key[..12]);
        }
        // The scheme is case-insensitive, as RFC 9110 says.
        let response = app
            .get("/api/v1/me")
            .header("authorization", format!("bearer {}", app.test_key))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// `[environments] accept = ["live"]`: the production server of the Deliberations
/// document, which has no record of staging keys. A test key is refused as an
/// unknown one on both REST surfaces and MCP; a live key goes through; the OpenAPI
/// document lists this server and the staging one.
#[tokio::test]
async fn a_live_only_server_refuses_test_keys_on_every_surface() {
    for backend in backends() {
        let mut config = crate::harness::test_config();
        config.environments.accept = vec![pilot_domain::Environment::Live];
        config.environments.staging_url = "https://staging-api.example.com".into();
        let app = crate::harness::spawn_with(backend, config).await;
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}});
        for (key, accepted) in [(&app.test_key, false), (&app.live_key, true)] {
            let pilots = app.get("/api/v1/me").bearer_auth(key).send().await.unwrap();
            let deliberations = app.get("/v1/api/me").bearer_auth(key).send().await.unwrap();
            let mcp = app
                .post("/mcp")
                .bearer_auth(key)
                .header("accept", "application/json, text/event-stream")
                .json(&initialize)
                .send()
                .await
                .unwrap();
            if accepted {
                assert_eq!(pilots.status(), StatusCode::OK, "{backend:?}");
                assert_eq!(deliberations.status(), StatusCode::OK, "{backend:?}");
                assert_eq!(mcp.status(), StatusCode::OK, "{backend:?}");
                continue;
            }
            for response in [&pilots, &deliberations, &mcp] {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
            }
            let (body, _) = json_and_request_id(pilots).await;
            assert_eq!(body, json!({ "error": pilot_http::auth::UNKNOWN }));
            let (body, request_id) = json_and_request_id(deliberations).await;
            assert_eq!(
                body,
                json!({ "error": {
                    "code": "invalid_api_key",
                    "message": pilot_http::auth::UNKNOWN,
                    "request_id": request_id,
                }})
            );
            let body: serde_json::Value = mcp.json().await.unwrap();
            assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
        }
        let document = app.get_json("/openapi.json", &app.live_key).await;
        assert_eq!(document["servers"][0]["url"], app.url.as_str());
        assert_eq!(
            document["servers"][1]["url"],
            "https://staging-api.example.com"
        );
    }
}

/// Revokes the default workspace's live key; returns a key that is now revoked.
async fn revoke_live_key(app: &crate::harness::TestApp) -> String {
    let me: serde_json::Value = app.get_json("/api/v1/me", &app.live_key).await;
    let workspace = app
        .db
        .store
        .find_workspace("default")
        .await
        .unwrap()
        .unwrap();
    let key_id = ApiKeyId(me["key"]["id"].as_i64().unwrap());
    assert!(
        app.db
            .store
            .revoke_api_key(workspace.id, key_id, UnixMillis(1))
            .await
            .unwrap()
    );
    app.live_key.clone()
}
