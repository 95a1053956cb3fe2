//! The schedule trigger's timer (`pilot::triggers::schedule`) on its own: it fires a
//! due tick through the operations, keeps house, and stops on shutdown. (That a tick
//! fires once across nodes, and is spaced by the minimum interval, is the
//! operation's doing: `engine.rs`.)

use std::sync::Arc;
use std::time::Duration;

use pilot::triggers::schedule::ScheduleTimer;
use pilot_domain::{Environment, ManualClock, PilotStatus, TriggerType, UnixMillis};
use pilot_store::{NewPilot, PilotTrigger};
use pilot_testkit::{backends, traces};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::harness::{spawn_node, test_config};

const DAY_MS: i64 = 24 * 3_600_000;

#[tokio::test]
async fn the_timer_fires_due_ticks_keeps_house_and_stops_on_shutdown() {
    for backend in backends() {
        let (traces, _capturing) = traces::capture();
        let app = spawn_node(backend, test_config(), false).await;
        let store = &app.db.store;
        let workspace = store.find_workspace("default").await.unwrap().unwrap();
        let due = UnixMillis(1_768_435_200_000);
        let pilot = store
            .create_pilot(
                workspace.id,
                Environment::Live,
                &NewPilot {
                    title: "Tick".into(),
                    description: String::new(),
                    status: PilotStatus::Active,
                    trigger: PilotTrigger {
                        trigger_type: Some(TriggerType::Schedule),
                        schedule_cron: Some("*/5 * * * *".into()),
                        schedule_timezone: Some("UTC".into()),
                        next_fire_at: Some(due),
                        ..PilotTrigger::default()
                    },
                    steps: json!([{"id": "t", "type": "transform", "values": {"a": 1}}]),
                    steps_key_id: None,
                    notify_url: None,
                    webhook_verification: None,
                },
                due,
            )
            .await
            .unwrap();
        // A key claimed at the tick, looked at a day and a minute later.
        store
            .idempotency_begin("1:live", "old", "fingerprint", due, DAY_MS)
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(due.plus_ms(DAY_MS + 60_000)));

        let shutdown = CancellationToken::new();
        let timer = ScheduleTimer::new(app.operations_at(clock), Duration::from_millis(20));
        let running = tokio::spawn(timer.run(shutdown.clone()));
        let purged = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let fired = store
                    .get_pilot(workspace.id, Environment::Live, pilot.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .run_count;
                let purged = traces.events_saying("expired idempotency keys purged");
                if fired > 0 && !purged.is_empty() {
                    return purged;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the timer fires the due tick and keeps house");
        assert_eq!(purged[0].field("purged"), Some("1"));

        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("the timer stops on shutdown")
            .unwrap();
        let after = store
            .get_pilot(workspace.id, Environment::Live, pilot.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after.run_count, 1,
            "the ticks missed fire once, not once each"
        );
        assert_eq!(traces.events_saying("schedule fired").len(), 1);
        app.shut_down().await.unwrap();
    }
}
