//! `pilot bench recovery`: how long a workspace stands still after its server is
//! killed with `kill -9` mid-step, once a server is started again on the same store.
//!
//! Each trial, on a fresh scratch store (a SQLite data directory, or a scratch
//! PostgreSQL database shared by both servers): a `pilot serve` child with the
//! default `[queue]` settings runs a one-step pilot whose `http` step posts to a
//! local sink. `--held` runs (the workspace cap's worth by default) reach the sink,
//! which holds their requests, so their jobs are leased mid-step and fill the cap;
//! `--queued` more wait behind them. The child is killed (`SIGKILL`), the sink stops
//! holding, and a second child is started on the same store at once. The kill comes
//! a random moment within a process heartbeat after two heartbeats of uptime, as a
//! crash would, so the dead process's last heartbeat is anywhere from zero to one
//! interval old. The trial measures, from that restart, until
//!
//! * **resume**: the first run that was waiting behind the cap reaches the sink — the
//!   workspace's queued runs move again;
//! * **done**: the last of them has.
//!
//! Before the process registry, the held jobs kept the workspace's slots until their
//! leases (60 s) expired.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use rand::Rng;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::scratch::Scratch;
use super::serve_child::{ServeChild, config_file};
use crate::cli::RecoveryBenchArgs;
use crate::config::Config;

/// How long a trial may wait for anything before it fails.
const LIMIT: Duration = Duration::from_secs(180);

pub async fn run(config: Config, args: RecoveryBenchArgs) -> anyhow::Result<()> {
    let backend = super::backend_name(args.postgres.as_deref());
    let held = args.held.unwrap_or(config.queue.workspace_cap).max(1);
    println!(
        "recovery bench: {backend}, {held} runs mid-step and {} queued behind them, \
         kill -9, restart on the same store; [queue] defaults (lease {} ms, process \
         heartbeat {} ms, lapse {} ms, reap every {} ms, workspace cap {})",
        args.queued,
        config.queue.lease_ms,
        config.queue.process_heartbeat_ms,
        config.queue.process_lapse_ms,
        config.queue.reap_interval_ms,
        config.queue.workspace_cap,
    );
    println!(
        "{:>6} {:>14} {:>14} {:>14}",
        "trial", "start (ms)", "resume (ms)", "done (ms)"
    );
    let mut resumes = Vec::new();
    for trial in 1..=args.trials.max(1) {
        let scratch = Scratch::create(args.postgres.as_deref()).await?;
        let measured = trial_once(&config, &scratch.url, held, args.queued).await;
        scratch.remove().await;
        let measured = measured.with_context(|| format!("trial {trial}"))?;
        println!(
            "{trial:>6} {:>14.0} {:>14.0} {:>14.0}",
            ms(measured.listening),
            ms(measured.resume),
            ms(measured.done)
        );
        resumes.push(ms(measured.resume));
    }
    resumes.sort_by(f64::total_cmp);
    println!(
        "resume after restart: min {:.0} ms, median {:.0} ms, max {:.0} ms over {} trials",
        resumes[0],
        resumes[resumes.len() / 2],
        resumes[resumes.len() - 1],
        resumes.len()
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One trial's figures, each from the moment the second server was started.
struct Measured {
    /// Until it printed its banner (listening).
    listening: Duration,
    /// Until the first run that waited behind the cap reached the sink.
    resume: Duration,
    /// Until the last of them had.
    done: Duration,
}

/// The children's configuration: this command's `[queue]` (the defaults unless
/// changed), the scratch store, and loopback allowed for the sink.
fn child_config(parent: &Config, dir: &Path, url: &str) -> String {
    let queue = &parent.queue;
    let sections = format!(
        "[queue]\nconcurrency = {}\nlease_ms = {}\nheartbeat_ms = {}\npoll_interval_ms = {}\n\
         reap_interval_ms = {}\nprocess_heartbeat_ms = {}\nprocess_lapse_ms = {}\n\
         workspace_cap = {}\n",
        queue.concurrency,
        queue.lease_ms,
        queue.heartbeat_ms,
        queue.poll_interval_ms,
        queue.reap_interval_ms,
        queue.process_heartbeat_ms,
        queue.process_lapse_ms,
        queue.workspace_cap,
    );
    config_file(dir, url, &sections)
}

async fn trial_once(
    parent: &Config,
    url: &str,
    held: u32,
    queued: u32,
) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("pilot.toml");
    std::fs::write(&config, child_config(parent, dir.path(), url))?;
    let sink = Sink::start().await?;
    let binary = std::env::current_exe().context("the pilot binary")?;
    let started = Instant::now();
    let mut first = start(&binary, &config, &dir.path().join("first.log")).await?;
    let (key, _) = first.keys.clone().context("a first start shows its keys")?;
    let client = reqwest::Client::new();
    let pilot: Value = client
        .post(format!("{}/api/v1/pilots", first.url))
        .bearer_auth(&key)
        .json(&json!({"title": "recovery bench", "steps": [
            {"id": "call", "type": "http", "url": format!("{}/step", sink.url),
             "body": {"n": "{{ trigger.n }}"}}
        ]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let run_url = format!("{}/api/v1/pilots/{}/run", first.url, pilot["id"]);
    let total = held + queued;
    for n in 0..total {
        client
            .post(&run_url)
            .bearer_auth(&key)
            .json(&json!({ "n": n }))
            .send()
            .await?
            .error_for_status()?;
    }
    // The first `held` runs are mid-step: their jobs fill the workspace's cap.
    sink.wait_until(|arrived| arrived.len() >= held as usize)
        .await
        .context("the held runs reaching the sink")?;
    let early: Vec<u32> = sink.arrived().into_keys().filter(|n| *n >= held).collect();
    if !early.is_empty() {
        bail!("runs {early:?} ran past the cap: the cap must equal --held");
    }
    let beat = parent.queue.process_heartbeat_ms;
    let uptime = Duration::from_millis(2 * beat + rand::rng().random_range(0..beat.max(1)));
    tokio::time::sleep_until((started + uptime).into()).await;

    first.kill()?;
    sink.release();
    let restart = Instant::now();
    let second = start(&binary, &config, &dir.path().join("second.log")).await?;
    let listening = restart.elapsed();
    let arrived = sink
        .wait_until(|arrived| arrived.len() >= total as usize)
        .await
        .with_context(|| format!("the queued runs finishing; log:\n{}", second.log_tail()))?;
    drop(second);
    // The runs that waited behind the cap first arrived after the restart.
    let waited = || {
        arrived
            .iter()
            .filter(|(n, _)| **n >= held)
            .map(|(_, at)| *at)
    };
    let (first, last) = (waited().min(), waited().max());
    let since = |at: Option<Instant>| at.map_or(Duration::ZERO, |at| at.duration_since(restart));
    Ok(Measured {
        listening,
        resume: since(first),
        done: since(last),
    })
}

async fn start(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<ServeChild> {
    let (binary, config, log) = (binary.to_owned(), config.to_owned(), log.to_owned());
    tokio::task::spawn_blocking(move || ServeChild::start(&binary, &config, &log)).await?
}

/// The `http` steps' receiver: when each run first arrived; holds requests while told.
#[derive(Clone)]
struct Sink {
    url: String,
    arrived: Arc<Mutex<HashMap<u32, Instant>>>,
    notify: Arc<Notify>,
    holding: Arc<watch::Sender<bool>>,
}

impl Sink {
    async fn start() -> anyhow::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = Sink {
            url: format!("http://{}", listener.local_addr()?),
            arrived: Arc::new(Mutex::new(HashMap::new())),
            notify: Arc::new(Notify::new()),
            holding: Arc::new(watch::Sender::new(true)),
        };
        let app = Router::new()
            .route("/step", post(receive))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }

    fn arrived(&self) -> HashMap<u32, Instant> {
        self.arrived.lock().expect("sink lock").clone()
    }

    fn release(&self) {
        self.holding.send_replace(false);
    }

    /// Waits until `done` holds of the arrivals; the arrivals then.
    async fn wait_until(
        &self,
        done: impl Fn(&HashMap<u32, Instant>) -> bool,
    ) -> anyhow::Result<HashMap<u32, Instant>> {
        tokio::time::timeout(LIMIT, async {
            loop {
                let woken = self.notify.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let arrived = self.arrived();
                if done(&arrived) {
                    return arrived;
                }
                woken.await;
            }
        })
        .await
        .with_context(|| format!("not within {LIMIT:?}"))
    }
}

async fn receive(State(sink): State<Sink>, body: Bytes) -> &'static str {
    let at = Instant::now();
    let n = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["n"].as_u64().or_else(|| v["n"].as_str()?.parse().ok()));
    if let Some(n) = n
        && let Ok(mut arrived) = sink.arrived.lock()
    {
        arrived.entry(n as u32).or_insert(at);
    }
    sink.notify.notify_waiters();
    let mut holding = sink.holding.subscribe();
    let _ = holding.wait_for(|hold| !hold).await;
    "ok"
}
