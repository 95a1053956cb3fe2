use tokio_util::sync::CancellationToken;

use crate::app::{App, cancel_on_signal};
use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let app = App::open(config).await?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    eprintln!(
        "pilot worker running on the {} store (concurrency {}); Ctrl-C to stop",
        app.store.backend().as_str(),
        app.config.queue.concurrency
    );
    let worked = app.work(shutdown).await;
    app.store.close().await;
    worked
}
