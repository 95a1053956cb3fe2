//! `pilot bench webhook`: Pilot as a user first meets it. A `pilot serve` child with
//! the default configuration (only its data directory, its port and loopback allowed
//! past the outbound guard are set), a webhook pilot — `transform` → `condition` →
//! `http` POST to a local sink — and `wrk` posting JSON to the pilot's webhook URL
//! over `--connections` connections for `--seconds`.
//!
//! Reported: the webhook endpoint's accepted requests/s (wrk's count and latency),
//! runs completed per second while wrk ran (arrivals at the sink), and how long the
//! runs still queued when it stopped took to finish. Completed runs/s is the figure:
//! every accepted run must reach the sink, so a server that accepts faster than it
//! runs only builds a backlog.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::arrivals::Arrivals;
use super::scratch::Scratch;
use super::serve_child::{ServeChild, config_file};
use super::three_step_pilot_steps;
use crate::cli::WebhookBenchArgs;

/// wrk's request: the same JSON body every time.
const WRK_SCRIPT: &str = r#"wrk.method = "POST"
wrk.body = '{"n": 1042, "total": 49.5, "customer": "ada@example.com"}'
wrk.headers["Content-Type"] = "application/json"
"#;

pub async fn run(args: WebhookBenchArgs) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.postgres.as_deref()).await?;
    let result = bench(&args, &scratch.url).await;
    scratch.remove().await;
    result
}

async fn bench(args: &WebhookBenchArgs, url: &str) -> anyhow::Result<()> {
    let sink = Sink::start().await?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("pilot.toml");
    // The defaults, but for where it keeps its data and listens, and the sink allowed.
    std::fs::write(&config, config_file(dir.path(), url, ""))?;
    let binary = match &args.server_binary {
        Some(binary) => binary.clone(),
        None => std::env::current_exe().context("this binary's path")?,
    };
    let log = dir.path().join("serve.log");
    let server = {
        let (binary, config, log) = (binary.clone(), config.clone(), log.clone());
        tokio::task::spawn_blocking(move || ServeChild::start(&binary, &config, &log)).await??
    };
    let (live, _) = server
        .keys
        .clone()
        .context("a first start prints its keys")?;

    let client = reqwest::Client::new();
    let pilot: Value = client
        .post(format!("{}/api/v1/pilots", server.url))
        .bearer_auth(&live)
        .json(&json!({
            "title": "webhook bench",
            "triggerType": "webhook",
            "steps": three_step_pilot_steps(&format!("{}/sink", sink.url)),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let hook = pilot["webhookUrl"]
        .as_str()
        .context("the pilot's webhookUrl")?
        .to_owned();
    let script = dir.path().join("post.lua");
    std::fs::write(&script, WRK_SCRIPT)?;

    let backend = super::backend_name(args.postgres.as_deref());
    println!(
        "webhook bench: {backend}, pilot serve with the default configuration, \
         wrk -c{} -t{} -d{}s at the pilot's webhook URL",
        args.connections, args.threads, args.seconds
    );
    let before = sink.arrived.count() as u64;
    let started = Instant::now();
    let wrk = wrk(args, &script, &hook).await?;
    let window = started.elapsed();
    let during = sink.arrived.count() as u64 - before;
    let accepted = wrk.requests - wrk.rejected;
    sink.arrived
        .wait_for(
            (before + accepted) as usize,
            Duration::from_secs(120),
            "runs finished",
        )
        .await
        .with_context(|| format!("the server's log:\n{}", server.log_tail()))?;
    let drained = sink
        .arrived
        .last()
        .map_or(window, |last| last.saturating_duration_since(started));
    println!(
        "webhook endpoint: {:.0} requests/s ({} in {:.1} s, {} not 2xx), latency {}",
        wrk.requests as f64 / window.as_secs_f64(),
        wrk.requests,
        window.as_secs_f64(),
        wrk.rejected,
        wrk.latency
    );
    println!(
        "runs completed while wrk ran: {during} = {:.0} completed runs/s; the {} left \
         finished {:.0} ms after wrk stopped ({:.0} runs/s over the whole)",
        during as f64 / window.as_secs_f64(),
        accepted.saturating_sub(during),
        (drained - window.min(drained)).as_secs_f64() * 1e3,
        accepted as f64 / drained.max(window).as_secs_f64()
    );
    if wrk.rejected > 0 {
        bail!("{} webhook requests were not accepted", wrk.rejected);
    }
    Ok(())
}

/// What wrk reported.
struct Wrk {
    requests: u64,
    rejected: u64,
    /// Its latency line: average, stdev, max.
    latency: String,
}

async fn wrk(args: &WebhookBenchArgs, script: &Path, url: &str) -> anyhow::Result<Wrk> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-c{}", args.connections))
        .arg(format!("-t{}", args.threads))
        .arg(format!("-d{}s", args.seconds))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("running wrk (apt install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let number_before = |marker: &str| -> Option<u64> {
        let line = text.lines().find(|line| line.contains(marker))?;
        line.split_whitespace().next()?.parse().ok()
    };
    let requests = number_before(" requests in ").context("wrk's request count")?;
    let rejected = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let latency = text
        .lines()
        .find(|line| line.trim_start().starts_with("Latency "))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            format!(
                "avg {} (stdev {}, max {})",
                fields.get(1).unwrap_or(&"?"),
                fields.get(2).unwrap_or(&"?"),
                fields.get(3).unwrap_or(&"?")
            )
        })
        .unwrap_or_default();
    let percentiles: Vec<String> = ["50%", "99%"]
        .iter()
        .filter_map(|p| {
            let line = text.lines().find(|line| line.trim_start().starts_with(p))?;
            Some(format!(
                "p{} {}",
                p.trim_end_matches('%'),
                line.split_whitespace().nth(1)?
            ))
        })
        .collect();
    Ok(Wrk {
        requests,
        rejected,
        latency: format!("{latency}, {}", percentiles.join(", ")),
    })
}

/// The local receiver of the `http` steps: each POST an arrival of its own (every
/// run posts the same body).
#[derive(Clone)]
struct Sink {
    url: String,
    arrived: Arc<Arrivals<u64>>,
    received: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> anyhow::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = Sink {
            url: format!("http://{}", listener.local_addr()?),
            arrived: Arc::new(Arrivals::new()),
            received: Arc::new(AtomicU64::new(0)),
        };
        let app = Router::new()
            .route("/sink", post(receive))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }
}

async fn receive(State(sink): State<Sink>) -> &'static str {
    let at = Instant::now();
    let n = sink.received.fetch_add(1, Ordering::SeqCst);
    sink.arrived.record(n, at);
    "ok"
}
