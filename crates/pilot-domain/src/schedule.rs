//! Schedules: a cron expression read in an IANA time zone.
//!
//! The next fire time is computed here, from an instant the caller supplies; the
//! scheduler stores it on the pilot and fires each tick exactly once by moving that
//! instant forward in the same statement that claims it.
//!
//! Each tick is a run, so how often an expression fires sizes work: a 6-field
//! `* * * * * *` is a run a second. [`Schedule::min_interval`] is the shortest time
//! two ticks can be apart, read from the expression's fields (the times of day it
//! fires, and the wrap from one day's last to the next day's first, since two
//! consecutive days may both match), and [`Schedule::check_min_interval`] refuses an
//! expression that fires more often than a server allows
//! (`pilots.min_schedule_interval_secs`, one minute by default). The scheduler also
//! never schedules a tick sooner than that after the one it fires
//! ([`Schedule::next_spaced`]), which covers schedules stored before the bound and
//! the hour a daylight-saving change repeats.

use std::str::FromStr;
use std::time::Duration;

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

    /// The shortest time between two consecutive ticks.
    pub fn min_interval(&self) -> Duration {
        let pattern = &self.cron.pattern;
        let set = |range: std::ops::Range<u32>, matches: &dyn Fn(u32) -> bool| -> Vec<u32> {
            range.filter(|&v| matches(v)).collect()
        };
        let hours = set(0..24, &|h| pattern.hour_match(h).unwrap_or(false));
        let minutes = set(0..60, &|m| pattern.minute_match(m).unwrap_or(false));
        let seconds = set(0..60, &|s| pattern.second_match(s).unwrap_or(false));
        // The seconds of the day it fires at, in order: every day that matches fires
        // at all of them.
        let mut first = None;
        let mut previous: Option<u32> = None;
        let mut shortest = u32::MAX;
        for h in &hours {
            for m in &minutes {
                for s in &seconds {
                    let at = h * 3_600 + m * 60 + s;
                    if let Some(before) = previous {
                        shortest = shortest.min(at - before);
                    }
                    first.get_or_insert(at);
                    previous = Some(at);
                }
            }
        }
        if let (Some(first), Some(last)) = (first, previous) {
            // The last tick of one day to the first of the next.
            shortest = shortest.min(86_400 - last + first);
        }
        Duration::from_secs(u64::from(shortest))
    }

    /// Refuses a schedule whose ticks can come closer than `min`.
    pub fn check_min_interval(&self, min: Duration) -> Result<(), String> {
        let interval = self.min_interval();
        if interval < min {
            return Err(format!(
                "schedule.cron {:?} can fire {} s apart; ticks must be at least {} s apart",
                self.expression,
                interval.as_secs(),
                min.as_secs()
            ));
        }
        Ok(())
    }

    /// The first tick at least `min` after `fired` and strictly after `now`: the
    /// tick after `fired`, skipping any closer than `min`.
    pub fn next_spaced(
        &self,
        fired: UnixMillis,
        now: UnixMillis,
        min: Duration,
    ) -> Option<UnixMillis> {
        let min_ms = i64::try_from(min.as_millis()).unwrap_or(i64::MAX);
        let earliest = fired.plus_ms(min_ms.saturating_sub(1));
        self.next_after(now.max(fired).max(earliest))
    }

    /// Up to `count` ticks from `first` (a tick itself, included) on.
    pub fn upcoming(&self, first: UnixMillis, count: usize) -> Vec<UnixMillis> {
        std::iter::successors(Some(first), |tick| self.next_after(*tick))
            .take(count)
            .collect()
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

/// What a schedule does with ticks no node fired on time (every node down, or the
/// store unreachable): `one` fires the latest of them once, late; `none` skips them
/// and waits for the next tick. A tick counts as missed when the scheduler finds it
/// more than [`CatchUp::MISSED_AFTER_MS`] late.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatchUp {
    #[default]
    One,
    None,
}

impl CatchUp {
    /// How late a tick may fire before it counts as missed.
    pub const MISSED_AFTER_MS: i64 = 60_000;

    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::One => "one",
            CatchUp::None => "none",
        }
    }

    /// `one` or `none`.
    pub fn parse(raw: &str) -> Result<CatchUp, String> {
        match raw {
            "one" => Ok(CatchUp::One),
            "none" => Ok(CatchUp::None),
            other => Err(format!(
                "schedule.catch_up must be \"one\" or \"none\", not {other:?}"
            )),
        }
    }

    /// Whether the tick due at `due`, found at `now`, is fired: always with `one`;
    /// with `none` only when it is at most [`Self::MISSED_AFTER_MS`] late.
    pub fn fires(self, due: UnixMillis, now: UnixMillis) -> bool {
        match self {
            CatchUp::One => true,
            CatchUp::None => now.0.saturating_sub(due.0) <= Self::MISSED_AFTER_MS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcoming_ticks_follow_the_first() {
        // 2026-01-15T08:00:00Z, a tick of "0 9 * * *" in Paris.
        let first = UnixMillis(1_768_435_200_000 + 8 * 3_600_000);
        let paris = Schedule::parse("0 9 * * *", "Europe/Paris").unwrap();
        let ticks = paris.upcoming(first, 5);
        assert_eq!(ticks.len(), 5);
        assert_eq!(ticks[0], first);
        assert!(
            ticks.windows(2).all(|w| w[1].0 - w[0].0 == 86_400_000),
            "{ticks:?}"
        );
    }

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

    fn interval(expression: &str) -> u64 {
        Schedule::parse(expression, "UTC")
            .unwrap()
            .min_interval()
            .as_secs()
    }

    #[test]
    fn the_shortest_interval_is_read_from_the_fields() {
        assert_eq!(interval("* * * * * *"), 1, "every second");
        assert_eq!(interval("*/10 * * * * *"), 10);
        assert_eq!(interval("* * * * *"), 60, "every minute");
        assert_eq!(interval("*/5 * * * *"), 300);
        assert_eq!(
            interval("0 9 * * 1"),
            86_400,
            "weekly reads as daily: a lower bound"
        );
        assert_eq!(interval("0 9,17 * * *"), 8 * 3_600);
        // From one day's last tick to the next day's first.
        assert_eq!(interval("30 59 23 * * *"), 86_400);
        assert_eq!(interval("0,50 0,59 0,23 * * *"), 10);
        assert_eq!(interval("50 59 23 * * *"), 86_400);
        assert_eq!(interval("0,59 0 0,23 * * *"), 59);
    }

    #[test]
    fn schedules_firing_more_often_than_the_minimum_are_refused() {
        let minute = Duration::from_secs(60);
        let every_second = Schedule::parse("* * * * * *", "UTC").unwrap();
        assert_eq!(
            every_second.check_min_interval(minute).unwrap_err(),
            "schedule.cron \"* * * * * *\" can fire 1 s apart; ticks must be at least 60 s apart"
        );
        let every_minute = Schedule::parse("* * * * *", "UTC").unwrap();
        assert_eq!(every_minute.check_min_interval(minute), Ok(()));
        // A server that allows more: every 30 seconds, but not every 10.
        let thirty = Duration::from_secs(30);
        assert!(
            Schedule::parse("*/30 * * * * *", "UTC")
                .unwrap()
                .check_min_interval(thirty)
                .is_ok()
        );
        assert!(
            Schedule::parse("*/10 * * * * *", "UTC")
                .unwrap()
                .check_min_interval(thirty)
                .is_err()
        );
        // A server that allows less: every minute is too often for an hourly minimum.
        assert!(
            every_minute
                .check_min_interval(Duration::from_secs(3_600))
                .is_err()
        );
        let weekly = Schedule::parse("0 9 * * 1", "Europe/Paris").unwrap();
        assert_eq!(weekly.check_min_interval(minute), Ok(()));
    }

    #[test]
    fn spaced_ticks_skip_those_closer_than_the_minimum() {
        let start = UnixMillis(1_768_435_200_000); // a minute boundary
        let every_second = Schedule::parse("* * * * * *", "UTC").unwrap();
        let minute = Duration::from_secs(60);
        assert_eq!(
            every_second.next_spaced(start, start, minute),
            Some(start.plus_ms(60_000))
        );
        // Late: the next tick after now, spaced or not.
        let late = start.plus_ms(500_000);
        assert_eq!(
            every_second.next_spaced(start, late, minute),
            Some(late.plus_ms(1_000))
        );
        let hourly = Schedule::parse("0 * * * *", "UTC").unwrap();
        assert_eq!(
            hourly.next_spaced(start, start, minute),
            Some(start.plus_ms(3_600_000))
        );
        assert_eq!(
            hourly.next_spaced(start, start, Duration::ZERO),
            hourly.next_after(start)
        );
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> UnixMillis {
        UnixMillis(
            Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
                .unwrap()
                .timestamp_millis(),
        )
    }

    #[test]
    fn fixed_ticks_fire_once_over_daylight_saving_changes() {
        let nightly = Schedule::parse("30 2 * * *", "Europe/Paris").unwrap();
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 fires at the gap's end.
        let spring = nightly.upcoming(nightly.next_after(at(2026, 3, 28, 12, 0)).unwrap(), 2);
        assert_eq!(spring, [at(2026, 3, 29, 1, 0), at(2026, 3, 30, 0, 30)]);
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 fires at its first pass.
        let autumn = nightly.upcoming(nightly.next_after(at(2026, 10, 24, 12, 0)).unwrap(), 2);
        assert_eq!(autumn, [at(2026, 10, 25, 0, 30), at(2026, 10, 26, 1, 30)]);
    }

    #[test]
    fn interval_ticks_keep_their_pace_in_real_time_over_the_changes() {
        let half_hourly = Schedule::parse("*/30 * * * *", "Europe/Paris").unwrap();
        // Spring: 01:30 CET (00:30Z), then 03:00 CEST (01:00Z): none inside the gap.
        let spring = half_hourly.upcoming(at(2026, 3, 29, 0, 30), 2);
        assert_eq!(spring, [at(2026, 3, 29, 0, 30), at(2026, 3, 29, 1, 0)]);
        // Autumn: both passes of the repeated hour, thirty minutes apart throughout.
        let autumn = half_hourly.upcoming(at(2026, 10, 24, 23, 30), 5);
        assert!(
            autumn.windows(2).all(|w| w[1].0 - w[0].0 == 1_800_000),
            "{autumn:?}"
        );
    }

    #[test]
    fn catch_up_none_fires_only_ticks_found_on_time() {
        let due = UnixMillis(1_768_435_200_000);
        assert!(CatchUp::None.fires(due, due.plus_ms(CatchUp::MISSED_AFTER_MS)));
        assert!(!CatchUp::None.fires(due, due.plus_ms(CatchUp::MISSED_AFTER_MS + 1)));
        assert!(CatchUp::One.fires(due, due.plus_ms(86_400_000)));
        assert_eq!(CatchUp::parse("none"), Ok(CatchUp::None));
        assert_eq!(CatchUp::parse(CatchUp::One.as_str()), Ok(CatchUp::One));
        assert!(CatchUp::parse("all").is_err());
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert!(Schedule::parse("every day", "UTC").is_err());
        assert!(Schedule::parse("0 9 * * *", "Mars/Olympus").is_err());
        assert!(Schedule::parse("", "UTC").is_err());
    }
}
