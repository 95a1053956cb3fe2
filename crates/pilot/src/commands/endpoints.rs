//! `pilot endpoints list|enable|recover`: a workspace environment's webhook
//! endpoints, through the operator's operations (`list_endpoints_as_operator`,
//! `enable_endpoint_as_operator`, `recover_endpoint_as_operator`) — the same use
//! cases as `/v1/api/webhooks/endpoints`.

use super::{console, refused_in};
use crate::app::App;
use crate::cli::EndpointsCommand;
use crate::config::Config;

pub async fn run(config: Config, command: EndpointsCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: EndpointsCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        EndpointsCommand::List { target } => {
            let endpoints = ops
                .list_endpoints_as_operator(&operator, &target.workspace, target.env.into())
                .await
                .map_err(refused_in(&target.workspace))?;
            println!(
                "{:<30} {:<32} {:>8}  {:<20} {:<20} url",
                "id", "state", "failures", "last success", "last failure"
            );
            for endpoint in endpoints.data {
                let state = match &endpoint.disabled_reason {
                    Some(reason) => format!("{} ({reason})", endpoint.state),
                    None => endpoint.state.clone(),
                };
                println!(
                    "{:<30} {:<32} {:>8}  {:<20} {:<20} {}",
                    endpoint.id,
                    state,
                    endpoint.consecutive_failures,
                    endpoint.last_success_at.as_deref().unwrap_or("-"),
                    endpoint.last_failure_at.as_deref().unwrap_or("-"),
                    endpoint.url,
                );
            }
        }
        EndpointsCommand::Enable { target, id } => {
            let enabled = ops
                .enable_endpoint_as_operator(&operator, &target.workspace, target.env.into(), &id)
                .await
                .map_err(refused_in(&target.workspace))?;
            println!(
                "enabled {}; released {} waiting deliveries",
                enabled.endpoint.id, enabled.released
            );
        }
        EndpointsCommand::Recover { target, id, since } => {
            let recovered = ops
                .recover_endpoint_as_operator(
                    &operator,
                    &target.workspace,
                    target.env.into(),
                    &id,
                    &since,
                )
                .await
                .map_err(refused_in(&target.workspace))?;
            println!(
                "queued a manual attempt of {} dead or failed deliveries of {} since {}",
                recovered.queued, recovered.endpoint_id, recovered.since
            );
        }
    }
    Ok(())
}
