//! Time as the store keeps it: milliseconds since the Unix epoch, UTC.
//!
//! Both stores keep instants as `BIGINT` milliseconds so that one code path computes
//! every deadline (lease expiry, backoff, rate-limit windows) from an injected clock.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    pub fn plus_ms(self, ms: i64) -> Self {
        UnixMillis(self.0.saturating_add(ms))
    }

    /// Whole seconds since the epoch, as the Pilots surface shows instants.
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}
