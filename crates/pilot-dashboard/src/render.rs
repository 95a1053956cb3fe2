//! Pages are minijinja templates embedded in the binary, rendered with HTML
//! auto-escaping (every template is `.html`), strict about undefined values when printed (a
//! template that names a missing field is a bug caught by the page tests, not blank
//! text), and given typed views to render — never anything a browser sent that the
//! operations did not check.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use pilot_operations::{ErrorKind, OpError};

use crate::assets;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "signin.html",
    "message.html",
    "pilots.html",
    "pilot_new.html",
    "pilot.html",
    "run_rows.html",
    "run.html",
    "run_steps.html",
    "deliveries.html",
    "delivery.html",
    "deliberation.html",
    "deliberation_body.html",
    "secrets.html",
    "keys.html",
    "runs.html",
    "deliberations.html",
    "usage.html",
    "overview.html",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env.add_function("asset", |name: String| assets::href(&name));
    env.add_filter("time", time);
    env.add_filter("pretty", pretty);
    env
});

/// Unix seconds as `2026-12-01 15:04:05 UTC`; `—` for none.
fn time(secs: Option<i64>) -> String {
    secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || "—".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// A JSON value indented for reading (a string as itself).
fn pretty(value: minijinja::Value) -> String {
    match serde_json::to_value(&value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) => value.to_string(),
    }
}

/// `template` rendered with `context` as a `200` page.
pub fn page(template: &str, context: impl Serialize) -> Response {
    page_with(StatusCode::OK, template, context)
}

/// `template` rendered with `context`, answered with `status`.
pub fn page_with(status: StatusCode, template: &str, context: impl Serialize) -> Response {
    match ENV
        .get_template(template)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            let error = chain(&error);
            tracing::error!(%error, template, "a dashboard template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>This page could not be shown.</p>"),
            )
                .into_response()
        }
    }
}

/// A template rendered as a piece of a page (a live region's update); empty when it
/// fails (logged).
pub fn fragment(template: &str, context: impl Serialize) -> String {
    ENV.get_template(template)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
        .unwrap_or_else(|error| {
            let error = chain(&error);
            tracing::error!(%error, template, "a dashboard fragment failed to render");
            String::new()
        })
}

/// An error with every cause, for the log.
fn chain(error: &minijinja::Error) -> String {
    let mut text = format!("{error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause:?}"));
        source = cause.source();
    }
    text
}

/// A page that only says something (an error, a link that expired).
pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    page_with(
        status,
        "message.html",
        serde_json::json!({"title": title, "message": message}),
    )
}

/// An operation's refusal as a page, with the status the REST surfaces would give.
pub fn error_page(error: &OpError) -> Response {
    let status = status_of(error.kind);
    let title = match error.kind {
        ErrorKind::NotFound => "Not found",
        ErrorKind::Forbidden => "Not allowed",
        ErrorKind::RateLimited => "Too many attempts",
        ErrorKind::Internal | ErrorKind::Unavailable => "Something went wrong",
        _ => "That did not work",
    };
    let message = if error.kind == ErrorKind::Internal {
        "The server could not do this. Try again in a moment."
    } else {
        error.message.as_str()
    };
    self::message(status, title, message)
}

/// The HTTP status of an operation's error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_template_compiles_and_text_is_escaped() {
        LazyLock::force(&ENV);
        let html = ENV
            .get_template("message.html")
            .unwrap()
            .render(minijinja::Value::from(minijinja::value::Serde(json!({"title": "<script>alert(1)</script>", "message": "a & b", "signed_in": null}))))
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("a &amp; b"));
    }
}
