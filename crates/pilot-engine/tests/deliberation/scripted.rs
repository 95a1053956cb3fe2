//! Test mode: the scripted model answers every stage deterministically, and its
//! markers make the pipeline fail on purpose.

use async_trait::async_trait;
use pilot_domain::{Difficulty, Environment, FailureCode, Mode};
use pilot_engine::deliberation::{
    DeliberationsConfig, PANEL_SIZE, PanelRecorder, PipelineError, RecordError,
};
use pilot_store::PanelEntry;

use crate::harness::{
    QUESTION, WORKSPACE, completed, errors, failed, id, record, scripted, sorted,
};

fn test_record(
    mode: Mode,
    difficulty: Difficulty,
    question: &str,
) -> pilot_store::DeliberationRecord {
    record(Environment::Test, mode, difficulty, question)
}

#[tokio::test]
async fn the_panel_answers_reviews_and_synthesizes() {
    let setup = scripted(DeliberationsConfig::default());
    let record = test_record(Mode::Deliberation1, Difficulty::Medium, QUESTION);
    let (result, recorder) = setup.run(&record).await;
    let outcome = completed(result);

    let answers = recorder.stage("answer");
    assert_eq!(answers.len(), PANEL_SIZE);
    assert!(errors(&answers).is_empty(), "{answers:?}");
    let mut authors: Vec<&str> = answers.iter().map(|e| e.author.as_str()).collect();
    authors.sort();
    assert_eq!(
        authors,
        ["cfo", "competitor", "customer", "growth", "skeptic"]
    );
    for answer in &answers {
        assert!(["yes", "no", "depends"].contains(&answer.content["stance"].as_str().unwrap()));
    }

    let reviews = recorder.stage("review");
    assert_eq!(reviews.len(), PANEL_SIZE);
    for review in &reviews {
        let items = review.content["reviews"].as_array().unwrap();
        assert_eq!(items.len(), PANEL_SIZE - 1);
        // Each reviewer saw the others, never itself, each once.
        let mut of: Vec<&str> = items.iter().map(|r| r["of"].as_str().unwrap()).collect();
        of.sort();
        of.dedup();
        assert_eq!(of.len(), PANEL_SIZE - 1);
        assert!(!of.contains(&review.author.as_str()));
    }

    let synthesis = recorder.stage("synthesis");
    assert_eq!(synthesis.len(), 1);
    assert_eq!(synthesis[0].author, "arbiter");
    // The result carries the arbiter's words, labelled as the scripted model's.
    assert_eq!(
        outcome.result.synthesis,
        format!(
            "[scripted] {}",
            synthesis[0].content["synthesis"].as_str().unwrap()
        )
    );

    let result = &outcome.result;
    assert!((0.0..=10.0).contains(&result.confidence_index));
    assert_eq!(
        result.confidence_index,
        (result.confidence_index * 10.0).round() / 10.0
    );
    assert!(!result.degraded);
    let inputs = &result.confidence_inputs;
    assert_eq!(inputs["answered"], 5);
    assert_eq!(inputs["peer_scores"], 20);
    let revised = inputs["revised"].as_bool().unwrap();
    assert_eq!(
        recorder.stage("revision").len(),
        if revised { 5 } else { 0 }
    );

    // Every call metered to the tenant as a deliberation stage.
    let records = setup.sink.records();
    assert_eq!(records.len(), recorder.entries().len());
    for usage in &records {
        assert_eq!(usage.workspace_id, Some(WORKSPACE));
        assert_eq!(usage.environment, Some(Environment::Test));
        assert_eq!(usage.owner_kind, "deliberation_stage");
        assert!(
            usage.owner_id.starts_with(&format!("{}:", id())),
            "{}",
            usage.owner_id
        );
        assert_eq!(usage.provider, "scripted");
    }
    assert!(records.iter().any(|u| u.owner_id.ends_with(":answer:cfo")));
    assert!(
        records
            .iter()
            .any(|u| u.owner_id.ends_with(":synthesis:arbiter"))
    );
    // Scripted calls are priced like live ones (here at the default price): the
    // deliberation costs what its calls were metered at.
    let metered: i64 = records.iter().map(|u| u.cost.micros()).sum();
    assert!(metered > 0);
    assert_eq!(outcome.cost.micros(), metered);
}

#[tokio::test]
async fn the_same_deliberation_runs_the_same_way_twice() {
    let setup = scripted(DeliberationsConfig::default());
    let record = test_record(Mode::Deliberation1, Difficulty::Medium, QUESTION);
    let (first, first_entries) = setup.run(&record).await;
    let (second, second_entries) = setup.run(&record).await;
    assert_eq!(completed(first), completed(second));
    assert_eq!(
        sorted(&first_entries.entries()),
        sorted(&second_entries.entries())
    );
}

#[tokio::test]
async fn markers_fail_the_pipeline_with_each_code() {
    let setup = scripted(DeliberationsConfig::default());
    for mode in [Mode::Deliberation1, Mode::Smartroute1] {
        for (marker, code, kind) in [
            (
                "[[scripted:timeout]]",
                FailureCode::ProcessingTimeout,
                "timeout",
            ),
            (
                "[[scripted:fail]]",
                FailureCode::ProcessingFailed,
                "model_error",
            ),
            (
                "[[scripted:malformed]]",
                FailureCode::ProcessingFailed,
                "invalid_answer",
            ),
        ] {
            let question = format!("{QUESTION} {marker}");
            let (result, recorder) = setup
                .run(&test_record(mode, Difficulty::Medium, &question))
                .await;
            let failure = failed(result);
            assert_eq!(failure.code, code, "{mode} {marker}: {}", failure.reason);
            let calls = if mode == Mode::Deliberation1 {
                PANEL_SIZE
            } else {
                1
            };
            // Every call failed the same way, and nothing ran after.
            assert_eq!(
                errors(&recorder.entries()),
                vec![kind; calls],
                "{mode} {marker}"
            );
        }
    }
}

#[tokio::test]
async fn hard_questions_always_revise() {
    let setup = scripted(DeliberationsConfig::default());
    let record = test_record(Mode::Deliberation1, Difficulty::Hard, QUESTION);
    let (result, recorder) = setup.run(&record).await;
    let outcome = completed(result);
    let revisions = recorder.stage("revision");
    assert_eq!(revisions.len(), PANEL_SIZE);
    assert!(errors(&revisions).is_empty());
    assert_eq!(outcome.result.confidence_inputs["revised"], true);
    assert_eq!(outcome.result.confidence_inputs["revisions"], 5);
    // Revisions come between the reviews and the synthesis.
    let stages: Vec<String> = recorder.entries().into_iter().map(|e| e.stage).collect();
    let last_review = stages.iter().rposition(|s| s == "review").unwrap();
    let first_revision = stages.iter().position(|s| s == "revision").unwrap();
    assert!(last_review < first_revision);
    assert_eq!(stages.last().map(String::as_str), Some("synthesis"));
}

#[tokio::test]
async fn smartroute_is_one_routed_call_with_a_capped_confidence() {
    for cap in [0.0, 6.0] {
        let setup = scripted(DeliberationsConfig {
            smartroute_confidence_cap: cap,
            ..DeliberationsConfig::default()
        });
        let record = test_record(Mode::Smartroute1, Difficulty::Medium, QUESTION);
        let (result, recorder) = setup.run(&record).await;
        let outcome = completed(result);
        let entries = recorder.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].stage.as_str(), entries[0].author.as_str()),
            ("routed", "router")
        );
        assert_eq!(setup.sink.records().len(), 1);
        assert!(setup.sink.records()[0].owner_id.ends_with(":routed:router"));
        let result = &outcome.result;
        assert_eq!(
            result.synthesis,
            format!(
                "[scripted] {}",
                entries[0].content["answer"].as_str().unwrap()
            )
        );
        assert_eq!(result.minority_report, None);
        let own = result.confidence_inputs["self_confidence"]
            .as_f64()
            .unwrap();
        assert_eq!(
            result.confidence_index,
            ((own.min(cap)) * 10.0).round() / 10.0
        );
        assert!(result.confidence_index <= cap);
    }
}

#[tokio::test]
async fn the_processing_budget_bounds_the_whole_run() {
    let setup = scripted(DeliberationsConfig {
        processing_budget_ms: 50,
        ..DeliberationsConfig::default()
    });
    let question = format!("{QUESTION} [[scripted:slow=60000]]");
    let (result, recorder) = setup
        .run(&test_record(
            Mode::Deliberation1,
            Difficulty::Medium,
            &question,
        ))
        .await;
    let failure = failed(result);
    assert_eq!(failure.code, FailureCode::ProcessingTimeout);
    assert!(failure.reason.contains("budget"), "{}", failure.reason);
    assert!(recorder.entries().is_empty());
}

/// A recorder whose store is down.
struct Broken;

#[async_trait]
impl PanelRecorder for Broken {
    async fn record(&self, _entry: &PanelEntry) -> Result<(), RecordError> {
        Err(RecordError("the store is down".into()))
    }
}

#[tokio::test]
async fn a_recording_failure_stops_the_run_without_deciding_it() {
    let setup = scripted(DeliberationsConfig::default());
    let record = test_record(Mode::Deliberation1, Difficulty::Medium, QUESTION);
    let result = setup.pipeline.run(&record, &Broken).await;
    assert!(
        matches!(result, Err(PipelineError::Record(ref e)) if e.0 == "the store is down"),
        "{result:?}"
    );
    // Stage 1 ran (its calls are concurrent), nothing after it.
    let owners: Vec<String> = setup
        .sink
        .records()
        .into_iter()
        .map(|u| u.owner_id)
        .collect();
    assert_eq!(owners.len(), PANEL_SIZE);
    assert!(owners.iter().all(|o| o.contains(":answer:")), "{owners:?}");
}
