//! Assembling Pilot from its configuration: the store, the master key, the HTTP
//! router, the workers; and running them until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pilot_domain::MasterKey;
use pilot_engine::{Clock, SystemClock, Worker};
use pilot_http::AppState;
use pilot_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::jobs::{self, JobContext};
use crate::master_key;

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub master_key: MasterKey,
    pub clock: Arc<dyn Clock>,
}

impl App {
    /// Opens and migrates the configured store and loads the master key.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        if !config.uses_postgres() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating data directory {}", config.data_dir.display())
            })?;
        }
        let master_key = master_key::load(&config)?;
        let url = config.database_url();
        let store = pilot_store::open(&url, &config.store_options())
            .await
            .with_context(|| format!("opening store {}", crate::config::redact_url(&url)))?;
        store.migrate().await.context("migrating the store")?;
        Ok(App::from_parts(
            config,
            store,
            master_key,
            Arc::new(SystemClock),
        ))
    }

    pub fn from_parts(
        config: Config,
        store: Arc<dyn Store>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> App {
        App {
            config,
            store,
            master_key,
            clock,
        }
    }

    pub fn router(&self) -> axum::Router {
        pilot_http::router(AppState {
            store: self.store.clone(),
            config: self.config.http.clone(),
        })
    }

    pub fn worker(&self) -> Worker<JobContext> {
        let ctx = JobContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        Worker::new(
            self.store.clone(),
            Arc::new(jobs::registry()),
            ctx,
            self.clock.clone(),
            self.config.queue.clone(),
        )
    }

    /// Serves HTTP on `listener` (bound by the caller, so the port is known before
    /// serving) and, with `embedded_worker`, runs a worker beside it. On `shutdown`:
    /// stops accepting, lets in-flight requests and jobs finish within the grace
    /// period, and hands unfinished jobs back to the queue.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: CancellationToken,
        embedded_worker: bool,
    ) -> anyhow::Result<()> {
        let worker = embedded_worker.then(|| tokio::spawn(self.worker().run(shutdown.clone())));
        let grace = Duration::from_millis(self.config.queue.shutdown_grace_ms);
        let server = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(async move { server.await });
        let served = tokio::select! {
            result = server => result.context("HTTP server task")?.context("HTTP server"),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("in-flight requests outlived the shutdown grace period; closing");
                Ok(())
            }
        };
        if let Some(worker) = worker {
            worker.await.context("worker task")?;
        }
        served
    }

    /// Runs workers only (no HTTP) until `shutdown`.
    pub async fn work(&self, shutdown: CancellationToken) {
        self.worker().run(shutdown).await;
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = interrupt => {}
            () = terminate => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}
