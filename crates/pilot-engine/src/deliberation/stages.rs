//! The stages of `deliberation1`, each a batch of concurrent calls
//! (`futures::future::join_all`: one task, calls interleaved, results in panel order):
//!
//! 1. [`answers`] — every persona answers independently;
//! 2. [`reviews`] — every answering persona reviews the others, anonymously, in its
//!    own shuffled order ([`super::order`]), scoring each and naming the strongest
//!    objection;
//! 3. [`revisions`] — each may revise, given the objections and the other answers
//!    (the pipeline runs this only for a split panel, or a `HARD` question);
//! 4. [`synthesis`] — the arbiter writes the synthesis, summary and minority report.
//!
//! Then [`assess`] computes the confidence index from what the panel did.

use futures::future::join_all;
use pilot_domain::FailureCode;
use pilot_models::Role;
use serde_json::{Value, json};

use super::answers::{
    Answer, Stance, Synthesis, Verdict, is_split, largest_bloc_share, tally, verdicts_from_json,
};
use super::calls::{CallFailure, Run, Stage};
use super::confidence::{
    ConfidenceInputs, FORMULA, W_AGREEMENT, W_PEER, W_QUORUM, W_SELF, confidence_index, mean,
    std_dev,
};
use super::config::PersonaConfig;
use super::order::{label, shuffled};
use super::pipeline::Stop;
use super::prompts::{self, MemberBrief};

/// A persona that answered, and what became of its answer.
#[derive(Debug)]
pub struct Member<'p> {
    pub persona: &'p PersonaConfig,
    pub first: Answer,
    pub revised: Option<Answer>,
    /// Every review of the first answer.
    pub verdicts: Vec<Verdict>,
}

impl Member<'_> {
    /// The final answer: revised, else the first.
    pub fn answer(&self) -> &Answer {
        self.revised.as_ref().unwrap_or(&self.first)
    }

    pub fn peer_score(&self) -> Option<f64> {
        let scores: Vec<f64> = self.verdicts.iter().map(|v| v.score).collect();
        mean(&scores)
    }
}

fn role(persona: &PersonaConfig) -> Role {
    Role::Persona(persona.name.clone())
}

fn present_answer(answer: &Answer) -> Value {
    json!(answer)
}

/// Stage 1. The members that answered validly, in panel order, and the failures.
pub async fn answers<'p>(
    run: &Run<'_>,
    panel: &'p [PersonaConfig],
) -> Result<(Vec<Member<'p>>, Vec<CallFailure>), Stop> {
    let calls = panel.iter().map(|persona| {
        run.ask(
            Stage::Answer,
            &persona.name,
            role(persona),
            prompts::answer(persona, run.record),
            Answer::from_json,
            present_answer,
        )
    });
    let mut members = Vec::new();
    let mut failures = Vec::new();
    for (persona, outcome) in panel.iter().zip(join_all(calls).await) {
        match outcome? {
            Ok(first) => members.push(Member {
                persona,
                first,
                revised: None,
                verdicts: Vec::new(),
            }),
            Err(failure) => failures.push(failure),
        }
    }
    Ok((members, failures))
}

/// Fewer valid answers than the quorum fails the deliberation: `processing_timeout`
/// when every failure was a timeout (the panel ran out of time, which a retry may
/// not), `processing_failed` otherwise.
pub fn check_quorum(
    answered: usize,
    panel_size: usize,
    quorum: usize,
    failures: &[CallFailure],
) -> Result<(), Stop> {
    if answered >= quorum {
        return Ok(());
    }
    let all_timeouts = !failures.is_empty() && failures.iter().all(CallFailure::is_timeout);
    let code = if all_timeouts {
        FailureCode::ProcessingTimeout
    } else {
        FailureCode::ProcessingFailed
    };
    let kinds: Vec<&str> = failures.iter().map(CallFailure::kind).collect();
    Err(Stop::Fail {
        code,
        reason: format!(
            "only {answered} of {panel_size} personas answered, below the quorum of {quorum} \
             (failures: {})",
            kinds.join(", ")
        ),
    })
}

/// Stage 2: each member reviews the others' first answers.
pub async fn reviews(run: &Run<'_>, members: &mut [Member<'_>]) -> Result<(), Stop> {
    let id = run.record.id.as_str();
    // Each reviewer's order of the others, by member index.
    let orders: Vec<Vec<usize>> = (0..members.len())
        .map(|me| {
            let others = (0..members.len()).filter(|&j| j != me).collect();
            shuffled(others, &[id, &members[me].persona.name])
        })
        .collect();
    let calls = members.iter().zip(&orders).map(|(reviewer, order)| {
        let labels: Vec<String> = (0..order.len()).map(label).collect();
        let shown: Vec<(String, &Answer)> = labels
            .iter()
            .cloned()
            .zip(order.iter().map(|&j| &members[j].first))
            .collect();
        let authors: Vec<&str> = order
            .iter()
            .map(|&j| members[j].persona.name.as_str())
            .collect();
        let request = prompts::review(reviewer.persona, run.record, &shown);
        async move {
            if labels.is_empty() {
                return Ok(Ok(Vec::new()));
            }
            run.ask(
                Stage::Review,
                &reviewer.persona.name,
                role(reviewer.persona),
                request,
                |value| verdicts_from_json(value, &labels),
                |verdicts| present_reviews(&labels, &authors, verdicts),
            )
            .await
        }
    });
    let outcomes = join_all(calls).await;
    for (order, outcome) in orders.iter().zip(outcomes) {
        // A reviewer that failed leaves its peers unscored by it; nothing else.
        if let Ok(verdicts) = outcome? {
            for (&reviewed, verdict) in order.iter().zip(verdicts) {
                members[reviewed].verdicts.push(verdict);
            }
        }
    }
    Ok(())
}

/// A review as stored: the labels the reviewer saw, and whose answers they were.
fn present_reviews(labels: &[String], authors: &[&str], verdicts: &[Verdict]) -> Value {
    let reviews: Vec<Value> = labels
        .iter()
        .zip(authors)
        .zip(verdicts)
        .map(|((label, of), verdict)| {
            json!({"label": label, "of": of, "score": verdict.score, "objection": verdict.objection})
        })
        .collect();
    json!({ "reviews": reviews })
}

/// Whether the panel revises: split on its first answers, or a `HARD` question.
pub fn needs_revision(first: &[Stance], hard: bool, threshold: f64) -> bool {
    hard || is_split(first, threshold)
}

/// Stage 3: each member `chosen` by name may revise. A failed revision keeps the
/// first answer.
pub async fn revisions(
    run: &Run<'_>,
    members: &mut [Member<'_>],
    chosen: impl Fn(&str) -> bool,
) -> Result<(), Stop> {
    let id = run.record.id.as_str();
    let picked: Vec<usize> = (0..members.len())
        .filter(|&me| chosen(&members[me].persona.name))
        .collect();
    let calls = picked.iter().map(|&me| {
        let member = &members[me];
        let others: Vec<usize> = (0..members.len()).filter(|&j| j != me).collect();
        let others: Vec<&Answer> = shuffled(others, &[id, &member.persona.name, "revision"])
            .into_iter()
            .map(|j| &members[j].first)
            .collect();
        let objections: Vec<&str> = member
            .verdicts
            .iter()
            .map(|v| v.objection.as_str())
            .collect();
        let request = prompts::revision(
            member.persona,
            run.record,
            &member.first,
            &objections,
            &others,
        );
        run.ask(
            Stage::Revision,
            &member.persona.name,
            role(member.persona),
            request,
            Answer::from_json,
            present_answer,
        )
    });
    let outcomes = join_all(calls).await;
    for (&me, outcome) in picked.iter().zip(outcomes) {
        if let Ok(revised) = outcome? {
            members[me].revised = Some(revised);
        }
    }
    Ok(())
}

/// Stances counted, largest bloc first.
fn stance_tally(members: &[Member<'_>]) -> Vec<(Stance, usize)> {
    let mut counts: Vec<(Stance, usize)> = tally(members.iter().map(|m| m.answer().stance))
        .into_iter()
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

/// Stage 4: the arbiter's synthesis. Its failure is the deliberation's: a timeout is
/// `processing_timeout`, anything else `processing_failed`.
pub async fn synthesis(
    run: &Run<'_>,
    members: &[Member<'_>],
    panel_size: usize,
) -> Result<Synthesis, Stop> {
    let briefs: Vec<MemberBrief<'_>> = members
        .iter()
        .map(|member| MemberBrief {
            persona: member.persona,
            answer: member.answer(),
            revised: member.revised.is_some(),
            peer_score: member.peer_score(),
            objections: member
                .verdicts
                .iter()
                .map(|v| v.objection.as_str())
                .collect(),
        })
        .collect();
    let request = prompts::arbiter(run.record, &briefs, panel_size, &stance_tally(members));
    let outcome = run
        .ask(
            Stage::Synthesis,
            "arbiter",
            Role::Arbiter,
            request,
            Synthesis::from_json,
            |synthesis| json!(synthesis),
        )
        .await?;
    outcome.map_err(|failure| Stop::call_failed("the arbiter", &failure))
}

/// The confidence index and every input it was computed from.
pub fn assess(members: &[Member<'_>], panel_size: usize, revised: bool) -> (f64, Value) {
    let finals: Vec<Stance> = members.iter().map(|m| m.answer().stance).collect();
    let scores: Vec<f64> = members
        .iter()
        .flat_map(|m| m.verdicts.iter().map(|v| v.score))
        .collect();
    let confidences: Vec<f64> = members.iter().map(|m| m.answer().confidence).collect();
    let inputs = ConfidenceInputs {
        agreement: largest_bloc_share(&finals),
        peer_score_mean: mean(&scores),
        peer_score_spread: std_dev(&scores),
        self_confidence_mean: mean(&confidences).unwrap_or(0.0),
        quorum_fraction: if panel_size == 0 {
            0.0
        } else {
            members.len() as f64 / panel_size as f64
        },
    };
    let index = confidence_index(&inputs);
    let stances: serde_json::Map<String, Value> = stance_tally(members)
        .into_iter()
        .map(|(stance, n)| (stance.to_string(), json!(n)))
        .collect();
    let record = json!({
        "formula": FORMULA,
        "agreement": inputs.agreement,
        "peer_score_mean": inputs.peer_score_mean,
        "peer_score_spread": inputs.peer_score_spread,
        "self_confidence_mean": inputs.self_confidence_mean,
        "quorum_fraction": inputs.quorum_fraction,
        "weights": {"agreement": W_AGREEMENT, "peer_score": W_PEER,
                    "self_confidence": W_SELF, "quorum": W_QUORUM},
        "answered": members.len(),
        "panel_size": panel_size,
        "peer_scores": scores.len(),
        "stances": stances,
        "revised": revised,
        "revisions": members.iter().filter(|m| m.revised.is_some()).count(),
    });
    (index, record)
}

#[cfg(test)]
mod tests {
    use pilot_models::ModelError;

    use super::*;

    fn fail_code(result: Result<(), Stop>) -> FailureCode {
        match result {
            Err(Stop::Fail { code, .. }) => code,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn quorum_failures_are_timeouts_only_when_every_failure_was() {
        let timeout = || CallFailure::Timeout;
        let refused = || {
            CallFailure::Model(ModelError::Provider {
                status: 400,
                message: "no".into(),
            })
        };
        assert!(check_quorum(3, 5, 3, &[timeout(), refused()]).is_ok());
        assert!(check_quorum(5, 5, 3, &[]).is_ok());
        assert_eq!(
            fail_code(check_quorum(
                0,
                5,
                3,
                &[timeout(), timeout(), timeout(), timeout(), timeout()]
            )),
            FailureCode::ProcessingTimeout
        );
        assert_eq!(
            fail_code(check_quorum(2, 5, 3, &[timeout(), refused(), timeout()])),
            FailureCode::ProcessingFailed
        );
        // No failures to blame (a panel smaller than the quorum): not a timeout.
        assert_eq!(
            fail_code(check_quorum(2, 2, 3, &[])),
            FailureCode::ProcessingFailed
        );
        let Err(Stop::Fail { reason, .. }) = check_quorum(1, 5, 3, &[refused()]) else {
            panic!("below quorum");
        };
        assert!(reason.contains("only 1 of 5"), "{reason}");
    }

    #[test]
    fn revision_when_split_or_hard() {
        use Stance::*;
        assert!(!needs_revision(&[Yes, Yes, Yes, Yes, No], false, 0.8));
        assert!(needs_revision(&[Yes, Yes, Yes, Yes, No], true, 0.8));
        assert!(needs_revision(&[Yes, Yes, No, No, Depends], false, 0.8));
    }
}
