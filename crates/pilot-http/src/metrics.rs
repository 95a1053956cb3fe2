//! Prometheus metrics: requests by route and status with latency histograms, queue
//! depth by state (read from the store at scrape time), jobs processed and failed
//! (counted by the engine's workers).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pilot_domain::JobState;

use crate::AppState;
use crate::error::ApiError;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .expect("static bucket list is valid")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

/// Counts each request and times it, labelled by route template (never the raw path,
/// which would let clients mint label values).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("pilot_http_requests_total", &labels).increment(1);
    metrics::histogram!("pilot_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "Operations",
    summary = "Prometheus metrics",
    description = "Requests by route template, method and status; queue depth by state; \
                   jobs processed and failed by kind. No key: expose it only where you mean to.",
    responses((status = 200, description = "The Prometheus text format.", body = String,
               content_type = "text/plain; version=0.0.4"))
)]
pub async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let handle = handle();
    let counts = state.ops.queue_depth().await?;
    for job_state in JobState::ALL {
        metrics::gauge!("pilot_queue_jobs", "state" => job_state.as_str())
            .set(counts.get(job_state) as f64);
    }
    handle.run_upkeep();
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response())
}
