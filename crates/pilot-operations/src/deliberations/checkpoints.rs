//! A `deliberation2`'s checkpoints: the open one shown with a pending deliberation,
//! and a person's answer to it — from an MCP tool (the structured answer), an MCP
//! elicitation or the dashboard's form (the flat form), all through
//! [`Operations::respond_checkpoint`].
//!
//! An answer is checked against the checkpoint's own offer (`CheckpointAnswer`:
//! only personas it offered, the quorum kept, bounded text), its constraint or note
//! screened by the guardrails the question passed, and it must name the open
//! checkpoint: a stale form, answered after the panel moved on or after another
//! answer, is `409 conflict`, as is one past its expiry. The store wakes the panel's
//! job in the transaction that records the answer; if that job is running at that
//! instant (it is about to snooze), the answer is tried again for a moment.

use std::time::Duration;

use pilot_domain::{CheckpointAnswer, CheckpointOffer, Mode, Principal, Scope};
use pilot_store::{AnswerCheckpoint, CheckpointRecord, DeliberationRecord};
use serde_json::{Map, Value};

use super::limits::Budget;
use crate::answer::Answer;
use crate::authorize;
use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;
use crate::views::{CheckpointView, DeliberationView};

/// How long an answer waits for a running panel job to snooze.
const BUSY_FOR: Duration = Duration::from_secs(5);
const BUSY_POLL: Duration = Duration::from_millis(10);

/// A person's answer, as it arrives.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckpointReply {
    /// The structured answer: `{"drop": […], "add": […], "constraint": "…"}`,
    /// `{"revise": […]}`, `{"decision": "approve" | "send_back", "note": "…"}`.
    Answer(Value),
    /// The flat form's fields (`keep_<persona>`, …). `defaults`: a field left out
    /// takes its default (an MCP elicitation) rather than reading as unticked (an
    /// HTML form).
    Form {
        fields: Map<String, Value>,
        defaults: bool,
    },
}

fn conflict(message: String) -> OpError {
    OpError::conflict(ErrorCode::Conflict, message)
}

impl Operations {
    /// The open checkpoint of `record` and its offer, if it waits at one.
    pub(crate) async fn open_checkpoint(
        &self,
        record: &DeliberationRecord,
    ) -> Result<Option<(CheckpointRecord, CheckpointOffer)>, OpError> {
        if record.mode != Mode::Deliberation2 || record.status.is_terminal() {
            return Ok(None);
        }
        let Some(checkpoint) = self.store().latest_checkpoint(&record.id).await? else {
            return Ok(None);
        };
        if !checkpoint.is_open(self.now()) {
            return Ok(None);
        }
        let offer: CheckpointOffer =
            serde_json::from_value(checkpoint.offer.clone()).map_err(|error| {
                tracing::error!(checkpoint = %checkpoint.id, %error, "a stored offer is unreadable");
                OpError::internal()
            })?;
        Ok(Some((checkpoint, offer)))
    }

    /// The view of `record`, with its open checkpoint.
    pub(crate) async fn with_checkpoint(
        &self,
        record: &DeliberationRecord,
        view: DeliberationView,
    ) -> Result<DeliberationView, OpError> {
        let DeliberationView::Pending(mut pending) = view else {
            return Ok(view);
        };
        if let Some((checkpoint, offer)) = self.open_checkpoint(record).await? {
            pending.checkpoint = Some(CheckpointView::of(&checkpoint, offer));
        }
        Ok(DeliberationView::Pending(pending))
    }

    /// Answers checkpoint `checkpoint_id` of the caller's deliberation `id`; the
    /// deliberation as it stands after (running again, the checkpoint closed).
    /// Needs `deliberations:write`; counted against the key's read budget (an
    /// answer is no submission: it reserves nothing).
    #[tracing::instrument(
        name = "respond_checkpoint",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn respond_checkpoint(
        &self,
        who: &Principal,
        id: &str,
        checkpoint_id: &str,
        reply: CheckpointReply,
    ) -> Answer<DeliberationView> {
        if let Err(refused) = authorize::require(who, Scope::DeliberationsWrite) {
            return Answer::err(refused);
        }
        self.counted(
            who,
            Budget::Reads,
            self.respond(who, id, checkpoint_id, reply),
        )
        .await
    }

    async fn respond(
        &self,
        who: &Principal,
        id: &str,
        checkpoint_id: &str,
        reply: CheckpointReply,
    ) -> Result<DeliberationView, OpError> {
        let record = self.find_deliberation(who, id).await?;
        let Some((open, offer)) = self.open_checkpoint(&record).await? else {
            return Err(conflict(format!(
                "Deliberation {} is not waiting at a checkpoint.",
                record.id
            )));
        };
        if open.id != checkpoint_id {
            return Err(conflict(format!(
                "Checkpoint {checkpoint_id:?} is not the open one: answer {}.",
                open.id
            )));
        }
        let answer = match &reply {
            CheckpointReply::Answer(value) => CheckpointAnswer::parse(&offer, value),
            CheckpointReply::Form { fields, defaults } => {
                CheckpointAnswer::from_form(&offer, fields, *defaults)
            }
        }
        .map_err(OpError::validation)?;
        if let Some(text) = answer.guidance() {
            // What the panel will read is screened as its question was.
            self.screen_question(who, "checkpoint", text)
                .await
                .map_err(|error| match error.code {
                    ErrorCode::ContentBlocked => OpError::new(
                        ErrorCode::ContentBlocked,
                        "That text failed the safety guardrails; the checkpoint is still open.",
                    ),
                    _ => error,
                })?;
        }
        let stored = serde_json::to_value(&answer).map_err(|_| OpError::internal())?;
        let deadline = tokio::time::Instant::now() + BUSY_FOR;
        loop {
            let outcome = self
                .store()
                .answer_checkpoint(
                    who.workspace_id,
                    who.environment,
                    &record.id,
                    &open.id,
                    &stored,
                    self.now(),
                )
                .await?;
            match outcome {
                AnswerCheckpoint::Answered => break,
                AnswerCheckpoint::Busy if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(BUSY_POLL).await;
                }
                AnswerCheckpoint::Busy => {
                    return Err(OpError::unavailable(
                        ErrorCode::Unavailable,
                        "The panel is busy; answer again in a moment.",
                    ));
                }
                AnswerCheckpoint::Unknown => return Err(super::not_found()),
                AnswerCheckpoint::Closed => {
                    return Err(conflict(format!(
                        "Checkpoint {} was answered already.",
                        open.id
                    )));
                }
                AnswerCheckpoint::Expired => {
                    return Err(conflict(format!("Checkpoint {} expired.", open.id)));
                }
            }
        }
        tracing::info!(deliberation = %record.id, checkpoint = %open.id, "a checkpoint was answered");
        // The answer changed no field of the deliberation: its view is the one read
        // first, without the checkpoint it no longer waits at.
        Ok(DeliberationView::of(&record, None))
    }
}
