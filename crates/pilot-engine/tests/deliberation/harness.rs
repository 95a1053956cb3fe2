//! Building a pipeline on the scripted model or on a fake provider.

use std::sync::Arc;

use pilot_domain::{
    ApiKeyId, Credits, DeliberationId, DeliberationStatus, Difficulty, Environment, Mode, Price,
    UnixMillis, UseCase, WorkspaceId,
};
use pilot_engine::ManualClock;
use pilot_engine::deliberation::{
    DeliberationsConfig, MemoryRecorder, Outcome, Pipeline, PipelineError, PipelineFailure,
};
use pilot_models::{MemorySink, Models, ModelsConfig, ProviderConfig, ProviderKind};
use pilot_store::{DeliberationRecord, PanelEntry};
use pilot_testkit::fake_llm::FakeLlm;
use serde_json::Value;

pub const NOW: UnixMillis = UnixMillis(1_700_000_000_000);
pub const WORKSPACE: WorkspaceId = WorkspaceId(7);
pub const MODEL: &str = "fake-model";
/// What the fake model charges: 1 credit per million tokens in, 2 out.
pub const PRICE: Price = Price {
    input_per_million: Credits::from_credits(1),
    output_per_million: Credits::from_credits(2),
};
pub const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";

pub fn id() -> DeliberationId {
    DeliberationId::from_ulid_text("01HXYZABCDEFGHJKMNPQRSTVWX")
}

pub fn record(
    environment: Environment,
    mode: Mode,
    difficulty: Difficulty,
    question: &str,
) -> DeliberationRecord {
    DeliberationRecord {
        id: id(),
        workspace_id: WORKSPACE,
        environment,
        key_id: Some(ApiKeyId(1)),
        mode,
        use_case: UseCase::Pricing,
        difficulty,
        question: question.to_owned(),
        webhook_url: None,
        metadata: None,
        status: DeliberationStatus::Queued,
        estimate: Credits::from_micros(4_200_000),
        credits_charged: None,
        result: None,
        failure: None,
        created_at: NOW,
        updated_at: NOW,
        completed_at: None,
    }
}

pub struct Setup {
    pub pipeline: Pipeline,
    pub sink: Arc<MemorySink>,
}

fn setup(models: ModelsConfig, config: DeliberationsConfig) -> Setup {
    let sink = Arc::new(MemorySink::new());
    let models = Models::builder(models, sink.clone())
        .clock(Arc::new(ManualClock::new(NOW)))
        .build();
    let pipeline = Pipeline::new(Arc::new(models), config, Arc::new(ManualClock::new(NOW)));
    Setup { pipeline, sink }
}

/// Test mode: the scripted model answers.
pub fn scripted(config: DeliberationsConfig) -> Setup {
    setup(ModelsConfig::default(), config)
}

/// Live mode: an OpenAI-compatible provider at the fake, priced at [`PRICE`].
pub fn live(fake: &FakeLlm, config: DeliberationsConfig) -> Setup {
    let mut models = ModelsConfig {
        live_provider: "fake".into(),
        timeout_ms: 30_000,
        ..ModelsConfig::default()
    };
    models.roles.default = MODEL.into();
    models.prices.insert(MODEL.into(), PRICE);
    models.providers.insert(
        "fake".into(),
        ProviderConfig {
            kind: ProviderKind::OpenAi,
            base_url: fake.openai_base_url(),
            api_key_env: String::new(),
            ..ProviderConfig::default()
        },
    );
    setup(models, config)
}

impl Setup {
    pub async fn run(
        &self,
        record: &DeliberationRecord,
    ) -> (Result<Outcome, PipelineError>, MemoryRecorder) {
        let recorder = MemoryRecorder::new();
        let result = self.pipeline.run(record, &recorder).await;
        (result, recorder)
    }
}

pub fn completed(result: Result<Outcome, PipelineError>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(error) => panic!("expected a completed deliberation, got {error}"),
    }
}

pub fn failed(result: Result<Outcome, PipelineError>) -> PipelineFailure {
    match result {
        Err(PipelineError::Failed(failure)) => failure,
        other => panic!("expected a failed deliberation, got {other:?}"),
    }
}

/// Entries that record a failed call, by the error kind they name.
pub fn errors(entries: &[PanelEntry]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| e.content.get("error").and_then(Value::as_str))
        .collect()
}

/// Entries as comparable text, without their order (calls within a stage end in any
/// order).
pub fn sorted(entries: &[PanelEntry]) -> Vec<String> {
    let mut texts: Vec<String> = entries
        .iter()
        .map(|e| format!("{}|{}|{}", e.stage, e.author, e.content))
        .collect();
    texts.sort();
    texts
}
