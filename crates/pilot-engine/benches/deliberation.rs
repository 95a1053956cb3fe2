//! The deliberation pipeline against the fake provider at a fixed 200 ms a call
//! (issue 5).
//!
//! Every call the pipeline makes gets the same reply (the fake's fallback): one
//! JSON object that is at once a valid persona answer (stance `yes` — the panel
//! agrees, so no revision round), a valid review of four anonymous answers (labels
//! `A`–`D`, what each of five reviewers is shown), a valid arbiter synthesis and a
//! valid `smartroute1` answer. The validators ignore fields they do not read, so the
//! fake needs no per-stage routing; the bench checks that every run completed, took
//! the same stages and had no failed call.
//!
//! The fake provider (`pilot_testkit::fake_llm`) runs in a child process — this
//! binary again, with `PILOT_DELIBERATION_BENCH_ROLE=provider`, driven over stdin —
//! so that the figures for the pipeline's process are the pipeline's: the fake
//! parses and keeps every request it receives, and serves the other end of every
//! connection. The child's own CPU time and peak RSS are reported beside them.
//!
//! (a) One run's wall time against the ideal (sequential stages × 200 ms), the
//!     stages counted from the panel entries; one unreported warm-up run first (it
//!     opens the connections), then [`SEQUENTIAL_RUNS`] runs: min / median / max.
//!     Each stage's end is stamped as its last entry is recorded, so time spent
//!     between stages would show. For `deliberation1` and for `smartroute1`.
//! (b) [`CONCURRENT_RUNS`] concurrent `deliberation1` runs on one `Pipeline` (a
//!     fresh `Models`, so the first round opens every connection): wall time from
//!     the first spawn to the last result, a cold round then [`WARM_ROUNDS`] warm
//!     rounds; when the last entry of each stage was recorded; CPU time used; open
//!     sockets; the system's listen-queue overflows during the round; and peak RSS
//!     (`VmHWM` from `/proc/<pid>/status`). The fake's request log is emptied every
//!     50 ms during these rounds, so it cannot grow to 11,000 requests. Then (b) is
//!     repeated with the fake in this process, as the model client's bench runs it,
//!     for comparison (last, as `VmHWM` only rises), ending with one round in which
//!     the fake keeps its log.
//! (c) A control, in a process of its own (`PILOT_DELIBERATION_BENCH_ROLE=scripted`):
//!     the same concurrent rounds on the built-in scripted model, each call made to
//!     wait 200 ms by a marker — no HTTP, no connections — to tell the pipeline's
//!     own memory from the HTTP/1.1 connections'.
//!
//! `cargo bench -p pilot-engine --bench deliberation`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pilot_domain::{
    ApiKeyId, Credits, DeliberationId, DeliberationStatus, Difficulty, Environment, Mode,
    UnixMillis, UseCase, WorkspaceId,
};
use pilot_engine::SystemClock;
use pilot_engine::deliberation::{
    DeliberationsConfig, MemoryRecorder, Outcome, PanelRecorder, Pipeline, PipelineError,
    RecordError,
};
use pilot_models::{MemorySink, Models, ModelsConfig, ProviderConfig, ProviderKind};
use pilot_store::{DeliberationRecord, PanelEntry};
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
use serde_json::{Value, json};

const LATENCY: Duration = Duration::from_millis(200);
const SEQUENTIAL_RUNS: usize = 10;
const CONCURRENT_RUNS: usize = 1_000;
const WARM_ROUNDS: usize = 2;
/// Calls of one agreeing `deliberation1` run: 5 answers, 5 reviews, 1 synthesis.
const CALLS_PER_RUN: usize = 11;
const MODEL: &str = "bench-model";
const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";
/// Set in a child process of the bench: `provider` serves the fake provider
/// ([`provider_main`]); `scripted` runs the control on the scripted model
/// ([`scripted_main`]).
const ROLE: &str = "PILOT_DELIBERATION_BENCH_ROLE";
/// The scripted model's marker for a 200 ms wait before each answer.
const SLOW_MARKER: &str = "[[scripted:slow=200]]";
/// `USER_HZ`: the unit of CPU times in `/proc/<pid>/stat` (100 on Linux/x86-64).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reply valid for every stage: answer, review of `A`–`D`, synthesis, routed.
fn universal_reply() -> FakeReply {
    let reviews: serde_json::Map<String, Value> = ["A", "B", "C", "D"]
        .iter()
        .map(|label| {
            (
                (*label).to_owned(),
                json!({"score": 7, "objection": "ignores procurement cycles"}),
            )
        })
        .collect();
    let body = json!({
        // persona answer
        "stance": "yes",
        "position": "Usage-based with a committed monthly minimum.",
        "key_claims": ["customers value predictability", "usage tracks value"],
        "risks": ["revenue may lag usage"],
        "confidence": 7,
        // peer review
        "reviews": reviews,
        // arbiter synthesis
        "synthesis": "## Recommendation\nUsage-based, with a committed minimum.",
        "summary": "Go usage-based with a floor.",
        "minority_report": "",
        // smartroute1
        "answer": "Usage-based, with a committed minimum.",
    });
    FakeReply::text(body.to_string())
        .usage(1_000, 500)
        .latency(LATENCY)
}

/// Live calls go to the fake at `base_url`; test-mode calls to the scripted model.
fn models(base_url: &str) -> Arc<Models> {
    let mut config = ModelsConfig {
        live_provider: "fake".into(),
        timeout_ms: 600_000,
        ..ModelsConfig::default()
    };
    config.roles.default = MODEL.into();
    config.providers.insert(
        "fake".into(),
        ProviderConfig {
            kind: ProviderKind::OpenAi,
            base_url: base_url.to_owned(),
            api_key_env: String::new(),
            ..ProviderConfig::default()
        },
    );
    Arc::new(Models::new(config, Arc::new(MemorySink::new())))
}

/// A fresh pipeline (and model client, so no pooled connections yet).
fn pipeline(base_url: &str) -> Arc<Pipeline> {
    let config = DeliberationsConfig {
        call_timeout_ms: 600_000,
        processing_budget_ms: 3_600_000,
        ..DeliberationsConfig::default()
    };
    Arc::new(Pipeline::new(
        models(base_url),
        config,
        Arc::new(SystemClock),
    ))
}

fn record(n: usize, mode: Mode) -> DeliberationRecord {
    record_in(n, mode, Environment::Live, QUESTION)
}

fn record_in(n: usize, mode: Mode, environment: Environment, question: &str) -> DeliberationRecord {
    let now = UnixMillis(1_700_000_000_000);
    DeliberationRecord {
        // 6 + 20 Crockford digits: a distinct, well-formed id per run.
        id: DeliberationId::from_ulid_text(&format!("01HXYZ{n:020}")),
        workspace_id: WorkspaceId(7),
        environment,
        key_id: Some(ApiKeyId(1)),
        mode,
        use_case: UseCase::Pricing,
        difficulty: Difficulty::Medium,
        question: question.to_owned(),
        webhook_url: None,
        metadata: None,
        status: DeliberationStatus::Queued,
        estimate: Credits::from_micros(4_200_000),
        credits_charged: None,
        result: None,
        failure: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    }
}

/// Keeps entries in a [`MemoryRecorder`] and stamps when each was recorded.
#[derive(Default)]
struct TimingRecorder {
    entries: MemoryRecorder,
    stamps: Mutex<Vec<(String, Instant)>>,
}

#[async_trait]
impl PanelRecorder for TimingRecorder {
    async fn record(&self, entry: &PanelEntry) -> Result<(), RecordError> {
        let now = Instant::now();
        self.stamps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((entry.stage.clone(), now));
        self.entries.record(entry).await
    }
}

/// Panics unless the run completed with no failed call; the stages in the order
/// they ran, each with its number of entries.
fn check(result: &Result<Outcome, PipelineError>, entries: &[PanelEntry]) -> Vec<(String, usize)> {
    if let Err(error) = result {
        panic!("the deliberation did not complete: {error}");
    }
    if let Some(failed) = entries.iter().find(|e| e.content.get("error").is_some()) {
        panic!("a call failed: {failed:?}");
    }
    let mut stages: Vec<(String, usize)> = Vec::new();
    for entry in entries {
        match stages.last_mut() {
            Some((stage, n)) if *stage == entry.stage => *n += 1,
            _ => stages.push((entry.stage.clone(), 1)),
        }
    }
    stages
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

struct SingleRun {
    wall: Duration,
    /// Each stage's end (its last entry), from the start of the run.
    stage_ends: Vec<(String, Duration)>,
    stages: Vec<(String, usize)>,
}

async fn single_run(pipeline: &Pipeline, n: usize, mode: Mode) -> SingleRun {
    let record = record(n, mode);
    let recorder = TimingRecorder::default();
    let started = Instant::now();
    let result = pipeline.run(&record, &recorder).await;
    let wall = started.elapsed();
    let stages = check(&result, &recorder.entries.entries());
    let mut stage_ends: Vec<(String, Duration)> = Vec::new();
    for (stage, at) in recorder
        .stamps
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let since = at.duration_since(started);
        match stage_ends.last_mut() {
            Some((last, end)) if last == stage => *end = since,
            _ => stage_ends.push((stage.clone(), since)),
        }
    }
    SingleRun {
        wall,
        stage_ends,
        stages,
    }
}

async fn sequential(provider: &mut Provider, mode: Mode) {
    let pipeline = pipeline(&provider.base_url);
    let warm_up = single_run(&pipeline, 0, mode).await;
    let stages = warm_up.stages.len();
    let calls: usize = warm_up.stages.iter().map(|(_, n)| n).sum();
    let ideal = LATENCY * stages as u32;
    let target = ms(ideal) * 1.05 + 20.0;
    println!(
        "(a) {mode}: {SEQUENTIAL_RUNS} runs one after another, after one warm-up run \
         ({:.1} ms, cold connections)",
        ms(warm_up.wall)
    );
    let described: Vec<String> = warm_up
        .stages
        .iter()
        .map(|(stage, n)| format!("{stage} ×{n}"))
        .collect();
    println!(
        "    stages run: {stages} ({}; {calls} calls) → ideal {stages} × {} ms = {:.0} ms; \
         target ≤ 1.05 × ideal + 20 ms = {target:.0} ms",
        described.join(", "),
        LATENCY.as_millis(),
        ms(ideal)
    );
    let mut walls = Vec::new();
    let mut ends: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for n in 1..=SEQUENTIAL_RUNS {
        let run = single_run(&pipeline, n, mode).await;
        assert_eq!(
            run.stages, warm_up.stages,
            "every run takes the same stages"
        );
        walls.push(run.wall);
        for (stage, end) in run.stage_ends {
            ends.entry(stage).or_default().push(ms(end));
        }
    }
    walls.sort();
    let (min, median, max) = (
        ms(walls[0]),
        (ms(walls[(walls.len() - 1) / 2]) + ms(walls[walls.len() / 2])) / 2.0,
        ms(walls[walls.len() - 1]),
    );
    println!(
        "    wall: min {min:.1} ms   median {median:.1} ms   max {max:.1} ms   \
         (median over ideal: +{:.1} ms, ×{:.3}) → target {}",
        median - ms(ideal),
        median / ms(ideal),
        if max <= target {
            "met by every run"
        } else if median <= target {
            "met by the median, not by every run"
        } else {
            "NOT met"
        }
    );
    let mut order: Vec<(String, f64)> = ends
        .into_iter()
        .map(|(stage, mut v)| {
            v.sort_by(f64::total_cmp);
            (stage, v[v.len() / 2])
        })
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let shown: Vec<String> = order
        .iter()
        .map(|(stage, end)| format!("{stage} ends at {end:.1} ms"))
        .collect();
    println!("    median stage ends: {}", shown.join(", "));
    let log = provider.drain_log();
    println!(
        "    request bodies sent: {} requests, {:.0} bytes on average, largest {} bytes",
        log.requests,
        log.bytes as f64 / log.requests.max(1) as f64,
        log.largest
    );
}

/// A panel recorder for one run of a concurrent round: entries in memory, and the
/// round's first and last entry of each stage.
struct RoundRecorder {
    entries: MemoryRecorder,
    spans: Arc<Mutex<BTreeMap<String, (Instant, Instant)>>>,
}

#[async_trait]
impl PanelRecorder for RoundRecorder {
    async fn record(&self, entry: &PanelEntry) -> Result<(), RecordError> {
        let now = Instant::now();
        self.spans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(entry.stage.clone())
            .and_modify(|span| span.1 = now)
            .or_insert((now, now));
        self.entries.record(entry).await
    }
}

/// What one concurrent round did.
struct Round {
    /// From the first spawn to the last result.
    wall: Duration,
    /// Each stage's last entry, from the start, in order.
    stage_ends: Vec<(String, Duration)>,
    /// How many runs took how many stages.
    stage_counts: BTreeMap<usize, usize>,
}

/// `CONCURRENT_RUNS` runs at once, every one of which must complete with no
/// failed call.
async fn concurrent_round(
    pipeline: &Arc<Pipeline>,
    round: usize,
    environment: Environment,
    question: &str,
) -> Round {
    let spans = Arc::new(Mutex::new(BTreeMap::new()));
    let started = Instant::now();
    let runs: Vec<_> = (0..CONCURRENT_RUNS)
        .map(|n| {
            let pipeline = pipeline.clone();
            let record = record_in(
                round * CONCURRENT_RUNS + n,
                Mode::Deliberation1,
                environment,
                question,
            );
            let recorder = RoundRecorder {
                entries: MemoryRecorder::new(),
                spans: spans.clone(),
            };
            tokio::spawn(async move {
                let result = pipeline.run(&record, &recorder).await;
                (result, recorder.entries)
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(runs.len());
    for run in runs {
        outcomes.push(run.await.expect("a deliberation task panicked"));
    }
    let wall = started.elapsed();
    let mut stage_counts = BTreeMap::new();
    for (result, recorder) in &outcomes {
        let stages = check(result, &recorder.entries());
        *stage_counts.entry(stages.len()).or_insert(0) += 1;
    }
    let mut stage_ends: Vec<(String, Duration)> = spans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(stage, (_, last))| (stage.clone(), last.duration_since(started)))
        .collect();
    stage_ends.sort_by_key(|(_, end)| *end);
    Round {
        wall,
        stage_ends,
        stage_counts,
    }
}

fn describe_ends(ends: &[(String, Duration)]) -> String {
    ends.iter()
        .map(|(stage, end)| format!("{stage} {:.0}", ms(*end)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many sockets this process has open (its HTTP connections, and a listener
/// when the fake runs here).
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |fds| {
        fds.filter_map(Result::ok)
            .filter(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            })
            .count()
    })
}

/// The system-wide count of connections dropped because a listen queue was full
/// (`TcpExt: ListenOverflows` in `/proc/net/netstat`).
fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let index = names
        .split_whitespace()
        .position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}

/// CPU seconds (user + system) used so far by process `pid` (`self` or a number).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses: state is field 3,
    // utime 14, stime 15.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// A `/proc/<pid>/status` field in kB, shown in MB.
fn status_mb(pid: &str, field: &str) -> String {
    let value = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with(field))?;
            line[field.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
    value.map_or_else(
        || "unknown".to_owned(),
        |kb| format!("{:.0} MB", kb as f64 / 1_024.0),
    )
}

async fn concurrent(provider: &mut Provider) {
    let ideal = LATENCY * 3;
    let child = provider.pid();
    println!(
        "(b) {CONCURRENT_RUNS} concurrent deliberation1 runs on one Pipeline, fake provider {} \
         ({} calls a round; ideal {} ms; peak RSS target < 300 MB)",
        if child.is_some() {
            "in a child process"
        } else {
            "in this process"
        },
        CONCURRENT_RUNS * CALLS_PER_RUN,
        ideal.as_millis()
    );
    println!(
        "    before: this process RSS {}, peak {}",
        status_mb("self", "VmRSS:"),
        status_mb("self", "VmHWM:")
    );
    provider.sweep(true);
    let pipeline = pipeline(&provider.base_url);
    for round in 0..=WARM_ROUNDS {
        let cpu_before = (cpu_seconds("self"), child.as_deref().and_then(cpu_seconds));
        let overflows_before = listen_overflows();
        let Round {
            wall,
            stage_ends,
            stage_counts,
        } = concurrent_round(&pipeline, round, Environment::Live, QUESTION).await;
        let overflows = listen_overflows()
            .zip(overflows_before)
            .map_or_else(|| "?".to_owned(), |(a, b)| (a - b).to_string());
        let cpu_after = (cpu_seconds("self"), child.as_deref().and_then(cpu_seconds));
        assert_eq!(
            stage_counts.keys().collect::<Vec<_>>(),
            [&3],
            "every run: answers, reviews, synthesis"
        );
        let used = |before: Option<f64>, after: Option<f64>| {
            before.zip(after).map_or(f64::NAN, |(b, a)| a - b)
        };
        let (mine, theirs) = (
            used(cpu_before.0, cpu_after.0),
            used(cpu_before.1, cpu_after.1),
        );
        println!(
            "    round {} ({}): {:.0} ms (×{:.2} the ideal); last entry of each stage at ms: {}",
            round + 1,
            if round == 0 {
                "cold: new connections"
            } else {
                "warm: pooled connections"
            },
            ms(wall),
            ms(wall) / ms(ideal),
            describe_ends(&stage_ends)
        );
        let cpu = match child {
            Some(_) => format!(
                "CPU {mine:.2} s here + {theirs:.2} s in the fake = {:.0}% of 2 cores",
                (mine + theirs) / wall.as_secs_f64() / 2.0 * 100.0
            ),
            None => format!(
                "CPU {mine:.2} s (pipeline and fake) = {:.0}% of 2 cores",
                mine / wall.as_secs_f64() / 2.0 * 100.0
            ),
        };
        println!(
            "        {cpu}; this process RSS {}, peak {}; {} sockets open; \
             listen-queue overflows {overflows}",
            status_mb("self", "VmRSS:"),
            status_mb("self", "VmHWM:"),
            open_sockets()
        );
    }
    println!(
        "    peak RSS (VmHWM) of this process (pipeline, model client, runtime{}): {}",
        if child.is_some() {
            ""
        } else {
            ", fake provider"
        },
        status_mb("self", "VmHWM:")
    );
    if let Some(pid) = &child {
        println!(
            "    peak RSS of the fake provider's process: {}",
            status_mb(pid, "VmHWM:")
        );
    } else {
        provider.sweep(false);
        provider.drain_log();
        let wall = concurrent_round(&pipeline, WARM_ROUNDS + 1, Environment::Live, QUESTION)
            .await
            .wall;
        let log = provider.drain_log();
        println!(
            "    one more warm round with the fake keeping its request log ({} requests, \
             {:.0} MB of JSON text): {:.0} ms, peak RSS {}",
            log.requests,
            log.bytes as f64 / 1_048_576.0,
            ms(wall),
            status_mb("self", "VmHWM:")
        );
    }
    provider.sweep(false);
    provider.drain_log();
}

/// What the fake's request log held.
#[derive(Debug, Default)]
struct LogStats {
    requests: usize,
    /// Request bodies, as JSON text.
    bytes: usize,
    largest: usize,
}

/// The fake's request log, then emptied.
fn drain(fake: &FakeLlm) -> LogStats {
    let requests = fake.requests();
    fake.clear_requests();
    let sizes: Vec<usize> = requests.iter().map(|r| r.body.to_string().len()).collect();
    LogStats {
        requests: sizes.len(),
        bytes: sizes.iter().sum(),
        largest: sizes.iter().copied().max().unwrap_or(0),
    }
}

/// Empties the fake's request log every 50 ms while `on` is set.
async fn sweeper(fake: Arc<FakeLlm>, on: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if on.load(Ordering::Relaxed) {
            fake.clear_requests();
        }
    }
}

/// The fake provider serving [`universal_reply`], in this process or in a child.
struct Provider {
    base_url: String,
    place: Place,
}

enum Place {
    Here {
        fake: Arc<FakeLlm>,
        sweeping: Arc<AtomicBool>,
        sweeper: tokio::task::JoinHandle<()>,
    },
    Child {
        child: Child,
        commands: Option<ChildStdin>,
        replies: BufReader<ChildStdout>,
    },
}

impl Provider {
    async fn here() -> Provider {
        let fake = Arc::new(FakeLlm::start().await);
        fake.set_fallback(universal_reply());
        let sweeping = Arc::new(AtomicBool::new(false));
        let sweeper = tokio::spawn(sweeper(fake.clone(), sweeping.clone()));
        Provider {
            base_url: fake.openai_base_url(),
            place: Place::Here {
                fake,
                sweeping,
                sweeper,
            },
        }
    }

    /// This binary again, serving the fake; it prints its base URL, then answers
    /// commands on stdin ([`provider_main`]).
    fn child() -> Provider {
        let exe = std::env::current_exe().expect("this bench's executable");
        let mut child = Command::new(exe)
            .env(ROLE, "provider")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the fake provider's process");
        let commands = child.stdin.take();
        let mut replies = BufReader::new(child.stdout.take().expect("the child's stdout"));
        let mut base_url = String::new();
        replies
            .read_line(&mut base_url)
            .expect("the fake provider's URL");
        Provider {
            base_url: base_url.trim().to_owned(),
            place: Place::Child {
                child,
                commands,
                replies,
            },
        }
    }

    /// The child's process id, when the fake runs in one.
    fn pid(&self) -> Option<String> {
        match &self.place {
            Place::Here { .. } => None,
            Place::Child { child, .. } => Some(child.id().to_string()),
        }
    }

    /// One command to the child, and its one-line reply.
    fn command(&mut self, command: &str) -> String {
        let Place::Child {
            commands, replies, ..
        } = &mut self.place
        else {
            unreachable!("commands go to a child");
        };
        let stdin = commands.as_mut().expect("the child's stdin");
        writeln!(stdin, "{command}").expect("write to the fake provider");
        stdin.flush().expect("flush to the fake provider");
        let mut reply = String::new();
        replies
            .read_line(&mut reply)
            .expect("the fake provider's reply");
        reply.trim().to_owned()
    }

    /// Empty the request log every 50 ms, or stop doing so.
    fn sweep(&mut self, on: bool) {
        match &self.place {
            Place::Here { sweeping, .. } => sweeping.store(on, Ordering::Relaxed),
            Place::Child { .. } => {
                self.command(if on { "sweep on" } else { "sweep off" });
            }
        }
    }

    fn drain_log(&mut self) -> LogStats {
        match &self.place {
            Place::Here { fake, .. } => drain(fake),
            Place::Child { .. } => {
                let reply = self.command("log");
                let numbers: Vec<usize> = reply
                    .split(' ')
                    .map(|n| n.parse().expect("a number from the fake provider"))
                    .collect();
                LogStats {
                    requests: numbers[0],
                    bytes: numbers[1],
                    largest: numbers[2],
                }
            }
        }
    }

    /// Stops the fake (the child exits when its stdin closes).
    fn stop(self) {
        match self.place {
            Place::Here { sweeper, .. } => sweeper.abort(),
            Place::Child {
                mut child,
                commands,
                ..
            } => {
                drop(commands);
                child.wait().expect("the fake provider's exit");
            }
        }
    }
}

/// The child process: serves the fake, prints its base URL, then runs commands
/// from stdin — `sweep on`, `sweep off`, `log` (prints requests, body bytes and the
/// largest body, then empties the log) — until stdin closes.
fn provider_main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let fake = Arc::new(FakeLlm::start().await);
        fake.set_fallback(universal_reply());
        let sweeping = Arc::new(AtomicBool::new(false));
        tokio::spawn(sweeper(fake.clone(), sweeping.clone()));
        let (send, mut commands) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        println!("{}", fake.openai_base_url());
        while let Some(command) = commands.recv().await {
            match command.trim() {
                "sweep on" => sweeping.store(true, Ordering::Relaxed),
                "sweep off" => sweeping.store(false, Ordering::Relaxed),
                "log" => {
                    let log = drain(&fake);
                    println!("{} {} {}", log.requests, log.bytes, log.largest);
                    continue;
                }
                other => panic!("unknown command {other:?}"),
            }
            println!("ok");
        }
    });
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("provider") => provider_main(),
        Ok("scripted") => scripted_main(),
        _ => bench(),
    }
}

#[tokio::main]
async fn bench() {
    println!(
        "deliberation benchmark: {} worker threads, provider latency {} ms a call",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        LATENCY.as_millis()
    );
    let mut provider = Provider::child();
    sequential(&mut provider, Mode::Deliberation1).await;
    sequential(&mut provider, Mode::Smartroute1).await;
    concurrent(&mut provider).await;
    provider.stop();
    // Last in this process: `VmHWM` only rises, and this puts the fake in it.
    let mut provider = Provider::here().await;
    concurrent(&mut provider).await;
    provider.stop();
    // The control, in a process of its own.
    let status = Command::new(std::env::current_exe().expect("this bench's executable"))
        .env(ROLE, "scripted")
        .status()
        .expect("run the scripted control");
    assert!(status.success(), "the scripted control failed: {status}");
}

/// (c) The control: the same concurrent rounds on the built-in scripted model,
/// every call made to wait 200 ms by a marker in the question. No HTTP, no
/// connections, no fake provider: the process holds the pipeline, the runs'
/// state and the runtime only. The scripted model's stances are drawn from the
/// prompt's hash, so most panels split and revise (4 stages, 16 calls).
#[tokio::main]
async fn scripted_main() {
    let question = format!("{QUESTION} {SLOW_MARKER}");
    println!(
        "(c) control: {CONCURRENT_RUNS} concurrent deliberation1 runs on the scripted model \
         ({SLOW_MARKER}: 200 ms a call, no HTTP), in a process of its own"
    );
    let pipeline = pipeline("http://127.0.0.1:9/unused");
    for round in 0..=WARM_ROUNDS {
        let cpu_before = cpu_seconds("self");
        let Round {
            wall,
            stage_ends,
            stage_counts,
        } = concurrent_round(&pipeline, round, Environment::Test, &question).await;
        let cpu = cpu_seconds("self")
            .zip(cpu_before)
            .map_or(f64::NAN, |(a, b)| a - b);
        let counts: Vec<String> = stage_counts
            .iter()
            .map(|(stages, runs)| format!("{runs} runs took {stages} stages"))
            .collect();
        println!(
            "    round {}: {:.0} ms ({}); last entry of each stage at ms: {}",
            round + 1,
            ms(wall),
            counts.join(", "),
            describe_ends(&stage_ends)
        );
        println!(
            "        CPU {cpu:.2} s = {:.0}% of 2 cores; RSS {}, peak {}",
            cpu / wall.as_secs_f64() / 2.0 * 100.0,
            status_mb("self", "VmRSS:"),
            status_mb("self", "VmHWM:")
        );
    }
    println!(
        "    peak RSS (VmHWM) of the control process: {}",
        status_mb("self", "VmHWM:")
    );
}
