//! Scopes hold on every path: a write is authorised before the idempotency layer
//! looks its `Idempotency-Key` up, so a key without the surface's write scope gets
//! the handler's `403`, never another key's kept response or a `409`.

use pilot_domain::{Environment, Scope, Scopes};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, issue_key, json_and_request_id, spawn_app};

fn post(
    app: &TestApp,
    path: &str,
    key: &str,
    idempotency_key: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    app.post(path)
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency_key)
        .json(body)
}

#[tokio::test]
async fn replaying_a_pilot_creation_needs_pilots_write() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let body = json!({
            "title": "Hooked",
            "triggerType": "webhook",
            "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}],
        });
        let first = post(
            &app,
            "/api/v1/pilots",
            &app.test_key,
            "shared-create",
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        assert!(first["webhookUrl"].is_string(), "{first}");

        for scopes in [
            vec![Scope::DeliberationsRead],
            vec![Scope::DeliberationsWrite],
            vec![Scope::PilotsRead],
        ] {
            let key = issue_key(&app, Environment::Test, Scopes::new(scopes.clone())).await;
            // The same key and body (a replay) and another body (a conflict) alike.
            for body in [
                body.clone(),
                json!({"title": "Other", "steps": body["steps"]}),
            ] {
                let response = post(&app, "/api/v1/pilots", &key, "shared-create", &body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{scopes:?}");
                assert!(response.headers().get("idempotent-replayed").is_none());
                let (error, _) = json_and_request_id(response).await;
                assert_eq!(
                    error,
                    json!({"error": "This API key lacks the pilots:write scope."}),
                    "{scopes:?}"
                );
            }
        }

        // The writer itself still replays.
        let again = post(
            &app,
            "/api/v1/pilots",
            &app.test_key,
            "shared-create",
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
        let list: Value = app.get_json("/api/v1/pilots", &app.test_key).await;
        assert_eq!(list["pilots"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn replaying_a_deliberation_submission_needs_deliberations_write() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let body = json!({"question": "Should we price our SaaS per-seat or usage-based?"});
        let first = post(
            &app,
            "/v1/api/deliberations",
            &app.test_key,
            "shared-submit",
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let first: Value = first.json().await.unwrap();

        for scopes in [vec![Scope::DeliberationsRead], vec![Scope::PilotsWrite]] {
            let key = issue_key(&app, Environment::Test, Scopes::new(scopes.clone())).await;
            for body in [
                body.clone(),
                json!({"question": "Another question entirely?"}),
            ] {
                let response = post(&app, "/v1/api/deliberations", &key, "shared-submit", &body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{scopes:?}");
                assert!(response.headers().get("idempotent-replayed").is_none());
                let (error, request_id) = json_and_request_id(response).await;
                assert_eq!(
                    error,
                    json!({"error": {
                        "code": "insufficient_scope",
                        "message": "This API key lacks the deliberations:write scope.",
                        "request_id": request_id,
                    }}),
                    "{scopes:?}"
                );
            }
        }

        let again = post(
            &app,
            "/v1/api/deliberations",
            &app.test_key,
            "shared-submit",
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(
            again.json::<Value>().await.unwrap()["deliberation_id"],
            first["deliberation_id"]
        );
    }
}

#[tokio::test]
async fn writes_without_the_surface_write_scope_are_refused_before_routing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let reader = issue_key(
            &app,
            Environment::Test,
            Scopes::new(vec![Scope::PilotsRead]),
        )
        .await;
        // Unknown paths and wrong methods alike: the write is refused first.
        for (method, path) in [
            ("POST", "/api/v1/nothing-here"),
            ("DELETE", "/api/v1/me"),
            ("PUT", "/api/v1/secrets/TOKEN"),
        ] {
            let response = app
                .client
                .request(method.parse().unwrap(), format!("{}{path}", app.url))
                .bearer_auth(&reader)
                .json(&json!({"value": "x"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            let (error, _) = json_and_request_id(response).await;
            assert_eq!(
                error,
                json!({"error": "This API key lacks the pilots:write scope."})
            );
        }
        // Reads are the handlers' to authorise: /me needs no scope.
        let me = app
            .get("/api/v1/me")
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
    }
}
