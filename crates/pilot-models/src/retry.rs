//! Retrying a provider call: exponential backoff with jitter on rate limits, 5xx
//! answers and connection failures; never on other 4xx, timeouts or bad output.
//!
//! The wait before the n-th retry is a random time between half and all of
//! `min(retry_base_ms × 2^(n-1), retry_max_ms)` (the job queue's [`Backoff`]). When the
//! provider sent `Retry-After` (seconds or an HTTP date), the wait is at least that —
//! unless it exceeds `max_retry_after_ms`, in which case the error goes back to the
//! caller at once rather than parking it for minutes.
//!
//! Waiting goes through a [`Sleeper`], so tests can record the waits instead of
//! sleeping through them.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pilot_domain::Backoff;

use crate::error::ModelError;

/// How long to wait between attempts. Tests swap in one that only records.
#[async_trait]
pub trait Sleeper: Send + Sync + 'static {
    async fn sleep(&self, wait: Duration);
}

/// Sleeps on the tokio timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff: Backoff,
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) after `error`, or `None` when
    /// the error is final. `unit` is a uniform draw from [0, 1) for the jitter.
    pub fn wait_before(&self, retry: u32, error: &ModelError, unit: f64) -> Option<Duration> {
        if retry > self.max_retries || !error.is_retryable() {
            return None;
        }
        let attempt = i32::try_from(retry).unwrap_or(i32::MAX);
        let jittered = Duration::from_millis(self.backoff.delay_ms(attempt, unit).max(0) as u64);
        match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked.max(jittered)),
            None => Some(jittered),
        }
    }
}

/// Reads a `Retry-After` value: delay-seconds (`"120"`) or an HTTP date, as a wait
/// from `now`. A date in the past is no wait; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            backoff: Backoff {
                base_ms: 100,
                max_ms: 1_000,
            },
            max_retry_after: Duration::from_secs(10),
        }
    }

    fn limited(retry_after: Option<Duration>) -> ModelError {
        ModelError::RateLimited {
            retry_after,
            message: String::new(),
        }
    }

    #[test]
    fn backs_off_exponentially_with_jitter_up_to_the_limit() {
        let p = policy();
        let error = ModelError::Transport("refused".into());
        assert_eq!(
            p.wait_before(1, &error, 0.0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            p.wait_before(1, &error, 1.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            p.wait_before(3, &error, 1.0),
            Some(Duration::from_millis(400))
        );
        assert_eq!(p.wait_before(4, &error, 0.5), None);
        let capped = RetryPolicy {
            max_retries: 10,
            ..p
        };
        assert_eq!(
            capped.wait_before(9, &error, 1.0),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn honours_retry_after_within_its_bound() {
        let p = policy();
        assert_eq!(
            p.wait_before(1, &limited(Some(Duration::from_secs(2))), 1.0),
            Some(Duration::from_secs(2))
        );
        // A shorter Retry-After than the backoff still waits the backoff.
        assert_eq!(
            p.wait_before(3, &limited(Some(Duration::ZERO)), 1.0),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            p.wait_before(1, &limited(Some(Duration::from_secs(11))), 0.0),
            None
        );
    }

    #[test]
    fn never_retries_final_errors() {
        let p = policy();
        for error in [
            ModelError::Provider {
                status: 400,
                message: String::new(),
            },
            ModelError::Auth {
                status: 401,
                message: String::new(),
            },
            ModelError::Timeout(Duration::from_secs(1)),
            ModelError::BadResponse(String::new()),
            ModelError::ContentFiltered(String::new()),
        ] {
            assert_eq!(p.wait_before(1, &error, 0.5), None, "{error}");
        }
    }

    #[test]
    fn reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" Sun, 06 Nov 1994 08:49:40 GMT ", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
