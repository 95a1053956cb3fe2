//! Watching a deliberation's progress: what the event stream
//! (`GET /v1/api/deliberations/{id}/events`) sends, and what an interface that waits
//! a bounded time with progress (MCP) reports.
//!
//! [`Operations::watch_deliberation`] checks the scope and finds the deliberation;
//! the [`DeliberationWatch`] it returns then looks at the store every
//! [`LOOK_EVERY`] — the pipeline records each call as it ends — and hands out what
//! changed since its last look, oldest first:
//!
//! * each panel entry recorded since: [`WatchEvent::Entry`], named for its stage
//!   (`answer`, `review`, `revision`, `synthesis`, `routed`);
//! * a status change while not terminal (`queued` → `running`):
//!   [`WatchEvent::Status`];
//! * a `deliberation2` checkpoint opening: [`WatchEvent::Checkpoint`], named
//!   `checkpoint`, with what it asks;
//! * the end: [`WatchEvent::Finished`] with the full payload, named `completed` or
//!   `failed`, after which the watch is over.
//!
//! A watch lasts at most [`MAX_WATCH`]; it also ends if the deliberation can no
//! longer be read. Transports bound how many watches a caller holds (the REST
//! surface per key, in process memory: `stream_slots`).

use std::time::Duration;

use pilot_domain::{DeliberationId, Principal, Scope};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::deliberation::rfc3339;
use crate::views::{CheckpointView, PanelProgressView, StatusView, TerminalView};

/// How often a watch looks at the store.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Longest a watch lasts.
pub const MAX_WATCH: Duration = Duration::from_secs(15 * 60);

/// One thing that happened to a deliberation.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    /// A persona answer, review or revision, the arbiter's synthesis or the routed
    /// answer was recorded.
    Entry {
        /// `answer`, `review`, `revision`, `synthesis` or `routed`.
        stage: String,
        entry: PanelProgressView,
    },
    /// The status moved on (and is not terminal).
    Status(StatusView),
    /// A `deliberation2` waits at this checkpoint for a person.
    Checkpoint(Box<CheckpointView>),
    /// Completed or failed: the full payload. The last event.
    Finished(Box<TerminalView>),
}

impl WatchEvent {
    /// The event's name: the entry's stage, `status`, or the terminal status.
    pub fn name(&self) -> &str {
        match self {
            WatchEvent::Entry { stage, .. } => stage,
            WatchEvent::Status(_) => "status",
            WatchEvent::Checkpoint(_) => "checkpoint",
            WatchEvent::Finished(view) => &view.status,
        }
    }
}

/// A deliberation being watched (see the module docs).
pub struct DeliberationWatch {
    ops: Operations,
    who: Principal,
    id: DeliberationId,
    /// Panel entries already handed out.
    seen: usize,
    /// The status last handed out.
    status: Option<String>,
    /// The checkpoint last handed out.
    checkpoint: Option<String>,
    finished: bool,
    started: tokio::time::Instant,
}

impl Operations {
    /// A watch on the caller's deliberation `id` (`deliberations:read`); an id that
    /// is not the caller's is not found.
    #[tracing::instrument(
        name = "watch_deliberation",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn watch_deliberation(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<DeliberationWatch, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let record = self.find_deliberation(who, id).await?;
        Ok(DeliberationWatch {
            ops: self.clone(),
            who: who.clone(),
            id: record.id,
            seen: 0,
            status: None,
            checkpoint: None,
            finished: false,
            started: tokio::time::Instant::now(),
        })
    }
}

impl DeliberationWatch {
    /// What happened since the last call, waiting (a look every [`LOOK_EVERY`]) until
    /// something did; `None` once the watch is over — after [`WatchEvent::Finished`],
    /// past [`MAX_WATCH`], or when the deliberation can no longer be read.
    ///
    /// Cancel-safe: a call dropped while it waits loses nothing, so a caller may
    /// bound its wait with a timeout and call again.
    pub async fn next(&mut self) -> Option<Vec<WatchEvent>> {
        if self.is_over() {
            return None;
        }
        loop {
            let store = self.ops.store();
            let record = match store
                .get_deliberation(self.who.workspace_id, self.who.environment, &self.id)
                .await
            {
                Ok(Some(record)) => record,
                _ => return None,
            };
            let mut events = Vec::new();
            if let Ok(entries) = store.panel_entries(&self.id).await {
                for entry in entries.iter().skip(self.seen) {
                    events.push(WatchEvent::Entry {
                        stage: entry.stage.clone(),
                        entry: PanelProgressView {
                            author: entry.author.clone(),
                            created_at: rfc3339(entry.created_at),
                        },
                    });
                }
                self.seen = entries.len().max(self.seen);
            }
            let status = record.status.as_str();
            if self.status.as_deref() != Some(status) {
                self.status = Some(status.to_owned());
                if record.status.is_terminal() {
                    events.push(WatchEvent::Finished(Box::new(TerminalView::of(
                        &record, None,
                    ))));
                    self.finished = true;
                } else {
                    events.push(WatchEvent::Status(StatusView {
                        status: status.to_owned(),
                    }));
                }
            }
            if let Ok(Some((open, offer))) = self.ops.open_checkpoint(&record).await
                && self.checkpoint.as_deref() != Some(open.id.as_str())
            {
                self.checkpoint = Some(open.id.clone());
                events.push(WatchEvent::Checkpoint(Box::new(CheckpointView::of(
                    &open, offer,
                ))));
            }
            if !events.is_empty() {
                return Some(events);
            }
            if self.started.elapsed() > MAX_WATCH {
                return None;
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }

    /// Whether [`next`](Self::next) has nothing more to give.
    pub fn is_over(&self) -> bool {
        self.finished || self.started.elapsed() > MAX_WATCH
    }
}
