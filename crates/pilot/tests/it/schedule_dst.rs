//! Schedules over daylight-saving changes and missed ticks, driven through one
//! injected clock with three schedulers (this node and two more on their own pools)
//! racing for every tick, on each backend.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pilot::app::App;
use pilot_domain::{Clock, Environment, FiredBy, PilotId, UnixMillis};
use pilot_engine::ManualClock;
use pilot_operations::Operations;
use pilot_testkit::backends;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_on_clock, test_config};
use crate::pilots::create;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> UnixMillis {
    UnixMillis(
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis(),
    )
}

/// Three schedulers on one store (two through pools of their own), one clock.
async fn schedulers(app: &TestApp, clock: &Arc<ManualClock>) -> (Vec<Operations>, Vec<App>) {
    let clock: Arc<dyn Clock> = clock.clone();
    let mut nodes = Vec::new();
    let mut ops = vec![app.operations_at(clock.clone())];
    for _ in 0..2 {
        let node = app.node(test_config()).await;
        ops.push(app.operations_on(node.store.clone(), clock.clone()));
        nodes.push(node);
    }
    (ops, nodes)
}

/// Moves the clock to `until` in `step_ms` steps, the three schedulers passing
/// together at each; the runs they created.
async fn run_until(
    ops: &[Operations],
    clock: &ManualClock,
    until: UnixMillis,
    step_ms: i64,
) -> usize {
    let mut fired = 0;
    while clock.now() < until {
        clock.advance_ms(step_ms);
        let (a, b, c) = tokio::join!(
            ops[0].fire_due_schedules(),
            ops[1].fire_due_schedules(),
            ops[2].fire_due_schedules()
        );
        fired += a.unwrap() + b.unwrap() + c.unwrap();
    }
    fired
}

/// The `scheduledAt` of each of a pilot's runs (all fired by the schedule), oldest
/// first.
async fn ticks(app: &TestApp, pilot: &Value) -> Vec<i64> {
    let pilot_id = PilotId(pilot["id"].as_i64().unwrap());
    let workspace = app
        .db
        .store
        .find_workspace("default")
        .await
        .unwrap()
        .unwrap();
    let runs = app
        .db
        .store
        .list_runs(workspace.id, Environment::Live, pilot_id, None, 100)
        .await
        .unwrap();
    let mut ticks: Vec<i64> = runs
        .iter()
        .map(|detail| {
            assert_eq!(detail.run.fired_by, FiredBy::Schedule);
            detail.run.payload["scheduledAt"].as_i64().unwrap()
        })
        .collect();
    ticks.sort_unstable();
    ticks
}

fn daily_at_half_past_two(app_key: &str) -> (String, Value) {
    (
        app_key.to_owned(),
        json!({"title": "Nightly", "triggerType": "schedule",
               "schedule": {"cron": "30 2 * * *", "timezone": "Europe/Paris"},
               "steps": [{"id": "t", "type": "transform", "values": {"at": "{{ trigger.scheduledAt }}"}}]}),
    )
}

#[tokio::test]
async fn a_tick_in_the_spring_gap_fires_once_at_the_gap_end() {
    for backend in backends() {
        // 2027-03-28: Paris jumps from 02:00 to 03:00 (01:00Z); 02:30 does not exist.
        let clock = Arc::new(ManualClock::new(utc(2027, 3, 27, 12, 0)));
        let app = spawn_on_clock(backend, test_config(), false, clock.clone()).await;
        let (key, body) = daily_at_half_past_two(&app.live_key);
        let pilot = create(&app, &key, body).await;
        assert_eq!(
            pilot["schedule"]["nextRunAt"],
            utc(2027, 3, 28, 1, 0).as_secs(),
            "03:00 CEST, the gap's end"
        );
        let (ops, nodes) = schedulers(&app, &clock).await;
        let fired = run_until(&ops, &clock, utc(2027, 3, 29, 12, 0), 10 * 60_000).await;
        assert_eq!(fired, 2, "one run a day, whichever node fired it");
        assert_eq!(
            ticks(&app, &pilot).await,
            [
                utc(2027, 3, 28, 1, 0).as_secs(),
                utc(2027, 3, 29, 0, 30).as_secs()
            ],
            "the gap's end, then 02:30 CEST"
        );
        for node in nodes {
            node.store.close().await;
        }
    }
}

#[tokio::test]
async fn a_tick_in_the_repeated_autumn_hour_fires_once() {
    for backend in backends() {
        // 2027-10-31: Paris falls back from 03:00 to 02:00 (01:00Z); 02:30 comes twice.
        let clock = Arc::new(ManualClock::new(utc(2027, 10, 30, 12, 0)));
        let app = spawn_on_clock(backend, test_config(), false, clock.clone()).await;
        let (key, body) = daily_at_half_past_two(&app.live_key);
        let pilot = create(&app, &key, body).await;
        let (ops, nodes) = schedulers(&app, &clock).await;
        let fired = run_until(&ops, &clock, utc(2027, 11, 1, 12, 0), 10 * 60_000).await;
        assert_eq!(fired, 2, "not a third run for the hour's second pass");
        assert_eq!(
            ticks(&app, &pilot).await,
            [
                utc(2027, 10, 31, 0, 30).as_secs(),
                utc(2027, 11, 1, 1, 30).as_secs()
            ],
            "02:30 CEST, its first occurrence; then 02:30 CET"
        );
        for node in nodes {
            node.store.close().await;
        }
    }
}

#[tokio::test]
async fn missed_ticks_fire_once_or_not_at_all_as_catch_up_says() {
    for backend in backends() {
        let start = utc(2027, 1, 10, 12, 0);
        let clock = Arc::new(ManualClock::new(start));
        let app = spawn_on_clock(backend, test_config(), false, clock.clone()).await;
        let key = app.live_key.clone();
        let hourly = |title: &str, catch_up: Option<&str>| {
            let mut schedule = json!({"cron": "0 * * * *", "timezone": "UTC"});
            if let Some(catch_up) = catch_up {
                schedule["catchUp"] = json!(catch_up);
            }
            json!({"title": title, "triggerType": "schedule", "schedule": schedule,
                   "steps": [{"id": "t", "type": "transform", "values": {"at": "{{ trigger.scheduledAt }}"}}]})
        };
        let one = create(&app, &key, hourly("Catch up one", None)).await;
        assert_eq!(one["schedule"]["catchUp"], "one", "the default");
        let none = create(&app, &key, hourly("Catch up none", Some("none"))).await;
        assert_eq!(none["schedule"]["catchUp"], "none");
        let (ops, nodes) = schedulers(&app, &clock).await;

        // Every node down for five hours and a half: 13:00 to 17:00 are missed.
        clock.advance_ms(5 * 3_600_000 + 30 * 60_000);
        assert_eq!(run_until(&ops, &clock, clock.now(), 1).await, 0);
        let (a, b, c) = tokio::join!(
            ops[0].fire_due_schedules(),
            ops[1].fire_due_schedules(),
            ops[2].fire_due_schedules()
        );
        assert_eq!(
            a.unwrap() + b.unwrap() + c.unwrap(),
            1,
            "`one` fires once, late"
        );
        assert_eq!(ticks(&app, &one).await, [utc(2027, 1, 10, 13, 0).as_secs()]);
        assert!(ticks(&app, &none).await.is_empty(), "`none` skips them");
        let shown = app
            .get_json(&format!("/api/v1/pilots/{}", none["id"]), &key)
            .await;
        assert_eq!(
            shown["schedule"]["nextRunAt"],
            utc(2027, 1, 10, 18, 0).as_secs(),
            "waits for the next tick"
        );
        // Back to ticking on time: within the minute, both fire.
        let fired = run_until(&ops, &clock, utc(2027, 1, 10, 18, 0), 30 * 60_000).await;
        assert_eq!(fired, 2);
        assert_eq!(
            ticks(&app, &none).await,
            [utc(2027, 1, 10, 18, 0).as_secs()]
        );

        let refused = app
            .post("/api/v1/pilots")
            .bearer_auth(&key)
            .json(&hourly("Bad", Some("all")))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422);
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("catch_up"),
            "{body}"
        );
        for node in nodes {
            node.store.close().await;
        }
    }
}
