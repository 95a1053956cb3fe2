//! The `deliberate` step: submits a deliberation (seed 003) in the run's workspace and
//! environment — through the same operation as `POST /v1/api/deliberations`
//! ([`DeliberationSubmitter`], see [`submitter`]) — and waits for it durably, holding
//! no worker.
//!
//! Like `delay`, waiting is the runner's business: each time the run reaches the step,
//! [`advance`] looks at where the step's deliberation is and answers
//! [`Progress::Wait`] (the runner marks the run `waiting` and snoozes its job until
//! then) or [`Progress::Finished`] (the step's result, recorded like any step's).
//!
//! Idempotent across snoozes, crashes and redelivery without any state of its own:
//! the deliberation's id is *derived* from the run and the step
//! ([`deliberation_id`]), so re-entering the step loads the deliberation an earlier
//! pass submitted rather than submitting (and charging) twice. Two passes racing to
//! submit cannot both succeed: the second insert is a primary-key conflict, rolled
//! back with its reservation, which the submitter answers as
//! [`Submitted::AlreadySubmitted`].
//!
//! * queued or running: wait `deliberate_poll` and look again;
//! * completed: the step succeeds with `{deliberation_id, synthesis, summary,
//!   confidence_index}`;
//! * failed (the pipeline refunded it in full): the step fails naming the failure
//!   code — or, while the step's `retry.max_attempts` allows, a new deliberation is
//!   submitted (attempt `n` has its own derived id) after `backoff_ms` (doubling).
//!
//! Before submitting, the step renders its question and checks it: a rendering
//! error, a question outside 10–2000 characters once rendered
//! ([`check_question`]), or one carrying a secret's value (it is stored with the
//! deliberation) fails the step at once, before anything is charged.
//!
//! **The submission** is the API's, on the authority of the API key that set the
//! pilot's steps, which the run recorded when it was fired
//! ([`RunRecord::authorized_key_id`]): before every submission (each `retry` attempt
//! included) that key must still exist in the run's workspace and environment, not
//! be revoked, and hold `deliberations:write`; then the key's submission rate limit,
//! the submission's validation, the guardrails and the credit reservation apply as
//! they do to a request with that key. Each refusal fails the step saying why, with
//! nothing charged — but a spent rate limit does not: the run waits (snoozed, as
//! for a poll) until the limit lets one more submission through, and submits then.
//! The deliberation carries the key, as one submitted with it through the API does.
//! A deliberation already submitted is waited for whatever became of the key since:
//! its credits are reserved and it runs to its end, as an API submission does when
//! its key is revoked. The step's `timeout_ms` does not apply to the wait: the
//! deliberation's processing budget bounds it. A deliberation still not terminal
//! [`STALLED_AFTER_MS`] past that budget (its job was lost) fails the step rather
//! than being polled forever.

pub mod submitter;

use pilot_domain::deliberation::check_question;
use pilot_domain::secret::redact;
use pilot_domain::step::DeliberateStep;
use pilot_domain::{DeliberationId, DeliberationStatus, Step, StepKind, UnixMillis};
use pilot_store::{DeliberationRecord, RunRecord, Store, StoreError};
use serde_json::json;

pub use self::submitter::{DeliberationSubmitter, StepDeliberation, Submitted};
use super::template::Templates;
use super::{StepOutcome, StepServices};
use crate::clock::Clock;

/// How long past the processing budget a deliberation may stay queued or running
/// before the step gives up on it: a day.
pub const STALLED_AFTER_MS: i64 = 24 * 3_600_000;

/// Where the step stands after one look.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Not finished: look again at this instant.
    Wait(UnixMillis),
    Finished(Finished),
}

/// A finished step's result, for the runner to record.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub outcome: Result<StepOutcome, String>,
    /// Deliberations submitted (or attempted) for the step.
    pub attempts: u32,
    /// When the first deliberation was submitted (now, if none was).
    pub started_at: UnixMillis,
}

/// The deliberation attempt `attempt` (from 1) of step `index` of `run` submits.
///
/// A ULID whose time is the run's creation and whose random part hashes the tenant,
/// the run (id and creation instant, so a run id a backend reuses after a deletion
/// never meets the old run's deliberations), the step and the attempt.
pub fn deliberation_id(
    run: &RunRecord,
    index: usize,
    step_id: &str,
    attempt: u32,
) -> DeliberationId {
    let seed = format!(
        "pilot-deliberate:{}:{}:{}:{}:{index}:{step_id}:{attempt}",
        run.workspace_id,
        run.environment.as_str(),
        run.id,
        run.created_at.0,
    );
    DeliberationId::derived(u64::try_from(run.created_at.0).unwrap_or(0), &seed)
}

/// Looks at step `index` (a `deliberate` step) of `run`: submits its deliberation if
/// none is, and says whether to wait or what the step's result is. Store errors are
/// the only errors: the job retries them.
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    store: &dyn Store,
    clock: &dyn Clock,
    services: &StepServices,
    run: &RunRecord,
    index: usize,
    step: &Step,
    templates: &Templates,
    secrets: &[(String, String)],
) -> Result<Progress, StoreError> {
    let StepKind::Deliberate(settings) = &step.kind else {
        return Err(StoreError::Corrupt(format!(
            "step {} is not a deliberate step",
            step.id
        )));
    };
    let max_attempts = step.retry.map_or(1, |r| r.max_attempts.max(1));
    let now = clock.now();
    let mut started_at = None;
    for attempt in 1..=max_attempts {
        let id = deliberation_id(run, index, &step.id, attempt);
        let Some(record) = store.load_deliberation(&id).await? else {
            let started_at = started_at.unwrap_or(now);
            return submit(
                services, run, step, settings, templates, secrets, id, attempt, started_at, now,
            )
            .await;
        };
        let first = *started_at.get_or_insert(record.created_at);
        let finished = |outcome| {
            Ok(Progress::Finished(Finished {
                outcome,
                attempts: attempt,
                started_at: first,
            }))
        };
        if record.workspace_id != run.workspace_id || record.environment != run.environment {
            return finished(Err(format!(
                "deliberation {id} belongs to another workspace or environment"
            )));
        }
        match record.status {
            DeliberationStatus::Queued | DeliberationStatus::Running => {
                let budget =
                    i64::try_from(services.deliberations.processing_budget_ms).unwrap_or(i64::MAX);
                let give_up = record.created_at.plus_ms(budget).plus_ms(STALLED_AFTER_MS);
                if now >= give_up {
                    return finished(Err(format!(
                        "deliberation {id} is still {} long past its processing budget",
                        record.status
                    )));
                }
                return Ok(Progress::Wait(now.plus_ms(poll_ms(services)).min(give_up)));
            }
            DeliberationStatus::Completed => return finished(completed(&record)),
            DeliberationStatus::Failed if attempt < max_attempts => {
                let ended = record.completed_at.unwrap_or(record.updated_at);
                let wait = step.retry.map_or(0, |r| r.wait_after(attempt));
                let resume = ended.plus_ms(i64::try_from(wait).unwrap_or(i64::MAX));
                if now < resume {
                    return Ok(Progress::Wait(resume));
                }
                // Backoff over: on to the next attempt, submitted in this same pass.
            }
            DeliberationStatus::Failed => return finished(Err(failed(&record))),
        }
    }
    // Unreachable: the last attempt returns above.
    Err(StoreError::Corrupt(format!(
        "step {}: no deliberation attempt left",
        step.id
    )))
}

fn poll_ms(services: &StepServices) -> i64 {
    i64::try_from(services.deliberate_poll.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

fn completed(record: &DeliberationRecord) -> Result<StepOutcome, String> {
    let Some(result) = &record.result else {
        return Err(format!(
            "deliberation {} completed without a result",
            record.id
        ));
    };
    Ok(StepOutcome::Output(json!({
        "deliberation_id": record.id,
        "synthesis": result.synthesis,
        "summary": result.summary,
        "confidence_index": result.confidence_index,
    })))
}

fn failed(record: &DeliberationRecord) -> String {
    match record.failure {
        Some(code) => format!(
            "deliberation {} failed: {code}: {} Its credits were refunded.",
            record.id,
            code.message()
        ),
        None => format!(
            "deliberation {} failed; its credits were refunded",
            record.id
        ),
    }
}

/// Submits attempt `attempt`'s deliberation `id` through the submitter.
#[allow(clippy::too_many_arguments)]
async fn submit(
    services: &StepServices,
    run: &RunRecord,
    step: &Step,
    settings: &DeliberateStep,
    templates: &Templates,
    secrets: &[(String, String)],
    id: DeliberationId,
    attempt: u32,
    started_at: UnixMillis,
    now: UnixMillis,
) -> Result<Progress, StoreError> {
    let finished = |outcome| {
        Ok(Progress::Finished(Finished {
            outcome,
            attempts: attempt,
            started_at,
        }))
    };
    let question = match question(settings, templates, secrets) {
        Ok(question) => question,
        Err(error) => return finished(Err(error)),
    };
    let (mode, use_case, difficulty) =
        match (settings.mode(), settings.use_case(), settings.difficulty()) {
            (Ok(mode), Ok(use_case), Ok(difficulty)) => (mode, use_case, difficulty),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return finished(Err(e)),
        };
    let deliberation = StepDeliberation {
        workspace_id: run.workspace_id,
        environment: run.environment,
        key_id: run.authorized_key_id,
        id: id.clone(),
        question,
        mode,
        use_case,
        difficulty,
        metadata: json!({
            "pilot_id": run.pilot_id.0,
            "run_id": run.id.0,
            "step_id": step.id,
        }),
        caller: format!("run:{}:{}", run.id, step.id),
    };
    let poll = Progress::Wait(now.plus_ms(poll_ms(services)));
    match services.submitter.submit(&deliberation).await? {
        Submitted::Created => {
            tracing::info!(run = %run.id, step = %step.id, deliberation = %id, attempt,
                "deliberate step submitted its deliberation");
            Ok(poll)
        }
        // Another pass submitted it first (its reservation stands, this one's was
        // rolled back): look at it on the next turn.
        Submitted::AlreadySubmitted => Ok(poll),
        Submitted::RateLimited { retry_at } => {
            tracing::info!(run = %run.id, step = %step.id, retry_at = retry_at.0,
                "deliberate step waits for its key's submission rate limit");
            Ok(Progress::Wait(retry_at.max(now.plus_ms(1))))
        }
        Submitted::Refused(error) => finished(Err(error)),
    }
}

/// The rendered question, checked as a submission's is.
fn question(
    settings: &DeliberateStep,
    templates: &Templates,
    secrets: &[(String, String)],
) -> Result<String, String> {
    let rendered = templates.render(&settings.question).map_err(|e| e.0)?;
    let question = rendered.trim();
    check_question(question, Some("once rendered"))?;
    if redact(question, secrets) != question {
        return Err(
            "the question carries a secret's value: a deliberation's question is stored and \
             shown with it, so it may not hold secrets"
                .to_owned(),
        );
    }
    Ok(question.to_owned())
}

#[cfg(test)]
mod tests {
    use pilot_domain::{Environment, FiredBy, PilotId, RunId, RunStatus, TriggerType, WorkspaceId};
    use serde_json::Value;

    use super::*;

    fn run(id: i64, created_at: i64) -> RunRecord {
        RunRecord {
            id: RunId(id),
            pilot_id: PilotId(3),
            workspace_id: WorkspaceId(1),
            environment: Environment::Test,
            status: RunStatus::Running,
            trigger_type: TriggerType::Manual,
            fired_by: FiredBy::Api,
            payload: Value::Null,
            request: None,
            steps: Value::Null,
            error: None,
            created_at: UnixMillis(created_at),
            started_at: None,
            finished_at: None,
            retry_of: None,
            authorized_key_id: None,
        }
    }

    #[test]
    fn each_run_step_and_attempt_has_its_own_stable_id() {
        let first = deliberation_id(&run(7, 1_700_000_000_000), 2, "ask", 1);
        assert_eq!(
            first,
            deliberation_id(&run(7, 1_700_000_000_000), 2, "ask", 1)
        );
        assert!(DeliberationId::parse(first.as_str()).is_some());
        for other in [
            deliberation_id(&run(7, 1_700_000_000_000), 2, "ask", 2),
            deliberation_id(&run(7, 1_700_000_000_000), 3, "ask", 1),
            deliberation_id(&run(8, 1_700_000_000_000), 2, "ask", 1),
            // A reused run id, on a later run.
            deliberation_id(&run(7, 1_700_000_000_001), 2, "ask", 1),
        ] {
            assert_ne!(other, first);
        }
    }
}
