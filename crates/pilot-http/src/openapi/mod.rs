//! The OpenAPI 3.1 document of both surfaces, generated from the code that serves
//! them.
//!
//! **Where each part comes from.** Every endpoint is registered once, in
//! [`crate::routes`], through utoipa-axum's `OpenApiRouter` and `routes!`: the same
//! call gives axum its route and the document its operation, read off the handler's
//! `#[utoipa::path]` (path, parameters, request body, the success responses and the
//! errors the handler itself answers). Bodies are the typed views and inputs of
//! `pilot_operations` and `pilot_domain`, through their `ToSchema` derives; a pilot's
//! `steps` are the step catalog's own schema
//! ([`pilot_domain::step_schema::steps_schema`]), installed as it is.
//!
//! **What the layers add.** Much of what a client can get back is not the handler's
//! doing but a layer's, the same for every route behind it, so it is added here by
//! rule, mirroring [`crate::router`]'s layering (see [`rules`]): `X-Request-Id` on
//! every response; the surface's error body on every error; `401` and `403` from
//! authentication and the write-scope check; `400` for a repeated singular header;
//! `408`, `413`, `414`, `431` and `503` from the guards; `500`; `Retry-After`;
//! `Idempotency-Key` and `Idempotent-Replayed` on the `POST`s the idempotency rules
//! cover; the §6 rate-limit fields on the Deliberations reads and submissions.
//!
//! **Two documents, one function.** [`document`] takes the base URLs for `servers`:
//! the server publishes its own `public_url` (`GET /openapi.json`), followed by the
//! staging server's when `[environments] staging_url` names one, and the copy
//! committed as `openapi.json` at the repository's root uses
//! [`COMMITTED_PUBLIC_URL`]; `pilot openapi` prints it, and a test fails when the
//! two differ (`crates/pilot-http/tests/openapi.rs`).

pub mod docs;
mod rules;
mod schemas;

pub use schemas::DeliberationEvent;

use pilot_domain::step_schema;
use pilot_operations::views::pilot::STEPS_SCHEMA;
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Components, InfoBuilder, OpenApi, OpenApiBuilder, Server};

use crate::routes::{self, DELIBERATIONS, HOOKS, PILOTS};

/// The `servers` entry of the committed document: `pilot serve`'s default address.
pub const COMMITTED_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The whole document, its `servers` naming `public_url`, then `staging_url` if any
/// (the Deliberations document §9: "Both servers are listed (production + staging)").
pub fn document(public_url: &str, staging_url: Option<&str>) -> Value {
    let routes = routes::all();
    let mut api = base(public_url, staging_url)
        .nest(PILOTS, routes.pilots.into_openapi())
        .nest(HOOKS, routes.hooks.into_openapi())
        .nest(DELIBERATIONS, routes.deliberations.into_openapi())
        .merge_from(routes.outside.into_openapi());
    alias_result(&mut api);
    schemas::install(api.components.get_or_insert_with(Components::new));
    for (path, item) in api.paths.paths.iter_mut() {
        let place = rules::Place::of(path);
        for (method, operation) in operations(item) {
            rules::apply(place, method, operation);
        }
    }
    let mut value = serde_json::to_value(&api).unwrap_or(Value::Null);
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(STEPS_SCHEMA.to_owned(), step_schema::steps_schema());
    }
    value
}

/// This server, then the staging server: each described only when there are two.
fn servers(public_url: &str, staging_url: Option<&str>) -> Vec<Server> {
    let server = |url: &str, description: &str| {
        let mut server = Server::new(url.trim_end_matches('/'));
        if staging_url.is_some() {
            server.description = Some(description.to_owned());
        }
        server
    };
    let mut servers = vec![server(public_url, "Production (pk_live_… keys)")];
    servers.extend(staging_url.map(|url| server(url, "Staging (pk_test_… keys)")));
    servers
}

/// [`document`] as the files hold it: pretty-printed, with a final newline.
pub fn to_json(public_url: &str, staging_url: Option<&str>) -> String {
    let mut text =
        serde_json::to_string_pretty(&document(public_url, staging_url)).unwrap_or_default();
    text.push('\n');
    text
}

fn base(public_url: &str, staging_url: Option<&str>) -> OpenApi {
    let tag = |name: &str, description: &str| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    };
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Pilot")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(
                    utoipa::openapi::LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                ))
                .build(),
        )
        .servers(Some(servers(public_url, staging_url)))
        .tags(Some([
            tag(
                "Pilots",
                "Automations drafted from plain English (`/api/v1`).",
            ),
            tag("Runs", "A pilot's durable runs and their per-step results."),
            tag("Secrets", "Write-only values that steps send out."),
            tag(
                "Triggers",
                "Inbound triggers that authenticate by a secret URL.",
            ),
            tag(
                "Deliberations",
                "A five-persona AI panel with credits, idempotency and rate limits (`/v1/api`).",
            ),
            tag(
                "Webhooks",
                "Deliveries of events to your URLs and the endpoints they go to: inspect, \
                 replay, recover, re-enable (`/v1/api`).",
            ),
            tag("Account", "What a key resolves to."),
            tag(
                "Operations",
                "Health, readiness, metrics and this document.",
            ),
        ]))
        .build()
}

const DESCRIPTION: &str = "Pilot's two REST surfaces in one server. **Pilots** \
(`/api/v1`): errors `{\"error\": \"...\"}`, integer ids, Unix-second times. \
**Deliberations** (`/v1/api`): errors `{\"error\": {\"code\", \"message\", \
\"request_id\"}}`, `del_` ids, RFC 3339 times. Every response carries `X-Request-Id`. \
Authenticate with `Authorization: Bearer pk_live_…` or `pk_test_…`; a test key runs \
against the built-in scripted model with its own data and credits.";

/// `GET /v1/api/deliberations/{id}/result` answers exactly as `GET …/{id}` (one
/// handler; the Deliberations document gives them one shape): the same operation
/// under its own id.
fn alias_result(api: &mut OpenApi) {
    let poll = format!("{DELIBERATIONS}/deliberations/{{id}}");
    let Some(mut item) = api.paths.paths.get(&poll).cloned() else {
        return;
    };
    if let Some(operation) = item.get.as_mut() {
        operation.operation_id = Some("getDeliberationResult".to_owned());
        operation.summary = Some("Fetch a deliberation's result".to_owned());
        operation.description = Some(
            "The same answer as `GET /v1/api/deliberations/{id}`, for fetching once after \
             the webhook arrives: `202` while queued or running, `200` with the full \
             payload when completed or failed."
                .to_owned(),
        );
    }
    api.paths.paths.insert(format!("{poll}/result"), item);
}

/// Each operation of a path with its method.
fn operations(item: &mut PathItem) -> Vec<(HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, item.get.as_mut()),
        (HttpMethod::Put, item.put.as_mut()),
        (HttpMethod::Post, item.post.as_mut()),
        (HttpMethod::Delete, item.delete.as_mut()),
        (HttpMethod::Patch, item.patch.as_mut()),
        (HttpMethod::Head, item.head.as_mut()),
        (HttpMethod::Options, item.options.as_mut()),
        (HttpMethod::Trace, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
    .collect()
}
