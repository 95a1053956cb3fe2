//! Waiting for a run or a deliberation to end (or, for a deliberation, to wait at a
//! checkpoint), within a tool call: bounded by the
//! call's `wait_seconds`, reporting progress when the client gave a progress token,
//! and ended early — the wait, never the work — when the client cancels or goes.

use std::time::Duration;

use pilot_domain::Principal;
use pilot_operations::deliberations::DeliberationQuery;
use pilot_operations::views::{DeliberationView, RunView};
use pilot_operations::{OpError, Operations};
use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::Peer;
use tokio_util::sync::CancellationToken;

use crate::call::{terminal_deliberation, terminal_run};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(200);

/// What a wait needs from its call.
pub struct Waiter {
    pub cancelled: CancellationToken,
    pub peer: Peer<RoleServer>,
    pub progress: Option<ProgressToken>,
    /// The client is asked by answering input required (2026-07-28), not by
    /// requests sent to it.
    pub input_required: bool,
}

impl Waiter {
    pub async fn run(
        &self,
        ops: &Operations,
        who: &Principal,
        id: &str,
        wait_seconds: u64,
    ) -> Result<RunView, OpError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_seconds);
        let mut polls = 0_u32;
        loop {
            let run = ops.get_run(who, id).await?;
            if terminal_run(&run) || !self.pause(deadline, &mut polls, &run.status).await {
                return Ok(run);
            }
        }
    }

    pub async fn deliberation(
        &self,
        ops: &Operations,
        who: &Principal,
        id: &str,
        wait_seconds: u64,
    ) -> Result<DeliberationView, OpError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_seconds);
        let mut polls = 0_u32;
        loop {
            let view = ops
                .get_deliberation(who, id, &DeliberationQuery::default())
                .await
                .result?;
            let status = match &view {
                DeliberationView::Pending(pending) => pending.status.clone(),
                DeliberationView::Terminal(done) => done.status.clone(),
            };
            let stop = terminal_deliberation(&view) || view.checkpoint().is_some();
            if stop || !self.pause(deadline, &mut polls, &status).await {
                return Ok(view);
            }
        }
    }

    /// Whether the client can be asked for a form mid-call (MCP elicitation, on a
    /// protocol that lets a server send requests).
    pub fn can_elicit(&self) -> bool {
        !self.input_required
            && self
                .peer
                .supported_elicitation_modes()
                .contains(&rmcp::service::ElicitationMode::Form)
    }

    /// Reports progress and waits one poll; `false` when the wait is over (its time
    /// is up, or the client cancelled the call or went away).
    async fn pause(&self, deadline: tokio::time::Instant, polls: &mut u32, status: &str) -> bool {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        *polls += 1;
        if let Some(token) = &self.progress {
            let mut param = ProgressNotificationParam::new(token.clone(), f64::from(*polls));
            param.message = Some(format!("status: {status}"));
            if self.peer.notify_progress(param).await.is_err() {
                return false;
            }
        }
        tokio::select! {
            () = self.cancelled.cancelled() => false,
            () = tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + POLL)) => true,
        }
    }
}
