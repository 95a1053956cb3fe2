//! The step engine: drives one pilot run from its last completed step to the end.
//!
//! A run is a queue job (`run_pilot`) carrying only the run id. Each time it is
//! claimed, [`drive_run`] loads the run with the results recorded so far and resumes
//! at the first step without a successful result — so a worker that died mid-run
//! costs at most the step it was in, which runs again (steps are at-least-once; an
//! `http` step's receiver should be idempotent, as any webhook receiver should).
//!
//! Each step's result is written as the step ends, with secrets redacted and the
//! output capped, together with the run's status in one store write
//! ([`RunStore::record_progress`](pilot_store::RunStore::record_progress)). Results of
//! pure steps (`transform`, `condition`: computed from their inputs in microseconds,
//! the same every time) wait for the next write, which comes before any step that
//! does I/O or waits starts, and at the run's end: so a run of `transform →
//! condition → http` costs two writes (running with two results, before the request;
//! the request's result with the final status), and a crash can lose only results
//! that running the run again recomputes exactly. The write that ends the run also
//! deletes its job, still leased by this worker (`RunProgress::completes`): the
//! workspace's slot frees with the run's end, and the worker settles nothing.
//!
//! **Attempts count every execution.** The write before an `llm`, `http` or `email`
//! step also records that step as `running`, with `attempts` one more than any
//! earlier execution recorded — no extra round trip. When the step ends its result
//! replaces that record, `attempts` counting the step's own retries too; when its
//! worker dies instead, the run resumes at that step, which reads the recorded count
//! and goes on from it, so a step that ran twice shows `attempts: 2`. (A crash during
//! a step's own retries counts that execution once: retries are not written one by
//! one. A `deliberate` step counts the deliberations it submitted, each once.)
//!
//! A `delay` step records its wake-up time, marks the run `waiting` and snoozes the
//! job: no worker and no lease is held while it waits. A
//! `deliberate` step waits the same way for the deliberation it submitted
//! ([`crate::steps::deliberate`]): each time the run reaches it, the step looks at its
//! deliberation (by an id derived from the run and the step, so it is submitted once)
//! and either snoozes the job again, marked `waiting`, or records its result. A failing
//! step is retried per its `retry` policy; when it still fails, the run ends
//! `failed` and the steps after it are recorded `skipped`. A false `condition` ends
//! the run `filtered`.
//!
//! Store errors are the only reason the job itself fails (and is retried by the
//! queue); everything a step does wrong is the run's result, not the job's.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::run::cap_output;
use pilot_domain::secret::{redact, redact_json};
use pilot_domain::{MasterKey, RunId, RunStatus, Step, StepKind, StepStatus, Steps, UnixMillis};
use pilot_store::{JobLease, RunDetail, RunProgress, RunWork, StepResultRecord, Store, StoreError};
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::job::{JobError, JobOutcome};
use crate::steps::deliberate::{self, Progress};
use crate::steps::template::{TemplateContext, Templates};
use crate::steps::{StepCall, StepOutcome, StepServices, execute};

/// What driving a run needs.
#[derive(Clone)]
pub struct RunDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub master_key: MasterKey,
    pub services: Arc<StepServices>,
}

fn store_error(error: StoreError) -> JobError {
    JobError::Retryable(format!("store: {error}"))
}

/// Runs `run_id` onward from where it stopped. With `lease` (the run's job, as its
/// worker holds it), the write that ends the run also takes the job out of the
/// queue, and the run answers [`JobOutcome::Completed`].
pub async fn drive_run(
    deps: &RunDeps,
    run_id: RunId,
    lease: Option<JobLease>,
) -> Result<JobOutcome, JobError> {
    let store = &deps.store;
    let Some(RunWork {
        detail,
        sealed_secrets,
    }) = store.load_run_work(run_id).await.map_err(store_error)?
    else {
        // The pilot (and its runs) were deleted meanwhile: nothing is left to do.
        return Ok(JobOutcome::Done);
    };
    if detail.run.status.is_terminal() {
        return Ok(JobOutcome::Done);
    }
    let steps = match Steps::parse(&detail.run.steps) {
        Ok(steps) => steps,
        Err(errors) => {
            let message = format!("the run's steps are not valid: {errors}");
            let mut progress = RunProgress::default();
            progress.finish(RunStatus::Failed, Some(message), deps.clock.now());
            return end_run(deps, run_id, progress, lease).await;
        }
    };
    let secrets = open_secrets(&deps.master_key, sealed_secrets);
    let (resume_at, mut outputs) = completed_prefix(&detail, &steps);

    // Woken early from a delay (a spurious claim): wait out the rest.
    if let Some(until) = pending_delay(&detail, resume_at)
        && until > deps.clock.now()
    {
        return Ok(JobOutcome::SnoozeUntil(until));
    }

    // What is not written yet: it starts as the running mark.
    let mut progress = RunProgress {
        status: Some(RunStatus::Running),
        started_at: Some(deps.clock.now()),
        ..RunProgress::default()
    };
    let run_call = StepCall {
        run_id,
        workspace_id: detail.run.workspace_id,
        environment: detail.run.environment,
        run_created_at: detail.run.created_at,
        step_index: 0,
    };
    for (index, step) in steps.as_slice().iter().enumerate().skip(resume_at) {
        let index = index as i32;
        if let StepKind::Delay(delay) = &step.kind {
            let now = deps.clock.now();
            let until = now.plus_ms((delay.seconds as i64).saturating_mul(1000));
            progress.steps.push(StepResultRecord {
                index,
                step_id: step.id.clone(),
                step_type: "delay".to_owned(),
                status: StepStatus::Success,
                output: Some(json!({"waited_seconds": delay.seconds, "until": until.as_secs()})),
                error: None,
                attempts: 1,
                started_at: now,
                duration_ms: (delay.seconds as i64).saturating_mul(1000),
            });
            progress.status = Some(RunStatus::Waiting);
            write(deps, run_id, &mut progress).await?;
            return Ok(JobOutcome::SnoozeUntil(until));
        }
        // Executions of this step recorded so far: a step that was running when its
        // worker died runs again, and counts on from there.
        let prior_attempts = attempts_so_far(&detail, index);
        // A step that does I/O or waits starts only once what came before is written;
        // one executed here is in that same write, marked running, its attempt counted.
        if !step.kind.is_pure() {
            if !matches!(step.kind, StepKind::Deliberate(_)) {
                progress.steps.push(StepResultRecord {
                    index,
                    step_id: step.id.clone(),
                    step_type: step.kind.type_name().to_owned(),
                    status: StepStatus::Running,
                    output: None,
                    error: None,
                    attempts: prior_attempts + 1,
                    started_at: deps.clock.now(),
                    duration_ms: 0,
                });
            }
            write(deps, run_id, &mut progress).await?;
        }

        let context = TemplateContext {
            trigger: detail.run.payload.clone(),
            request: detail.run.request.clone(),
            outputs: outputs.clone(),
        };
        // Secrets only for a step that sends them out: every other step's templates
        // have none to read.
        let templates = if step.kind.sends_out() {
            Templates::sending(&context, &secrets)
        } else {
            Templates::local(&context)
        };
        let (outcome, attempts, started_at, duration_ms) =
            if let StepKind::Deliberate(_) = &step.kind {
                // Waits durably, like `delay`; its `timeout_ms` does not bound the wait.
                // Boxed: its state is large, and every run's future would carry it.
                let advanced = Box::pin(deliberate::advance(
                    store.as_ref(),
                    deps.clock.as_ref(),
                    &deps.services,
                    &detail.run,
                    index as usize,
                    step,
                    &templates,
                    &secrets,
                ))
                .await
                .map_err(store_error)?;
                match advanced {
                    Progress::Wait(until) => {
                        progress.status = Some(RunStatus::Waiting);
                        write(deps, run_id, &mut progress).await?;
                        return Ok(JobOutcome::SnoozeUntil(until));
                    }
                    Progress::Finished(finished) => {
                        let elapsed = deps.clock.now().0.saturating_sub(finished.started_at.0);
                        (
                            finished.outcome,
                            finished.attempts,
                            finished.started_at,
                            elapsed.max(0),
                        )
                    }
                }
            } else {
                let call = StepCall {
                    step_index: index as usize,
                    ..run_call
                };
                let (outcome, attempts, started_at, duration_ms) =
                    Box::pin(execute_with_retries(deps, step, &templates, &call)).await;
                let attempts = u32::try_from(prior_attempts).unwrap_or(0) + attempts;
                (outcome, attempts, started_at, duration_ms)
            };
        let mut result = StepResultRecord {
            index,
            step_id: step.id.clone(),
            step_type: step.kind.type_name().to_owned(),
            status: StepStatus::Success,
            output: None,
            error: None,
            attempts: attempts as i32,
            started_at,
            duration_ms,
        };
        let stop = match outcome {
            Ok(StepOutcome::Output(output)) => {
                // Later steps see what is stored (redacted, capped): what a resumed
                // run reads back, and never more than the cap in memory.
                let kept = cap_output(redact_json(&output, &secrets));
                result.output = Some(kept.clone());
                outputs.insert(step.id.clone(), kept);
                None
            }
            Ok(StepOutcome::Filtered(output)) => {
                result.status = StepStatus::Filtered;
                result.output = Some(cap_output(redact_json(&output, &secrets)));
                Some((RunStatus::Filtered, None))
            }
            Err(error) => {
                let error = redact(&error, &secrets);
                result.status = StepStatus::Failed;
                result.error = Some(error.clone());
                Some((
                    RunStatus::Failed,
                    Some(format!("step {} failed: {error}", step.id)),
                ))
            }
        };
        progress.steps.push(result);
        if let Some((status, error)) = stop {
            let now = deps.clock.now();
            progress.steps.extend(skipped(&steps, index + 1, now));
            progress.finish(status, error, now);
            return end_run(deps, run_id, progress, lease).await;
        }
    }
    progress.finish(RunStatus::Success, None, deps.clock.now());
    end_run(deps, run_id, progress, lease).await
}

/// The run's last write; with its job's lease, the job leaves the queue in it.
async fn end_run(
    deps: &RunDeps,
    run_id: RunId,
    mut progress: RunProgress,
    lease: Option<JobLease>,
) -> Result<JobOutcome, JobError> {
    let outcome = match lease {
        Some(_) => JobOutcome::Completed,
        None => JobOutcome::Done,
    };
    progress.completes = lease;
    write(deps, run_id, &mut progress).await?;
    Ok(outcome)
}

/// Writes what `progress` holds, if anything, and empties it.
async fn write(deps: &RunDeps, run_id: RunId, progress: &mut RunProgress) -> Result<(), JobError> {
    if progress.is_empty() {
        return Ok(());
    }
    deps.store
        .record_progress(run_id, progress)
        .await
        .map_err(store_error)?;
    *progress = RunProgress::default();
    Ok(())
}

/// Runs a step (not `delay` nor `deliberate`) per its `retry` policy, each attempt
/// bounded by its timeout: the last attempt's outcome, how many attempts ran, when
/// the first started and how long they all took.
async fn execute_with_retries(
    deps: &RunDeps,
    step: &Step,
    templates: &Templates,
    call: &StepCall,
) -> (Result<StepOutcome, String>, u32, UnixMillis, i64) {
    let max_attempts = step.retry.map_or(1, |r| r.max_attempts.max(1));
    let timeout = Duration::from_millis(
        step.timeout_ms
            .unwrap_or_else(|| step.kind.default_timeout_ms()),
    );
    let started_at = deps.clock.now();
    let started = std::time::Instant::now();
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let result = match tokio::time::timeout(
            timeout,
            execute(step, templates, &deps.services, call, timeout),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        };
        match result {
            Err(_) if attempt < max_attempts => {
                // Bounded at validation: at most `MAX_RETRY_WAIT_MS` in all.
                let wait = step.retry.map_or(0, |r| r.wait_after(attempt));
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            other => break other,
        }
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    (outcome, attempt, started_at, duration_ms)
}

/// The run's workspace secrets, unsealed: `(name, value)`.
fn open_secrets(master_key: &MasterKey, sealed: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut secrets = Vec::with_capacity(sealed.len());
    for (name, sealed) in sealed {
        match master_key.open(&sealed) {
            Ok(value) => secrets.push((name, value)),
            // A secret sealed under another master key: leave it out, so a template
            // that needs it fails naming it, rather than failing every run.
            Err(error) => tracing::warn!(secret = %name, %error, "cannot unseal a secret"),
        }
    }
    secrets
}

/// How many leading steps already succeeded, and their outputs by step id.
fn completed_prefix(detail: &RunDetail, steps: &Steps) -> (usize, Map<String, Value>) {
    let mut outputs = Map::new();
    let mut done = 0;
    for (index, step) in steps.as_slice().iter().enumerate() {
        let recorded = detail
            .steps
            .iter()
            .find(|r| r.index == index as i32 && r.status == StepStatus::Success);
        match recorded {
            Some(result) => {
                outputs.insert(
                    step.id.clone(),
                    result.output.clone().unwrap_or(Value::Null),
                );
                done = index + 1;
            }
            None => break,
        }
    }
    (done, outputs)
}

/// The attempts recorded for step `index` while it was running (it was when a worker
/// died mid-step); 0 when it has no such record. A `deliberate` step counts its
/// deliberations itself (each submitted once), so it is never marked running.
fn attempts_so_far(detail: &RunDetail, index: i32) -> i32 {
    detail
        .steps
        .iter()
        .find(|r| r.index == index && r.status == StepStatus::Running)
        .map_or(0, |r| r.attempts.max(0))
}

/// The wake-up time of the delay step just before `resume_at`, if it is one.
fn pending_delay(detail: &RunDetail, resume_at: usize) -> Option<UnixMillis> {
    let previous = resume_at.checked_sub(1)? as i32;
    let result = detail.steps.iter().find(|r| r.index == previous)?;
    if result.step_type != "delay" {
        return None;
    }
    let until_secs = result.output.as_ref()?.get("until")?.as_i64()?;
    Some(UnixMillis(until_secs.saturating_mul(1000)))
}

/// The results of the steps from `from` on, which a stopped run never reached.
fn skipped(steps: &Steps, from: i32, now: UnixMillis) -> Vec<StepResultRecord> {
    steps
        .as_slice()
        .iter()
        .enumerate()
        .skip(from as usize)
        .map(|(index, step)| StepResultRecord {
            index: index as i32,
            step_id: step.id.clone(),
            step_type: step.kind.type_name().to_owned(),
            status: StepStatus::Skipped,
            output: None,
            error: None,
            attempts: 0,
            started_at: now,
            duration_ms: 0,
        })
        .collect()
}
