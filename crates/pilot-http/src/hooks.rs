//! `POST /hooks/pilots/{token}`: a pilot's webhook trigger. The secret token in the
//! URL is the credential (no API key). The request — method, query, headers, body —
//! is handed to the operation as read, which makes the payload: a JSON body as is,
//! any other body (form, multipart, text, bytes) under documented keys. Unlike the
//! API's run endpoint it does not ask for a `Content-Type`: the senders of webhooks
//! are other people's systems. Answers like the run endpoint, in the Pilots
//! surface's error shape; an unknown token is `404`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pilot_operations::triggers::WebhookRequest;
use pilot_operations::views::RunQueued;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

#[utoipa::path(
    post,
    path = "/pilots/{token}",
    operation_id = "fireWebhook",
    tag = "Triggers",
    summary = "A webhook pilot's trigger URL",
    description = "The pilot's `webhookUrl`. No API key: the secret token in the URL is the \
                   credential. A JSON body (or none: `{}`), whatever its `Content-Type`, is \
                   the run's trigger payload as is. Any other body becomes an object: \
                   `form` (an `application/x-www-form-urlencoded` or `multipart/form-data` \
                   body's fields, a string each, an array for a repeated name), `files` \
                   (a multipart body's files: `field`, `name`, `contentType`, `size`, \
                   `content` as base64 up to 256 KiB, else `omitted: true`), `text` (any \
                   other UTF-8 body) or `base64` (one that is not), and `request`: \
                   `method`, `query`, `contentType`, `headers` (lowercased; \
                   `Authorization`, `Cookie`, `Proxy-Authorization` and `X-Api-Key` \
                   left out).",
    params(("token" = String, Path, max_length = 128, description = "The secret token from the pilot's `webhookUrl`.")),
    request_body(content = Option<serde_json::Value>, description = "The trigger payload; none is `{}`."),
    responses(
        (status = 202, description = "Queued.", body = RunQueued),
        (status = 400, description = "A body that says it is JSON (or multipart) and is not."),
        (status = 404, description = "Unknown token, or the pilot's trigger is not `webhook`."),
        (status = 409, description = "The pilot is paused."),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<RunQueued>), ApiError> {
    let request = request(&method, &uri, &headers, body);
    let queued = state.ops.fire_webhook(&token, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[utoipa::path(
    get,
    path = "/pilots/{token}",
    operation_id = "verifyWebhookUrl",
    tag = "Triggers",
    summary = "A sender's check of the webhook URL",
    description = "For senders that check a URL before they use it: `200`, nothing queued                    (`HEAD` likewise, without a body). With `?challenge=…` or                    `?hub.challenge=…` (up to 1024 bytes) the body is that value as                    `text/plain`, as WebSub, Meta and similar senders expect; else                    `{\"ok\": true}`.",
    params(
        ("token" = String, Path, max_length = 128, description = "The secret token from the pilot's `webhookUrl`."),
        ("challenge" = Option<String>, Query, description = "Echoed as the body."),
        ("hub.challenge" = Option<String>, Query, description = "Echoed as the body."),
    ),
    responses(
        (status = 200, description = "The URL is a webhook pilot's: the challenge as text, else `{\"ok\": true}`.", content(
            (String = "text/plain"),
            (serde_json::Value = "application/json"),
        )),
        (status = 400, description = "The challenge is over 1024 bytes."),
        (status = 404, description = "Unknown token, or the pilot's trigger is not `webhook`."),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = request(&method, &uri, &headers, Bytes::new());
    let answer = match state.ops.verify_webhook_url(&token, &request).await? {
        Some(challenge) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => Json(json!({"ok": true})).into_response(),
    };
    Ok(answer)
}

/// The request as the operation reads it.
fn request(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> WebhookRequest {
    WebhookRequest {
        method: method.as_str().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    }
}
