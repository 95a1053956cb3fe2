//! Strict parsing on both surfaces: one rule for JSON bodies, singular headers,
//! visible idempotency keys, plain decimal ids and query numbers.

use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, json_and_request_id, spawn_app};
use crate::raw::{self, assert_shaped};

const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";

fn pilot_body() -> Value {
    json!({"title": "Strict", "steps": [{"id": "a", "type": "transform", "values": {"x": 1}}]})
}

/// The error's `code` on the Deliberations surface (`None` on the Pilots surface) and
/// its message, checking the shape and request id.
async fn error_of(
    response: reqwest::Response,
    deliberations: bool,
) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let (body, request_id) = json_and_request_id(response).await;
    if deliberations {
        assert_eq!(body["error"]["request_id"], request_id.as_str(), "{body}");
        (
            status,
            body["error"]["code"].as_str().map(str::to_owned),
            body["error"]["message"].as_str().unwrap().to_owned(),
        )
    } else {
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        (status, None, body["error"].as_str().unwrap().to_owned())
    }
}

#[tokio::test]
async fn json_bodies_need_one_json_content_type_rule_on_both_surfaces() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let cases = [
            (
                "/v1/api/deliberations",
                json!({"question": QUESTION}),
                StatusCode::ACCEPTED,
                true,
            ),
            ("/api/v1/pilots", pilot_body(), StatusCode::CREATED, false),
        ];
        for (path, body, created, deliberations) in cases {
            for refused in [
                "application/jsonx",
                "text/json",
                "application/json garbage",
                "text/plain",
            ] {
                let response = app
                    .post(path)
                    .bearer_auth(&app.test_key)
                    .header("content-type", refused)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let (status, code, _) = error_of(response, deliberations).await;
                assert_eq!(
                    status,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "{path} {refused}"
                );
                if deliberations {
                    assert_eq!(code.as_deref(), Some("unsupported_media_type"));
                }
            }
            for accepted in [
                "application/json; charset=utf-8",
                "Application/JSON",
                "application/merge-patch+json",
            ] {
                let response = app
                    .post(path)
                    .bearer_auth(&app.test_key)
                    .header("content-type", accepted)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), created, "{path} {accepted}");
            }
        }

        // A run's body is optional; when there is one, it is held to the same rule.
        let pilot: Value = app
            .post("/api/v1/pilots")
            .bearer_auth(&app.test_key)
            .json(&pilot_body())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let run = format!("/api/v1/pilots/{}/run", pilot["id"]);
        let refused = app
            .post(&run)
            .bearer_auth(&app.test_key)
            .header("content-type", "application/jsonx")
            .body("{\"n\": 1}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(refused, false).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let bare = app
            .post(&run)
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), StatusCode::ACCEPTED);
        let typed = app
            .post(&run)
            .bearer_auth(&app.test_key)
            .json(&json!({"n": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(typed.status(), StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn repeated_singular_headers_are_400_in_the_surface_shape() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = &app.test_key;
        let question = json!({"question": QUESTION}).to_string();
        let pilot = pilot_body().to_string();
        let auth = format!("Authorization: Bearer {key}\r\n");
        let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
            ("GET /api/v1/me", format!("{auth}{auth}"), "", None),
            (
                "GET /v1/api/me",
                format!("{auth}Authorization: Bearer pk_test_other\r\n"),
                "",
                Some("invalid_request"),
            ),
            (
                "POST /v1/api/deliberations",
                format!("{auth}Content-Type: application/json\r\nContent-Type: text/plain\r\n"),
                &question,
                Some("invalid_request"),
            ),
            (
                "POST /api/v1/pilots",
                format!(
                    "{auth}Content-Type: application/json\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n"
                ),
                &pilot,
                None,
            ),
        ];
        for (line, headers, body, code) in cases {
            let request = format!(
                "{line} HTTP/1.1\r\nHost: pilot\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let response = raw::exchange(&app.url, request.as_bytes())
                .await
                .expect("an answer");
            let message = assert_shaped(&response, 400, code);
            assert!(message.contains("more than once"), "{line}: {message}");
        }
        // Nothing was created by the refused requests.
        let list: Value = app.get_json("/api/v1/pilots", key).await;
        assert_eq!(list["pilots"], json!([]));
    }
}

#[tokio::test]
async fn idempotency_keys_are_visible_characters_as_the_message_says() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let submit = |idempotency_key: String| {
            app.post("/v1/api/deliberations")
                .bearer_auth(&app.test_key)
                .header("Idempotency-Key", idempotency_key)
                .json(&json!({"question": QUESTION}))
                .send()
        };
        for refused in [
            "tab\there".to_owned(),
            "a space".to_owned(),
            "k".repeat(256),
        ] {
            let response = submit(refused.clone()).await.unwrap();
            let (status, code, message) = error_of(response, true).await;
            assert_eq!(
                (status, code.as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_error")),
                "{refused:?}"
            );
            assert!(message.contains("1 to 255 visible characters"), "{message}");
        }
        // Other control characters cannot reach the application: hyper refuses the
        // head itself (a bare 400, see README "Limits and timeouts").
        let request = format!(
            "POST /v1/api/deliberations HTTP/1.1\r\nHost: pilot\r\nAuthorization: Bearer {}\r\nIdempotency-Key: a\x01b\r\n\r\n",
            app.test_key
        );
        let response = raw::exchange(&app.url, request.as_bytes())
            .await
            .expect("an answer");
        assert_eq!(response.status, 400);
        for accepted in ["k".repeat(255), "7c1d-4f2a!~".to_owned()] {
            let response = submit(accepted.clone()).await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{accepted:?}");
        }
    }
}

async fn status_of(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    app.client
        .request(method.parse().unwrap(), format!("{}{path}", app.url))
        .bearer_auth(&app.test_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn path_ids_and_query_numbers_are_plain_decimal() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let pilot: Value = app
            .post("/api/v1/pilots")
            .bearer_auth(&app.test_key)
            .json(&pilot_body())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pilot = pilot["id"].as_i64().unwrap();
        let run = crate::pilots::fire(&app, &app.test_key, pilot, json!({})).await;

        let spellings = |id: i64| {
            [
                format!("+{id}"),
                format!("%20{id}"),
                format!("{id}%20"),
                format!("{id}.0"),
                format!("0x{id:x}"),
                format!("0{id}"),
                format!("-{id}"),
                format!("{id}e0"),
            ]
        };
        for other in spellings(pilot) {
            for (method, path) in [
                ("GET", format!("/api/v1/pilots/{other}")),
                ("PATCH", format!("/api/v1/pilots/{other}")),
                ("GET", format!("/api/v1/pilots/{other}/runs")),
                ("POST", format!("/api/v1/pilots/{other}/run")),
            ] {
                let response = status_of(&app, method, &path).await;
                let (status, _, message) = error_of(response, false).await;
                assert_eq!(
                    (status, message.as_str()),
                    (StatusCode::NOT_FOUND, "Pilot not found."),
                    "{method} {path}"
                );
            }
        }
        for other in spellings(run) {
            for (method, path) in [
                ("GET", format!("/api/v1/runs/{other}")),
                ("POST", format!("/api/v1/runs/{other}/retry")),
            ] {
                let response = status_of(&app, method, &path).await;
                let (status, _, message) = error_of(response, false).await;
                assert_eq!(
                    (status, message.as_str()),
                    (StatusCode::NOT_FOUND, "Run not found."),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(
            status_of(&app, "GET", &format!("/api/v1/pilots/{pilot}"))
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            status_of(&app, "GET", &format!("/api/v1/runs/{run}"))
                .await
                .status(),
            StatusCode::OK
        );

        // Query numbers: the same rule, answered 422.
        let runs = format!("/api/v1/pilots/{pilot}/runs");
        for query in [
            "before=%2B5",
            "before=05",
            "before=0",
            "limit=%2B5",
            "limit=05",
            "limit=5.0",
            "limit=0",
        ] {
            let response = status_of(&app, "GET", &format!("{runs}?{query}")).await;
            let (status, _, _) = error_of(response, false).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        }
        assert_eq!(
            status_of(&app, "GET", &format!("{runs}?limit=5&before={}", run + 1))
                .await
                .status(),
            StatusCode::OK
        );

        // Deliberation ids have one spelling too.
        let submitted: Value = app
            .post("/v1/api/deliberations")
            .bearer_auth(&app.test_key)
            .json(&json!({"question": QUESTION}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = submitted["deliberation_id"].as_str().unwrap().to_owned();
        let body = id.trim_start_matches("del_");
        for other in [
            format!("del_{}", body.to_ascii_lowercase()),
            format!("DEL_{body}"),
            format!("del_%20{body}"),
            format!("del_8{}", &body[1..]),
        ] {
            for suffix in ["", "/result", "/events"] {
                let response = status_of(
                    &app,
                    "GET",
                    &format!("/v1/api/deliberations/{other}{suffix}"),
                )
                .await;
                let (status, code, _) = error_of(response, true).await;
                assert_eq!(
                    (status, code.as_deref()),
                    (StatusCode::NOT_FOUND, Some("not_found")),
                    "{other}{suffix}"
                );
            }
        }
        let found = status_of(&app, "GET", &format!("/v1/api/deliberations/{id}")).await;
        assert!(found.status().is_success());
        let response = status_of(
            &app,
            "GET",
            &format!("/v1/api/deliberations/{id}?include=panels"),
        )
        .await;
        let (status, code, _) = error_of(response, true).await;
        assert_eq!(
            (status, code.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_error"))
        );
    }
}
