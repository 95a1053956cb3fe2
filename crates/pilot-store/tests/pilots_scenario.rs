//! Pilots — kept per tenant, found by their trigger addresses, fired by schedule —
//! on SQLite and, when `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

mod common;

use common::*;
use pilot_domain::{Environment, FiredBy, PilotStatus, TriggerType};
use pilot_store::{NewPilot, PilotPatch, PilotRecord, PilotTrigger, RunRecord, StoreError};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

#[tokio::test]
async fn pilots_are_kept_per_tenant() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;

        let hooked = NewPilot {
            trigger: PilotTrigger {
                trigger_type: Some(TriggerType::Webhook),
                webhook_token_digest: Some("d1".repeat(32)),
                webhook_token_sealed: Some("v1:sealed".into()),
                ..PilotTrigger::default()
            },
            ..new_pilot("Hooked")
        };
        let first = pilot(store, acme, &hooked).await;
        assert_eq!(first.title, "Hooked", "{backend:?}");
        assert_eq!(first.trigger_type, TriggerType::Webhook);
        assert_eq!(first.steps, steps());
        assert_eq!((first.run_count, first.last_run_at), (0, None));
        assert_eq!(first.webhook_token_sealed.as_deref(), Some("v1:sealed"));
        let second = pilot(store, acme, &new_pilot("Plain")).await;
        assert_eq!(
            second.trigger_type,
            TriggerType::Manual,
            "unset type is manual"
        );

        let listed = store.list_pilots(acme, LIVE).await.unwrap();
        assert_eq!(listed, [second.clone(), first.clone()], "newest first");
        assert_eq!(
            store.get_pilot(acme, LIVE, first.id).await.unwrap(),
            Some(first.clone())
        );
        let by_hook = store.find_pilot_by_webhook(&"d1".repeat(32)).await.unwrap();
        assert_eq!(by_hook.map(|p| p.id), Some(first.id));

        // Another workspace, or the other environment, sees nothing and changes nothing.
        for (workspace, environment) in [(other, LIVE), (acme, Environment::Test)] {
            assert!(
                store
                    .list_pilots(workspace, environment)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let id = first.id;
            assert_eq!(
                store.get_pilot(workspace, environment, id).await.unwrap(),
                None
            );
            let patch = PilotPatch {
                title: Some("Stolen".into()),
                ..PilotPatch::default()
            };
            let updated = store
                .update_pilot(workspace, environment, id, &patch, T0)
                .await;
            assert_eq!(updated.unwrap(), None, "{backend:?}");
            assert!(
                !store
                    .delete_pilot(workspace, environment, id)
                    .await
                    .unwrap()
            );
        }

        // A partial update leaves the rest; a trigger replaces every trigger column.
        let paused = PilotPatch {
            status: Some(PilotStatus::Paused),
            ..PilotPatch::default()
        };
        let later = T0.plus_ms(1_000);
        let updated = store
            .update_pilot(acme, LIVE, first.id, &paused, later)
            .await
            .unwrap()
            .expect("updated");
        assert_eq!(
            updated,
            PilotRecord {
                status: PilotStatus::Paused,
                updated_at: later,
                ..first.clone()
            }
        );
        let to_email = PilotPatch {
            trigger: Some(PilotTrigger {
                trigger_type: Some(TriggerType::Email),
                email_address: Some("inbox-1".into()),
                ..PilotTrigger::default()
            }),
            steps: Some(json!([])),
            ..PilotPatch::default()
        };
        let emailed = store
            .update_pilot(acme, LIVE, first.id, &to_email, later)
            .await
            .unwrap()
            .expect("updated");
        assert_eq!(emailed.trigger_type, TriggerType::Email);
        assert_eq!(emailed.webhook_token_sealed, None);
        assert_eq!(
            (emailed.steps, emailed.title),
            (json!([]), first.title.clone())
        );
        assert_eq!(
            store.find_pilot_by_webhook(&"d1".repeat(32)).await.unwrap(),
            None
        );
        let by_mail = store.find_pilot_by_email("inbox-1").await.unwrap();
        assert_eq!(by_mail.map(|p| p.id), Some(first.id));

        // Trigger addresses are unique across the server.
        let taken = NewPilot {
            trigger: to_email.trigger.clone().expect("set above"),
            ..new_pilot("Copycat")
        };
        let clash = store.create_pilot(other, LIVE, &taken, T0).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{backend:?}");

        assert!(store.delete_pilot(acme, LIVE, first.id).await.unwrap());
        assert_eq!(store.get_pilot(acme, LIVE, first.id).await.unwrap(), None);
        assert!(!store.delete_pilot(acme, LIVE, first.id).await.unwrap());
        assert_eq!(store.list_pilots(acme, LIVE).await.unwrap(), [second]);
    }
}

#[tokio::test]
async fn a_schedule_tick_fires_exactly_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let tick = T0.plus_ms(60_000);
        let next = tick.plus_ms(60_000);
        let scheduled = NewPilot {
            trigger: PilotTrigger {
                trigger_type: Some(TriggerType::Schedule),
                schedule_cron: Some("* * * * *".into()),
                schedule_timezone: Some("UTC".into()),
                next_fire_at: Some(tick),
                ..PilotTrigger::default()
            },
            ..new_pilot("Every minute")
        };
        let scheduled = pilot(store, acme, &scheduled).await;
        let manual = pilot(store, acme, &new_pilot("Manual")).await;

        assert!(
            store
                .due_schedules(tick.plus_ms(-1), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let due = store.due_schedules(tick, 10).await.unwrap();
        assert_eq!(due, std::slice::from_ref(&scheduled), "{backend:?}");

        // Two nodes fire the same tick at once: one run.
        let payload = json!({"scheduled_at": tick.0});
        let (a, b) = tokio::join!(
            store.fire_schedule(scheduled.id, tick, Some(next), &payload, tick),
            store.fire_schedule(scheduled.id, tick, Some(next), &payload, tick),
        );
        let fired: Vec<RunRecord> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(fired.len(), 1, "{backend:?}");
        assert_eq!(fired[0].trigger_type, TriggerType::Schedule);
        assert_eq!(fired[0].fired_by, FiredBy::Schedule);
        assert_eq!(fired[0].payload, payload);
        let again = store
            .fire_schedule(scheduled.id, tick, Some(next), &payload, tick)
            .await
            .unwrap();
        assert_eq!(again, None, "{backend:?}");

        let moved = store
            .get_pilot(acme, LIVE, scheduled.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(moved.next_fire_at, Some(next));
        assert_eq!((moved.run_count, moved.last_run_at), (1, Some(tick)));
        assert!(store.due_schedules(tick, 10).await.unwrap().is_empty());
        let jobs = take_jobs(store).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].payload, json!({"run_id": fired[0].id.0}));

        // A paused pilot, or one without a schedule, does not fire.
        let pause = PilotPatch {
            status: Some(PilotStatus::Paused),
            ..PilotPatch::default()
        };
        store
            .update_pilot(acme, LIVE, scheduled.id, &pause, tick)
            .await
            .unwrap();
        assert!(store.due_schedules(next, 10).await.unwrap().is_empty());
        let paused = store
            .fire_schedule(scheduled.id, next, None, &payload, next)
            .await;
        assert_eq!(paused.unwrap(), None, "{backend:?}");
        let unscheduled = store
            .fire_schedule(manual.id, next, None, &payload, next)
            .await;
        assert_eq!(unscheduled.unwrap(), None);
    }
}
