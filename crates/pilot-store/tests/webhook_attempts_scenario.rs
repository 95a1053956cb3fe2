//! Webhook attempts: the schedule to its end, failures counted on the endpoint
//! until `410 Gone` or the twentieth in a row disables it, deliveries waiting while
//! it is and released when it is enabled, manual attempts, replays and recovery,
//! listings and tenant isolation — through the `Store` trait alone, on SQLite and,
//! when `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL. `PILOT_TEST_ONLY_BACKEND` runs
//! one of them only (see `common/webhooks.rs`).

mod common;

use std::collections::BTreeSet;

use common::webhooks::*;
use common::*;
use pilot_domain::webhook::{
    DeliveryId, DeliveryState, DisabledReason, EndpointId, EndpointState, Verdict,
};
use pilot_store::{DeliveryJob, DeliveryQuery, DeliveryRecord, EndpointRecord, RecordedAttempt};
use pilot_testkit::TestDb;

#[tokio::test]
async fn attempts_follow_the_schedule_and_count_against_the_endpoint() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let hooked = pilot(store, acme, &notifying("Hooked", RUN_HOOK)).await;
        let start = T0.plus_ms(1_000);
        let delivery = run_event(store, acme, hooked.id, start).await;

        // The first attempt and five retries, then dead.
        let mut now = start;
        let mut made = Vec::new();
        for number in 1..=5 {
            now = now.plus_ms(MINUTE * number);
            let retry_at = now.plus_ms(MINUTE * number);
            let recorded = fail_once(store, &delivery.id, number, now, Some(retry_at)).await;
            assert_eq!(
                recorded,
                RecordedAttempt {
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(retry_at),
                    endpoint_state: EndpointState::Enabled,
                },
                "{backend:?}: attempt {number}"
            );
            made.push(attempt(number, false, now, Some(503)));
        }
        now = now.plus_ms(MINUTE * 6);
        let last = fail_once(store, &delivery.id, 6, now, None).await;
        made.push(attempt(6, false, now, Some(503)));
        assert_eq!(
            (last.state, last.next_attempt_at),
            (DeliveryState::Dead, None),
            "{backend:?}"
        );
        let (dead, attempts) = get(store, acme, &delivery.id).await;
        assert_eq!(
            dead,
            DeliveryRecord {
                state: DeliveryState::Dead,
                attempts: 6,
                scheduled_attempts: 6,
                next_attempt_at: None,
                last_status: Some(503),
                last_error: Some("failed with Some(503)".into()),
                updated_at: now,
                ..delivery.clone()
            },
            "{backend:?}"
        );
        assert_eq!(attempts, made, "{backend:?}: every attempt, oldest first");
        let endpoint = endpoint_at(store, acme, RUN_HOOK).await;
        assert_eq!(
            (
                endpoint.consecutive_failures,
                endpoint.last_failure_at,
                endpoint.last_success_at
            ),
            (6, Some(now), None),
            "{backend:?}"
        );
        assert_eq!(
            (endpoint.state, endpoint.updated_at),
            (EndpointState::Enabled, start),
            "{backend:?}: failures below the limit change no state"
        );

        // A success ends its delivery and resets the endpoint's failures.
        now = now.plus_ms(1_000);
        let fine = run_event(store, acme, hooked.id, now).await;
        let ok = outcome(attempt(1, false, now, Some(204)), Verdict::Succeeded, None);
        let recorded = store.record_attempt(&fine.id, &ok, now).await.unwrap();
        assert_eq!(
            recorded,
            Some(RecordedAttempt {
                state: DeliveryState::Succeeded,
                next_attempt_at: None,
                endpoint_state: EndpointState::Enabled,
            }),
            "{backend:?}"
        );
        let endpoint = endpoint_at(store, acme, RUN_HOOK).await;
        assert_eq!(
            (endpoint.consecutive_failures, endpoint.last_success_at),
            (0, Some(now))
        );
        let (succeeded, _) = get(store, acme, &fine.id).await;
        assert_eq!(
            (
                succeeded.attempts,
                succeeded.scheduled_attempts,
                succeeded.last_status,
                succeeded.last_error
            ),
            (1, 1, Some(204), None)
        );

        // A response that is not retried fails the delivery.
        let refused = run_event(store, acme, hooked.id, now.plus_ms(1)).await;
        let bad = outcome(attempt(1, false, now, Some(400)), Verdict::Fail, None);
        let recorded = store
            .record_attempt(&refused.id, &bad, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (recorded.state, recorded.next_attempt_at),
            (DeliveryState::Failed, None)
        );

        // 410 Gone disables its endpoint at once, and only that one.
        let gone_pilot = pilot(store, acme, &notifying("Gone", OTHER_HOOK)).await;
        let goner = run_event(store, acme, gone_pilot.id, now.plus_ms(2)).await;
        let gone = outcome(attempt(1, false, now, Some(410)), Verdict::Gone, None);
        let recorded = store.record_attempt(&goner.id, &gone, now).await.unwrap();
        assert_eq!(
            recorded,
            Some(RecordedAttempt {
                state: DeliveryState::Failed,
                next_attempt_at: None,
                endpoint_state: EndpointState::Disabled,
            }),
            "{backend:?}"
        );
        let disabled = endpoint_at(store, acme, OTHER_HOOK).await;
        assert_eq!(
            (
                disabled.state,
                disabled.disabled_reason,
                disabled.consecutive_failures,
                disabled.updated_at
            ),
            (EndpointState::Disabled, Some(DisabledReason::Gone), 1, now),
            "{backend:?}"
        );
        assert_eq!(
            endpoint_at(store, acme, RUN_HOOK).await.state,
            EndpointState::Enabled
        );

        let unknown = DeliveryId::from_ulid_text(&ulid::Ulid::new().to_string());
        assert_eq!(
            store.record_attempt(&unknown, &ok, now).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn twenty_failures_in_a_row_disable_and_enabling_releases_what_waited() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let hooked = pilot(store, acme, &notifying("Hooked", RUN_HOOK)).await;
        let mut now = T0.plus_ms(1_000);
        let mut waiting = Vec::new();
        for n in 0..4 {
            waiting.push(run_event(store, acme, hooked.id, now.plus_ms(n)).await);
        }
        let retry_at = now.plus_ms(MINUTE * 60);

        // Nineteen failures across four deliveries: still enabled.
        let mut failures = 0;
        for (index, delivery) in waiting.iter().enumerate() {
            let attempts = if index < 3 { 5 } else { 4 };
            for number in 1..=attempts {
                now = now.plus_ms(1_000);
                let recorded = fail_once(store, &delivery.id, number, now, Some(retry_at)).await;
                failures += 1;
                assert_eq!(
                    recorded.endpoint_state,
                    EndpointState::Enabled,
                    "{backend:?}: failure {failures}"
                );
            }
        }
        let endpoint = endpoint_at(store, acme, RUN_HOOK).await;
        assert_eq!(
            (endpoint.state, endpoint.consecutive_failures),
            (EndpointState::Enabled, 19)
        );

        // The twentieth disables it, and its delivery waits for it.
        now = now.plus_ms(1_000);
        let recorded = fail_once(store, &waiting[3].id, 5, now, Some(retry_at)).await;
        assert_eq!(
            recorded,
            RecordedAttempt {
                state: DeliveryState::Disabled,
                next_attempt_at: None,
                endpoint_state: EndpointState::Disabled,
            },
            "{backend:?}"
        );
        let endpoint = endpoint_at(store, acme, RUN_HOOK).await;
        assert_eq!(
            (
                endpoint.state,
                endpoint.disabled_reason,
                endpoint.consecutive_failures,
                endpoint.updated_at
            ),
            (
                EndpointState::Disabled,
                Some(DisabledReason::ConsecutiveFailures),
                20,
                now
            ),
            "{backend:?}"
        );

        // While disabled, a new event's delivery waits without a job.
        delivery_jobs(store).await;
        now = now.plus_ms(1_000);
        let held_back = run_event(store, acme, hooked.id, now).await;
        assert_eq!(
            (held_back.state, held_back.next_attempt_at),
            (DeliveryState::Disabled, None),
            "{backend:?}"
        );
        assert!(delivery_jobs(store).await.is_empty(), "{backend:?}");
        let work = store
            .load_delivery_work(&held_back.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(work.endpoint_state, EndpointState::Disabled);

        // A pending one is held when its attempt comes; only once.
        assert!(
            store.hold_delivery(&waiting[0].id, now).await.unwrap(),
            "{backend:?}"
        );
        assert!(!store.hold_delivery(&waiting[0].id, now).await.unwrap());
        let (held, _) = get(store, acme, &waiting[0].id).await;
        assert_eq!(
            (held.state, held.next_attempt_at, held.updated_at),
            (DeliveryState::Disabled, None, now)
        );

        // Enabling resets the endpoint and releases the three that wait.
        let enabled_at = now.plus_ms(MINUTE);
        let (endpoint, released) = store
            .enable_endpoint(acme, LIVE, &endpoint.id, enabled_at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(released, 3, "{backend:?}");
        assert_eq!(
            endpoint,
            EndpointRecord {
                state: EndpointState::Enabled,
                disabled_reason: None,
                consecutive_failures: 0,
                updated_at: enabled_at,
                ..endpoint.clone()
            }
        );
        assert_eq!(endpoint.last_failure_at, Some(now.plus_ms(-1_000)));
        let released_ids = [&waiting[0], &waiting[3], &held_back].map(|d| d.id.clone());
        for id in &released_ids {
            let (delivery, _) = get(store, acme, id).await;
            assert_eq!(
                (
                    delivery.state,
                    delivery.next_attempt_at,
                    delivery.updated_at
                ),
                (DeliveryState::Pending, Some(enabled_at), enabled_at),
                "{backend:?}"
            );
        }
        let (untouched, _) = get(store, acme, &waiting[1].id).await;
        assert_eq!(
            (untouched.state, untouched.next_attempt_at),
            (DeliveryState::Pending, Some(retry_at))
        );
        let jobs = delivery_jobs(store).await;
        assert_eq!(
            ids_of(&jobs).into_iter().collect::<BTreeSet<_>>(),
            released_ids.into_iter().collect(),
            "{backend:?}"
        );
        assert!(
            jobs.iter()
                .all(|(job, claimed)| !job.manual && claimed.run_at == enabled_at)
        );

        // Enabled, nothing is held; enabling again releases nothing.
        assert!(!store.hold_delivery(&waiting[1].id, now).await.unwrap());
        let (_, again) = store
            .enable_endpoint(acme, LIVE, &endpoint.id, enabled_at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, 0);
        let unknown = EndpointId::from_ulid_text(&ulid::Ulid::new().to_string());
        assert_eq!(
            store
                .enable_endpoint(acme, LIVE, &unknown, now)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn manual_attempts_replays_and_recovery_leave_the_schedule_alone() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let hooked = pilot(store, acme, &notifying("Hooked", RUN_HOOK)).await;
        let start = T0.plus_ms(1_000);
        let delivery = run_event(store, acme, hooked.id, start).await;
        let retry_at = start.plus_ms(MINUTE);
        fail_once(store, &delivery.id, 1, start, Some(retry_at)).await;

        // A manual attempt that fails moves nothing scheduled.
        let now = start.plus_ms(1_000);
        for (number, verdict) in [(2, Verdict::Retry), (3, Verdict::Fail)] {
            let manual = outcome(attempt(number, true, now, Some(500)), verdict, None);
            let recorded = store
                .record_attempt(&delivery.id, &manual, now)
                .await
                .unwrap();
            assert_eq!(
                recorded,
                Some(RecordedAttempt {
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(retry_at),
                    endpoint_state: EndpointState::Enabled,
                }),
                "{backend:?}"
            );
        }
        let (pending, attempts) = get(store, acme, &delivery.id).await;
        assert_eq!(
            (
                pending.attempts,
                pending.scheduled_attempts,
                pending.last_status
            ),
            (3, 1, Some(500)),
            "{backend:?}"
        );
        assert_eq!(
            attempts
                .iter()
                .map(|a| (a.number, a.manual))
                .collect::<Vec<_>>(),
            [(1, false), (2, true), (3, true)]
        );

        // A manual success ends it.
        let ok = outcome(attempt(4, true, now, Some(200)), Verdict::Succeeded, None);
        let recorded = store
            .record_attempt(&delivery.id, &ok, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (recorded.state, recorded.next_attempt_at),
            (DeliveryState::Succeeded, None),
            "{backend:?}"
        );
        let (succeeded, _) = get(store, acme, &delivery.id).await;
        assert_eq!((succeeded.attempts, succeeded.scheduled_attempts), (4, 1));

        // A replay queues one manual attempt now, whatever the state.
        delivery_jobs(store).await;
        let replay_at = now.plus_ms(1_000);
        let replayed = store
            .replay_delivery(acme, LIVE, &delivery.id, replay_at)
            .await
            .unwrap();
        assert_eq!(replayed, Some(succeeded), "{backend:?}");
        let jobs = delivery_jobs(store).await;
        assert_eq!(jobs.len(), 1, "{backend:?}");
        assert_eq!(
            (&jobs[0].0, jobs[0].1.run_at, jobs[0].1.workspace_id),
            (
                &DeliveryJob {
                    delivery_id: delivery.id.clone(),
                    manual: true
                },
                replay_at,
                Some(acme)
            )
        );

        // Recovery queues a manual attempt for each dead or failed one since.
        let old_failed = run_event(store, acme, hooked.id, now.plus_ms(10)).await;
        let refuse = |at| outcome(attempt(1, false, at, Some(400)), Verdict::Fail, None);
        store
            .record_attempt(&old_failed.id, &refuse(now), now)
            .await
            .unwrap();
        let since = now.plus_ms(100);
        let dead = run_event(store, acme, hooked.id, since).await;
        fail_once(store, &dead.id, 1, since, None).await;
        let failed = run_event(store, acme, hooked.id, since.plus_ms(1)).await;
        store
            .record_attempt(&failed.id, &refuse(since), since)
            .await
            .unwrap();
        run_event(store, acme, hooked.id, since.plus_ms(2)).await;
        delivery_jobs(store).await;
        let endpoint = endpoint_at(store, acme, RUN_HOOK).await;
        let recovered = store
            .recover_endpoint(acme, LIVE, &endpoint.id, since, since.plus_ms(5))
            .await
            .unwrap();
        assert_eq!(recovered, Some(2), "{backend:?}");
        let jobs = delivery_jobs(store).await;
        assert_eq!(
            ids_of(&jobs).into_iter().collect::<BTreeSet<_>>(),
            [dead.id.clone(), failed.id.clone()].into_iter().collect(),
            "{backend:?}"
        );
        assert!(
            jobs.iter()
                .all(|(job, claimed)| job.manual && claimed.run_at == since.plus_ms(5))
        );
        assert_eq!(
            get(store, acme, &dead.id).await.0.state,
            DeliveryState::Dead
        );
        let unknown = EndpointId::from_ulid_text(&ulid::Ulid::new().to_string());
        assert_eq!(
            store
                .recover_endpoint(acme, LIVE, &unknown, since, since)
                .await
                .unwrap(),
            None
        );
        let missing = DeliveryId::from_ulid_text(&ulid::Ulid::new().to_string());
        assert_eq!(
            store
                .replay_delivery(acme, LIVE, &missing, since)
                .await
                .unwrap(),
            None
        );
        assert!(delivery_jobs(store).await.is_empty());
    }
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_by_filter_and_cursor_within_the_tenant() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        let first = pilot(store, acme, &notifying("First", RUN_HOOK)).await;
        let second = pilot(store, acme, &notifying("Second", OTHER_HOOK)).await;
        let at = T0.plus_ms(1_000);
        let mut made = Vec::new();
        for (n, pilot_id) in [first.id, second.id, first.id, second.id, first.id]
            .into_iter()
            .enumerate()
        {
            made.push(run_event(store, acme, pilot_id, at.plus_ms(n as i64 * 10)).await);
        }
        let [d1, d2, d3, d4, d5] = made.try_into().unwrap();
        let refused = outcome(attempt(1, false, at, Some(400)), Verdict::Fail, None);
        store.record_attempt(&d2.id, &refused, at).await.unwrap();
        let later = at.plus_ms(500);
        let ok = outcome(
            attempt(1, false, later, Some(200)),
            Verdict::Succeeded,
            None,
        );
        store.record_attempt(&d3.id, &ok, later).await.unwrap();
        let first_endpoint = endpoint_at(store, acme, RUN_HOOK).await;

        let query =
            |state, endpoint_id: Option<&EndpointId>, before: Option<&DeliveryRecord>, limit| {
                DeliveryQuery {
                    state,
                    endpoint_id: endpoint_id.cloned(),
                    before: before.map(|d| d.id.clone()),
                    limit,
                }
            };
        let listed = |q: DeliveryQuery| async move { ids(&list(store, acme, LIVE, &q).await) };
        assert_eq!(
            listed(query(None, None, None, 100)).await,
            ids_in(&[&d5, &d4, &d3, &d2, &d1]),
            "{backend:?}"
        );
        assert_eq!(
            listed(query(Some(DeliveryState::Pending), None, None, 100)).await,
            ids_in(&[&d5, &d4, &d1])
        );
        assert_eq!(
            listed(query(Some(DeliveryState::Failed), None, None, 100)).await,
            ids_in(&[&d2])
        );
        assert_eq!(
            listed(query(None, Some(&first_endpoint.id), None, 100)).await,
            ids_in(&[&d5, &d3, &d1])
        );
        assert_eq!(
            listed(query(
                Some(DeliveryState::Pending),
                Some(&first_endpoint.id),
                None,
                100
            ))
            .await,
            ids_in(&[&d5, &d1])
        );
        assert_eq!(
            listed(query(None, None, None, 2)).await,
            ids_in(&[&d5, &d4])
        );
        assert_eq!(
            listed(query(None, None, Some(&d4), 2)).await,
            ids_in(&[&d3, &d2])
        );
        assert_eq!(
            listed(query(None, None, Some(&d2), 2)).await,
            ids_in(&[&d1])
        );
        assert!(listed(query(None, None, Some(&d1), 2)).await.is_empty());
        let one = store
            .list_deliveries(acme, LIVE, &query(None, None, None, 0))
            .await
            .unwrap();
        assert_eq!(
            ids(&one),
            ids_in(&[&d5]),
            "{backend:?}: a limit is at least 1"
        );
        let (_, attempts) = get(store, acme, &d3.id).await;
        assert_eq!(attempts.len(), 1);

        // Another workspace, or the other environment, sees and changes nothing.
        delivery_jobs(store).await;
        for (workspace, env) in [(other, LIVE), (acme, TEST)] {
            let all = query(None, None, None, 100);
            assert!(
                store
                    .list_deliveries(workspace, env, &all)
                    .await
                    .unwrap()
                    .is_empty(),
                "{backend:?}"
            );
            assert_eq!(
                store.get_delivery(workspace, env, &d1.id).await.unwrap(),
                None
            );
            assert_eq!(
                store
                    .replay_delivery(workspace, env, &d2.id, later)
                    .await
                    .unwrap(),
                None
            );
            assert_eq!(
                store
                    .recover_endpoint(workspace, env, &first_endpoint.id, T0, later)
                    .await
                    .unwrap(),
                None
            );
            assert!(
                store
                    .list_endpoints(workspace, env)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(
                store
                    .enable_endpoint(workspace, env, &first_endpoint.id, later)
                    .await
                    .unwrap(),
                None
            );
        }
        assert!(delivery_jobs(store).await.is_empty(), "{backend:?}");
        assert_eq!(endpoint_at(store, acme, RUN_HOOK).await, first_endpoint);

        // Attempts made before an instant are purged; the deliveries stay.
        assert_eq!(store.purge_attempts(later).await.unwrap(), 1, "{backend:?}");
        assert!(get(store, acme, &d2.id).await.1.is_empty());
        assert_eq!(get(store, acme, &d2.id).await.0.attempts, 1);
        assert_eq!(get(store, acme, &d3.id).await.1.len(), 1);
        assert_eq!(store.purge_attempts(later).await.unwrap(), 0);
        assert_eq!(store.purge_attempts(later.plus_ms(1)).await.unwrap(), 1);
    }
}
