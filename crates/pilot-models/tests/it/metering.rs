//! Every call is metered with its context, tokens, latency and cost; routing by
//! environment and role; configuration mistakes fail before anything is sent.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::{Credits, Environment, Price, UsageRecord, WorkspaceId};
use pilot_models::{
    ChatRequest, ModelError, Models, ProviderKind, Role, SinkError, UnknownUsage, UsageSink,
};
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};

use crate::harness::{KEY, MODEL, NOW, base_url, config, harness, harness_with, live};

#[tokio::test]
async fn every_call_is_recorded_with_its_context_tokens_and_cost() {
    let h = harness_with(ProviderKind::OpenAi, false, |c| {
        c.prices.insert(
            MODEL.into(),
            Price {
                input_per_million: Credits::from_credits(2),
                output_per_million: Credits::from_credits(8),
            },
        );
    })
    .await;
    h.fake.push(FakeReply::text("done").usage(1_000, 500));
    let done = h
        .models
        .complete(&live(), &Role::Step, &ChatRequest::prompt("go"))
        .await
        .unwrap();
    // 1000 × 2/M + 500 × 8/M = 0.002 + 0.004 credits.
    assert_eq!(done.cost, Credits::from_micros(6_000));
    let records = h.sink.records();
    assert_eq!(
        records,
        [UsageRecord {
            workspace_id: Some(WorkspaceId(7)),
            environment: Some(Environment::Live),
            owner_kind: "run_step".into(),
            owner_id: "run_1/summarize".into(),
            provider: "fake".into(),
            model: MODEL.into(),
            input_tokens: 1_000,
            output_tokens: 500,
            usage_known: true,
            latency_ms: records[0].latency_ms,
            cost: Credits::from_micros(6_000),
            created_at: NOW,
        }]
    );
    assert!(records[0].latency_ms >= 0);
}

struct BrokenSink;

#[async_trait]
impl UsageSink for BrokenSink {
    async fn record(&self, _record: UsageRecord) -> Result<(), SinkError> {
        Err("disk full".into())
    }
}

#[tokio::test]
async fn an_unrecordable_call_hands_out_no_answer() {
    let fake = FakeLlm::start().await;
    let config = config(ProviderKind::OpenAi, &fake.openai_base_url(), false);
    let models = Models::builder(config, Arc::new(BrokenSink))
        .secrets(Arc::new(|_| Some(KEY.to_owned())))
        .build();
    let error = models
        .complete(&live(), &Role::Step, &ChatRequest::prompt("go"))
        .await
        .unwrap_err();
    assert_eq!(error, ModelError::Metering("disk full".into()));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn the_unknown_usage_error_policy_fails_the_call_but_still_meters_it() {
    let h = harness_with(ProviderKind::OpenAi, false, |c| {
        c.unknown_usage = UnknownUsage::Error;
    })
    .await;
    h.fake.push(FakeReply::text("no counts").without_usage());
    let error = h
        .models
        .complete(&live(), &Role::Step, &ChatRequest::prompt("go"))
        .await
        .unwrap_err();
    assert_eq!(error, ModelError::UnknownUsage);
    let records = h.sink.records();
    assert_eq!(records.len(), 1);
    assert!(!records[0].usage_known);
    assert!(records[0].input_tokens > 0 && records[0].output_tokens > 0);
}

#[tokio::test]
async fn a_missing_key_fails_fast_without_a_request_or_a_charge() {
    let h = harness(ProviderKind::Anthropic, false).await;
    let config = config(
        ProviderKind::Anthropic,
        &base_url(&h.fake, ProviderKind::Anthropic),
        false,
    );
    let sink = Arc::new(pilot_models::MemorySink::new());
    let models = Models::builder(config, sink.clone())
        .secrets(Arc::new(|_| None))
        .build();
    let error = models
        .complete(&live(), &Role::Step, &ChatRequest::prompt("go"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::NotConfigured(m) if m.contains("FAKE_PROVIDER_KEY")),
        "{error}"
    );
    assert!(
        models
            .describe(Environment::Live)
            .starts_with("unavailable")
    );
    assert!(h.fake.requests().is_empty());
    assert!(sink.records().is_empty());
}

#[tokio::test]
async fn roles_pick_models_and_a_request_may_override_them() {
    let h = harness_with(ProviderKind::OpenAi, false, |c| {
        c.roles.default.clear();
        c.roles.arbiter = "big".into();
        c.roles.persona = "panel".into();
        c.roles.personas.insert("skeptic".into(), "sharp".into());
    })
    .await;
    let route = |role: Role| {
        h.models
            .route(Environment::Live, &role, None)
            .map(|r| r.model)
    };
    assert_eq!(route(Role::Arbiter).unwrap(), "big");
    assert_eq!(route(Role::Persona("skeptic".into())).unwrap(), "sharp");
    assert_eq!(route(Role::Persona("cfo".into())).unwrap(), "panel");
    let error = route(Role::Drafter).unwrap_err();
    assert!(
        matches!(&error, ModelError::NotConfigured(m) if m.contains("models.roles.drafter")),
        "{error}"
    );
    // Test mode is scripted whatever the role.
    let test = h
        .models
        .route(Environment::Test, &Role::Arbiter, None)
        .unwrap();
    assert_eq!(
        (test.provider.as_str(), test.model.as_str()),
        ("scripted", "scripted")
    );

    let request = ChatRequest::prompt("hi").with_model("chosen");
    h.models
        .complete(&live(), &Role::Drafter, &request)
        .await
        .unwrap();
    assert_eq!(h.fake.requests()[0].body["model"], "chosen");
    assert_eq!(h.sink.records()[0].model, "chosen");
}

#[tokio::test]
async fn debug_output_never_shows_the_key() {
    let h = harness(ProviderKind::OpenAi, false).await;
    let shown = format!("{:?}", h.models);
    assert!(
        shown.contains("FAKE_PROVIDER_KEY"),
        "the variable's name is fine to show"
    );
    assert!(!shown.contains(KEY), "{shown}");
}
