use anyhow::{Context, bail};
use pilot_domain::WorkspaceName;
use pilot_store::StoreError;

use crate::app::App;
use crate::cli::WorkspacesCommand;
use crate::config::Config;
use crate::keys::starter_pair;

pub async fn run(config: Config, command: WorkspacesCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    match command {
        WorkspacesCommand::Create { name } => {
            let name = WorkspaceName::parse(&name)?;
            let [live, test] = starter_pair(&app.master_key);
            let created = app
                .store
                .create_workspace(
                    &name,
                    &[live.record.clone(), test.record.clone()],
                    app.clock.now(),
                )
                .await;
            match created {
                Ok((workspace, _)) => {
                    crate::bootstrap::grant_starter_credits(
                        app.store.as_ref(),
                        workspace.id,
                        app.clock.now(),
                    )
                    .await?;
                    println!("created workspace {} (id {})", workspace.name, workspace.id);
                    println!("keys and webhook secrets are shown only this once:");
                    for issued in [live, test] {
                        println!(
                            "  {} key: {}\n    webhook secret: {}",
                            issued.record.environment,
                            issued.token.expose(),
                            issued.webhook_secret.expose()
                        );
                    }
                }
                Err(StoreError::Conflict(_)) => bail!("a workspace named {name} already exists"),
                Err(error) => return Err(error).context("creating the workspace"),
            }
        }
        WorkspacesCommand::List => {
            println!("{:<8} {:<32} created", "id", "name");
            for workspace in app.store.list_workspaces().await? {
                println!(
                    "{:<8} {:<32} {}",
                    workspace.id,
                    workspace.name,
                    crate::commands::keys::format_time(workspace.created_at)
                );
            }
        }
    }
    app.store.close().await;
    Ok(())
}
