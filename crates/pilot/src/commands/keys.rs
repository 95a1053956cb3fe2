use anyhow::{Context, bail};
use pilot_domain::{ApiKeyId, Scopes, UnixMillis};
use pilot_store::WorkspaceRecord;

use crate::app::App;
use crate::cli::KeysCommand;
use crate::config::Config;
use crate::keys::issue;

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    match command {
        KeysCommand::Create {
            workspace,
            environment,
            name,
            scopes,
        } => {
            let workspace = find(&app, &workspace).await?;
            let scopes = match scopes {
                Some(raw) => Scopes::parse(&raw)?,
                None => Scopes::all(),
            };
            let issued = issue(environment.into(), &name, scopes, &app.master_key);
            let record = app
                .store
                .create_api_key(workspace.id, &issued.record, app.clock.now())
                .await
                .context("storing the key")?;
            println!(
                "created key {} ({}) in workspace {}",
                record.id, record.prefix, workspace.name
            );
            println!("shown only this once:");
            println!("  key:            {}", issued.token.expose());
            println!("  webhook secret: {}", issued.webhook_secret.expose());
            println!("  scopes:         {}", record.scopes);
        }
        KeysCommand::List {
            workspace,
            environment,
        } => {
            let workspace = find(&app, &workspace).await?;
            let keys = app
                .store
                .list_api_keys(workspace.id, environment.map(Into::into))
                .await?;
            println!(
                "{:<6} {:<5} {:<14} {:<21} {:<10} name / scopes",
                "id", "env", "prefix", "created", "state"
            );
            for key in keys {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<5} {:<14} {:<21} {:<10} {} / {}",
                    key.id,
                    key.environment.as_str(),
                    format!("{}…", key.prefix),
                    format_time(key.created_at),
                    state,
                    key.name,
                    key.scopes
                );
            }
        }
        KeysCommand::Revoke { workspace, id } => {
            let workspace = find(&app, &workspace).await?;
            if !app
                .store
                .revoke_api_key(workspace.id, ApiKeyId(id), app.clock.now())
                .await?
            {
                bail!(
                    "workspace {} has no active key with id {id}",
                    workspace.name
                );
            }
            println!("revoked key {id}");
        }
    }
    app.store.close().await;
    Ok(())
}

async fn find(app: &App, name: &str) -> anyhow::Result<WorkspaceRecord> {
    match app.store.find_workspace(name).await? {
        Some(workspace) => Ok(workspace),
        None => bail!("no workspace named {name:?} (see `pilot workspaces list`)"),
    }
}

/// An instant as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(at: UnixMillis) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| at.0.to_string())
}
