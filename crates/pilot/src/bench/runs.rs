//! `pilot bench runs`: pilot runs fired through the HTTP run endpoint and executed by
//! the real step engine, on a scratch store.
//!
//! The pilot has three steps — `transform` → `condition` → `http` POST to a local
//! sink — so every run touches the template engine, the outbound guard and the
//! store's per-step writes. A run counts as finished when its `http` step reaches the
//! sink (its last step; the run's final status write follows it); fire-to-finish is
//! measured from the start of the `POST /run` request to that moment.
//!
//! Two phases on one server: **throughput** fires `--runs` runs from `--concurrency`
//! clients as fast as the server accepts them; **paced** fires at `--rate` runs per
//! second for `--seconds`, and reports the latency of the run endpoint itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use pilot_domain::MasterKey;
use pilot_engine::{Clock, SystemClock};
use pilot_operations::Operator;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::arrivals::Arrivals;
use super::pg_waits::WaitSampler;
use super::scratch::Scratch;
use super::worker_children::{WorkerChildren, WorkerSettings};
use super::{percentile, three_step_pilot_steps};
use crate::app::App;
use crate::cli::RunsBenchArgs;
use crate::config::Config;

pub async fn run(config: Config, args: RunsBenchArgs) -> anyhow::Result<()> {
    let backend = super::backend_name(args.postgres.as_deref());
    let scratch = Scratch::create(args.postgres.as_deref()).await?;
    let result = bench(&config, &args, &scratch.url, backend).await;
    scratch.remove().await;
    result
}

async fn bench(
    config: &Config,
    args: &RunsBenchArgs,
    url: &str,
    backend: &str,
) -> anyhow::Result<()> {
    let sink = Sink::start().await?;
    let mut config = config.clone();
    config.outbound = pilot_outbound::OutboundPolicy::allowing(&["127.0.0.1/32"])
        .context("outbound allow-list")?;
    config.queue.concurrency = args.concurrency.max(1);
    config.queue.workspace_cap = args.workspace_cap;
    config.queue.poll_interval_ms = 100;
    config.pilots.creates_per_minute = 1_000;

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
    let key = first.live.token.expose().to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let embedded_worker = args.workers == 0;
    let server = {
        let (app, shutdown) = (app.clone(), shutdown.clone());
        tokio::spawn(async move { app.serve(listener, shutdown, embedded_worker).await })
    };
    let _workers = (!embedded_worker)
        .then(|| {
            WorkerChildren::start(
                args.workers,
                &WorkerSettings {
                    database_url: url,
                    concurrency: args.concurrency.max(1),
                    workspace_cap: args.workspace_cap,
                    allow: "127.0.0.1/32",
                },
            )
        })
        .transpose()?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let created: Value = client
        .post(format!("{base}/api/v1/pilots"))
        .bearer_auth(&key)
        .json(&json!({
            "title": "bench",
            "steps": three_step_pilot_steps(&format!("{}/sink", sink.url)),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let run_url = format!("{base}/api/v1/pilots/{}/run", created["id"]);
    let fire = Fire {
        client,
        url: run_url,
        key,
    };

    let workers = if embedded_worker {
        "the embedded worker".to_owned()
    } else {
        format!("{} worker processes", args.workers)
    };
    println!(
        "runs bench: {backend}, 3-step pilot (transform → condition → http), {workers}, \
         concurrency {} each, workspace cap {}",
        args.concurrency, args.workspace_cap
    );
    let waits = match backend {
        "postgres" => Some(WaitSampler::start(url).await?),
        _ => None,
    };

    // Throughput: as fast as the server accepts.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut clients = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (fire, next, total) = (fire.clone(), next.clone(), args.runs);
        clients.push(tokio::spawn(async move {
            let mut fired = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(fired);
                }
                fired.push(fire.one(n).await?);
            }
        }));
    }
    let mut fired = Vec::new();
    for client in clients {
        fired.extend(client.await??);
    }
    sink.wait_for(args.runs as usize, Duration::from_secs(300))
        .await?;
    let elapsed = started.elapsed();
    let finish = sink.finish_latencies(&fired);
    println!(
        "throughput: {} runs in {:.2} s = {:.0} completed runs/s; fire-to-finish p50 {:.1} ms, p99 {:.1} ms",
        args.runs,
        elapsed.as_secs_f64(),
        f64::from(args.runs) / elapsed.as_secs_f64(),
        percentile(&finish, 50.0),
        percentile(&finish, 99.0),
    );
    if let Some(waits) = waits {
        let waits = waits.finish().await?;
        println!("postgres waits (throughput phase): {}", waits.summary());
        println!(
            "postgres per run (throughput phase): {}",
            waits.per_run(args.runs)
        );
    }

    // Paced: a steady offered rate; the run endpoint's own latency.
    let paced = args.rate * args.seconds;
    let offset = args.runs;
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(paced as usize);
    for n in 0..paced {
        ticker.tick().await;
        let fire = fire.clone();
        tasks.push(tokio::spawn(async move { fire.one(offset + n).await }));
    }
    let mut fired = Vec::with_capacity(tasks.len());
    for task in tasks {
        fired.push(task.await??);
    }
    sink.wait_for((args.runs + paced) as usize, Duration::from_secs(300))
        .await?;
    let respond: Vec<f64> = fired.iter().map(|f| f.respond_ms).collect();
    let finish = sink.finish_latencies(&fired);
    println!(
        "paced at {}/s for {} s: run endpoint p50 {:.2} ms, p99 {:.2} ms; fire-to-finish p50 {:.1} ms, p99 {:.1} ms",
        args.rate,
        args.seconds,
        percentile(&respond, 50.0),
        percentile(&respond, 99.0),
        percentile(&finish, 50.0),
        percentile(&finish, 99.0),
    );

    shutdown.cancel();
    server.await.context("server task")??;
    store.close().await;
    Ok(())
}

#[derive(Clone)]
struct Fire {
    client: reqwest::Client,
    url: String,
    key: String,
}

struct Fired {
    n: u32,
    at: Instant,
    respond_ms: f64,
}

impl Fire {
    async fn one(&self, n: u32) -> anyhow::Result<Fired> {
        let at = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&json!({"n": n, "total": 49.5}))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 202,
            "run endpoint answered {}",
            response.status()
        );
        let respond_ms = at.elapsed().as_secs_f64() * 1000.0;
        Ok(Fired { n, at, respond_ms })
    }
}

/// The local receiver of the `http` steps: when each run's POST arrived.
#[derive(Clone)]
struct Sink {
    url: String,
    arrived: Arc<Arrivals<u32>>,
}

impl Sink {
    async fn start() -> anyhow::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = Sink {
            url: format!("http://{}", listener.local_addr()?),
            arrived: Arc::new(Arrivals::new()),
        };
        let app = Router::new()
            .route("/sink", post(receive))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }

    async fn wait_for(&self, count: usize, limit: Duration) -> anyhow::Result<()> {
        self.arrived.wait_for(count, limit, "runs finished").await
    }

    fn finish_latencies(&self, fired: &[Fired]) -> Vec<f64> {
        self.arrived
            .latencies_ms(fired.iter().map(|f| (&f.n, f.at)))
    }
}

async fn receive(State(sink): State<Sink>, body: Bytes) -> &'static str {
    let at = Instant::now();
    let n = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["n"].as_u64().or_else(|| v["n"].as_str()?.parse().ok()));
    if let Some(n) = n {
        sink.arrived.record(n as u32, at);
    }
    "ok"
}
