//! The retry schedule on a manual clock: +1 min, +5 min, +30 min, +2 h, +12 h, then
//! dead; each attempt signed afresh; `Retry-After` honoured within bounds.

use std::sync::Arc;

use pilot_domain::webhook::{DeliveryState, RETRY_DELAYS_MS};
use pilot_domain::{Clock, Environment, ManualClock, UnixMillis};
use pilot_testkit::backends;
use pilot_testkit::webhook_receiver::{Reply, WebhookReceiver};

use super::{submit, wait_delivery, wait_state, webhook_config, workspace};
use crate::harness::spawn_on_clock;

const START: UnixMillis = UnixMillis(1_800_000_000_000);

#[tokio::test]
async fn five_retries_on_the_schedule_then_dead_each_signed_afresh() {
    for backend in backends() {
        let clock = Arc::new(ManualClock::new(START));
        let app = spawn_on_clock(backend, webhook_config(), true, clock.clone()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        // The receiver checks the 300 s tolerance against the server's clock: the
        // sixth attempt, 14 h 37 min on, must carry a timestamp of its own.
        receiver.set_clock(clock.clone());
        receiver.set_fallback(Reply::status(503));
        let id = submit(&app, &receiver.url(), "Retry me").await;
        receiver.wait_for(1).await;
        for (n, delay) in RETRY_DELAYS_MS.iter().enumerate() {
            let attempts = n as i64 + 1;
            let waiting = wait_delivery(&app, |d| d.attempts == attempts).await;
            assert_eq!(waiting.state, DeliveryState::Pending);
            let due = waiting.next_attempt_at.unwrap();
            let failed_at = clock.now();
            assert!(
                due.0 >= failed_at.0 + delay && due.0 <= failed_at.0 + delay + delay / 20,
                "retry {attempts} due {} ms after the failure, scheduled {delay}",
                due.0 - failed_at.0
            );
            // Not a moment early: just before it is due, nothing goes out.
            clock.advance_ms(due.0 - clock.now().0);
            receiver.wait_for(n + 2).await;
        }
        let dead = wait_state(&app, &id, DeliveryState::Dead).await;
        assert_eq!((dead.attempts, dead.scheduled_attempts), (6, 6));
        assert_eq!(dead.next_attempt_at, None);
        let all = receiver.received();
        assert_eq!(all.len(), 6, "no seventh attempt");
        assert!(all.iter().all(|r| r.pilot5_ok() && r.standard_ok()));
        let stamps: Vec<i64> = all
            .iter()
            .map(|r| r.header("x-pilot5-timestamp").unwrap().parse().unwrap())
            .collect();
        assert!(stamps.windows(2).all(|w| w[1] > w[0]), "{stamps:?}");
        assert!(stamps[5] - stamps[0] >= (60 + 300 + 1_800 + 7_200 + 43_200));
        let event_ids: Vec<_> = all
            .iter()
            .map(|r| r.header("webhook-id").unwrap())
            .collect();
        assert!(event_ids.windows(2).all(|w| w[0] == w[1]), "{event_ids:?}");
        let numbers: Vec<_> = all
            .iter()
            .map(|r| r.header("x-pilot5-attempt").unwrap())
            .collect();
        assert_eq!(numbers, ["1", "2", "3", "4", "5", "6"]);
        let (_, attempts) = app
            .db
            .store
            .get_delivery(workspace(&app).await, Environment::Test, &dead.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(attempts.len(), 6);
        assert!(attempts.iter().all(|a| a.status == Some(503) && !a.manual));
    }
}

#[tokio::test]
async fn retry_after_is_honoured_between_the_schedule_and_a_day() {
    for backend in backends() {
        let clock = Arc::new(ManualClock::new(START));
        let app = spawn_on_clock(backend, webhook_config(), true, clock.clone()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        receiver.push(Reply::status(429).retry_after("600"));
        receiver.push(Reply::status(503).retry_after("5"));
        receiver.push(Reply::status(503).retry_after("999999"));
        submit(&app, &receiver.url(), "Slow down").await;
        receiver.wait_for(1).await;
        let first = wait_delivery(&app, |d| d.attempts == 1).await;
        let after =
            |d: &pilot_store::DeliveryRecord, at: UnixMillis| d.next_attempt_at.unwrap().0 - at.0;
        assert_eq!(
            after(&first, START),
            600_000,
            "asked for more than the schedule"
        );
        clock.advance_ms(600_000);
        receiver.wait_for(2).await;
        let second = wait_delivery(&app, |d| d.attempts == 2).await;
        let delay = after(&second, clock.now());
        assert!(
            (300_000..=315_000).contains(&delay),
            "never sooner than the schedule: {delay}"
        );
        clock.advance_ms(delay);
        receiver.wait_for(3).await;
        let third = wait_delivery(&app, |d| d.attempts == 3).await;
        assert_eq!(
            after(&third, clock.now()),
            24 * 3_600_000,
            "never beyond a day"
        );
    }
}
