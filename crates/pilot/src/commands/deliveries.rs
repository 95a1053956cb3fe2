//! `pilot deliveries list|show|replay`: a workspace environment's webhook
//! deliveries, through the operator's operations (`list_deliveries_as_operator`,
//! `get_delivery_as_operator`, `replay_delivery_as_operator`) — the same use cases
//! as `/v1/api/webhooks/deliveries`. The filters are passed as written: the
//! operation judges them.

use pilot_operations::webhooks::DeliveriesQuery;

use super::{console, refused_in};
use crate::app::App;
use crate::cli::DeliveriesCommand;
use crate::config::Config;

pub async fn run(config: Config, command: DeliveriesCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

/// What a missing value prints as.
const NONE: &str = "-";

async fn execute(app: &App, command: DeliveriesCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        DeliveriesCommand::List {
            target,
            status,
            endpoint,
            before,
            limit,
        } => {
            let query = DeliveriesQuery {
                status,
                endpoint,
                before,
                limit: Some(limit.to_string()),
            };
            let page = ops
                .list_deliveries_as_operator(
                    &operator,
                    &target.workspace,
                    target.env.into(),
                    &query,
                )
                .await
                .map_err(refused_in(&target.workspace))?;
            println!(
                "{:<30} {:<22} {:<9} {:>8}  {:<20} {:<20} url",
                "id", "event", "status", "attempts", "created", "next attempt"
            );
            for delivery in page.data {
                println!(
                    "{:<30} {:<22} {:<9} {:>8}  {:<20} {:<20} {}",
                    delivery.id,
                    delivery.event,
                    delivery.status,
                    delivery.attempts,
                    delivery.created_at,
                    delivery.next_attempt_at.as_deref().unwrap_or(NONE),
                    delivery.url,
                );
            }
            if let Some(next) = page.next_before {
                println!("more: --before {next}");
            }
        }
        DeliveriesCommand::Show { target, id } => {
            let detail = ops
                .get_delivery_as_operator(&operator, &target.workspace, target.env.into(), &id)
                .await
                .map_err(refused_in(&target.workspace))?;
            let delivery = &detail.delivery;
            println!("delivery:     {}", delivery.id);
            println!("event:        {} ({})", delivery.event, delivery.event_id);
            println!("endpoint:     {} {}", delivery.endpoint_id, delivery.url);
            println!("status:       {}", delivery.status);
            println!("attempts:     {}", delivery.attempts);
            println!(
                "next attempt: {}",
                delivery.next_attempt_at.as_deref().unwrap_or(NONE)
            );
            println!("created:      {}", delivery.created_at);
            println!(
                "{:>3}  {:<20} {:<6} {:>6} {:>9}  error / response",
                "#", "started", "manual", "status", "latency"
            );
            for attempt in &detail.attempts_detail {
                println!(
                    "{:>3}  {:<20} {:<6} {:>6} {:>9}  {}",
                    attempt.number,
                    attempt.started_at,
                    if attempt.manual { "yes" } else { "no" },
                    attempt
                        .response_status
                        .map_or_else(|| NONE.to_owned(), |s| s.to_string()),
                    format!("{} ms", attempt.latency_ms),
                    one_line(
                        attempt
                            .error
                            .as_deref()
                            .or(attempt.response_body.as_deref())
                            .unwrap_or(NONE)
                    ),
                );
            }
        }
        DeliveriesCommand::Replay { target, id } => {
            let delivery = ops
                .replay_delivery_as_operator(&operator, &target.workspace, target.env.into(), &id)
                .await
                .map_err(refused_in(&target.workspace))?;
            println!(
                "queued a manual attempt of {} ({}, {} attempts so far)",
                delivery.id, delivery.status, delivery.attempts
            );
        }
    }
    Ok(())
}

/// A response excerpt or error on one line of at most 80 characters.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}
