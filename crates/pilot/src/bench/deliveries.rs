//! `pilot bench deliveries`: signed webhook deliveries through the real worker, its
//! `deliver_webhook` jobs, the outbound guard and the store, to a local receiver
//! that checks each signature and answers `200`.
//!
//! The deliberations are written and ended straight through the store (their
//! panels are not the subject), with a `webhook_url` and the bench key as
//! submitter, so each end is the production terminal write: the deliberation, its
//! ledger, its event and its delivery with the job, in one transaction. Their
//! `deliberate` jobs are claimed and completed by the bench before anything is
//! measured, so the worker runs deliveries alone.
//!
//! Two phases: **throughput** ends `--deliveries` deliberations with the worker
//! stopped, then starts it and times the backlog's drain to the last `200`;
//! **paced** ends deliberations at `--rate` per second for `--seconds` with the
//! worker running, and reports the time from each terminal commit's return to its
//! first attempt's arrival at the receiver.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use pilot_domain::webhook::signature::verify_pilot5;
use pilot_domain::{
    ApiKeyId, Credits, DeliberationId, Difficulty, Environment, MasterKey, Mode, UseCase,
    WorkspaceId,
};
use pilot_engine::{Clock, SystemClock};
use pilot_operations::Operator;
use pilot_store::{ClaimRequest, CreateDeliberation, DeliberationResult, NewDeliberation, Store};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::arrivals::Arrivals;
use super::percentile;
use super::scratch::Scratch;
use crate::app::App;
use crate::cli::DeliveriesBenchArgs;
use crate::config::Config;

pub async fn run(config: Config, args: DeliveriesBenchArgs) -> anyhow::Result<()> {
    let backend = super::backend_name(args.postgres.as_deref());
    let scratch = Scratch::create(args.postgres.as_deref()).await?;
    let result = bench(&config, &args, &scratch.url, backend).await;
    scratch.remove().await;
    result
}

async fn bench(
    config: &Config,
    args: &DeliveriesBenchArgs,
    url: &str,
    backend: &str,
) -> anyhow::Result<()> {
    let mut config = config.clone();
    config.outbound = pilot_outbound::OutboundPolicy::allowing(&["127.0.0.1/32"])
        .context("outbound allow-list")?;
    config.webhooks.allow_http = true;
    config.queue.concurrency = args.concurrency.max(1);
    config.queue.workspace_cap = args.concurrency.max(1);
    config.queue.poll_interval_ms = 100;

    let store = pilot_store::open(url, &config.store_options()).await?;
    store.migrate().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = Arc::new(App::from_parts(
        config,
        store.clone(),
        MasterKey::generate().0,
        clock.clone(),
    )?);
    let first = app
        .operations(app.config.configured_public_url())
        .first_start(&Operator::console())
        .await?
        .context("a scratch store gets the default workspace")?;
    let workspace = store
        .find_workspace(&first.test.workspace)
        .await?
        .context("the default workspace")?
        .id;
    let submitter = Submitter {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        key: ApiKeyId(first.test.key.id),
    };
    let receiver = Receiver::start(first.test.webhook_secret.expose().to_owned()).await?;
    println!(
        "deliveries bench: {backend}, worker concurrency {}, receiver verifies X-Pilot5-Signature and answers 200",
        args.concurrency
    );

    // Both phases' deliberations are written first, and their panel jobs cleared,
    // before a worker runs.
    let paced = (args.rate * args.seconds) as usize;
    let backlog = submitter.create(args.deliveries, &receiver.url).await?;
    let ids = submitter.create(paced as u32, &receiver.url).await?;
    submitter.clear_panel_jobs().await?;

    // Throughput: a backlog of ended deliberations, drained by a fresh worker.
    for id in &backlog {
        submitter.end(id).await?;
    }
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let worker = tokio::spawn(app.worker().run(shutdown.clone()));
    receiver
        .wait_for(backlog.len(), Duration::from_secs(600))
        .await?;
    let elapsed = started.elapsed();
    println!(
        "throughput: {} deliveries in {:.2} s = {:.0} signed deliveries/s ({} signature failures)",
        backlog.len(),
        elapsed.as_secs_f64(),
        backlog.len() as f64 / elapsed.as_secs_f64(),
        receiver.bad.load(Ordering::Relaxed),
    );

    // Paced: terminal commits at a steady rate, the worker running.
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let committed = Arc::new(Mutex::new(HashMap::with_capacity(paced)));
    let mut tasks = Vec::with_capacity(paced);
    for id in ids {
        ticker.tick().await;
        let (submitter, committed) = (submitter.clone(), committed.clone());
        tasks.push(tokio::spawn(async move {
            submitter.end(&id).await?;
            let at = Instant::now();
            committed.lock().expect("lock").insert(id.to_string(), at);
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    receiver
        .wait_for(backlog.len() + paced, Duration::from_secs(600))
        .await?;
    let latencies = receiver.latencies(&committed.lock().expect("lock"));
    println!(
        "paced at {}/s for {} s: terminal commit to first attempt p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} deliveries)",
        args.rate,
        args.seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
        latencies.len(),
    );

    shutdown.cancel();
    worker.await.context("worker task")?;
    store.close().await;
    Ok(())
}

/// Writes and ends deliberations the way the API and the pipeline do.
#[derive(Clone)]
struct Submitter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    workspace: WorkspaceId,
    key: ApiKeyId,
}

impl Submitter {
    async fn create(&self, count: u32, url: &str) -> anyhow::Result<Vec<DeliberationId>> {
        let mut ids = Vec::with_capacity(count as usize);
        for n in 0..count {
            let id = DeliberationId::derived(
                u64::try_from(self.clock.now().0).unwrap_or(0),
                &format!("bench-{n}-{}", rand::random::<u64>()),
            );
            let new = NewDeliberation {
                id: id.clone(),
                key_id: Some(self.key),
                mode: Mode::Smartroute1,
                use_case: UseCase::Pricing,
                difficulty: Difficulty::Medium,
                question: "Per seat or usage-based pricing for mid-market?".into(),
                webhook_url: Some(url.to_owned()),
                metadata: Some(json!({"n": n})),
                estimate: Credits::ZERO,
            };
            let created = self
                .store
                .create_deliberation(self.workspace, Environment::Test, &new, self.clock.now())
                .await?;
            anyhow::ensure!(
                matches!(created, CreateDeliberation::Created(_)),
                "deliberation not created"
            );
            ids.push(id);
        }
        Ok(ids)
    }

    /// Claims and completes the `deliberate` jobs: the panels are not measured.
    async fn clear_panel_jobs(&self) -> anyhow::Result<()> {
        loop {
            let now = self.clock.now();
            let claimed = self
                .store
                .claim(&ClaimRequest {
                    owner: "bench",
                    limit: 1_000,
                    now,
                    lease_until: now.plus_ms(600_000),
                    workspace_cap: None,
                })
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                claimed
                    .iter()
                    .all(|job| job.kind == pilot_store::DELIBERATION_JOB_KIND),
                "only panel jobs are queued before the deliberations end"
            );
            let ids: Vec<_> = claimed.iter().map(|job| job.id).collect();
            self.store.complete("bench", &ids).await?;
        }
    }

    async fn end(&self, id: &DeliberationId) -> anyhow::Result<()> {
        let result = DeliberationResult {
            synthesis: "Usage-based, with a seat floor.".into(),
            summary: "Usage-based.".into(),
            minority_report: None,
            confidence_index: 7.5,
            confidence_inputs: json!({}),
            degraded: false,
        };
        let ended = self
            .store
            .complete_deliberation(id, &result, Credits::ZERO, self.clock.now())
            .await?;
        anyhow::ensure!(ended, "the deliberation ends once");
        Ok(())
    }
}

/// Counts verified deliveries and when each deliberation's first arrived.
#[derive(Clone)]
struct Receiver {
    url: String,
    secret: Arc<String>,
    arrived: Arc<Arrivals<String>>,
    bad: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(secret: String) -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr()?),
            secret: Arc::new(secret),
            arrived: Arc::new(Arrivals::new()),
            bad: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    async fn wait_for(&self, count: usize, limit: Duration) -> anyhow::Result<()> {
        self.arrived
            .wait_for(count, limit, "deliveries arrived")
            .await
    }

    fn latencies(&self, committed: &HashMap<String, Instant>) -> Vec<f64> {
        self.arrived
            .latencies_ms(committed.iter().map(|(id, at)| (id, *at)))
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if verify_pilot5(
        &receiver.secret,
        &body,
        header("x-pilot5-signature"),
        header("x-pilot5-timestamp"),
        now,
        300,
    )
    .is_err()
    {
        receiver.bad.fetch_add(1, Ordering::Relaxed);
    }
    let id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["data"]["deliberation_id"].as_str().map(str::to_owned));
    if let Some(id) = id {
        receiver.arrived.record(id, at);
    }
    StatusCode::OK
}
