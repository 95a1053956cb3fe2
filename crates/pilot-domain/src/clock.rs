//! Where "now" comes from: the system in production, a hand-driven clock in tests.
//!
//! Every layer that needs the time takes an `Arc<dyn Clock>` rather than reading the
//! system's: the store never reads a clock (callers pass `now`), the engine's leases
//! and backoff, the operations' rate limits and idempotency TTLs, and the model
//! layer's usage records all ask the one clock the binary assembled. So a test that
//! hands every layer one [`ManualClock`] moves all of them together.
//!
//! [`SystemClock`] reads the wall clock: a synchronous read with no I/O, so the clock
//! can live in the domain, below every layer that takes one.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::time::UnixMillis;

/// The current instant, in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixMillis;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("system clock is after 1970");
        UnixMillis(since_epoch.as_millis() as i64)
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: UnixMillis) -> Self {
        ManualClock(AtomicI64::new(start.0))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }
}
