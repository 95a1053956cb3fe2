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

use crate::assets;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates!["layout.html", "signin.html", "message.html",];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env.add_function("asset", |name: String| assets::href(&name));
    env
});

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
            tracing::error!(%error, template, "a dashboard template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>This page could not be shown.</p>"),
            )
                .into_response()
        }
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
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("a &amp; b"));
    }
}
