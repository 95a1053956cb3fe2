//! `pilot keys create|list|revoke`: a workspace's API keys, through the operator's
//! operations (`pilot_operations`' `issue_key`, `list_keys`, `revoke_key`). This file
//! parses the arguments and prints; a key is shown once, here, and never again.

use pilot_domain::{ApiKeyId, Scopes, UnixMillis};
use pilot_operations::NewKey;

use super::{console, refused_in};
use crate::app::App;
use crate::cli::KeysCommand;
use crate::config::Config;

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: KeysCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        KeysCommand::Create {
            workspace,
            environment,
            name,
            scopes,
        } => {
            let scopes = match scopes {
                Some(raw) => Scopes::parse(&raw)?,
                None => Scopes::all(),
            };
            let key = NewKey {
                environment: environment.into(),
                name,
                scopes,
            };
            let issued = ops
                .issue_key(&operator, &workspace, key)
                .await
                .map_err(refused_in(&workspace))?;
            println!(
                "created key {} ({}) in workspace {}",
                issued.key.id, issued.key.prefix, issued.workspace
            );
            println!("shown only this once:");
            println!("  key:            {}", issued.token.expose());
            println!("  webhook secret: {}", issued.webhook_secret.expose());
            println!("  scopes:         {}", issued.key.scopes.join(" "));
        }
        KeysCommand::List {
            workspace,
            environment,
        } => {
            let listed = ops
                .list_keys(&operator, &workspace, environment.map(Into::into))
                .await
                .map_err(refused_in(&workspace))?;
            println!(
                "{:<6} {:<5} {:<14} {:<21} {:<10} name / scopes",
                "id", "env", "prefix", "created", "state"
            );
            for key in listed.keys {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<5} {:<14} {:<21} {:<10} {} / {}",
                    key.id,
                    key.environment,
                    format!("{}…", key.prefix),
                    format_time(key.created_at),
                    state,
                    key.name,
                    key.scopes.join(" ")
                );
            }
        }
        KeysCommand::Revoke { workspace, id } => {
            let revoked = ops
                .revoke_key(&operator, &workspace, ApiKeyId(id))
                .await
                .map_err(refused_in(&workspace))?;
            println!("revoked key {}", revoked.id);
        }
    }
    Ok(())
}

/// An instant as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(at: UnixMillis) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| at.0.to_string())
}
