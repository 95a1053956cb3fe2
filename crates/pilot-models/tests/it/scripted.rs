//! The scripted model: deterministic, labelled, shaped by role and schema, and every
//! magic marker.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::Environment;
use pilot_models::scripted::{MALFORMED_ANSWER, TEXT_PREFIX};
use pilot_models::{
    CallContext, ChatRequest, JsonSchema, MemorySink, Message, ModelError, Models, ModelsConfig,
    Role, Usage,
};
use serde_json::{Value, json};

use crate::harness::test_env;

fn scripted() -> (Models, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    (Models::new(ModelsConfig::default(), sink.clone()), sink)
}

/// A scripted call is charged at the price of the model its role is configured with,
/// as the live call would be; `prices.scripted` overrides that for every scripted call.
#[tokio::test]
async fn scripted_calls_are_priced_as_their_roles_live_model() {
    let price = |input, output| pilot_domain::Price {
        input_per_million: pilot_domain::Credits::from_credits(input),
        output_per_million: pilot_domain::Credits::from_credits(output),
    };
    let mut config = ModelsConfig::default();
    config.roles.step = "big-model".into();
    config.prices.insert("big-model".into(), price(10, 30));
    let sink = Arc::new(MemorySink::new());
    let models = Models::new(config.clone(), sink.clone());
    let request = ChatRequest::prompt("Price this call like the live one.");
    let done = models
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap();
    let (input, output) = (
        done.usage.input_tokens as i64,
        done.usage.output_tokens as i64,
    );
    assert_eq!(done.model, "scripted");
    assert_eq!(done.cost, price(10, 30).cost(input, output));
    assert_eq!(sink.records()[0].cost, done.cost, "metered at that price");

    config.prices.insert("scripted".into(), price(0, 0));
    let free = Models::new(config, Arc::new(MemorySink::new()));
    let done = free
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap();
    assert_eq!(done.cost.micros(), 0, "a test price table of its own");
}

#[tokio::test]
async fn answers_are_deterministic_labelled_priced_like_live_and_metered() {
    let (models, sink) = scripted();
    let (again, _) = scripted();
    let request = ChatRequest::prompt("What should we name the quarterly pricing review?");
    let first = models
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap();
    let second = again
        .complete(&test_env(), &Role::Step, &request)
        .await
        .unwrap();
    assert_eq!(first.text, second.text);
    assert!(first.text.starts_with(TEXT_PREFIX), "{}", first.text);
    assert!(first.scripted);
    assert_eq!(
        (first.provider.as_str(), first.model.as_str()),
        ("scripted", "scripted")
    );
    assert_eq!(
        first.usage,
        Usage::reported(
            request.prompt_chars().div_ceil(4) as u64,
            first.text.chars().count().div_ceil(4) as u64
        )
    );
    // Priced like a live call: the role has no model configured, so at the default
    // price (1 and 4 credits per million tokens).
    let (input, output) = (first.usage.input_tokens, first.usage.output_tokens);
    let expected = ModelsConfig::default()
        .default_price
        .cost(input as i64, output as i64);
    assert!(expected.micros() > 0);
    assert_eq!(first.cost, expected);

    let other = models
        .complete(
            &test_env(),
            &Role::Step,
            &ChatRequest::prompt("Something else entirely"),
        )
        .await
        .unwrap();
    assert_ne!(other.text, first.text);
    // Another role, another answer to the same words.
    let arbiter = models
        .complete(&test_env(), &Role::Arbiter, &request)
        .await
        .unwrap();
    assert_ne!(arbiter.text, first.text);

    let records = sink.records();
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .all(|r| r.provider == "scripted" && r.usage_known)
    );
    assert_eq!(records[0].environment, Some(Environment::Test));
}

#[tokio::test]
async fn the_drafter_returns_a_step_list_from_the_description() {
    let (models, _) = scripted();
    let request = ChatRequest::new(vec![
        Message::system("You draft pilots. Steps: llm, http, email, delay, transform, condition."),
        Message::user("Summarize each new support ticket, wait 10 minutes, then post it to Slack"),
    ]);
    let done = models
        .complete_json(&test_env(), &Role::Drafter, &request)
        .await
        .unwrap();
    let steps = done.value["steps"].as_array().unwrap();
    // Nothing says what the payload is: the prompt passes it whole.
    assert_eq!(
        steps,
        &[
            json!({"id": "summarize", "type": "llm", "output": "text",
                   "prompt": "Summarize the following (summarize new support ticket wait minutes):\n\n{{ trigger | tojson }}"}),
            json!({"id": "wait", "type": "delay", "seconds": 600}),
            json!({"id": "notify", "type": "http", "method": "POST",
                   "url": "{{ secrets.SLACK_WEBHOOK_URL }}",
                   "body": {"text": "{{ steps.summarize.output }}"}}),
        ]
    );
}

fn persona_schema() -> JsonSchema {
    JsonSchema::new(
        "persona_answer",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["position", "key_claims", "risks", "confidence"],
            "properties": {
                "position": {"type": "string", "minLength": 10},
                "key_claims": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 5},
                "risks": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "confidence": {"type": "integer", "minimum": 0, "maximum": 10}
            }
        }),
    )
}

#[tokio::test]
async fn schema_requests_get_a_valid_instance_made_of_the_prompts_words() {
    let (models, _) = scripted();
    let request = ChatRequest::prompt("Should we migrate billing to PostgreSQL this quarter?")
        .with_schema(persona_schema());
    let role = Role::Persona("skeptic".into());
    let done = models
        .complete_json(&test_env(), &role, &request)
        .await
        .unwrap();
    let value = &done.value;
    let object = value.as_object().unwrap();
    assert_eq!(object.len(), 4);
    assert!(value["position"].as_str().unwrap().chars().count() >= 10);
    let claims = value["key_claims"].as_array().unwrap();
    assert!((3..=5).contains(&claims.len()));
    assert!(!value["risks"].as_array().unwrap().is_empty());
    assert!((0..=10).contains(&value["confidence"].as_i64().unwrap()));
    let prompt_words = [
        "should",
        "we",
        "migrate",
        "billing",
        "to",
        "postgresql",
        "this",
        "quarter",
    ];
    for claim in claims {
        for word in claim.as_str().unwrap().split(' ') {
            assert!(
                prompt_words.contains(&word),
                "{word} is not from the prompt"
            );
        }
    }
    // Same input, same instance.
    let again = models
        .complete_json(&test_env(), &role, &request)
        .await
        .unwrap();
    assert_eq!(again.value, done.value);
}

async fn marked(models: &Models, marker: &str) -> Result<pilot_models::Completion, ModelError> {
    let request =
        ChatRequest::prompt(format!("Please answer {marker} now")).with_schema(JsonSchema::new(
            "any",
            json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
        ));
    models.complete(&test_env(), &Role::Step, &request).await
}

#[tokio::test]
async fn magic_markers_fail_on_purpose_and_charge_nothing() {
    let (models, sink) = scripted();
    assert_eq!(
        marked(&models, "[[scripted:timeout]]").await.unwrap_err(),
        ModelError::Timeout(Duration::from_millis(60_000))
    );
    let failed = marked(&models, "[[scripted:fail]]").await.unwrap_err();
    assert!(
        matches!(failed, ModelError::Unavailable { status: 500, .. }),
        "{failed}"
    );
    let blocked = marked(&models, "[[scripted:block]]").await.unwrap_err();
    assert!(
        matches!(blocked, ModelError::ContentFiltered(_)),
        "{blocked}"
    );
    assert!(sink.records().is_empty(), "failed calls consumed nothing");
}

#[tokio::test]
async fn the_malformed_marker_answers_what_no_schema_accepts() {
    let (models, sink) = scripted();
    let done = marked(&models, "[[scripted:malformed]]").await.unwrap();
    assert_eq!(done.text, MALFORMED_ANSWER);
    assert!(serde_json::from_str::<Value>(&done.text).is_err());
    let request = ChatRequest::prompt("[[scripted:malformed]]").with_schema(persona_schema());
    let error = models
        .complete_json(&test_env(), &Role::Arbiter, &request)
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::BadResponse(_)), "{error}");
    // It answered, so it was metered.
    assert_eq!(sink.records().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_slow_marker_waits_then_answers_and_the_timeout_still_applies() {
    let (models, _) = scripted();
    let slow = marked(&models, "[[scripted:slow=1500]]").await.unwrap();
    let quick = marked(&models, "").await.unwrap();
    assert!(slow.text.starts_with('{'), "{}", slow.text);
    assert!(quick.text.starts_with('{'));

    let config = ModelsConfig {
        timeout_ms: 100,
        ..ModelsConfig::default()
    };
    let tight = Models::new(config, Arc::new(MemorySink::new()));
    assert_eq!(
        marked(&tight, "[[scripted:slow=5000]]").await.unwrap_err(),
        ModelError::Timeout(Duration::from_millis(100))
    );
}

#[tokio::test]
async fn live_is_off_until_configured_and_nothing_is_charged() {
    let (models, sink) = scripted();
    let live = CallContext::new(Environment::Live, "cli", "ask");
    let error = models
        .complete(&live, &Role::Step, &ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::NotConfigured(m) if m.contains("models.live_provider")),
        "{error}"
    );
    assert!(sink.records().is_empty());
    assert!(models.describe(Environment::Live).starts_with("off"));
    assert!(models.describe(Environment::Test).starts_with("scripted"));
}
