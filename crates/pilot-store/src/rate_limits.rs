//! Rate limits held in the store, by GCRA (the generic cell rate algorithm), so a
//! limit holds across every process sharing the store and has no window boundary to
//! burst across.
//!
//! A limit of `L` requests per window `W` is a bucket that holds `L` requests and
//! refills one request every `T = ⌈W / L⌉` ms. Its whole state is one instant, the
//! *theoretical arrival time* (TAT): the moment the bucket is full again. A request at
//! `now` is let through when
//!
//! ```text
//! max(tat, now) + T − now ≤ L · T        (the bucket has room for one more)
//! ```
//!
//! and then moves the TAT to `max(tat, now) + T`; a refused request leaves it as it was.
//! So a key can spend its `L` at once and then one every `T`: over any stretch of `d`
//! ms at most `L + d / T` requests go through, wherever the stretch starts. A fixed
//! window instead lets `2L` through in a moment around its boundary (`L` at its end,
//! `L` more at the next one's start); here the second burst finds the bucket empty.
//! Rounding `T` up means a limit is never more generous than it says.
//!
//! What a client is told follows from the TAT alone ([`RateLimit::state`]):
//! `remaining` is how many requests would go through right now, `next_at` when one
//! more becomes available (a refused client's `Retry-After`), and `full_at` (the TAT)
//! when all `L` are available again.
//!
//! Each check is one upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) that both
//! decides and records, so concurrent requests on any node see each other's counts. A
//! row whose TAT has passed describes a full bucket, the same as no row: the
//! scheduler's housekeeping deletes those.

use async_trait::async_trait;
use pilot_domain::UnixMillis;

use crate::error::StoreResult;

/// `limit` requests per `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: i64,
    pub window_ms: i64,
}

/// What a bucket tells its client at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitState {
    /// Requests that would go through right now.
    pub remaining: i64,
    /// When one more request becomes available (`now` when the bucket is full).
    pub next_at: UnixMillis,
    /// When the bucket holds all `limit` requests again (`now` when it does).
    pub full_at: UnixMillis,
}

impl RateLimit {
    /// `T`: what one request costs, in ms of the window, rounded up. A limit of 0
    /// costs the whole window, and nothing is ever let through.
    pub fn interval_ms(&self) -> i64 {
        let window = self.window_ms.max(1);
        if self.limit <= 0 {
            window
        } else {
            ceil_div(window, self.limit)
        }
    }

    /// `L · T`: how far past `now` the TAT may run.
    pub fn burst_ms(&self) -> i64 {
        self.interval_ms().saturating_mul(self.limit.max(0))
    }

    /// The bucket whose TAT is `tat`, seen at `now`.
    pub fn state(&self, tat: UnixMillis, now: UnixMillis) -> RateLimitState {
        let limit = self.limit.max(0);
        let interval = self.interval_ms();
        let used = (tat.0 - now.0).max(0);
        if used == 0 {
            return RateLimitState {
                remaining: limit,
                next_at: now,
                full_at: now,
            };
        }
        let remaining = (limit - ceil_div(used, interval)).max(0);
        // One more fits once the TAT is within `(limit - remaining - 1) · T` of now.
        let next_at = tat.plus_ms(-interval.saturating_mul(limit - remaining - 1));
        RateLimitState {
            remaining,
            next_at: next_at.max(now),
            full_at: tat,
        }
    }
}

/// `a / b` rounded up, for `a ≥ 0` and `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitHit {
    pub allowed: bool,
    /// The bucket's TAT after the check.
    pub tat: UnixMillis,
}

#[async_trait]
pub trait RateLimitStore {
    /// Counts one request against `bucket` under `limit` at `now`, by GCRA, in one
    /// statement: it is let through and recorded, or refused and nothing changes.
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: UnixMillis,
    ) -> StoreResult<RateLimitHit>;

    /// Deletes buckets that are full again at `now` (their rows say nothing an absent
    /// row would not); returns how many.
    async fn purge_rate_limits(&self, now: UnixMillis) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: RateLimit = RateLimit {
        limit: 60,
        window_ms: 3_600_000,
    };

    /// The GCRA rule in memory, as the stores' upserts apply it.
    fn hit(limit: RateLimit, tat: &mut UnixMillis, now: UnixMillis) -> bool {
        let next = (*tat).max(now).plus_ms(limit.interval_ms());
        let allowed = next.0 - now.0 <= limit.burst_ms();
        if allowed {
            *tat = next;
        }
        allowed
    }

    #[test]
    fn a_full_bucket_lets_the_whole_limit_through_then_one_per_interval() {
        let now = UnixMillis(1_000_000);
        let mut tat = UnixMillis(0);
        for n in 1..=60 {
            assert!(hit(HOUR, &mut tat, now), "request {n}");
            assert_eq!(HOUR.state(tat, now).remaining, 60 - n);
        }
        assert!(!hit(HOUR, &mut tat, now));
        let state = HOUR.state(tat, now);
        assert_eq!(state.next_at, now.plus_ms(60_000), "one request a minute");
        assert_eq!(state.full_at, now.plus_ms(3_600_000));
        assert!(!hit(HOUR, &mut tat, state.next_at.plus_ms(-1)));
        assert!(hit(HOUR, &mut tat, state.next_at));
        assert!(!hit(HOUR, &mut tat, state.next_at));
    }

    #[test]
    fn no_second_burst_fits_around_any_boundary() {
        // Whatever instant a client aims its second burst at, it gets at most what
        // refilled since the first: never 2 × 60 in a short stretch.
        for gap_ms in [1, 1_000, 59_999, 60_000, 600_000] {
            let start = UnixMillis(7_199_000);
            let mut tat = UnixMillis(0);
            let first = (0..100).filter(|_| hit(HOUR, &mut tat, start)).count();
            let later = start.plus_ms(gap_ms);
            let second = (0..100).filter(|_| hit(HOUR, &mut tat, later)).count();
            assert_eq!(first, 60);
            assert_eq!(second as i64, gap_ms / 60_000, "after {gap_ms} ms");
        }
    }

    #[test]
    fn the_state_counts_partial_refills_down_not_up() {
        let now = UnixMillis(0);
        // Two requests spent, 30 s refilled: one request's worth is still owed.
        let tat = now.plus_ms(2 * 60_000 - 30_000);
        let state = HOUR.state(tat, now);
        assert_eq!(state.remaining, 58);
        assert_eq!(state.next_at, now.plus_ms(30_000));
        assert_eq!(state.full_at, tat);
        // Odd limits round the interval up, so the window is never exceeded.
        let seven = RateLimit {
            limit: 7,
            window_ms: 60_000,
        };
        assert_eq!(seven.interval_ms(), 8_572);
        assert!(seven.burst_ms() >= 60_000);
        // Nothing passes a limit of 0.
        let closed = RateLimit {
            limit: 0,
            window_ms: 60_000,
        };
        let mut tat = UnixMillis(0);
        assert!(!hit(closed, &mut tat, now));
        assert_eq!(closed.state(tat, now).remaining, 0);
    }
}
