//! `pilot workspaces create|list`: the tenants, through the operator's operations
//! (`create_workspace`, `list_workspaces`). A new workspace's two keys are printed
//! once, here.

use pilot_domain::WorkspaceName;

use super::{console, refused};
use crate::app::App;
use crate::cli::WorkspacesCommand;
use crate::commands::keys::format_time;
use crate::config::Config;

pub async fn run(config: Config, command: WorkspacesCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: WorkspacesCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        WorkspacesCommand::Create { name } => {
            let name = WorkspaceName::parse(&name)?;
            let created = ops
                .create_workspace(&operator, &name)
                .await
                .map_err(refused)?;
            println!(
                "created workspace {} (id {})",
                created.workspace.name, created.workspace.id
            );
            println!("keys and webhook secrets are shown only this once:");
            for issued in [&created.live, &created.test] {
                println!(
                    "  {} key: {}\n    webhook secret: {}",
                    issued.key.environment,
                    issued.token.expose(),
                    issued.webhook_secret.expose()
                );
            }
        }
        WorkspacesCommand::List => {
            println!("{:<8} {:<32} created", "id", "name");
            for workspace in ops
                .list_workspaces(&operator)
                .await
                .map_err(refused)?
                .workspaces
            {
                println!(
                    "{:<8} {:<32} {}",
                    workspace.id,
                    workspace.name,
                    format_time(workspace.created_at)
                );
            }
        }
    }
    Ok(())
}
