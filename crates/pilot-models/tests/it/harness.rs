//! Building a `Models` pointed at a fake provider, with waits recorded, not slept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pilot_domain::{Environment, ManualClock, UnixMillis, WorkspaceId};
use pilot_models::{
    CallContext, MemorySink, Models, ModelsConfig, ProviderConfig, ProviderKind, Sleeper,
};
use pilot_testkit::fake_llm::FakeLlm;

pub const KEY_VAR: &str = "FAKE_PROVIDER_KEY";
pub const KEY: &str = "sk-test-do-not-log-123";
pub const MODEL: &str = "fake-model";
pub const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

/// Records each wait and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, wait: Duration) {
        self.0.lock().unwrap().push(wait);
    }
}

pub struct Harness {
    pub fake: FakeLlm,
    pub models: Models,
    pub sink: Arc<MemorySink>,
    pub sleeper: Arc<RecordingSleeper>,
}

/// `live` goes to a provider named `fake` of `kind` at `base_url`.
pub fn config(kind: ProviderKind, base_url: &str, stream: bool) -> ModelsConfig {
    let mut config = ModelsConfig {
        live_provider: "fake".into(),
        timeout_ms: 5_000,
        max_retries: 3,
        retry_base_ms: 100,
        retry_max_ms: 1_000,
        max_retry_after_ms: 10_000,
        ..ModelsConfig::default()
    };
    config.roles.default = MODEL.into();
    config.providers.insert(
        "fake".into(),
        ProviderConfig {
            kind,
            base_url: base_url.into(),
            api_key_env: KEY_VAR.into(),
            stream,
            ..ProviderConfig::default()
        },
    );
    config
}

pub fn build(config: ModelsConfig) -> (Models, Arc<MemorySink>, Arc<RecordingSleeper>) {
    let sink = Arc::new(MemorySink::new());
    let sleeper = Arc::new(RecordingSleeper::default());
    let models = Models::builder(config, sink.clone())
        .sleeper(sleeper.clone())
        .clock(Arc::new(ManualClock::new(NOW)))
        .secrets(Arc::new(|name| (name == KEY_VAR).then(|| KEY.to_owned())))
        .build();
    (models, sink, sleeper)
}

pub fn base_url(fake: &FakeLlm, kind: ProviderKind) -> String {
    match kind {
        ProviderKind::OpenAi => fake.openai_base_url(),
        ProviderKind::Anthropic => fake.anthropic_base_url(),
    }
}

/// A fake provider and a `Models` using it; `adjust` may change the configuration.
pub async fn harness_with(
    kind: ProviderKind,
    stream: bool,
    adjust: impl FnOnce(&mut ModelsConfig),
) -> Harness {
    let fake = FakeLlm::start().await;
    let mut config = config(kind, &base_url(&fake, kind), stream);
    adjust(&mut config);
    let (models, sink, sleeper) = build(config);
    Harness {
        fake,
        models,
        sink,
        sleeper,
    }
}

pub async fn harness(kind: ProviderKind, stream: bool) -> Harness {
    harness_with(kind, stream, |_| {}).await
}

/// Every (format, streaming) pair.
pub const FORMATS: [(ProviderKind, bool); 4] = [
    (ProviderKind::OpenAi, false),
    (ProviderKind::OpenAi, true),
    (ProviderKind::Anthropic, false),
    (ProviderKind::Anthropic, true),
];

pub fn live() -> CallContext {
    CallContext::new(Environment::Live, "run_step", "run_1/summarize").in_workspace(WorkspaceId(7))
}

pub fn test_env() -> CallContext {
    CallContext::new(Environment::Test, "run_step", "run_2/summarize").in_workspace(WorkspaceId(7))
}
