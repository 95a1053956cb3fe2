//! `GET /v1/api/deliberations/{id}/events`: progress as server-sent events.
//!
//! Each panel entry recorded since the last look becomes an event named for its stage
//! (`answer`, `review`, `revision`, `synthesis`, `routed`) with `{author, created_at}`;
//! a status change becomes `status`; the stream ends with `completed` or `failed`
//! carrying the full payload. The store is looked at every 500 ms (the pipeline
//! records each call as it ends), and the stream is bounded in length and, per key,
//! in number (`crate::stream_slots`: one more than `http.max_event_streams_per_key`
//! is `429`). The request timeout does not cut it: it bounds the response head.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use pilot_domain::{DeliberationId, Scope};
use serde_json::json;

use super::views;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::stream_slots::StreamSlot;

const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Longest a stream stays open.
const MAX_STREAM: Duration = Duration::from_secs(15 * 60);
/// `Retry-After` for a key with all its streams open: the document's polling pace.
const RETRY_STREAM_AFTER_SECS: u64 = 10;

#[utoipa::path(
    get,
    path = "/deliberations/{id}/events",
    operation_id = "deliberationEvents",
    tag = "Deliberations",
    summary = "Follow a deliberation's progress as server-sent events",
    description = "One event per panel entry (`answer`, `review`, `revision`, `synthesis`, \
                   `routed`) with `{author, created_at}`, `status` on each status change, then \
                   `completed` or `failed` with the full payload, and the stream ends.",
    params(("id" = String, Path, pattern = "^del_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = "`del_` and 26 upper-case Crockford base32 characters, as the API returns it.")),
    responses(
        (status = 200, description = "The event stream.", content_type = "text/event-stream",
         body = crate::openapi::DeliberationEvent),
        (status = 404, description = "`not_found`: no such deliberation in this workspace and environment."),
        (status = 429, description = "`rate_limited`: this key holds its limit of open event streams."),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let who = caller.require(Scope::DeliberationsRead)?.clone();
    let id = DeliberationId::parse(&id).ok_or_else(super::not_found)?;
    state
        .store
        .get_deliberation(who.workspace_id, who.environment, &id)
        .await?
        .ok_or_else(super::not_found)?;
    let slot = state.streams.try_acquire(who.key_id).ok_or_else(|| {
        ApiError::rate_limited(
            format!(
                "This API key already has {} event streams open; close one, or poll \
                 GET /v1/api/deliberations/{{id}} instead.",
                state.streams.per_key()
            ),
            RETRY_STREAM_AFTER_SECS,
        )
    })?;

    struct Cursor {
        seen: usize,
        status: Option<String>,
        done: bool,
        started: tokio::time::Instant,
        /// Held for as long as the stream lives.
        _slot: StreamSlot,
    }
    let cursor = Cursor {
        seen: 0,
        status: None,
        done: false,
        started: tokio::time::Instant::now(),
        _slot: slot,
    };
    let stream = futures::stream::unfold(cursor, move |mut cursor| {
        let (state, who, id) = (state.clone(), who.clone(), id.clone());
        async move {
            if cursor.done || cursor.started.elapsed() > MAX_STREAM {
                return None;
            }
            loop {
                let record = match state
                    .store
                    .get_deliberation(who.workspace_id, who.environment, &id)
                    .await
                {
                    Ok(Some(record)) => record,
                    _ => return None,
                };
                let mut batch = Vec::new();
                if let Ok(entries) = state.store.panel_entries(&id).await {
                    for entry in entries.iter().skip(cursor.seen) {
                        batch.push(
                            Event::default()
                                .event(entry.stage.clone())
                                .data(json!({"author": entry.author, "created_at": views::rfc3339(entry.created_at)}).to_string()),
                        );
                    }
                    cursor.seen = entries.len().max(cursor.seen);
                }
                let status = record.status.as_str().to_owned();
                if cursor.status.as_deref() != Some(status.as_str()) {
                    cursor.status = Some(status.clone());
                    if views::is_terminal(&record) {
                        batch.push(
                            Event::default()
                                .event(status)
                                .data(views::terminal(&record).to_string()),
                        );
                        cursor.done = true;
                    } else {
                        batch.push(
                            Event::default()
                                .event("status")
                                .data(json!({"status": status}).to_string()),
                        );
                    }
                }
                if !batch.is_empty() {
                    let events = futures::stream::iter(batch.into_iter().map(Ok));
                    return Some((events, cursor));
                }
                if cursor.started.elapsed() > MAX_STREAM {
                    return None;
                }
                tokio::time::sleep(LOOK_EVERY).await;
            }
        }
    });
    use futures::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}
