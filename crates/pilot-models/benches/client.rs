//! The model client's cost, against the fake provider on loopback (issue 3).
//!
//! (a) Added latency: the same request sent 2,000 times with a raw reqwest POST and
//!     through `Models::complete` (routing, retry loop, timeout, parsing, usage,
//!     pricing, metering into an in-memory sink), alternating so drift hits both
//!     alike; p50 and p99 of each and of the difference. Non-streaming and SSE.
//! (b) 1,000 concurrent calls with the provider answering after a fixed 200 ms:
//!     wall time from first send to last answer, cold (new connections) and warm
//!     (pooled), and the process's peak RSS (VmHWM, the fake provider included).
//!     The same rounds with a bare reqwest client give the baseline; one unreported
//!     round first warms the fake provider itself.
//!
//! `cargo bench -p pilot-models --bench client`

use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_domain::Environment;
use pilot_models::{
    CallContext, ChatRequest, MemorySink, Models, ModelsConfig, ProviderConfig, Role,
};
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
use serde_json::{Value, json};

const SEQUENTIAL_CALLS: usize = 2_000;
const WARMUP_CALLS: usize = 200;
const CONCURRENT_CALLS: usize = 1_000;
const PROVIDER_LATENCY: Duration = Duration::from_millis(200);
const PROMPT: &str = "Summarize this support ticket in one sentence: the export button \
                      does nothing on Safari since Tuesday's release.";

fn models(fake: &FakeLlm, stream: bool) -> Models {
    let mut config = ModelsConfig {
        live_provider: "bench".into(),
        timeout_ms: 30_000,
        ..ModelsConfig::default()
    };
    config.roles.default = "bench-model".into();
    config.providers.insert(
        "bench".into(),
        ProviderConfig {
            base_url: fake.openai_base_url(),
            stream,
            ..ProviderConfig::default()
        },
    );
    Models::new(config, Arc::new(MemorySink::new()))
}

fn context() -> CallContext {
    CallContext::new(Environment::Live, "bench", "client")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1_000.0)
}

/// The body the client sends, so the raw POST carries exactly the same bytes.
fn raw_body(stream: bool) -> Value {
    let mut body =
        json!({"model": "bench-model", "messages": [{"role": "user", "content": PROMPT}]});
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

async fn added_latency(stream: bool) {
    let fake = FakeLlm::start().await;
    fake.set_fallback(
        FakeReply::text("Safari users cannot export since the last release.").usage(31, 11),
    );
    let models = models(&fake, stream);
    let raw = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.openai_base_url());
    let body = raw_body(stream);
    let request = ChatRequest::prompt(PROMPT);
    let ctx = context();

    // Check the comparison is fair: the client sends the same body.
    models
        .complete(&ctx, &Role::Step, &request)
        .await
        .expect("client call");
    assert_eq!(
        fake.requests()[0].body,
        body,
        "raw and client bodies differ"
    );
    fake.clear_requests();

    let mut raw_times = Vec::with_capacity(SEQUENTIAL_CALLS);
    let mut client_times = Vec::with_capacity(SEQUENTIAL_CALLS);
    for i in 0..WARMUP_CALLS + SEQUENTIAL_CALLS {
        let started = Instant::now();
        let response = raw.post(&url).json(&body).send().await.expect("raw POST");
        let bytes = response.bytes().await.expect("raw body");
        let raw_time = started.elapsed();
        assert!(!bytes.is_empty());

        let started = Instant::now();
        let done = models
            .complete(&ctx, &Role::Step, &request)
            .await
            .expect("client call");
        let client_time = started.elapsed();
        assert_eq!(done.usage.output_tokens, 11);

        if i >= WARMUP_CALLS {
            raw_times.push(raw_time);
            client_times.push(client_time);
        }
    }
    let mut added: Vec<Duration> = client_times
        .iter()
        .zip(&raw_times)
        .map(|(client, raw)| client.saturating_sub(*raw))
        .collect();
    raw_times.sort();
    client_times.sort();
    added.sort();
    let label = if stream {
        "SSE stream"
    } else {
        "non-streaming"
    };
    println!("(a) {SEQUENTIAL_CALLS} sequential calls each, OpenAI-compatible, {label}");
    println!(
        "    raw reqwest POST    p50 {}   p99 {}",
        ms(percentile(&raw_times, 0.5)),
        ms(percentile(&raw_times, 0.99))
    );
    println!(
        "    Models::complete    p50 {}   p99 {}",
        ms(percentile(&client_times, 0.5)),
        ms(percentile(&client_times, 0.99))
    );
    println!(
        "    added (p50 of client - p50 of raw): {}   per-call difference p50 {}   p99 {}",
        ms(percentile(&client_times, 0.5).saturating_sub(percentile(&raw_times, 0.5))),
        ms(percentile(&added, 0.5)),
        ms(percentile(&added, 0.99)),
    );
}

/// Waits for every call; the wall time from the first send and how many answered.
async fn settle<T, E>(
    started: Instant,
    calls: Vec<tokio::task::JoinHandle<Result<T, E>>>,
) -> (Duration, usize) {
    let mut answered = 0;
    for call in calls {
        if matches!(call.await, Ok(Ok(_))) {
            answered += 1;
        }
    }
    (started.elapsed(), answered)
}

async fn client_round(models: &Arc<Models>) -> (Duration, usize) {
    let request = Arc::new(ChatRequest::prompt(PROMPT));
    let started = Instant::now();
    let calls = (0..CONCURRENT_CALLS)
        .map(|_| {
            let (models, request) = (models.clone(), request.clone());
            tokio::spawn(async move { models.complete(&context(), &Role::Step, &request).await })
        })
        .collect();
    settle(started, calls).await
}

async fn raw_round(raw: &reqwest::Client, url: &str) -> (Duration, usize) {
    let body = Arc::new(raw_body(false));
    let started = Instant::now();
    let calls = (0..CONCURRENT_CALLS)
        .map(|_| {
            let (raw, body, url) = (raw.clone(), body.clone(), url.to_owned());
            tokio::spawn(async move { raw.post(&url).json(&*body).send().await?.bytes().await })
        })
        .collect();
    settle(started, calls).await
}

/// Walls of one cold round, one settling round (unreported: some connections of
/// the cold round are still being returned to the pool), then three warm rounds.
async fn cold_then_warm<F, Fut>(mut round: F) -> (Duration, Vec<Duration>, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (Duration, usize)>,
{
    let (cold, mut answered) = round().await;
    answered = answered.min(round().await.1);
    let mut warm = Vec::new();
    for _ in 0..3 {
        let (wall, ok) = round().await;
        warm.push(wall);
        answered = answered.min(ok);
    }
    (cold, warm, answered)
}

fn walls(walls: &[Duration]) -> String {
    walls.iter().map(|w| ms(*w)).collect::<Vec<_>>().join(", ")
}

fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .map(|line| line[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

async fn concurrency() {
    let fake = FakeLlm::start().await;
    fake.set_fallback(FakeReply::text("An answer after a while.").latency(PROVIDER_LATENCY));
    println!(
        "(b) {CONCURRENT_CALLS} concurrent calls, provider latency {} ms (target wall < {} ms)",
        PROVIDER_LATENCY.as_millis(),
        PROVIDER_LATENCY.as_millis() * 3 / 2
    );
    println!("    RSS before: {}", proc_status("VmRSS:"));
    let url = format!("{}/chat/completions", fake.openai_base_url());
    // One unreported round from a throwaway client, so that neither measured cold
    // round pays for the fake provider's own first burst.
    raw_round(&reqwest::Client::new(), &url).await;

    let models = Arc::new(models(&fake, false));
    let (cold, warm, answered) = cold_then_warm(|| client_round(&models)).await;
    let peak = proc_status("VmHWM:");
    println!(
        "    Models::complete  cold {}   warm {}   ({answered}/{CONCURRENT_CALLS} answered in every round)",
        ms(cold),
        walls(&warm)
    );
    println!(
        "    peak RSS after the client rounds (VmHWM, whole process: client and fake provider): {peak}"
    );

    let raw = reqwest::Client::new();
    let (cold, warm, answered) = cold_then_warm(|| raw_round(&raw, &url)).await;
    println!(
        "    raw reqwest       cold {}   warm {}   ({answered}/{CONCURRENT_CALLS} answered in every round)",
        ms(cold),
        walls(&warm)
    );
}

#[tokio::main]
async fn main() {
    println!(
        "model client benchmark: {} worker threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    added_latency(false).await;
    added_latency(true).await;
    concurrency().await;
}
