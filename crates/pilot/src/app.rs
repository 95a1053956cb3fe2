//! Assembling Pilot from its configuration: the store, the master key, the HTTP
//! router, the workers; and running them until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pilot_domain::MasterKey;
use pilot_engine::deliberation::{DeliberationDeps, Pipeline};
use pilot_engine::drafting::Drafter;
use pilot_engine::runner::RunDeps;
use pilot_engine::steps::StepServices;
use pilot_engine::steps::email::Mailer;
use pilot_engine::webhooks::DeliveryDeps;
use pilot_engine::{Clock, SystemClock, Worker};
use pilot_http::AppState;
use pilot_http::stream_slots::StreamSlots;
use pilot_models::Models;
use pilot_operations::{Operations, Policy, Services};
use pilot_outbound::OutboundClient;
use pilot_store::RateLimit;
use pilot_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::jobs::{self, JobContext};
use crate::master_key;
use crate::triggers::email::EmailTrigger;
use crate::triggers::schedule::ScheduleTimer;
use crate::usage_sink::StoreUsageSink;

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub master_key: MasterKey,
    pub clock: Arc<dyn Clock>,
    /// Every model call goes through here, metered into the store.
    pub models: Arc<Models>,
    /// What `http` steps send through.
    pub outbound: Arc<OutboundClient>,
    /// What `email` steps send through.
    pub mailer: Arc<Mailer>,
    /// The outbound guard for `webhook_url`s and `notifyUrl`s: HTTPS required unless
    /// `[webhooks] allow_http`.
    pub webhook_guard: OutboundClient,
    /// Runs deliberations (the `deliberate` job).
    pub pipeline: Arc<Pipeline>,
    /// What webhook deliveries go through: `[outbound]` with redirects answered, not
    /// followed, the 2 KB a record keeps, and `[webhooks]`' time limit and scheme.
    pub delivery_client: OutboundClient,
}

impl App {
    /// Opens and migrates the configured store and loads the master key.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        if !config.uses_postgres() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating data directory {}", config.data_dir.display())
            })?;
        }
        config.models.validate()?;
        config.deliberations.validate()?;
        config.validate_http()?;
        let master_key = master_key::load(&config)?;
        let url = config.database_url();
        let store = pilot_store::open(&url, &config.store_options())
            .await
            .with_context(|| format!("opening store {}", crate::config::redact_url(&url)))?;
        store.migrate().await.context("migrating the store")?;
        App::from_parts(config, store, master_key, Arc::new(SystemClock))
    }

    pub fn from_parts(
        config: Config,
        store: Arc<dyn Store>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let models = Arc::new(build_models(&config, &store, &clock));
        let outbound = OutboundClient::new(config.outbound.clone())
            .context("building the outbound HTTP client from [outbound]")?;
        let webhook_guard = OutboundClient::new(pilot_outbound::OutboundPolicy {
            require_https: !config.webhooks.allow_http,
            ..config.outbound.clone()
        })
        .context("building the webhook guard from [outbound] and [webhooks]")?;
        let delivery_client = OutboundClient::new(DeliveryDeps::client_policy(
            &config.outbound,
            !config.webhooks.allow_http,
            config.webhooks.timeout_ms,
        ))
        .context("building the webhook delivery client from [outbound] and [webhooks]")?;
        if config.webhooks.allow_http {
            tracing::warn!(
                "webhooks.allow_http is on: webhook deliveries may go over plain http; \
                 use it for development only"
            );
        }
        let mailer = Mailer::new(&config.smtp)
            .map_err(|e| anyhow::anyhow!(e))
            .context("reading [smtp]")?;
        let pipeline = Arc::new(Pipeline::new(
            models.clone(),
            config.deliberations.clone(),
            clock.clone(),
        ));
        Ok(App {
            config,
            store,
            master_key,
            clock,
            models,
            outbound: Arc::new(outbound),
            mailer: Arc::new(mailer),
            webhook_guard,
            pipeline,
            delivery_client,
        })
    }

    /// The HTTP application — both REST surfaces and the MCP server at `/mcp` —;
    /// links it returns start with `public_url`. `shutdown` ends MCP streams.
    pub fn router(&self, public_url: String, shutdown: CancellationToken) -> axum::Router {
        let mcp = pilot_mcp::router(self.operations(public_url.clone()), shutdown);
        let dashboard = pilot_dashboard::router(self.operations(public_url.clone()));
        pilot_http::router(self.app_state(public_url))
            .merge(mcp)
            .merge(dashboard)
    }

    /// Every use case, for the interfaces and triggers to call; links in its views
    /// start with `public_url`.
    pub fn operations(&self, public_url: String) -> Operations {
        let pilots = &self.config.pilots;
        let limits = &self.config.limits;
        Operations::new(
            Services {
                store: self.store.clone(),
                clock: self.clock.clone(),
                master_key: self.master_key.clone(),
                models: self.models.clone(),
                drafter: Drafter::new(self.models.clone(), pilots.draft_repairs),
                webhook_guard: self.webhook_guard.clone(),
            },
            Policy {
                public_url,
                mail_domain: self.config.email_trigger.domain.clone(),
                pilot_creates: RateLimit {
                    limit: i64::from(pilots.creates_per_minute),
                    window_ms: 60_000,
                },
                min_schedule_interval: pilots.min_schedule_interval(),
                deliberation_posts: limits.deliberation_submissions(),
                deliberation_reads: limits.deliberation_reads(),
                idempotency_ttl_ms: limits.idempotency_ttl_ms(),
                deliberations: self.config.deliberations.clone(),
                webhooks: self.config.webhooks.clone(),
                dashboard: self.config.dashboard.policy(),
                environments: self.config.environments.clone(),
            },
        )
    }

    /// What pilot steps reach outside a run: models, the outbound guard, SMTP, and
    /// the operations a `deliberate` step submits through — the API's own, so a
    /// pilot's deliberation meets the same scope, rate limit, guardrails and credits
    /// as its key's requests (links in what they answer are not shown, so the
    /// configured base URL does).
    pub fn step_services(&self) -> StepServices {
        StepServices {
            submitter: Arc::new(self.operations(self.config.configured_public_url())),
            models: self.models.clone(),
            outbound: self.outbound.clone(),
            mailer: self.mailer.clone(),
            deliberations: self.config.deliberations.clone(),
            deliberate_poll: Duration::from_millis(self.config.pilots.deliberate_poll_ms.max(10)),
        }
    }

    /// What the HTTP handlers reach.
    pub fn app_state(&self, public_url: String) -> AppState {
        AppState {
            ops: self.operations(public_url),
            config: self.config.http.clone(),
            streams: StreamSlots::new(self.config.http.max_event_streams_per_key),
        }
    }

    /// Runs the background parts — worker, the schedule trigger's timer, and the email
    /// trigger's SMTP listener when enabled — until `shutdown`; returns their tasks.
    async fn background(
        &self,
        ops: &Operations,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        let mut tasks = vec![
            tokio::spawn({
                let worker = self
                    .worker_for(ops.policy().public_url.clone())
                    .run(shutdown.clone());
                async move {
                    let report = worker.await;
                    tracing::info!(?report, "worker stopped");
                }
            }),
            tokio::spawn(
                ScheduleTimer::new(
                    ops.clone(),
                    Duration::from_millis(self.config.pilots.scheduler_interval_ms.max(10)),
                )
                .run(shutdown.clone()),
            ),
        ];
        let listen = &self.config.email_trigger;
        if listen.enabled {
            // Settings and the STARTTLS certificate and key first, so that a bad
            // one stops start-up before anything listens.
            let handler = Arc::new(EmailTrigger::new(ops.clone()));
            let server = pilot_smtp::SmtpServer::new(handler, listen.clone())
                .map_err(|e| anyhow::anyhow!("[email_trigger]: {e}"))?;
            let listener = TcpListener::bind(&listen.bind).await.with_context(|| {
                format!(
                    "binding the email trigger's SMTP listener on {}",
                    listen.bind
                )
            })?;
            tracing::info!(
                bind = %listen.bind,
                domain = %listen.domain,
                starttls = listen.tls_configured(),
                "email trigger listening"
            );
            tasks.push(tokio::spawn(server.serve(listener, shutdown.clone())));
        }
        Ok(tasks)
    }

    /// A worker whose links (a webhook's `result_url`) start with the configured
    /// `public_url`.
    pub fn worker(&self) -> Worker<JobContext> {
        self.worker_for(self.config.configured_public_url())
    }

    /// A worker whose links start with `public_url`.
    pub fn worker_for(&self, public_url: String) -> Worker<JobContext> {
        let ctx = JobContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
            models: self.models.clone(),
            runs: RunDeps {
                store: self.store.clone(),
                clock: self.clock.clone(),
                master_key: self.master_key.clone(),
                services: Arc::new(self.step_services()),
            },
            deliberations: DeliberationDeps {
                store: self.store.clone(),
                clock: self.clock.clone(),
                pipeline: self.pipeline.clone(),
            },
            deliveries: DeliveryDeps {
                store: self.store.clone(),
                clock: self.clock.clone(),
                master_key: self.master_key.clone(),
                client: self.delivery_client.clone(),
                public_url,
                timeout: std::time::Duration::from_millis(self.config.webhooks.timeout_ms),
                retry_delays_ms: self.config.webhooks.retry_delays_ms(),
            },
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
    /// serving) with `[http]`'s timeouts and connection bound
    /// (`pilot_http::server`) and, with `embedded_worker`, runs a worker beside it.
    /// On `shutdown`: stops accepting, lets in-flight requests and jobs finish within
    /// the grace period, and hands unfinished jobs back to the queue.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: CancellationToken,
        embedded_worker: bool,
    ) -> anyhow::Result<()> {
        let public_url = self.config.public_url(listener.local_addr()?);
        let background = if embedded_worker {
            self.background(&self.operations(public_url.clone()), &shutdown)
                .await?
        } else {
            Vec::new()
        };
        let grace = Duration::from_millis(self.config.queue.shutdown_grace_ms);
        let router = self.router(public_url, shutdown.clone());
        let http = self.config.http.clone();
        let stop = shutdown.clone().cancelled_owned();
        let server = tokio::spawn(async move {
            pilot_http::server::serve(listener, router, &http, stop).await;
        });
        let served = tokio::select! {
            result = server => result.context("HTTP server task"),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("in-flight requests outlived the shutdown grace period; closing");
                Ok(())
            }
        };
        for task in background {
            task.await.context("background task")?;
        }
        served
    }

    /// Runs the background parts only (no HTTP) until `shutdown`: the worker, the
    /// schedule trigger's timer and, when enabled, the email trigger's listener.
    pub async fn work(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ops = self.operations(self.config.configured_public_url());
        for task in self.background(&ops, &shutdown).await? {
            task.await.context("background task")?;
        }
        Ok(())
    }
}

/// The model layer, metering into `store` with `clock`'s time.
fn build_models(config: &Config, store: &Arc<dyn Store>, clock: &Arc<dyn Clock>) -> Models {
    let sink = Arc::new(StoreUsageSink::new(store.clone()));
    Models::builder(config.models.clone(), sink)
        .clock(clock.clone())
        .build()
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
