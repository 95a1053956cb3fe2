//! Deliberations — created with their reservation and job, read per tenant, their
//! panel's work recorded, completed or failed with their settlement and terminal
//! event — on SQLite and, when `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

mod common;

use std::time::Duration;

use common::deliberations::*;
use common::*;
use pilot_domain::{Credits, DeliberationStatus, Environment, FailureCode};
use pilot_store::{
    CreateDeliberation, DELIBERATION_JOB_KIND, DeliberationRecord, EventRecord, PanelEntry,
    StoreError,
};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

#[tokio::test]
async fn a_deliberation_is_created_with_its_reservation_and_job_for_its_tenant_only() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        grant(store, acme, LIVE, 10_000_000).await;
        let new = submission(credits(4_200_000));

        let notify = store.job_notify();
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let at = T0.plus_ms(5);
        let created = create(store, acme, &new, at).await;
        tokio::time::timeout(Duration::from_secs(10), woken)
            .await
            .expect("creating a deliberation wakes workers");
        let expected = DeliberationRecord {
            id: new.id.clone(),
            workspace_id: acme,
            environment: LIVE,
            key_id: Some(KEY),
            mode: new.mode,
            use_case: new.use_case,
            difficulty: new.difficulty,
            question: new.question.clone(),
            webhook_url: Some(HOOK.into()),
            metadata: Some(json!({"order_id": "ord_123"})),
            status: DeliberationStatus::Queued,
            estimate: credits(4_200_000),
            credits_charged: None,
            result: None,
            failure: None,
            created_at: at,
            updated_at: at,
            completed_at: None,
        };
        assert_eq!(created, expected, "{backend:?}");

        // Reserved in the same transaction: the balance, and the entry explaining it.
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(5_800_000));
        let ledger = store.ledger(acme, LIVE, 1).await.unwrap();
        assert_eq!(ledger.len(), 1);
        let reserve = &ledger[0];
        assert_eq!(
            (reserve.amount, reserve.kind.as_str(), reserve.balance_after),
            (credits(-4_200_000), "reserve", credits(5_800_000)),
            "{backend:?}"
        );
        assert_eq!(reserve.deliberation_id.as_ref(), Some(&new.id));
        assert_eq!(reserve.created_at, at);

        // The job was committed with it, in the tenant's lane.
        let jobs = take_jobs(store).await;
        assert_eq!(jobs.len(), 1, "{backend:?}");
        assert_eq!(jobs[0].kind, DELIBERATION_JOB_KIND);
        assert_eq!(jobs[0].payload, json!({"deliberation_id": new.id.as_str()}));
        assert_eq!(jobs[0].workspace_id, Some(acme));

        // Read back by its tenant or by the worker; invisible to anyone else.
        let read = store.get_deliberation(acme, LIVE, &new.id).await.unwrap();
        assert_eq!(read.as_ref(), Some(&expected), "{backend:?}");
        assert_eq!(store.load_deliberation(&new.id).await.unwrap(), read);
        for (workspace, environment) in [(other, LIVE), (acme, Environment::Test)] {
            let hidden = store
                .get_deliberation(workspace, environment, &new.id)
                .await;
            assert_eq!(hidden.unwrap(), None, "{backend:?}");
        }
        assert_eq!(store.load_deliberation(&new_id()).await.unwrap(), None);

        // The same id twice is a conflict, and its reservation is rolled back with it.
        let again = store.create_deliberation(acme, LIVE, &new, at).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(5_800_000));
        assert_ledger_explains_balance(store, acme, LIVE).await;
    }
}

#[tokio::test]
async fn a_short_balance_writes_nothing() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let new = submission(credits(4_200_000));

        // No balance at all is a balance of zero.
        let refused = store.create_deliberation(acme, LIVE, &new, T0).await;
        let zero = CreateDeliberation::InsufficientCredits {
            balance: Credits::ZERO,
        };
        assert_eq!(refused.unwrap(), zero, "{backend:?}");

        grant(store, acme, LIVE, 4_199_999).await;
        let refused = store.create_deliberation(acme, LIVE, &new, T0).await;
        let short = CreateDeliberation::InsufficientCredits {
            balance: credits(4_199_999),
        };
        assert_eq!(refused.unwrap(), short, "{backend:?}");
        // Another environment's credits do not count.
        grant(store, acme, Environment::Test, 9_000_000).await;
        let refused = store.create_deliberation(acme, LIVE, &new, T0).await;
        assert_eq!(refused.unwrap(), short, "{backend:?}");

        assert_eq!(store.load_deliberation(&new.id).await.unwrap(), None);
        assert_eq!(store.queue_counts().await.unwrap().queued, 0, "no job");
        let ledger = store.ledger(acme, LIVE, 10).await.unwrap();
        let kinds: Vec<_> = ledger.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["grant"], "{backend:?}");
        assert_ledger_explains_balance(store, acme, LIVE).await;

        // The exact balance is enough, and leaves zero.
        grant(store, acme, LIVE, 1).await;
        create(store, acme, &new, T0).await;
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), Credits::ZERO);

        // A free deliberation needs no balance and leaves no entry.
        let free = submission(Credits::ZERO);
        let entries_before = store.ledger(acme, LIVE, 100).await.unwrap().len();
        create(store, acme, &free, T0).await;
        let entries_after = store.ledger(acme, LIVE, 100).await.unwrap().len();
        assert_eq!(entries_after, entries_before, "{backend:?}");
        for env in [LIVE, Environment::Test] {
            assert_ledger_explains_balance(store, acme, env).await;
        }
    }
}

#[tokio::test]
async fn completing_charges_the_cost_up_to_the_reservation_and_refunds_the_rest() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        grant(store, acme, LIVE, 20_000_000).await;
        let cheap = create(store, acme, &submission(credits(4_200_000)), T0).await;
        let dear = create(store, acme, &submission(credits(4_200_000)), T0).await;
        assert_eq!(
            store.balance(acme, LIVE).await.unwrap(),
            credits(11_600_000)
        );

        store
            .mark_deliberation_running(&cheap.id, T0.plus_ms(10))
            .await
            .unwrap();
        let running = store.load_deliberation(&cheap.id).await.unwrap().unwrap();
        assert_eq!(
            (running.status, running.updated_at),
            (DeliberationStatus::Running, T0.plus_ms(10)),
            "{backend:?}"
        );

        // Cheaper than reserved: the difference comes back.
        let done_at = T0.plus_ms(240_000);
        let cost = credits(3_870_000);
        let completed = store
            .complete_deliberation(&cheap.id, &result(), cost, done_at)
            .await;
        assert!(completed.unwrap(), "{backend:?}");
        let done = store.get_deliberation(acme, LIVE, &cheap.id).await;
        let done = done.unwrap().unwrap();
        assert_eq!(
            done,
            DeliberationRecord {
                status: DeliberationStatus::Completed,
                credits_charged: Some(cost),
                result: Some(result()),
                updated_at: done_at,
                completed_at: Some(done_at),
                ..running.clone()
            },
            "{backend:?}"
        );
        assert_eq!(
            store.balance(acme, LIVE).await.unwrap(),
            credits(11_930_000)
        );
        let refund = &store.ledger(acme, LIVE, 1).await.unwrap()[0];
        assert_eq!(
            (refund.amount, refund.kind.as_str(), refund.created_at),
            (credits(330_000), "refund", done_at),
            "{backend:?}"
        );
        assert_eq!(refund.deliberation_id.as_ref(), Some(&cheap.id));

        // The terminal event is recorded with it: the webhook's `data`, less
        // `result_url`, which the sender adds.
        let events = store.deliberation_events(&cheap.id).await.unwrap();
        assert_eq!(events.len(), 1, "{backend:?}");
        let event = &events[0];
        assert!(
            event.id.starts_with("evt_") && event.id.len() == 30,
            "{event:?}"
        );
        let expected = EventRecord {
            id: event.id.clone(),
            event: "deliberation.completed".into(),
            deliberation_id: cheap.id.clone(),
            workspace_id: acme,
            environment: LIVE,
            key_id: Some(KEY),
            webhook_url: Some(HOOK.into()),
            payload: json!({
                "deliberation_id": cheap.id.as_str(),
                "status": "completed",
                "mode": "deliberation1",
                "use_case": "pricing",
                "completed_at": "2023-11-14T22:17:20Z",
                "credits_charged": 3.87,
                "metadata": {"order_id": "ord_123"},
            }),
            created_at: done_at,
        };
        assert_eq!(*event, expected, "{backend:?}");

        // Dearer than reserved (straight from `queued`): the reservation caps the
        // charge, and nothing more is taken.
        let over = credits(9_000_000);
        assert!(
            store
                .complete_deliberation(&dear.id, &result(), over, done_at)
                .await
                .unwrap()
        );
        let dear_done = store.load_deliberation(&dear.id).await.unwrap().unwrap();
        assert_eq!(
            dear_done.credits_charged,
            Some(dear.estimate),
            "{backend:?}"
        );
        assert_eq!(
            store.balance(acme, LIVE).await.unwrap(),
            credits(11_930_000)
        );
        let dear_events = store.deliberation_events(&dear.id).await.unwrap();
        assert_eq!(dear_events[0].payload["credits_charged"], json!(4.2));

        // Terminal is final: no second charge, refund or event.
        let later = done_at.plus_ms(1);
        let entries = store.ledger(acme, LIVE, 100).await.unwrap().len();
        let twice = store
            .complete_deliberation(&cheap.id, &result(), Credits::ZERO, later)
            .await;
        assert!(!twice.unwrap(), "{backend:?}");
        let failed_after = store
            .fail_deliberation(&cheap.id, FailureCode::ProcessingFailed, later)
            .await;
        assert!(!failed_after.unwrap(), "{backend:?}");
        store
            .mark_deliberation_running(&cheap.id, later)
            .await
            .unwrap();
        let unchanged = store.load_deliberation(&cheap.id).await.unwrap();
        assert_eq!(unchanged, Some(done), "{backend:?}");
        assert_eq!(store.ledger(acme, LIVE, 100).await.unwrap().len(), entries);
        assert_eq!(store.deliberation_events(&cheap.id).await.unwrap().len(), 1);
        assert_ledger_explains_balance(store, acme, LIVE).await;
    }
}

#[tokio::test]
async fn failing_refunds_the_whole_reservation_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        grant(store, acme, LIVE, 5_000_000).await;
        // Submitted by a pilot run's `deliberate` step: no API key.
        let new = pilot_store::NewDeliberation {
            key_id: None,
            webhook_url: None,
            metadata: None,
            ..submission(credits(4_200_000))
        };
        let queued = create(store, acme, &new, T0).await;
        assert_eq!(queued.key_id, None, "{backend:?}");
        store
            .mark_deliberation_running(&queued.id, T0)
            .await
            .unwrap();

        let at = T0.plus_ms(60_000);
        let timeout = FailureCode::ProcessingTimeout;
        assert!(
            store
                .fail_deliberation(&queued.id, timeout, at)
                .await
                .unwrap()
        );
        let failed = store.get_deliberation(acme, LIVE, &queued.id).await;
        let failed = failed.unwrap().unwrap();
        assert_eq!(
            (failed.status, failed.failure, failed.credits_charged),
            (
                DeliberationStatus::Failed,
                Some(timeout),
                Some(Credits::ZERO)
            ),
            "{backend:?}"
        );
        assert_eq!((failed.result, failed.completed_at), (None, Some(at)));
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(5_000_000));
        let refund = &store.ledger(acme, LIVE, 1).await.unwrap()[0];
        assert_eq!(
            (refund.amount, refund.kind.as_str()),
            (credits(4_200_000), "refund"),
            "{backend:?}"
        );

        let events = store.deliberation_events(&queued.id).await.unwrap();
        assert_eq!(events.len(), 1, "{backend:?}");
        assert_eq!(events[0].event, "deliberation.failed");
        assert_eq!(events[0].webhook_url, None);
        assert_eq!(events[0].key_id, None);
        assert_eq!(
            events[0].payload,
            json!({
                "deliberation_id": queued.id.as_str(),
                "status": "failed",
                "mode": "deliberation1",
                "use_case": "pricing",
                "completed_at": "2023-11-14T22:14:20Z",
                "credits_charged": 0.0,
                "metadata": null,
            })
        );

        let again = store
            .fail_deliberation(&queued.id, FailureCode::ProcessingFailed, at)
            .await;
        assert!(!again.unwrap(), "{backend:?}");
        let completed_after = store
            .complete_deliberation(&queued.id, &result(), Credits::ZERO, at)
            .await;
        assert!(!completed_after.unwrap(), "{backend:?}");
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(5_000_000));
        assert_eq!(
            store.deliberation_events(&queued.id).await.unwrap().len(),
            1
        );
        assert_eq!(store.ledger(acme, LIVE, 100).await.unwrap().len(), 3);
        assert_ledger_explains_balance(store, acme, LIVE).await;

        // An unknown deliberation is never terminal-ed into existence.
        let unknown = store.fail_deliberation(&new_id(), timeout, at).await;
        assert!(!unknown.unwrap(), "{backend:?}");
    }
}

#[tokio::test]
async fn panel_entries_come_back_in_the_order_they_were_recorded() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        grant(store, acme, LIVE, 10_000_000).await;
        let first = create(store, acme, &submission(credits(1)), T0).await;
        let second = create(store, acme, &submission(credits(1)), T0).await;

        // Recorded order, not timestamps: personas finish at the same millisecond, and
        // a clock may step back.
        let entry = |stage: &str, author: &str, at: i64| PanelEntry {
            stage: stage.into(),
            author: author.into(),
            content: json!({"position": format!("{author} says {stage}"), "nul": "a\u{0}b"}),
            created_at: T0.plus_ms(at),
        };
        let recorded = [
            entry("answer", "economist", 30),
            entry("answer", "skeptic", 30),
            entry("review", "economist", 10),
            entry("synthesis", "arbiter", 40),
        ];
        for (n, item) in recorded.iter().enumerate() {
            store.record_panel_entry(&first.id, item).await.unwrap();
            if n == 1 {
                let other = entry("routed", "router", 0);
                store.record_panel_entry(&second.id, &other).await.unwrap();
            }
        }
        let read = store.panel_entries(&first.id).await.unwrap();
        assert_eq!(read, recorded, "{backend:?}");
        let other = store.panel_entries(&second.id).await.unwrap();
        assert_eq!(other, [entry("routed", "router", 0)], "{backend:?}");
        assert!(store.panel_entries(&new_id()).await.unwrap().is_empty());

        // An entry for no deliberation is refused.
        let orphan = store
            .record_panel_entry(&new_id(), &entry("answer", "nobody", 0))
            .await;
        assert!(orphan.is_err(), "{backend:?}");
        assert_ledger_explains_balance(store, acme, LIVE).await;
    }
}
