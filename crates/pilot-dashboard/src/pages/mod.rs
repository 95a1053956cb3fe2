//! One file per page family; each handler extracts, calls one operation and renders.

pub mod auth;
pub mod deliberations;
pub mod deliveries;
pub mod keys;
pub mod overview;
pub mod pilots;
pub mod runs;
pub mod secrets;
pub mod usage;

use serde::Deserialize;

/// The CSRF field every signed-in form carries, for forms with nothing else.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
}

/// `?flash=…`: a short, fixed message after a redirect (never text a client chose).
#[derive(Deserialize, Default)]
pub struct FlashQuery {
    pub flash: Option<String>,
}

/// The message a flash key stands for.
pub fn flash(key: Option<&str>) -> Option<serde_json::Value> {
    let (kind, text) = match key? {
        "saved" => ("ok", "Saved."),
        "created" => ("ok", "Created."),
        "paused" => (
            "ok",
            "Paused: its triggers queue nothing until it is resumed.",
        ),
        "resumed" => ("ok", "Resumed."),
        "rotated" => (
            "ok",
            "New webhook URL issued; the old one stopped answering.",
        ),
        "revoked" => ("ok", "Revoked."),
        "replayed" => ("ok", "Queued for delivery again."),
        "answered" => ("ok", "Answered: the panel goes on."),
        "recovered" => ("ok", "Failed deliveries since then queued again."),
        "enabled" => ("ok", "Endpoint enabled; its waiting deliveries go out now."),
        "deleted" => ("ok", "Deleted."),
        "disabled" => (
            "ok",
            "Disabled: their sessions ended and they can no longer sign in.",
        ),
        "retried" => ("ok", "Retry queued."),
        _ => return None,
    };
    Some(serde_json::json!({"kind": kind, "text": text}))
}
