//! `deliberation2` a stretch at a time on the scripted model, with no store: each
//! stretch ends at the next checkpoint with its offer and state, and the next starts
//! from that state and an answer alone — run twice, the same answers give the same
//! deliberation, so nothing carried over in memory.

use pilot_domain::{CheckpointAnswer, CheckpointKind, Credits, Difficulty, Environment, Mode};
use pilot_engine::deliberation::{Advanced, DeliberationsConfig, MemoryRecorder, Outcome, Pause};
use serde_json::Value;

use crate::harness::{QUESTION, record, scripted};

fn paused(advanced: Advanced) -> Pause {
    match advanced {
        Advanced::Paused(pause) => pause,
        Advanced::Completed(outcome) => panic!("expected a checkpoint, got {outcome:?}"),
    }
}

/// Submits and answers every checkpoint as a person might: drops the first persona
/// and adds the first addable one with a constraint, revises the first position,
/// sends the first draft back, approves the second. The offers seen, and the outcome.
async fn walk() -> (Vec<Pause>, Outcome) {
    let setup = scripted(DeliberationsConfig::default());
    let pipeline = &setup.pipeline;
    let record = record(
        Environment::Test,
        Mode::Deliberation2,
        Difficulty::Medium,
        QUESTION,
    );
    let recorder = MemoryRecorder::new();
    let mut seen: Vec<Pause> = Vec::new();
    let mut at: Option<(i32, Value, CheckpointAnswer)> = None;
    loop {
        let advanced = pipeline
            .advance(
                &record,
                &recorder,
                at.as_ref().map(|(s, v, a)| (*s, v, a.clone())),
            )
            .await
            .expect("the stretch runs");
        let pause = match advanced {
            Advanced::Completed(outcome) => return (seen, outcome),
            advanced => paused(advanced),
        };
        let offer = &pause.offer;
        let answer = match offer.kind {
            CheckpointKind::Answers => CheckpointAnswer::Answers {
                drop: vec![offer.positions[0].persona.clone()],
                add: vec![offer.addable[0].name.clone()],
                constraint: Some("Keep the budget flat.".into()),
            },
            CheckpointKind::Reviews => CheckpointAnswer::Reviews {
                revise: vec![offer.positions[0].persona.clone()],
            },
            CheckpointKind::Synthesis => CheckpointAnswer::Synthesis {
                approve: !offer.can_send_back || pause.seq > 3,
                note: Some("Say what it costs.".into()),
            },
        };
        at = Some((pause.seq, pause.state.clone(), answer));
        seen.push(pause);
    }
}

#[tokio::test]
async fn each_stretch_starts_from_the_stored_state_and_the_answer_alone() {
    let (pauses, outcome) = walk().await;
    let kinds: Vec<CheckpointKind> = pauses.iter().map(|p| p.offer.kind).collect();
    assert_eq!(
        kinds,
        [
            CheckpointKind::Answers,
            CheckpointKind::Reviews,
            CheckpointKind::Synthesis,
            CheckpointKind::Synthesis
        ]
    );
    let seqs: Vec<i32> = pauses.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);

    // Five regulars and two specialists from the other panels; the rest addable.
    let first = &pauses[0].offer;
    assert_eq!(first.positions.len(), 7);
    assert_eq!(first.min_panel, 3);
    assert!(first.addable.len() >= 10, "{:?}", first.addable);
    assert!(
        first
            .addable
            .iter()
            .all(|a| first.positions.iter().all(|p| p.persona != a.name)),
        "no persona is both on the panel and addable"
    );
    let on_panel = |p: &Pause, name: &str| p.offer.positions.iter().any(|x| x.persona == name);
    let (dropped, added) = (&first.positions[0].persona, &first.addable[0].name);
    assert!(!on_panel(&pauses[1], dropped) && on_panel(&pauses[1], added));
    assert!(
        pauses[1]
            .offer
            .positions
            .iter()
            .all(|p| p.peer_score.is_some())
    );
    let revised: Vec<&str> = pauses[2]
        .offer
        .positions
        .iter()
        .filter(|p| p.revised)
        .map(|p| p.persona.as_str())
        .collect();
    assert_eq!(revised, [pauses[1].offer.positions[0].persona.as_str()]);
    // Sent back once: a new draft, and it may be sent back once more.
    assert!(pauses[3].offer.can_send_back);
    assert_ne!(pauses[2].offer.draft, pauses[3].offer.draft);
    let approved = pauses[3].offer.draft.as_ref().unwrap();
    assert_eq!(outcome.result.synthesis, approved.synthesis);
    assert!(!outcome.result.degraded);
    assert!(outcome.cost > Credits::ZERO, "scripted calls are priced");
    assert_eq!(
        pauses[3].state["spent_micros"].as_i64(),
        Some(outcome.cost.micros()),
        "the approval runs no call: the cost is what the stretches before it spent"
    );

    // Nothing but the state and the answers: the same walk again is the same.
    let (again, repeated) = walk().await;
    assert_eq!(repeated.result, outcome.result);
    assert_eq!(repeated.cost, outcome.cost);
    let offers = |p: &[Pause]| p.iter().map(|p| p.offer.clone()).collect::<Vec<_>>();
    assert_eq!(offers(&again), offers(&pauses));
}
