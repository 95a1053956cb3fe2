//! `GET /v1/api/deliberations/{id}/events`: a deliberation's progress as server-sent
//! events, from the watch operation (`pilot_operations::deliberations`): each panel
//! entry recorded becomes an event named for its stage (`answer`, `review`,
//! `revision`, `synthesis`, `routed`) with `{author, created_at}`; a status change
//! becomes `status` with `{status}`; a `deliberation2` checkpoint opening (only
//! MCP and the dashboard submit those) becomes `checkpoint` with what it asks; the
//! stream ends with `completed` or `failed`
//! carrying the full payload. The watch bounds the stream's length; this surface
//! bounds how many one key holds open (`crate::stream_slots`: one more than
//! `http.max_event_streams_per_key` is `429`). The request timeout does not cut it:
//! it bounds the response head.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use pilot_operations::deliberations::{DeliberationWatch, WatchEvent};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::stream_slots::StreamSlot;

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
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let watch = state.ops.watch_deliberation(&who, &id).await?;
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

    /// The watch, and the slot held for as long as the stream lives.
    struct Open {
        watch: DeliberationWatch,
        _slot: StreamSlot,
    }
    let stream = futures::stream::unfold(Open { watch, _slot: slot }, |mut open| async move {
        let events = open.watch.next().await?;
        let events = events
            .iter()
            .map(|event| Ok(sse(event)))
            .collect::<Vec<_>>();
        Some((futures::stream::iter(events), open))
    });
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}

/// One event as the stream sends it: its name, and its data as JSON.
fn sse(event: &WatchEvent) -> Event {
    let data = match event {
        WatchEvent::Entry { entry, .. } => serde_json::to_string(entry),
        WatchEvent::Status(status) => serde_json::to_string(status),
        WatchEvent::Checkpoint(checkpoint) => serde_json::to_string(checkpoint),
        WatchEvent::Finished(view) => serde_json::to_string(view),
    };
    Event::default()
        .event(event.name())
        .data(data.unwrap_or_default())
}
