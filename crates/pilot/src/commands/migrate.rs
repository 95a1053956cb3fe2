use crate::app::App;
use crate::config::Config;

/// Opening the app migrates the store; say which one.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    println!(
        "migrated {} store at {}",
        app.store.backend().as_str(),
        crate::config::redact_url(&app.config.database_url())
    );
    app.store.close().await;
    Ok(())
}
