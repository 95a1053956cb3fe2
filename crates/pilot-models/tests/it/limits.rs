//! The answer-size limit (`models.max_answer_bytes`): a provider's answer past it
//! fails the call, streamed or not, and is still metered; the scripted model refuses
//! a schema whose answer cannot fit before building anything, and answers one at the
//! limit within it.

use std::sync::Arc;

use pilot_models::{ChatRequest, JsonSchema, MemorySink, ModelError, Models, ModelsConfig, Role};
use pilot_testkit::fake_llm::FakeReply;
use serde_json::{Value, json};

use crate::harness::{FORMATS, harness_with, live, test_env};

const LIMIT: u64 = 4096;

#[tokio::test]
async fn an_answer_over_max_answer_bytes_fails_streamed_and_not() {
    for (kind, stream) in FORMATS {
        let h = harness_with(kind, stream, |config| config.max_answer_bytes = LIMIT).await;
        // Past the text limit (read whole, or cut mid-stream), and far past the body
        // limit (reading stops early); then one just under the limit.
        for size in [LIMIT as usize + 1, 200_000] {
            h.fake.push(FakeReply::text("x".repeat(size)).usage(10, 3));
            let error = h
                .models
                .complete(&live(), &Role::Step, &ChatRequest::prompt("long, please"))
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ModelError::AnswerTooLarge { limit, .. } if *limit == LIMIT),
                "{kind:?} stream={stream} size={size}: {error}"
            );
            assert!(
                error
                    .to_string()
                    .contains("over models.max_answer_bytes (4096 bytes)")
            );
        }
        h.fake.push(FakeReply::text("y".repeat(LIMIT as usize)));
        let done = h
            .models
            .complete(&live(), &Role::Step, &ChatRequest::prompt("at the limit"))
            .await
            .unwrap();
        assert_eq!(done.text.len() as u64, LIMIT, "{kind:?} stream={stream}");

        // Not retried (asking again gets the same answer), and metered: the provider
        // spent at least what arrived, marked as an estimate.
        assert_eq!(h.fake.requests().len(), 3, "{kind:?} stream={stream}");
        let records = h.sink.records();
        assert_eq!(records.len(), 3);
        for record in &records[..2] {
            assert!(!record.usage_known, "{kind:?} stream={stream}: {record:?}");
            assert!(
                record.output_tokens >= (LIMIT / 4) as i64,
                "{kind:?} stream={stream}: {record:?}"
            );
        }
    }
}

fn scripted() -> (Models, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    (Models::new(ModelsConfig::default(), sink.clone()), sink)
}

#[tokio::test]
async fn the_scripted_model_refuses_an_over_budget_schema_before_building_it() {
    let (models, sink) = scripted();
    // The reproducer, as a stored run might still carry it.
    let schema = json!({"type": "array", "minItems": 100_000_000, "items": {"type": "string"}});
    let request = ChatRequest::prompt("tags").with_schema(JsonSchema::new("tags", schema));
    let error = models
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ModelError::AnswerTooLarge {
            limit: 1024 * 1024,
            what: "the scripted answer: the schema's smallest answer is 300000001 bytes".into(),
        }
    );
    assert!(
        sink.records().is_empty(),
        "nothing was built, nothing spent"
    );
}

#[tokio::test]
async fn the_scripted_model_answers_an_at_limit_schema_within_the_limit() {
    let (models, _) = scripted();
    // The largest answer step validation accepts: its smallest instance is just
    // under 1 MiB, and the scripted model may add words to each string.
    let schema = json!({"type": "array", "minItems": 1000, "maxItems": 1000,
        "items": {"type": "string", "minLength": 1042, "maxLength": 100_000}});
    assert!(
        pilot_domain::step_schema_limits::check(&schema).is_empty(),
        "valid at the limits"
    );
    let request = ChatRequest::prompt("Describe each of our thousand warehouses at length")
        .with_schema(JsonSchema::new("warehouses", schema));
    let done = models
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap();
    assert!(done.text.len() as u64 <= 1024 * 1024, "{}", done.text.len());
    let value: Value = serde_json::from_str(&done.text).unwrap();
    let items = value.as_array().unwrap();
    assert_eq!(items.len(), 1000);
    assert!(
        items
            .iter()
            .all(|s| s.as_str().unwrap().chars().count() >= 1042)
    );
}
