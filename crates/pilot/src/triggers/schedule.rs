//! The schedule trigger's timer: every `pilots.scheduler_interval_ms` it asks
//! [`Operations::fire_due_schedules`] to fire the ticks that have come, and once an
//! hour [`Operations::housekeeping`] to purge expired idempotency keys, refilled
//! rate-limit buckets and webhook attempts past `webhooks.attempt_retention_days`;
//! it stops when told to shut down.
//!
//! Every node runs one. That is safe because the operation fires each tick once
//! across nodes (the store moves a pilot's `next_fire_at` and creates the run in one
//! transaction guarded by the tick it read), and the purges are idempotent
//! `DELETE`s. A pass that fails (the store unreachable) is logged and tried again at
//! the next tick; ticks missed meanwhile fire once, not once each.

use std::time::Duration;

use pilot_operations::Operations;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How often housekeeping runs.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// The timer (see the module docs).
pub struct ScheduleTimer {
    ops: Operations,
    interval: Duration,
    housekeeping_every: Duration,
}

impl ScheduleTimer {
    /// Fires due ticks every `interval`, and keeps house every hour.
    pub fn new(ops: Operations, interval: Duration) -> ScheduleTimer {
        ScheduleTimer {
            ops,
            interval,
            housekeeping_every: HOUSEKEEPING_EVERY,
        }
    }

    /// Keeps house every `every` instead of hourly (tests).
    pub fn housekeeping_every(mut self, every: Duration) -> ScheduleTimer {
        self.housekeeping_every = every;
        self
    }

    /// Runs until `shutdown`. Both timers tick at once on start: ticks missed while
    /// no node ran fire now, and a node that restarts often still keeps house.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticks = delaying(self.interval);
        let mut housekeeping = delaying(self.housekeeping_every);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = housekeeping.tick() => self.keep_house().await,
                _ = ticks.tick() => self.fire_due().await,
            }
        }
    }

    async fn fire_due(&self) {
        if let Err(error) = self.ops.fire_due_schedules().await {
            tracing::warn!(%error, "firing due schedules failed; trying again next tick");
        }
    }

    async fn keep_house(&self) {
        match self.ops.housekeeping().await {
            Ok(report) => {
                if report.idempotency_keys > 0 {
                    tracing::info!(
                        purged = report.idempotency_keys,
                        "expired idempotency keys purged"
                    );
                }
                if report.rate_limit_buckets > 0 {
                    tracing::info!(
                        purged = report.rate_limit_buckets,
                        "refilled rate-limit buckets purged"
                    );
                }
                if report.webhook_attempts > 0 {
                    tracing::info!(
                        purged = report.webhook_attempts,
                        "webhook attempts past their retention purged"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "housekeeping failed; trying again next hour"),
        }
    }
}

/// An interval that ticks at once, then every `period`; one that falls behind waits
/// a full period rather than catching up in a burst.
fn delaying(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period.max(Duration::from_millis(1)));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}
