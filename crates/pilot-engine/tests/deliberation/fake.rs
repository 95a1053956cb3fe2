//! Live mode against the fake provider: the fake answers from a queue in arrival
//! order, and the stages run one after another, so each stage's replies are queued
//! in turn. Within a stage, which persona gets which reply is up to the race — the
//! cases are built so it does not matter.

use std::time::Duration;

use pilot_domain::{Credits, Difficulty, Environment, FailureCode, Mode};
use pilot_engine::deliberation::{DeliberationsConfig, PANEL_SIZE};
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
use serde_json::{Map, Value, json};

use crate::harness::{PRICE, QUESTION, WORKSPACE, completed, errors, failed, live, record};

/// Tokens every fake reply reports.
const USAGE: (u64, u64) = (1_000, 500);

fn reply(value: Value) -> FakeReply {
    FakeReply::text(value.to_string()).usage(USAGE.0, USAGE.1)
}

fn call_cost() -> Credits {
    PRICE.cost(USAGE.0 as i64, USAGE.1 as i64)
}

fn answer(stance: &str) -> FakeReply {
    reply(json!({
        "stance": stance,
        "position": format!("The answer is {stance}, for reasons."),
        "key_claims": ["customers value predictability"],
        "risks": ["revenue may lag usage"],
        "confidence": 7
    }))
}

/// A review of `shown` anonymous answers (labels A, B, …).
fn review(shown: usize) -> FakeReply {
    let reviews: Map<String, Value> = (0..shown)
        .map(|n| {
            let label = char::from(b'A' + n as u8).to_string();
            (
                label,
                json!({"score": 6 + n % 3, "objection": "ignores procurement"}),
            )
        })
        .collect();
    reply(json!({ "reviews": reviews }))
}

fn arbiter() -> FakeReply {
    reply(json!({
        "synthesis": "## Recommendation\nUsage-based, with a committed minimum.",
        "summary": "Go usage-based with a floor.",
        "minority_report": "The CFO prefers seats for predictability."
    }))
}

fn refused() -> FakeReply {
    FakeReply::status(400, "bad request")
}

fn live_record(difficulty: Difficulty) -> pilot_store::DeliberationRecord {
    record(Environment::Live, Mode::Deliberation1, difficulty, QUESTION)
}

fn queue(fake: &FakeLlm, replies: impl IntoIterator<Item = FakeReply>) {
    for r in replies {
        fake.push(r);
    }
}

/// Queues a panel's replies stage by stage: first answers with these stances, a
/// review of the others from each, revisions with these stances, the synthesis.
fn script(fake: &FakeLlm, first: &[&str], revised: &[&str]) {
    queue(fake, first.iter().copied().map(answer));
    queue(fake, first.iter().map(|_| review(first.len() - 1)));
    queue(fake, revised.iter().copied().map(answer));
    fake.push(arbiter());
}

#[tokio::test]
async fn two_failing_personas_leave_a_degraded_quorum() {
    let fake = FakeLlm::start().await;
    queue(&fake, [refused(), refused()]);
    script(&fake, &["yes"; 3], &[]);
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, recorder) = setup.run(&live_record(Difficulty::Medium)).await;
    let outcome = completed(result);

    assert!(outcome.result.degraded);
    assert_eq!(outcome.result.confidence_inputs["answered"], 3);
    assert_eq!(outcome.result.confidence_inputs["quorum_fraction"], 0.6);
    assert_eq!(
        errors(&recorder.stage("answer")),
        ["model_error", "model_error"]
    );
    assert_eq!(recorder.stage("review").len(), 3);
    assert_eq!(recorder.stage("revision").len(), 0);
    assert_eq!(
        outcome.result.minority_report.as_deref(),
        Some("The CFO prefers seats for predictability.")
    );
    // 5 answers (2 refused, not retried), 3 reviews, the arbiter.
    let requests = fake.requests();
    assert_eq!(requests.len(), 9);
    let schemas: Vec<&str> = requests
        .iter()
        .filter_map(|r| {
            r.body
                .pointer("/response_format/json_schema/name")?
                .as_str()
        })
        .collect();
    assert_eq!(
        schemas.iter().filter(|s| **s == "persona_answer").count(),
        5
    );
    assert_eq!(schemas.iter().filter(|s| **s == "peer_review").count(), 3);
    assert_eq!(schemas.last(), Some(&"arbiter_synthesis"));
    // Refused calls are not metered or charged: 7 answered calls.
    assert_eq!(setup.sink.records().len(), 7);
    assert_eq!(outcome.cost.micros(), 7 * call_cost().micros());
}

#[tokio::test]
async fn three_failing_personas_fail_the_deliberation() {
    let fake = FakeLlm::start().await;
    queue(&fake, [refused(), refused(), refused()]);
    queue(&fake, (0..2).map(|_| answer("yes")));
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, recorder) = setup.run(&live_record(Difficulty::Medium)).await;
    let failure = failed(result);
    assert_eq!(failure.code, FailureCode::ProcessingFailed);
    assert!(failure.reason.contains("only 2 of 5"), "{}", failure.reason);
    assert_eq!(failure.cost_so_far.micros(), 2 * call_cost().micros());
    assert_eq!(fake.requests().len(), PANEL_SIZE);
    assert_eq!(recorder.entries().len(), PANEL_SIZE);
}

#[tokio::test]
async fn a_split_panel_revises_once() {
    let fake = FakeLlm::start().await;
    // Persuaded by the review: everyone comes round to "yes".
    script(&fake, &["yes", "yes", "no", "no", "depends"], &["yes"; 5]);
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, recorder) = setup.run(&live_record(Difficulty::Medium)).await;
    let outcome = completed(result);

    assert_eq!(recorder.stage("revision").len(), PANEL_SIZE);
    let inputs = &outcome.result.confidence_inputs;
    assert_eq!(inputs["revised"], true);
    // Agreement is measured on the final answers.
    assert_eq!(inputs["agreement"], 1.0);
    assert_eq!(inputs["stances"], json!({"yes": 5}));
    assert_eq!(fake.requests().len(), 16);
    // A revision is shown the objections raised against the persona's first answer.
    let revision_prompt = fake.requests()[10].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        revision_prompt.contains("ignores procurement"),
        "{revision_prompt}"
    );
    assert!(!outcome.result.degraded);
}

#[tokio::test]
async fn an_agreeing_panel_does_not_revise() {
    let fake = FakeLlm::start().await;
    script(&fake, &["yes", "yes", "yes", "yes", "no"], &[]);
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, recorder) = setup.run(&live_record(Difficulty::Medium)).await;
    let outcome = completed(result);
    assert!(recorder.stage("revision").is_empty());
    assert_eq!(outcome.result.confidence_inputs["agreement"], 0.8);
    assert_eq!(fake.requests().len(), 11);
}

#[tokio::test]
async fn a_hard_question_revises_even_when_the_panel_agrees() {
    let fake = FakeLlm::start().await;
    script(&fake, &["yes"; 5], &["no"; 5]);
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, recorder) = setup.run(&live_record(Difficulty::Hard)).await;
    let outcome = completed(result);
    assert_eq!(recorder.stage("revision").len(), PANEL_SIZE);
    assert_eq!(
        outcome.result.confidence_inputs["stances"],
        json!({"no": 5})
    );
    assert_eq!(fake.requests().len(), 16);
}

#[tokio::test]
async fn a_persona_slower_than_the_call_timeout_drops_out() {
    let fake = FakeLlm::start().await;
    fake.push(answer("yes").latency(Duration::from_secs(60)));
    script(&fake, &["yes"; 4], &[]);
    let setup = live(
        &fake,
        DeliberationsConfig {
            call_timeout_ms: 2_000,
            ..DeliberationsConfig::default()
        },
    );
    let (result, recorder) = setup.run(&live_record(Difficulty::Medium)).await;
    let outcome = completed(result);
    assert!(outcome.result.degraded);
    assert_eq!(outcome.result.confidence_inputs["answered"], 4);
    assert_eq!(errors(&recorder.stage("answer")), ["timeout"]);
    assert_eq!(recorder.stage("review").len(), 4);
}

#[tokio::test]
async fn the_cost_is_the_sum_of_every_calls_cost() {
    let fake = FakeLlm::start().await;
    script(&fake, &["no"; 5], &[]);
    let setup = live(&fake, DeliberationsConfig::default());
    let (result, _) = setup.run(&live_record(Difficulty::Medium)).await;
    let outcome = completed(result);

    let records = setup.sink.records();
    assert_eq!(records.len(), 11);
    let metered: i64 = records.iter().map(|u| u.cost.micros()).sum();
    assert_eq!(outcome.cost.micros(), metered);
    // 1,000 tokens in at 1 credit/M and 500 out at 2 credits/M: 0.002 a call.
    assert_eq!(call_cost(), Credits::from_micros(2_000));
    assert_eq!(outcome.cost, Credits::from_micros(22_000));
    for usage in &records {
        assert_eq!(usage.workspace_id, Some(WORKSPACE));
        assert_eq!(usage.environment, Some(Environment::Live));
        assert_eq!(usage.model, "fake-model");
        assert_eq!((usage.input_tokens, usage.output_tokens), (1_000, 500));
    }
}
