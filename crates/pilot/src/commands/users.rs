//! `pilot users create|list|disable|reset-link`: dashboard accounts, through the
//! operator's operations. A set-password link is printed once, here.

use pilot_domain::Role;

use super::{console, refused, refused_in};
use crate::app::App;
use crate::cli::{RoleArg, UsersCommand};
use crate::commands::keys::format_time;
use crate::config::Config;

pub async fn run(config: Config, command: UsersCommand) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let result = execute(&app, command).await;
    app.store.close().await;
    result
}

async fn execute(app: &App, command: UsersCommand) -> anyhow::Result<()> {
    let (ops, operator) = console(app);
    match command {
        UsersCommand::Create {
            email,
            workspace,
            role,
        } => {
            let role = match role {
                RoleArg::Member => Role::Member,
                RoleArg::Owner => Role::Owner,
            };
            let link = ops
                .create_user(&operator, &email, &workspace, role)
                .await
                .map_err(refused_in(&workspace))?;
            println!(
                "created {role} {} in workspace {workspace}",
                email.trim().to_lowercase()
            );
            print_link(&link);
        }
        UsersCommand::List => {
            let users = ops.list_users(&operator).await.map_err(refused)?;
            if users.is_empty() {
                println!("no users (see `pilot users create`)");
            }
            for user in users {
                println!(
                    "{:>4}  {:<32} {:<7} {:<16} {}{}",
                    user.id,
                    user.email,
                    user.role,
                    user.workspace,
                    format_time(pilot_domain::UnixMillis(user.created_at)),
                    if user.disabled { "  disabled" } else { "" }
                );
            }
        }
        UsersCommand::Disable { email } => {
            ops.disable_user(&operator, &email).await.map_err(refused)?;
            println!(
                "disabled {}; their sessions have ended",
                email.trim().to_lowercase()
            );
        }
        UsersCommand::ResetLink { email } => {
            let link = ops.reset_link(&operator, &email).await.map_err(refused)?;
            print_link(&link);
        }
    }
    Ok(())
}

fn print_link(link: &pilot_operations::UserLink) {
    let expires = format_time(pilot_domain::UnixMillis(link.expires_at * 1000));
    println!(
        "set-password link (one time, expires {expires} UTC):\n  {}",
        link.url
    );
}
