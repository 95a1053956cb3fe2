//! When a failed attempt is tried again, and which responses count as failures.
//!
//! The Deliberations document §5: a 2xx within 10 s is success; 5xx, network errors,
//! timeouts, 408 and 429 are retried at +1 min, +5 min, +30 min, +2 h and +12 h after
//! the failed attempt; when the fifth retry fails the delivery is dead. Other 4xx are
//! not retried. We add: 3xx is a failure that is not retried (redirects are not
//! followed, and one does not fix itself), and `410 Gone` also disables the endpoint.

/// The five retries' delays after the failed attempt before each.
pub const RETRY_DELAYS_MS: [i64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 43_200_000];
/// A `Retry-After` is honoured up to this far; beyond, this.
pub const MAX_RETRY_AFTER_MS: i64 = 24 * 3_600_000;
/// Consecutive failed attempts after which an endpoint is disabled.
pub const AUTO_DISABLE_AFTER: i64 = 20;
/// The jitter added to a scheduled delay, at most this share of it (never less
/// than the schedule: receivers are promised "not sooner").
const JITTER_SHARE: f64 = 0.05;

/// What an attempt's outcome means for its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx.
    Succeeded,
    /// Try again later, while retries remain.
    Retry,
    /// Not retried: the delivery is `failed`.
    Fail,
    /// `410 Gone`: not retried, and the endpoint is disabled.
    Gone,
}

/// The verdict on a response with `status`, or on no response (`None`: a network
/// error, a refused address, a timeout).
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        None => Verdict::Retry,
        Some(200..=299) => Verdict::Succeeded,
        Some(408 | 429) => Verdict::Retry,
        Some(410) => Verdict::Gone,
        Some(500..=599) => Verdict::Retry,
        Some(_) => Verdict::Fail,
    }
}

/// How long after the `failed`th scheduled attempt (1-based) the next one is due,
/// or `None` when that was the last retry (the delivery is dead). `schedule` is the
/// retries' delays ([`RETRY_DELAYS_MS`], §5's, unless `[webhooks]
/// retry_delays_secs` says otherwise); `retry_after_ms` is the response's
/// `Retry-After`, honoured within [schedule, 24 h]; `unit` is a random draw from
/// [0, 1) for the jitter.
pub fn next_attempt_delay_ms(
    schedule: &[i64],
    failed: i64,
    retry_after_ms: Option<i64>,
    unit: f64,
) -> Option<i64> {
    let index = usize::try_from(failed.checked_sub(1)?).ok()?;
    let scheduled = *schedule.get(index)?;
    let jitter = (scheduled as f64 * JITTER_SHARE * unit.clamp(0.0, 1.0)) as i64;
    let delay = scheduled + jitter;
    Some(match retry_after_ms {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER_MS)),
        None => delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_matrix() {
        for (status, expected) in [
            (None, Verdict::Retry),
            (Some(200), Verdict::Succeeded),
            (Some(204), Verdict::Succeeded),
            (Some(299), Verdict::Succeeded),
            (Some(301), Verdict::Fail),
            (Some(302), Verdict::Fail),
            (Some(400), Verdict::Fail),
            (Some(401), Verdict::Fail),
            (Some(404), Verdict::Fail),
            (Some(408), Verdict::Retry),
            (Some(410), Verdict::Gone),
            (Some(422), Verdict::Fail),
            (Some(429), Verdict::Retry),
            (Some(500), Verdict::Retry),
            (Some(503), Verdict::Retry),
            (Some(599), Verdict::Retry),
        ] {
            assert_eq!(verdict(status), expected, "{status:?}");
        }
    }

    #[test]
    fn five_retries_then_dead() {
        let delays: Vec<_> = (1..=6)
            .map(|failed| next_attempt_delay_ms(&RETRY_DELAYS_MS, failed, None, 0.0))
            .collect();
        assert_eq!(
            delays,
            [
                Some(60_000),
                Some(300_000),
                Some(1_800_000),
                Some(7_200_000),
                Some(43_200_000),
                None
            ]
        );
        assert_eq!(next_attempt_delay_ms(&RETRY_DELAYS_MS, 0, None, 0.0), None);
    }

    #[test]
    fn jitter_is_small_and_never_early() {
        let late = next_attempt_delay_ms(&RETRY_DELAYS_MS, 1, None, 0.999).unwrap();
        assert!((60_000..=63_000).contains(&late), "{late}");
    }

    #[test]
    fn retry_after_is_bounded_by_the_schedule_and_a_day() {
        assert_eq!(
            next_attempt_delay_ms(&RETRY_DELAYS_MS, 1, Some(5_000), 0.0),
            Some(60_000)
        );
        assert_eq!(
            next_attempt_delay_ms(&RETRY_DELAYS_MS, 1, Some(600_000), 0.0),
            Some(600_000)
        );
        assert_eq!(
            next_attempt_delay_ms(&RETRY_DELAYS_MS, 5, Some(10 * MAX_RETRY_AFTER_MS), 0.0),
            Some(MAX_RETRY_AFTER_MS)
        );
    }
}
