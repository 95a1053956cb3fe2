//! Idempotency keys — claimed once, replayed, refused for another body, expired,
//! abandoned and purged — on SQLite and, when `PILOT_TEST_POSTGRES_URL` is set,
//! PostgreSQL.

mod common;

use std::sync::Arc;

use common::*;
use pilot_store::{IdempotencyBegin, StoreOptions};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;
const SCOPE: &str = "deliberations:1:live";

#[tokio::test]
async fn a_key_starts_then_answers_in_flight_replay_conflict_and_expires() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let begin = |key: &'static str, hash: &'static str, at| async move {
            store
                .idempotency_begin(SCOPE, key, hash, at, DAY_MS)
                .await
                .unwrap()
        };

        assert_eq!(
            begin("k1", "h1", T0).await,
            IdempotencyBegin::Started,
            "{backend:?}"
        );
        let at = T0.plus_ms(1);
        assert_eq!(
            begin("k1", "h1", at).await,
            IdempotencyBegin::InFlight,
            "{backend:?}"
        );
        assert_eq!(
            begin("k1", "h2", at).await,
            IdempotencyBegin::Conflict,
            "{backend:?}"
        );
        // Keys are per scope: another tenant's identical key is its own.
        let elsewhere = store
            .idempotency_begin("deliberations:2:live", "k1", "h9", at, DAY_MS)
            .await;
        assert_eq!(elsewhere.unwrap(), IdempotencyBegin::Started, "{backend:?}");

        let response =
            json!({"deliberation_id": "del_01HXYZABCDEFGHJKMNPQRSTVWX", "status": "queued"});
        store
            .idempotency_finish(SCOPE, "k1", 202, &response)
            .await
            .unwrap();
        let replay = IdempotencyBegin::Replay {
            status: 202,
            body: response.clone(),
        };
        assert_eq!(begin("k1", "h1", at).await, replay, "{backend:?}");
        assert_eq!(begin("k1", "h2", at).await, IdempotencyBegin::Conflict);
        // A finished key keeps its first response, and cannot be abandoned.
        store
            .idempotency_finish(SCOPE, "k1", 500, &json!({"late": true}))
            .await
            .unwrap();
        store.idempotency_abandon(SCOPE, "k1").await.unwrap();
        assert_eq!(begin("k1", "h1", at).await, replay, "{backend:?}");

        // Still remembered at exactly the TTL; forgotten right after it, by any body.
        let edge = T0.plus_ms(DAY_MS);
        assert_eq!(begin("k1", "h1", edge).await, replay, "{backend:?}");
        let expired = edge.plus_ms(1);
        assert_eq!(begin("k1", "h2", expired).await, IdempotencyBegin::Started);
        assert_eq!(
            begin("k1", "h2", expired).await,
            IdempotencyBegin::InFlight,
            "the new claim holds from its own start, on {backend:?}"
        );

        // An abandoned key may be claimed again at once.
        assert_eq!(begin("k2", "h1", T0).await, IdempotencyBegin::Started);
        store.idempotency_abandon(SCOPE, "k2").await.unwrap();
        assert_eq!(
            begin("k2", "h3", at).await,
            IdempotencyBegin::Started,
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_begins_with_one_key_start_exactly_one() {
    for backend in backends() {
        let options = StoreOptions {
            max_connections: 20,
            ..StoreOptions::default()
        };
        let db = TestDb::with_options(backend, &options).await;
        let begins = (0..100).map(|_| {
            let store = Arc::clone(&db.store);
            tokio::spawn(async move {
                store
                    .idempotency_begin(SCOPE, "contended", "same-body", T0, DAY_MS)
                    .await
            })
        });
        let outcomes = futures::future::join_all(begins).await;
        let (mut started, mut in_flight) = (0, 0);
        for outcome in outcomes {
            match outcome.expect("the task ran").expect("the store answered") {
                IdempotencyBegin::Started => started += 1,
                IdempotencyBegin::InFlight => in_flight += 1,
                other => panic!("unexpected {other:?} on {backend:?}"),
            }
        }
        assert_eq!((started, in_flight), (1, 99), "{backend:?}");
    }
}

#[tokio::test]
async fn purging_deletes_only_keys_created_before_the_cutoff() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        for (key, at) in [
            ("old", T0),
            ("edge", T0.plus_ms(10)),
            ("new", T0.plus_ms(20)),
        ] {
            let begun = store.idempotency_begin(SCOPE, key, "h", at, DAY_MS).await;
            assert_eq!(begun.unwrap(), IdempotencyBegin::Started, "{backend:?}");
        }
        store
            .idempotency_finish(SCOPE, "old", 202, &json!({}))
            .await
            .unwrap();

        let purged = store.purge_idempotency(T0.plus_ms(10)).await.unwrap();
        assert_eq!(purged, 1, "{backend:?}");
        assert_eq!(store.purge_idempotency(T0.plus_ms(10)).await.unwrap(), 0);

        let now = T0.plus_ms(30);
        for (key, expected) in [
            ("old", IdempotencyBegin::Started),
            ("edge", IdempotencyBegin::InFlight),
            ("new", IdempotencyBegin::InFlight),
        ] {
            let begun = store.idempotency_begin(SCOPE, key, "h", now, DAY_MS).await;
            assert_eq!(begun.unwrap(), expected, "{key} on {backend:?}");
        }
    }
}
