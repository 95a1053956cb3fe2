//! Health, readiness, metrics and graceful shutdown.

use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{json_and_request_id, spawn_app};

#[tokio::test]
async fn health_and_readiness() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let response = app.get("/healthz").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (body, _) = json_and_request_id(response).await;
        assert_eq!(body, json!({ "status": "ok" }));

        let response = app.get("/readyz").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (body, _) = json_and_request_id(response).await;
        assert_eq!(
            body,
            json!({ "status": "ready", "store": backend.as_str() })
        );

        // Once the store is gone, the process is alive but not ready.
        app.db.store.close().await;
        let response = app.get("/readyz").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let (body, _) = json_and_request_id(response).await;
        assert_eq!(body, json!({ "error": "The store is unreachable." }));
        assert_eq!(
            app.get("/healthz").send().await.unwrap().status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_queue_depth() {
    let app = spawn_app(backends()[0]).await;
    for _ in 0..3 {
        app.get("/api/v1/me")
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
    }
    app.get("/api/v1/me").send().await.unwrap();
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    // The recorder is process-wide and other tests share it, so counts are lower bounds.
    let count = |needle: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(needle))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        count("pilot_http_requests_total{route=\"/api/v1/me\",method=\"GET\",status=\"200\"}")
            >= 3.0,
        "{text}"
    );
    assert!(
        count("pilot_http_requests_total{route=\"/api/v1/me\",method=\"GET\",status=\"401\"}")
            >= 1.0,
        "{text}"
    );
    assert!(text.contains("pilot_http_request_duration_seconds_bucket{route=\"/api/v1/me\""));
    for state in ["queued", "running", "dead"] {
        assert!(
            text.contains(&format!("pilot_queue_jobs{{state=\"{state}\"}}")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn shutdown_stops_serving_and_returns() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let url = app.url.clone();
        assert_eq!(
            app.get("/healthz").send().await.unwrap().status(),
            StatusCode::OK
        );
        app.shut_down().await.expect("clean shutdown");
        assert!(
            reqwest::get(format!("{url}/healthz")).await.is_err(),
            "no longer accepting"
        );
    }
}
