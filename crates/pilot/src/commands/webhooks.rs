//! `pilot webhooks secret [--rotate]`: the signing secret of a workspace
//! environment's run events (`run.completed` / `run.failed` to pilots'
//! `notifyUrl`s), through the operator's `signing_secret` and
//! `rotate_signing_secret`. The secret is printed in clear for the operator to hand
//! to the receiver; no API shows it.

use super::{console, refused_in};
use crate::app::App;
use crate::cli::WebhooksCommand;
use crate::config::Config;

pub async fn run(config: Config, command: WebhooksCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: WebhooksCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        WebhooksCommand::Secret { target, rotate } => {
            let (workspace, environment) = (&target.workspace, target.env.into());
            let shown = if rotate {
                ops.rotate_signing_secret(&operator, workspace, environment)
                    .await
            } else {
                ops.signing_secret(&operator, workspace, environment).await
            }
            .map_err(refused_in(workspace))?;
            if shown.rotated {
                println!(
                    "rotated the run events' signing secret of {} ({}); deliveries signed from now on use the new one",
                    shown.workspace, shown.environment
                );
            } else {
                println!(
                    "the run events' signing secret of {} ({})",
                    shown.workspace, shown.environment
                );
            }
            println!("  secret: {}", shown.secret.expose());
        }
    }
    Ok(())
}
