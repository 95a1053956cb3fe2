//! Pilot over the Model Context Protocol: one MCP server, on the operations layer,
//! served as streamable HTTP at `/mcp` (rmcp), for both surfaces — the Pilots tools
//! (`list_pilots` … `retry_run`), the Deliberations tools (`submit_deliberation`,
//! `respond_checkpoint`, `get_deliberation`, `get_balance`, `get_pricing`) and the webhook tools
//! (`list_deliveries`, `replay_delivery`) — and the `pilot://runs/{id}` and
//! `pilot://deliberations/{id}` resources.
//!
//! A tool is a transport's handler like a REST one: it reads its arguments into the
//! operation's own input, calls the operation as the key's `Principal` and renders
//! the answer (`structuredContent`, the same JSON as text) or the operation's error
//! (`isError`, the surface's code and message). Scope, tenancy, rate limits,
//! idempotency, credits and guardrails are the operations' own.

mod auth;
mod call;
mod checkpoints;
mod schema;
mod server;
mod tasks;
mod tools;
mod wait;

use std::sync::Arc;

use axum::Router;
use pilot_operations::Operations;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

pub use server::PilotMcp;
pub use tools::CATALOG;

/// Where `/mcp` is mounted.
pub const PATH: &str = "/mcp";

/// The `/mcp` route: authentication, then rmcp's streamable-HTTP transport, whose
/// `Host` and `Origin` checks follow `public_url` (and loopback, for local use).
pub fn router(ops: Operations, shutdown: CancellationToken) -> Router {
    let public = url::Url::parse(&ops.policy().public_url).ok();
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "[::1]".to_owned(),
    ];
    let mut origins = vec![
        "http://localhost:*".to_owned(),
        "http://127.0.0.1:*".to_owned(),
    ];
    if let Some(public) = &public
        && let Some(host) = public.host_str()
    {
        hosts.push(host.to_owned());
        if let Some(port) = public.port() {
            hosts.push(format!("{host}:{port}"));
        }
        let port = public
            .port_or_known_default()
            .map_or(String::new(), |p| format!(":{p}"));
        origins.push(format!("{}://{host}{port}", public.scheme()));
    }
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_cancellation_token(shutdown);
    let service_ops = ops.clone();
    let service = StreamableHttpService::new(
        move || Ok(PilotMcp::new(service_ops.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(
            ops,
            auth::authenticate,
        ))
}
