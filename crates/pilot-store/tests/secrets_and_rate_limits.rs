//! Workspace secrets and rate-limit windows, on SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

mod common;

use common::*;
use pilot_domain::{Environment, UnixMillis};
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

#[tokio::test]
async fn rate_limits_count_per_bucket_and_fixed_window() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        const MINUTE: i64 = 60_000;
        // T0 is 20 s into its minute.
        let start = UnixMillis(T0.0 - T0.0 % MINUTE);
        let ends = start.plus_ms(MINUTE);

        for expected in 1..=3 {
            let hit = store.hit_rate_limit("create:1", MINUTE, T0).await.unwrap();
            assert_eq!((hit.count, hit.resets_at), (expected, ends), "{backend:?}");
        }
        let elsewhere = store.hit_rate_limit("create:2", MINUTE, T0).await.unwrap();
        assert_eq!(elsewhere.count, 1, "buckets are counted apart");
        let last_moment = store
            .hit_rate_limit("create:1", MINUTE, ends.plus_ms(-1))
            .await;
        assert_eq!(last_moment.unwrap().count, 4);

        let next = store
            .hit_rate_limit("create:1", MINUTE, ends)
            .await
            .unwrap();
        assert_eq!(
            (next.count, next.resets_at),
            (1, ends.plus_ms(MINUTE)),
            "{backend:?}"
        );
        // Opening that window purged the ended one: a straggler there starts over.
        let straggler = store.hit_rate_limit("create:1", MINUTE, T0).await.unwrap();
        assert_eq!(straggler.count, 1, "{backend:?}");
    }
}
