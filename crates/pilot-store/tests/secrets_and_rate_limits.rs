//! Workspace secrets and rate-limit buckets (GCRA), on SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL. Rate limits are driven by the
//! instants passed in, as the server's injected clock passes them.

mod common;

use common::*;
use pilot_domain::{Environment, UnixMillis};
use pilot_store::{RateLimit, Store};
use pilot_testkit::{TestDb, backends};

#[tokio::test]
async fn secrets_are_put_listed_and_deleted_per_tenant() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        let later = T0.plus_ms(500);

        assert!(
            store
                .put_secret(acme, LIVE, "TOKEN", "v1:a", T0)
                .await
                .unwrap()
        );
        assert!(
            store
                .put_secret(acme, LIVE, "API_KEY", "v1:b", T0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_secret(acme, LIVE, "TOKEN", "v1:c", later)
                .await
                .unwrap(),
            "replaced"
        );
        assert!(
            store
                .put_secret(acme, Environment::Test, "TOKEN", "v1:t", T0)
                .await
                .unwrap()
        );

        let listed = store.list_secrets(acme, LIVE).await.unwrap();
        let shown: Vec<_> = listed
            .iter()
            .map(|s| (s.name.as_str(), s.created_at, s.updated_at))
            .collect();
        assert_eq!(
            shown,
            [("API_KEY", T0, T0), ("TOKEN", T0, later)],
            "{backend:?}"
        );
        let sealed = store.sealed_secrets(acme, LIVE).await.unwrap();
        let expected = [("API_KEY", "v1:b"), ("TOKEN", "v1:c")];
        assert_eq!(sealed, expected.map(|(n, v)| (n.to_owned(), v.to_owned())));

        assert!(store.list_secrets(other, LIVE).await.unwrap().is_empty());
        assert!(store.sealed_secrets(other, LIVE).await.unwrap().is_empty());
        assert!(!store.delete_secret(other, LIVE, "TOKEN").await.unwrap());
        let test_only = store.sealed_secrets(acme, Environment::Test).await.unwrap();
        assert_eq!(test_only, [("TOKEN".to_owned(), "v1:t".to_owned())]);

        assert!(store.delete_secret(acme, LIVE, "TOKEN").await.unwrap());
        assert!(!store.delete_secret(acme, LIVE, "TOKEN").await.unwrap());
        let left = store.list_secrets(acme, LIVE).await.unwrap();
        assert_eq!(left.len(), 1, "{backend:?}");
        assert_eq!(left[0].name, "API_KEY");
    }
}

const HOURLY: RateLimit = RateLimit {
    limit: 60,
    window_ms: 3_600_000,
};

/// How many of `n` requests to `bucket` at `at` are let through.
async fn burst(store: &dyn Store, bucket: &str, n: usize, at: UnixMillis) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        if store
            .hit_rate_limit(bucket, HOURLY, at)
            .await
            .unwrap()
            .allowed
        {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn a_rate_limit_lets_no_second_burst_through_around_a_window_boundary() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        // The case: a clock hour ends at `boundary`. A fixed window let 60
        // through in its last second and 60 more in the next one's first.
        let boundary = UnixMillis(T0.0 - T0.0 % 3_600_000 + 3_600_000);
        let before = burst(store, "post:1", 100, boundary.plus_ms(-1_000)).await;
        let after = burst(store, "post:1", 100, boundary.plus_ms(1_000)).await;
        assert_eq!((before, after), (60, 0), "{backend:?}");

        // It comes back one request per minute, whenever the minute falls.
        let minute_on = boundary.plus_ms(59_000);
        assert_eq!(burst(store, "post:1", 5, minute_on).await, 1, "{backend:?}");
        let hit = store
            .hit_rate_limit("post:1", HOURLY, minute_on)
            .await
            .unwrap();
        let state = HOURLY.state(hit.tat, minute_on);
        assert!(!hit.allowed);
        assert_eq!(state.remaining, 0);
        assert_eq!(state.next_at, minute_on.plus_ms(60_000));
        assert_eq!(state.full_at, minute_on.plus_ms(3_600_000));
        // Over the whole first hour after the burst: 60 refilled, never 120 at once.
        let mut through = 0;
        for minute in 2..=61 {
            through += burst(
                store,
                "post:1",
                3,
                minute_on.plus_ms(minute * 60_000 - 60_000),
            )
            .await;
        }
        assert_eq!(through, 60, "{backend:?}");

        // Buckets are apart.
        assert_eq!(
            burst(store, "post:2", 61, boundary).await,
            60,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_checks_never_let_more_than_the_limit_through() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let checks: Vec<_> = (0..100)
            .map(|_| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    store
                        .hit_rate_limit("post:1", HOURLY, T0)
                        .await
                        .unwrap()
                        .allowed
                })
            })
            .collect();
        let mut allowed = 0;
        for check in checks {
            allowed += usize::from(check.await.unwrap());
        }
        assert_eq!(allowed, 60, "{backend:?}");
    }
}

#[tokio::test]
async fn refilled_buckets_are_purged_and_start_full() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        assert_eq!(burst(store, "a", 60, T0).await, 60);
        assert_eq!(burst(store, "b", 1, T0).await, 1);
        // `b` is full again a minute later, `a` only after the hour.
        assert_eq!(
            store.purge_rate_limits(T0.plus_ms(59_999)).await.unwrap(),
            0
        );
        assert_eq!(
            store.purge_rate_limits(T0.plus_ms(60_000)).await.unwrap(),
            1
        );
        assert_eq!(burst(store, "b", 61, T0.plus_ms(60_000)).await, 60);
        assert_eq!(burst(store, "a", 1, T0.plus_ms(60_000)).await, 1);
        let full = T0.plus_ms(3_600_000 + 60_000);
        assert_eq!(
            store.purge_rate_limits(full).await.unwrap(),
            2,
            "{backend:?}"
        );
        assert_eq!(burst(store, "a", 61, full).await, 60, "{backend:?}");
    }
}
