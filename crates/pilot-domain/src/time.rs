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

    /// RFC 3339, UTC, whole seconds (`2026-04-29T10:04:12Z`), as the Deliberations
    /// surface and its webhooks show instants; `None` outside chrono's range.
    pub fn to_rfc3339(self) -> Option<String> {
        chrono::DateTime::from_timestamp_millis(self.0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    /// An RFC 3339 instant (`2026-04-29T10:04:12Z`, `2026-04-29T12:04:12.5+02:00`)
    /// as milliseconds since the epoch, fractions of a millisecond dropped; `None`
    /// for anything else, an instant without an offset included.
    pub fn from_rfc3339(raw: &str) -> Option<UnixMillis> {
        chrono::DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| UnixMillis(t.timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_render_as_rfc3339_to_the_second() {
        assert_eq!(
            UnixMillis(1_745_921_052_999).to_rfc3339().as_deref(),
            Some("2025-04-29T10:04:12Z")
        );
        assert_eq!(UnixMillis(i64::MAX).to_rfc3339(), None);
    }

    #[test]
    fn rfc3339_reads_back_with_any_offset() {
        assert_eq!(
            UnixMillis::from_rfc3339("2025-04-29T10:04:12Z"),
            Some(UnixMillis(1_745_921_052_000))
        );
        assert_eq!(
            UnixMillis::from_rfc3339("2025-04-29T12:04:12.999+02:00"),
            Some(UnixMillis(1_745_921_052_999))
        );
        let now = UnixMillis(1_745_921_052_000);
        assert_eq!(
            UnixMillis::from_rfc3339(&now.to_rfc3339().unwrap()),
            Some(now)
        );
        for bad in [
            "",
            "yesterday",
            "2025-04-29",
            "2025-04-29T10:04:12",
            "1745921052",
        ] {
            assert_eq!(UnixMillis::from_rfc3339(bad), None, "{bad}");
        }
    }
}
