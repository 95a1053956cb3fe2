//! The `http` step: one request through the outbound guard.
//!
//! The URL, header values and every string in the body are templates. The body is
//! sent as JSON. The output is `{"status", "body"}` — the body parsed as JSON when it
//! is JSON, else text — and a non-2xx status fails the step (so `retry` applies).
//!
//! A step runs at least once, so the request carries an `Idempotency-Key` derived
//! from the run and the step (`pilot_domain::run::step_idempotency_key`): the same
//! on every execution of the step in this run — after a crash, and across its own
//! retries — so the receiver can drop duplicates; a retried run sends a new one. A
//! step that sets the header itself (any case) sends its own instead.

use std::time::Duration;

use pilot_domain::step::HttpStep;
use pilot_outbound::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use pilot_outbound::{Method, OutboundClient, OutboundRequest};
use serde_json::{Value, json};

use super::StepOutcome;
use super::template::Templates;

/// Longest response body kept in the step's output.
const MAX_BODY_CHARS: usize = 16 * 1024;

/// The header every request carries unless the step sets it.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub async fn http(
    step: &HttpStep,
    templates: &Templates,
    client: &OutboundClient,
    timeout: Duration,
    idempotency_key: &str,
) -> Result<StepOutcome, String> {
    let url = templates.render(&step.url).map_err(|e| e.0)?;
    let method = Method::from_bytes(step.method.as_bytes())
        .map_err(|_| format!("{:?} is not an HTTP method", step.method))?;
    let mut request = OutboundRequest::new(method, url).timeout(timeout);
    for (name, value) in &step.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a header name"))?;
        let rendered = templates.render(value).map_err(|e| e.0)?;
        let value = HeaderValue::from_str(&rendered)
            .map_err(|_| format!("header {name} renders to a value that cannot be sent"))?;
        request = request.header(header, value);
    }
    if !step
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
    {
        let value = HeaderValue::from_str(idempotency_key)
            .map_err(|_| "the idempotency key cannot be sent".to_owned())?;
        request = request.header(HeaderName::from_static(IDEMPOTENCY_KEY), value);
    }
    if let Some(body) = &step.body {
        let rendered = templates.render_json(body).map_err(|e| e.0)?;
        let bytes = serde_json::to_vec(&rendered).map_err(|e| e.to_string())?;
        if !step
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request = request.body(bytes);
    }
    let response = client.send(request).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response.body);
    let body = match serde_json::from_str::<Value>(&text) {
        Ok(json) => json,
        Err(_) => Value::String(text.chars().take(MAX_BODY_CHARS).collect()),
    };
    let status = response.status.as_u16();
    if !response.status.is_success() {
        let preview: String = text.chars().take(300).collect();
        return Err(format!("the server answered {status}: {preview}"));
    }
    Ok(StepOutcome::Output(json!({
        "status": status,
        "body": body,
        "truncated": response.truncated,
    })))
}
