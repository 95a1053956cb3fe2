//! The schedule trigger: fires each due tick of every active `schedule` pilot
//! exactly once across all nodes.
//!
//! Every node may run a scheduler. Each pass asks the store for pilots whose
//! `next_fire_at` has come, computes the following tick from the pilot's cron
//! expression and time zone, and calls `fire_schedule`, which moves `next_fire_at`
//! forward and creates the run in one transaction, guarded by the tick it read: of
//! two nodes racing for one tick, one creates the run and the other's update matches
//! no row. Ticks missed while no node ran fire once on start-up, not once per tick.
//! No tick is scheduled sooner than `pilots.min_schedule_interval_secs` after the one
//! that fires ([`Scheduler::spacing_ticks`]).
//!
//! The same loop does the store's housekeeping: once an hour it purges
//! `Idempotency-Key`s older than their TTL and rate-limit buckets that are full again
//! (idempotent `DELETE`s, harmless when several nodes run them).

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::Schedule;
use pilot_store::{PilotRecord, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// Pilots looked at per pass.
const BATCH: u32 = 100;

pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    /// Idempotency keys live this long; `None`: no purging.
    idempotency_ttl_ms: Option<i64>,
    /// No pilot's next tick is scheduled sooner than this after the one it fires.
    min_tick_interval: Duration,
}

/// How often housekeeping runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, interval: Duration) -> Scheduler {
        Scheduler {
            store,
            clock,
            interval,
            idempotency_ttl_ms: None,
            min_tick_interval: Duration::ZERO,
        }
    }

    /// Never schedule a pilot's next tick sooner than `min` after the one it fires
    /// (`pilots.min_schedule_interval_secs`): schedules are checked against it when
    /// they are set, and this holds for those stored before, and for the hour a
    /// daylight-saving change repeats.
    pub fn spacing_ticks(mut self, min: Duration) -> Scheduler {
        self.min_tick_interval = min;
        self
    }

    /// Also purge idempotency keys older than `ttl_ms`, hourly.
    pub fn purging_idempotency_keys(mut self, ttl_ms: i64) -> Scheduler {
        self.idempotency_ttl_ms = Some(ttl_ms);
        self
    }

    /// Deletes expired idempotency keys; returns how many.
    pub async fn purge(&self) -> Result<u64, pilot_store::StoreError> {
        let Some(ttl_ms) = self.idempotency_ttl_ms else {
            return Ok(0);
        };
        let before = pilot_domain::UnixMillis(self.clock.now().0.saturating_sub(ttl_ms));
        self.store.purge_idempotency(before).await
    }

    /// Deletes rate-limit buckets that have refilled (a missing bucket is a full one);
    /// returns how many.
    pub async fn purge_rate_limits(&self) -> Result<u64, pilot_store::StoreError> {
        self.store.purge_rate_limits(self.clock.now()).await
    }

    /// The hourly housekeeping: both purges, each logged on its own.
    async fn housekeeping(&self) {
        match self.purge().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(error) => tracing::warn!(%error, "idempotency key purge failed"),
        }
        match self.purge_rate_limits().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "refilled rate-limit buckets purged"),
            Err(error) => tracing::warn!(%error, "rate-limit purge failed"),
        }
    }

    /// Runs passes until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(PURGE_EVERY);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = housekeeping.tick() => {
                    self.housekeeping().await;
                    continue;
                }
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.pass().await {
                tracing::warn!(%error, "scheduler pass failed; trying again next tick");
            }
        }
    }

    /// One pass: fires every due tick; returns how many runs this node created.
    pub async fn pass(&self) -> Result<usize, pilot_store::StoreError> {
        let now = self.clock.now();
        let due = self.store.due_schedules(now, BATCH).await?;
        let mut fired = 0;
        for pilot in due {
            if self.fire(&pilot).await? {
                fired += 1;
            }
        }
        Ok(fired)
    }

    async fn fire(&self, pilot: &PilotRecord) -> Result<bool, pilot_store::StoreError> {
        let (Some(expected), Some(cron)) = (pilot.next_fire_at, pilot.schedule_cron.as_deref())
        else {
            return Ok(false);
        };
        let timezone = pilot.schedule_timezone.as_deref().unwrap_or("UTC");
        let now = self.clock.now();
        // A schedule that no longer parses (stored before a validation change) stops
        // rather than firing in a loop.
        let next = Schedule::parse(cron, timezone)
            .ok()
            .and_then(|schedule| schedule.next_spaced(expected, now, self.min_tick_interval));
        let payload = json!({
            "scheduledAt": expected.as_secs(),
            "firedAt": now.as_secs(),
        });
        let run = self
            .store
            .fire_schedule(pilot.id, expected, next, &payload, now)
            .await?;
        if let Some(run) = &run {
            tracing::info!(pilot = pilot.id.0, run = run.id.0, "schedule fired");
        }
        Ok(run.is_some())
    }
}
