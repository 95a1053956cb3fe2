//! Publishing the document: `GET /openapi.json` and `GET /docs/api/openapi.json` (the
//! path the Deliberations document names) answer it as JSON, and `GET /docs` as a
//! reference page, with no key needed.
//!
//! **Why a server-rendered page.** The page is HTML rendered from the document by
//! minijinja (`docs.html`), with its stylesheet inline: nothing is fetched from a CDN
//! when it is read and nothing is downloaded when Pilot is built (`utoipa-swagger-ui`'s
//! build script downloads Swagger UI, so not that), and there is no JavaScript bundle
//! to vendor, pin and keep licensed. The template auto-escapes every value, and the
//! page is sent with a `Content-Security-Policy` that allows nothing but that one
//! stylesheet, by its hash: no script, no image, no frame, no form, no fetch.
//!
//! Both are built once per router ([`Published::new`], from the server's
//! `public_url`) and shared by every request.

use std::sync::Arc;

use axum::Extension;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use minijinja::Environment;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

const TEMPLATE: &str = include_str!("docs.html");
const STYLE: &str = include_str!("docs.css");

/// The document and its page, rendered for one `public_url` (and `staging_url`).
pub struct Published {
    json: String,
    html: String,
    csp: HeaderValue,
}

impl Published {
    pub fn new(public_url: &str, staging_url: Option<&str>) -> Arc<Published> {
        let document = super::document(public_url, staging_url);
        let json = serde_json::to_string(&document).unwrap_or_default();
        let html = page(&document).unwrap_or_else(|error| {
            tracing::error!(%error, "the API reference page did not render");
            String::new()
        });
        let style_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        let csp = HeaderValue::from_str(&format!(
            "default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        Arc::new(Published { json, html, csp })
    }
}

/// The routes, for [`crate::routes`]; they read the [`Published`] extension.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_openapi_json))
        .routes(routes!(docs_page))
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "Operations",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
async fn openapi_json(Extension(published): Extension<Arc<Published>>) -> Response {
    json(&published)
}

#[utoipa::path(
    get,
    path = "/docs/api/openapi.json",
    operation_id = "getOpenApiDocumentAtDocs",
    tag = "Operations",
    summary = "This document, where the Deliberations document says it is",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
async fn docs_openapi_json(Extension(published): Extension<Arc<Published>>) -> Response {
    json(&published)
}

#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "getApiReference",
    tag = "Operations",
    summary = "A readable reference, rendered from this document",
    responses((status = 200, description = "The reference page; it loads nothing else.",
               body = String, content_type = "text/html"))
)]
async fn docs_page(Extension(published): Extension<Arc<Published>>) -> Response {
    let mut response = (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        published.html.clone(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, published.csp.clone());
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn json(published: &Published) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        published.json.clone(),
    )
        .into_response()
}

/// The reference page for `document`.
pub fn page(document: &Value) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    // A `.html` name: minijinja escapes every value for HTML.
    env.add_template("docs.html", TEMPLATE)?;
    env.get_template("docs.html")?
        .render(minijinja::context! { page => minijinja::value::Value::from(minijinja::value::Serde(Page::of(document))), style => STYLE })
}

/// What the template shows, read off the document.
#[derive(Serialize)]
struct Page {
    title: String,
    version: String,
    description: String,
    servers: Vec<String>,
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

#[derive(Serialize)]
struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

#[derive(Serialize)]
struct OperationView {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    needs_key: bool,
    parameters: Vec<Row>,
    body: Option<String>,
    responses: Vec<ResponseView>,
}

#[derive(Serialize)]
struct ResponseView {
    status: String,
    description: String,
    body: Vec<String>,
    headers: Vec<String>,
}

#[derive(Serialize)]
struct SchemaView {
    name: String,
    description: String,
    kind: String,
    properties: Vec<Row>,
}

/// A parameter or property: name, where or whether required, type, description.
#[derive(Serialize)]
struct Row {
    name: String,
    note: String,
    kind: String,
    description: String,
}

impl Page {
    fn of(document: &Value) -> Page {
        let text = |value: &Value, pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut tags: Vec<TagView> = document["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| TagView {
                name: text(tag, "/name"),
                description: text(tag, "/description"),
                operations: Vec::new(),
            })
            .collect();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let view = OperationView::of(document, method, path, operation);
                let tag = text(operation, "/tags/0");
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(group) => group.operations.push(view),
                    None => tags.push(TagView {
                        name: tag,
                        description: String::new(),
                        operations: vec![view],
                    }),
                }
            }
        }
        let schemas = document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, schema)| SchemaView::of(name, schema))
            .collect();
        Page {
            title: text(document, "/info/title"),
            version: text(document, "/info/version"),
            description: text(document, "/info/description"),
            servers: document["servers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|server| text(server, "/url"))
                .collect(),
            tags,
            schemas,
        }
    }
}

impl OperationView {
    fn of(document: &Value, method: &str, path: &str, operation: &Value) -> OperationView {
        let text = |pointer: &str| {
            operation
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let parameters = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|parameter| resolve(document, parameter))
            .map(|parameter| Row {
                name: parameter["name"].as_str().unwrap_or_default().to_owned(),
                note: format!(
                    "{}{}",
                    parameter["in"].as_str().unwrap_or_default(),
                    if parameter["required"] == Value::Bool(true) {
                        ", required"
                    } else {
                        ""
                    }
                ),
                kind: type_of(&parameter["schema"]),
                description: parameter["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect();
        let body = operation
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
            .map(|content| {
                content
                    .iter()
                    .map(|(media, c)| format!("{media}: {}", type_of(&c["schema"])))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| ResponseView {
                status: status.clone(),
                description: response["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body: response["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(media, c)| format!("{media}: {}", type_of(&c["schema"])))
                    .collect(),
                headers: response["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, _)| name.clone())
                    .collect(),
            })
            .collect();
        OperationView {
            id: text("/operationId"),
            method: method.to_uppercase(),
            path: path.to_owned(),
            summary: text("/summary"),
            description: text("/description"),
            needs_key: operation.get("security").is_some(),
            parameters,
            body,
            responses,
        }
    }
}

impl SchemaView {
    fn of(name: &str, schema: &Value) -> SchemaView {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        SchemaView {
            name: name.to_owned(),
            description: schema["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            kind: type_of(schema),
            properties: schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(property, value)| Row {
                    name: property.clone(),
                    note: if required.contains(&property.as_str()) {
                        "required".to_owned()
                    } else {
                        String::new()
                    },
                    kind: type_of(value),
                    description: value["description"].as_str().unwrap_or_default().to_owned(),
                })
                .collect(),
        }
    }
}

/// A `$ref` to a component, followed once.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => document.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// A short human reading of a schema: `string`, `integer ≥ 1`, `"a" | "b"`,
/// `[Step]`, `PilotDetail`.
fn type_of(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str() {
        return name.rsplit('/').next().unwrap_or(name).to_owned();
    }
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[combinator].as_array() {
            return options.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    };
    let mut reading = if kind.starts_with("array") {
        format!("[{}]", type_of(&schema["items"]))
    } else {
        kind
    };
    if let Some(pattern) = schema["pattern"].as_str() {
        reading.push_str(&format!(" matching {pattern}"));
    }
    for (keyword, sign) in [("minimum", "≥"), ("maximum", "≤")] {
        if let Some(bound) = schema[keyword].as_f64() {
            reading.push_str(&format!(" {sign} {bound}"));
        }
    }
    if let Some(most) = schema["maxLength"].as_u64() {
        reading.push_str(&format!(", at most {most} characters"));
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_operation_and_escapes_what_it_shows() {
        let mut document = super::super::document("http://127.0.0.1:8080", None);
        let html = page(&document).unwrap();
        for id in [
            "createPilot",
            "submitDeliberation",
            "getDeliberationResult",
            "healthz",
        ] {
            assert!(html.contains(&format!("id=\"op-{id}\"")), "{id}");
        }
        assert!(!html.contains("<script"));
        document["info"]["description"] = Value::from("<script>alert(1)</script>");
        let html = page(&document).unwrap();
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    }
}
