//! `pilot credits grant|balance|ledger`: a workspace environment's credits.
//!
//! Credits are what deliberations reserve at submit and settle on completion. The
//! ledger is append-only and always sums to the balance; granting is the operator's
//! way in.

use anyhow::{Context, bail};
use pilot_domain::{Credits, Environment};

use crate::app::App;
use crate::cli::CreditsCommand;
use crate::config::Config;

pub async fn run(config: Config, command: CreditsCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: CreditsCommand) -> anyhow::Result<()> {
    let (workspace, env) = match &command {
        CreditsCommand::Grant { target, .. }
        | CreditsCommand::Balance { target }
        | CreditsCommand::Ledger { target, .. } => (target.workspace.clone(), target.env),
    };
    let environment: Environment = env.into();
    let found = app
        .store
        .find_workspace(&workspace)
        .await?
        .with_context(|| format!("no workspace named {workspace:?}"))?;
    match command {
        CreditsCommand::Grant { amount, note, .. } => {
            let amount = Credits::from_f64(amount)
                .filter(|c| c.micros() > 0)
                .context("the amount must be a positive number of credits")?;
            let balance = app
                .store
                .grant_credits(found.id, environment, amount, &note, app.clock.now())
                .await?;
            println!("granted {amount} credits to {workspace} ({environment}); balance {balance}");
        }
        CreditsCommand::Balance { .. } => {
            let balance = app.store.balance(found.id, environment).await?;
            println!("{balance}");
        }
        CreditsCommand::Ledger { limit, .. } => {
            if limit == 0 {
                bail!("--limit must be at least 1");
            }
            let entries = app.store.ledger(found.id, environment, limit).await?;
            println!(
                "{:<8} {:<20} {:<18} {:>12} {:>12}  deliberation / note",
                "id", "at", "kind", "amount", "balance"
            );
            for entry in entries {
                println!(
                    "{:<8} {:<20} {:<18} {:>12} {:>12}  {}",
                    entry.id,
                    crate::commands::keys::format_time(entry.created_at),
                    entry.kind,
                    entry.amount.to_string(),
                    entry.balance_after.to_string(),
                    entry
                        .deliberation_id
                        .map(|id| id.to_string())
                        .unwrap_or(entry.note),
                );
            }
        }
    }
    Ok(())
}
