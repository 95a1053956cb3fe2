//! The schedule trigger's operations: fire each due tick of every active `schedule`
//! pilot exactly once across all nodes, and the store's housekeeping. A timer on
//! each node calls them (`pilot`'s `triggers::schedule`).
//!
//! Each pass asks the store for pilots whose `next_fire_at` has come, computes the
//! following tick from the pilot's cron expression and time zone, and calls
//! `fire_schedule`, which moves `next_fire_at` forward and creates the run in one
//! transaction, guarded by the tick it read: of two nodes racing for one tick, one
//! creates the run and the other's update matches no row. Ticks missed while no node
//! ran fire once on start-up, not once per tick (`catchUp: "one"`, the default), or
//! not at all (`catchUp: "none"`: a tick found more than a minute late is skipped by
//! the same guarded move of `next_fire_at`, without a run).
//!
//! Daylight-saving changes follow croner's rules, read in the pilot's zone: a
//! fixed-time tick that falls in a spring-forward gap fires once, at the gap's end
//! (02:30 on a day that jumps from 02:00 to 03:00 fires at 03:00); a fixed-time tick
//! in an hour that falls back fires once, at its first occurrence. Interval
//! schedules (`*/15 * * * *`) keep their pace in real time: none fire inside a gap,
//! and both passes of a repeated hour fire. No tick is scheduled sooner than
//! `pilots.min_schedule_interval_secs` after the one that fires, which holds for
//! schedules stored before that minimum and for an hour a daylight-saving change
//! repeats.

use pilot_domain::{Schedule, UnixMillis};
use pilot_store::PilotRecord;
use serde_json::json;

use crate::error::OpError;
use crate::operations::Operations;

/// Pilots looked at per pass.
const BATCH: u32 = 100;

/// What one housekeeping round removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    pub idempotency_keys: u64,
    pub rate_limit_buckets: u64,
    /// Webhook attempts older than `webhooks.attempt_retention_days`.
    pub webhook_attempts: u64,
}

impl Operations {
    /// One pass: fires every due tick; returns how many runs this node created.
    #[tracing::instrument(name = "fire_due_schedules", skip_all)]
    pub async fn fire_due_schedules(&self) -> Result<usize, OpError> {
        let due = self.store().due_schedules(self.now(), BATCH).await?;
        let mut fired = 0;
        for pilot in due {
            if self.fire_tick(&pilot).await? {
                fired += 1;
            }
        }
        Ok(fired)
    }

    async fn fire_tick(&self, pilot: &PilotRecord) -> Result<bool, OpError> {
        let (Some(expected), Some(cron)) = (pilot.next_fire_at, pilot.schedule_cron.as_deref())
        else {
            return Ok(false);
        };
        let timezone = pilot.schedule_timezone.as_deref().unwrap_or("UTC");
        let now = self.now();
        // A schedule that no longer parses (stored before a validation change) stops
        // rather than firing in a loop.
        let next = Schedule::parse(cron, timezone).ok().and_then(|schedule| {
            schedule.next_spaced(expected, now, self.policy().min_schedule_interval)
        });
        if !pilot.schedule_catch_up.fires(expected, now) {
            let skipped = self
                .store()
                .skip_schedule_tick(pilot.id, expected, next)
                .await?;
            if skipped {
                tracing::info!(
                    pilot = pilot.id.0,
                    "missed schedule tick skipped (catchUp: none)"
                );
            }
            return Ok(false);
        }
        let payload = json!({
            "scheduledAt": expected.as_secs(),
            "firedAt": now.as_secs(),
        });
        let run = self
            .store()
            .fire_schedule(pilot.id, expected, next, &payload, now)
            .await?;
        if let Some(run) = &run {
            tracing::info!(pilot = pilot.id.0, run = run.id.0, "schedule fired");
        }
        Ok(run.is_some())
    }

    /// Purges idempotency keys past their TTL, rate-limit buckets that are full
    /// again and webhook attempts past their retention (idempotent `DELETE`s,
    /// harmless when several nodes run them).
    #[tracing::instrument(name = "housekeeping", skip_all)]
    pub async fn housekeeping(&self) -> Result<HousekeepingReport, OpError> {
        let now = self.now();
        let before = UnixMillis(now.0.saturating_sub(self.idempotency_ttl_ms()));
        let attempts_before = now.plus_ms(-self.policy().webhooks.attempt_retention_ms());
        Ok(HousekeepingReport {
            idempotency_keys: self.store().purge_idempotency(before).await?,
            rate_limit_buckets: self.store().purge_rate_limits(now).await?,
            webhook_attempts: self.store().purge_attempts(attempts_before).await?,
        })
    }
}
