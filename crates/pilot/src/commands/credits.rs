//! `pilot credits grant|balance|ledger`: a workspace environment's credits, through
//! the operator's operations (`grant_credits`, `credit_balance`, `credit_ledger`).
//!
//! Credits are what deliberations reserve at submit and settle on completion. The
//! ledger is append-only and always sums to the balance; granting is the operator's
//! way in.

use anyhow::Context;
use pilot_domain::Credits;
use pilot_operations::ErrorKind;

use super::{console, refused};
use crate::app::App;
use crate::cli::CreditsCommand;
use crate::commands::keys::format_time;
use crate::config::Config;

pub async fn run(config: Config, command: CreditsCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: CreditsCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    let (workspace, environment) = match &command {
        CreditsCommand::Grant { target, .. }
        | CreditsCommand::Balance { target }
        | CreditsCommand::Ledger { target, .. } => (target.workspace.clone(), target.env.into()),
    };
    match command {
        CreditsCommand::Grant { amount, note, .. } => {
            let amount = Credits::from_f64(amount)
                .context("the amount must be a positive number of credits")?;
            let granted = ops
                .grant_credits(&operator, &workspace, environment, amount, &note)
                .await
                .map_err(refused)?;
            println!(
                "granted {} credits to {} ({}); balance {}",
                granted.amount, granted.workspace, granted.environment, granted.balance
            );
        }
        CreditsCommand::Balance { .. } => {
            let balance = ops
                .credit_balance(&operator, &workspace, environment)
                .await
                .map_err(refused)?;
            println!("{}", balance.balance);
        }
        CreditsCommand::Ledger { limit, .. } => {
            let ledger = ops
                .credit_ledger(&operator, &workspace, environment, limit)
                .await
                .map_err(|error| match error.kind {
                    // The one input the ledger judges is the limit: name the flag.
                    ErrorKind::Validation => anyhow::anyhow!("--limit must be at least 1"),
                    _ => refused(error),
                })?;
            println!(
                "{:<8} {:<20} {:<18} {:>12} {:>12}  deliberation / note",
                "id", "at", "kind", "amount", "balance"
            );
            for entry in ledger.entries {
                println!(
                    "{:<8} {:<20} {:<18} {:>12} {:>12}  {}",
                    entry.id,
                    format_time(entry.created_at),
                    entry.kind,
                    entry.amount.to_string(),
                    entry.balance_after.to_string(),
                    entry.deliberation_id.unwrap_or(entry.note),
                );
            }
        }
    }
    Ok(())
}
