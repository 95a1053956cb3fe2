//! Schedules: a cron expression read in an IANA time zone.
//!
//! The next fire time is computed here, from an instant the caller supplies; the
//! scheduler stores it on the pilot and fires each tick exactly once by moving that
//! instant forward in the same statement that claims it.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::time::UnixMillis;

/// Longest cron expression accepted.
const MAX_CRON_LEN: usize = 120;

#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    expression: String,
    timezone: Tz,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.timezone == other.timezone
    }
}

impl Schedule {
    /// Parses a 5-field (or 6-field, with seconds) cron expression and a time zone
    /// name such as `Europe/Paris` (empty means `UTC`).
    pub fn parse(expression: &str, timezone: &str) -> Result<Schedule, String> {
        let expression = expression.trim();
        if expression.is_empty() || expression.len() > MAX_CRON_LEN {
            return Err(format!(
                "schedule.cron must be a cron expression of 1 to {MAX_CRON_LEN} characters"
            ));
        }
        let cron = Cron::from_str(expression).map_err(|e| {
            format!("schedule.cron {expression:?} is not a valid cron expression: {e}")
        })?;
        let zone = if timezone.trim().is_empty() {
            "UTC"
        } else {
            timezone.trim()
        };
        let timezone = Tz::from_str(zone)
            .map_err(|_| format!("schedule.timezone {zone:?} is not an IANA time zone"))?;
        Ok(Schedule {
            cron,
            expression: expression.to_owned(),
            timezone,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> &str {
        self.timezone.name()
    }

    /// The first tick strictly after `after`, or `None` if the expression never fires
    /// again.
    pub fn next_after(&self, after: UnixMillis) -> Option<UnixMillis> {
        let utc = Utc.timestamp_millis_opt(after.0).single()?;
        let local = utc.with_timezone(&self.timezone);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        Some(UnixMillis(next.with_timezone(&Utc).timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_honours_the_time_zone() {
        // 2026-01-15T00:00:00Z; 09:00 in Paris (UTC+1 in winter) is 08:00Z.
        let start = UnixMillis(1_768_435_200_000);
        let paris = Schedule::parse("0 9 * * *", "Europe/Paris").unwrap();
        let next = paris.next_after(start).unwrap();
        assert_eq!(next, UnixMillis(1_768_435_200_000 + 8 * 3_600_000));
        let utc = Schedule::parse("0 9 * * *", "").unwrap();
        assert_eq!(
            utc.next_after(start).unwrap(),
            UnixMillis(1_768_435_200_000 + 9 * 3_600_000)
        );
        // Strictly after: asking at a tick gives the following one.
        assert_eq!(
            paris.next_after(next).unwrap(),
            UnixMillis(next.0 + 86_400_000)
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert!(Schedule::parse("every day", "UTC").is_err());
        assert!(Schedule::parse("0 9 * * *", "Mars/Olympus").is_err());
        assert!(Schedule::parse("", "UTC").is_err());
    }
}
