//! Webhooks out, as terminal states are written: a deliberation's end delivered to
//! its `webhook_url` with the submitting key's secret, a run's end to its pilot's
//! `notify_url` (by its progress or by a buried job) with the tenant's signing
//! secret — once each, with the delivery's job — through the `Store` trait alone, on
//! SQLite and, when `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.
//! `PILOT_TEST_ONLY_BACKEND` runs one of them only (see `common/webhooks.rs`).

mod common;

use common::deliberations::*;
use common::webhooks::*;
use common::*;
use pilot_domain::webhook::{
    DeliveryId, DeliveryState, EndpointState, EventId, EventKind, RunEventData,
};
use pilot_domain::{FailureCode, RunStatus};
use pilot_store::{
    ClaimRequest, DELIVERY_JOB_MAX_ATTEMPTS, DeliveryJob, DeliveryQuery, DeliveryRecord,
    DeliveryWork, EndpointRecord, JobFinish, NewDeliberation, PilotPatch, RunProgress,
};
use pilot_testkit::TestDb;

#[tokio::test]
async fn a_deliberations_end_is_delivered_to_its_webhook_url_with_its_job() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        grant(store, acme, LIVE, 10_000_000).await;
        let key = store
            .create_api_key(acme, &api_key("k1"), T0)
            .await
            .unwrap();
        let keyed = |estimate| NewDeliberation {
            key_id: Some(key.id),
            ..submission(credits(estimate))
        };
        let done = create(store, acme, &keyed(1_000_000), T0).await;
        take_jobs(store).await;

        let at = T0.plus_ms(1_000);
        assert!(
            store
                .complete_deliberation(&done.id, &result(), credits(500_000), at)
                .await
                .unwrap()
        );
        let event = store.deliberation_events(&done.id).await.unwrap().remove(0);
        let endpoints = store.list_endpoints(acme, LIVE).await.unwrap();
        assert_eq!(endpoints.len(), 1, "{backend:?}");
        let endpoint = &endpoints[0];
        assert_eq!(
            *endpoint,
            EndpointRecord {
                id: endpoint.id.clone(),
                workspace_id: acme,
                environment: LIVE,
                url: HOOK.into(),
                state: EndpointState::Enabled,
                disabled_reason: None,
                consecutive_failures: 0,
                last_success_at: None,
                last_failure_at: None,
                created_at: at,
                updated_at: at,
            },
            "{backend:?}"
        );
        let listed = list(store, acme, LIVE, &DeliveryQuery::default()).await;
        assert_eq!(listed.len(), 1, "{backend:?}");
        let delivery = &listed[0];
        assert_eq!(
            *delivery,
            DeliveryRecord {
                id: delivery.id.clone(),
                event_id: EventId::parse(&event.id).unwrap(),
                event: EventKind::DeliberationCompleted,
                workspace_id: acme,
                environment: LIVE,
                endpoint_id: endpoint.id.clone(),
                url: HOOK.into(),
                key_id: Some(key.id),
                payload: event.payload.clone(),
                event_at: at,
                state: DeliveryState::Pending,
                attempts: 0,
                scheduled_attempts: 0,
                next_attempt_at: Some(at),
                last_status: None,
                last_error: None,
                created_at: at,
                updated_at: at,
            },
            "{backend:?}"
        );
        assert_eq!(ulid_ms(delivery.id.as_str()), at.0 as u64);
        assert_eq!(ulid_ms(endpoint.id.as_str()), at.0 as u64);

        // Its job was committed with it, in the tenant's lane.
        let jobs = delivery_jobs(store).await;
        assert_eq!(jobs.len(), 1, "{backend:?}");
        let (payload, job) = &jobs[0];
        assert_eq!(
            *payload,
            DeliveryJob {
                delivery_id: delivery.id.clone(),
                manual: false
            }
        );
        assert_eq!(
            (job.workspace_id, job.run_at, job.max_attempts),
            (Some(acme), at, DELIVERY_JOB_MAX_ATTEMPTS)
        );

        // The sender signs with the submitting key's secret, revoked or not.
        let work = DeliveryWork {
            delivery: delivery.clone(),
            endpoint_state: EndpointState::Enabled,
            sealed_secret: Some("sealed-k1".into()),
        };
        assert_eq!(
            store.load_delivery_work(&delivery.id).await.unwrap(),
            Some(work.clone())
        );
        assert!(store.revoke_api_key(acme, key.id, at).await.unwrap());
        assert_eq!(
            store.load_delivery_work(&delivery.id).await.unwrap(),
            Some(work)
        );
        let unknown = DeliveryId::from_ulid_text(&ulid::Ulid::new().to_string());
        assert_eq!(store.load_delivery_work(&unknown).await.unwrap(), None);

        // A failure goes to the same endpoint; settling twice writes nothing more.
        let failing = create(store, acme, &keyed(1_000_000), at).await;
        let later = at.plus_ms(1_000);
        for settled in [true, false] {
            let failed = store
                .fail_deliberation(&failing.id, FailureCode::ProcessingFailed, later)
                .await
                .unwrap();
            assert_eq!(failed, settled, "{backend:?}");
        }
        let listed = list(store, acme, LIVE, &DeliveryQuery::default()).await;
        assert_eq!(listed.len(), 2, "{backend:?}");
        assert_eq!(listed[0].event, EventKind::DeliberationFailed);
        assert_eq!(listed[0].endpoint_id, endpoint.id);
        assert_eq!(listed[0].payload["status"], "failed");
        assert_eq!(store.list_endpoints(acme, LIVE).await.unwrap().len(), 1);

        // Without a webhook_url, nothing is delivered.
        let silent = create(
            store,
            acme,
            &NewDeliberation {
                webhook_url: None,
                ..keyed(0)
            },
            later,
        )
        .await;
        assert!(
            store
                .complete_deliberation(&silent.id, &result(), credits(0), later)
                .await
                .unwrap()
        );
        assert_eq!(
            list(store, acme, LIVE, &DeliveryQuery::default())
                .await
                .len(),
            2
        );
        assert_eq!(
            delivery_jobs(store).await.len(),
            1,
            "the failure's job only"
        );
    }
}

#[tokio::test]
async fn a_runs_end_is_delivered_once_to_its_pilots_notify_url() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let hooked = pilot(store, acme, &notifying("Hooked", RUN_HOOK)).await;
        assert_eq!(hooked.notify_url.as_deref(), Some(RUN_HOOK));
        let silent = pilot(store, acme, &new_pilot("Silent")).await;
        assert_eq!(silent.notify_url, None);

        // Progress that does not end the run delivers nothing; the end does, once.
        let at = T0.plus_ms(10_500);
        let run = queue_run(store, acme, hooked.id, T0).await;
        let started = RunProgress {
            status: Some(RunStatus::Running),
            started_at: Some(at.plus_ms(-1_750)),
            ..RunProgress::default()
        };
        store.record_progress(run.id, &started).await.unwrap();
        assert!(
            list(store, acme, LIVE, &DeliveryQuery::default())
                .await
                .is_empty()
        );
        let mut end = RunProgress::default();
        end.finish(RunStatus::Success, None, at);
        for _ in 0..2 {
            store.record_progress(run.id, &end).await.unwrap();
        }
        let listed = list(store, acme, LIVE, &DeliveryQuery::default()).await;
        assert_eq!(listed.len(), 1, "{backend:?}");
        let delivery = &listed[0];
        let expected = RunEventData {
            run_id: run.id.0,
            pilot_id: hooked.id.0,
            status: "success".into(),
            duration_ms: Some(1_750),
            error: None,
            finished_at: Some(at.as_secs()),
        };
        assert_eq!(
            serde_json::to_string(&delivery.payload).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{backend:?}: RunEventData, field for field and in order"
        );
        assert_eq!(
            (delivery.event, delivery.key_id, delivery.url.as_str()),
            (EventKind::RunCompleted, None, RUN_HOOK)
        );
        assert_eq!(
            (delivery.state, delivery.next_attempt_at, delivery.event_at),
            (DeliveryState::Pending, Some(at), at)
        );
        assert_eq!(ulid_ms(delivery.event_id.as_str()), at.0 as u64);
        let jobs = delivery_jobs(store).await;
        assert_eq!(ids_of(&jobs), vec![delivery.id.clone()], "{backend:?}");

        // A failure is run.failed with its reason; a run that never started has no
        // duration; filtered is run.completed.
        let failed_at = at.plus_ms(1_000);
        let never_started = queue_run(store, acme, hooked.id, at).await;
        let mut failing = RunProgress::default();
        failing.finish(RunStatus::Failed, Some("bad input".into()), failed_at);
        store
            .record_progress(never_started.id, &failing)
            .await
            .unwrap();
        let failed = &list(store, acme, LIVE, &DeliveryQuery::default()).await[0];
        assert_eq!(failed.event, EventKind::RunFailed, "{backend:?}");
        let data: RunEventData = serde_json::from_value(failed.payload.clone()).unwrap();
        assert_eq!(
            data,
            RunEventData {
                run_id: never_started.id.0,
                pilot_id: hooked.id.0,
                status: "failed".into(),
                duration_ms: None,
                error: Some("bad input".into()),
                finished_at: Some(failed_at.as_secs()),
            }
        );
        let filtered = end_run(
            store,
            acme,
            hooked.id,
            RunStatus::Filtered,
            at.plus_ms(2_000),
        )
        .await;
        let newest = &list(store, acme, LIVE, &DeliveryQuery::default()).await[0];
        assert_eq!(
            (
                newest.event,
                newest.payload["runId"].as_i64(),
                newest.payload["status"].as_str()
            ),
            (
                EventKind::RunCompleted,
                Some(filtered.id.0),
                Some("filtered")
            )
        );

        // A pilot without a notify URL delivers nothing.
        end_run(
            store,
            acme,
            silent.id,
            RunStatus::Success,
            at.plus_ms(3_000),
        )
        .await;
        end_run(store, acme, silent.id, RunStatus::Failed, at.plus_ms(3_001)).await;
        assert_eq!(
            list(store, acme, LIVE, &DeliveryQuery::default())
                .await
                .len(),
            3
        );

        // A buried job ends its run failed, and that is a run event too.
        delivery_jobs(store).await;
        let buried = queue_run(store, acme, hooked.id, at.plus_ms(4_000)).await;
        let job = take_jobs(store).await.remove(0);
        let buried_at = at.plus_ms(5_000);
        let dead = JobFinish::Dead {
            error: "the worker gave up".into(),
        };
        assert!(
            store
                .finish("test", job.id, &dead, buried_at)
                .await
                .unwrap()
        );
        let newest = list(store, acme, LIVE, &DeliveryQuery::default())
            .await
            .remove(0);
        let data: RunEventData = serde_json::from_value(newest.payload.clone()).unwrap();
        assert_eq!(
            (
                newest.event,
                data.run_id,
                data.status.as_str(),
                data.finished_at
            ),
            (
                EventKind::RunFailed,
                buried.id.0,
                "failed",
                Some(buried_at.as_secs())
            ),
            "{backend:?}"
        );
        assert!(data.error.unwrap().contains("the worker gave up"));
        assert_eq!(newest.event_at, buried_at);
        assert_eq!(ids_of(&delivery_jobs(store).await), vec![newest.id.clone()]);

        // So does the reaper burying a job whose last lease expired.
        let reaped = queue_run(store, acme, hooked.id, buried_at).await;
        let mut now = buried_at;
        for _ in 0..5 {
            let claim = ClaimRequest {
                owner: "vanishing",
                limit: 10,
                now,
                lease_until: now.plus_ms(1),
                workspace_cap: None,
            };
            assert_eq!(store.claim(&claim).await.unwrap().len(), 1, "{backend:?}");
            now = now.plus_ms(10);
            assert_eq!(store.reap_expired(now).await.unwrap(), 1);
        }
        let newest = list(store, acme, LIVE, &DeliveryQuery::default())
            .await
            .remove(0);
        assert_eq!(
            (
                newest.event,
                newest.payload["runId"].as_i64(),
                newest.event_at
            ),
            (EventKind::RunFailed, Some(reaped.id.0), now),
            "{backend:?}"
        );
        assert_eq!(ids_of(&delivery_jobs(store).await), vec![newest.id.clone()]);

        // The notify URL is kept, cleared and set by patches.
        let patch = |notify_url| PilotPatch {
            notify_url,
            ..PilotPatch::default()
        };
        let renamed = PilotPatch {
            title: Some("Renamed".into()),
            ..PilotPatch::default()
        };
        let update = |patch: PilotPatch| async move {
            store
                .update_pilot(acme, LIVE, hooked.id, &patch, at)
                .await
                .unwrap()
                .unwrap()
                .notify_url
        };
        assert_eq!(update(renamed).await.as_deref(), Some(RUN_HOOK));
        assert_eq!(update(patch(Some(None))).await, None);
        end_run(
            store,
            acme,
            hooked.id,
            RunStatus::Success,
            at.plus_ms(6_000),
        )
        .await;
        assert_eq!(
            list(store, acme, LIVE, &DeliveryQuery::default())
                .await
                .len(),
            5
        );
        let moved = update(patch(Some(Some(OTHER_HOOK.into())))).await;
        assert_eq!(moved.as_deref(), Some(OTHER_HOOK));
        let other = run_event(store, acme, hooked.id, at.plus_ms(7_000)).await;
        assert_eq!(other.url, OTHER_HOOK);
        assert_eq!(store.list_endpoints(acme, LIVE).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn run_events_are_signed_with_the_tenants_secret_until_it_is_rotated() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let hooked = pilot(store, acme, &notifying("Hooked", RUN_HOOK)).await;
        let delivery = run_event(store, acme, hooked.id, T0.plus_ms(1_000)).await;
        let secret = || async {
            store
                .load_delivery_work(&delivery.id)
                .await
                .unwrap()
                .unwrap()
                .sealed_secret
        };
        assert_eq!(secret().await, None, "{backend:?}: no secret yet");

        let ensured = store
            .ensure_signing_secret(acme, LIVE, "sealed-a", T0)
            .await
            .unwrap();
        assert_eq!(ensured, "sealed-a");
        let again = store
            .ensure_signing_secret(acme, LIVE, "sealed-b", T0)
            .await
            .unwrap();
        assert_eq!(
            again, "sealed-a",
            "{backend:?}: the first one stays in force"
        );
        assert_eq!(secret().await.as_deref(), Some("sealed-a"));

        store
            .rotate_signing_secret(acme, LIVE, "sealed-c", T0.plus_ms(5))
            .await
            .unwrap();
        assert_eq!(secret().await.as_deref(), Some("sealed-c"), "{backend:?}");
        let after = store
            .ensure_signing_secret(acme, LIVE, "sealed-d", T0)
            .await
            .unwrap();
        assert_eq!(after, "sealed-c");

        // Each tenant has its own; rotating one that has none stores it.
        let test = store
            .ensure_signing_secret(acme, TEST, "sealed-test", T0)
            .await
            .unwrap();
        assert_eq!(test, "sealed-test");
        let other = workspace(store, "other").await;
        store
            .rotate_signing_secret(other, LIVE, "sealed-other", T0)
            .await
            .unwrap();
        let kept = store
            .ensure_signing_secret(other, LIVE, "sealed-x", T0)
            .await
            .unwrap();
        assert_eq!(kept, "sealed-other");
        assert_eq!(secret().await.as_deref(), Some("sealed-c"));
    }
}
