//! Credits — grants, concurrent reservations that never overdraw, and the append-only
//! ledger that always explains the balance — on SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

mod common;

use std::sync::Arc;

use common::deliberations::*;
use common::*;
use pilot_domain::{Credits, Environment};
use pilot_store::{Backend, CreateDeliberation, StoreOptions};
use pilot_testkit::{TestDb, backends};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn grants_add_to_a_balance_that_starts_at_zero_each_with_its_entry() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), Credits::ZERO);
        assert!(store.ledger(acme, LIVE, 10).await.unwrap().is_empty());

        let first = store
            .grant_credits(acme, LIVE, credits(2_500_000), "welcome", T0)
            .await;
        assert_eq!(first.unwrap(), credits(2_500_000), "{backend:?}");
        let later = T0.plus_ms(1_000);
        let second = store
            .grant_credits(acme, LIVE, credits(1_000_001), "top-up", later)
            .await;
        assert_eq!(second.unwrap(), credits(3_500_001), "{backend:?}");
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(3_500_001));

        let ledger = store.ledger(acme, LIVE, 10).await.unwrap();
        let shown: Vec<_> = ledger
            .iter()
            .map(|e| {
                let kind = e.kind.as_str();
                (
                    e.amount,
                    kind,
                    e.note.as_str(),
                    e.balance_after,
                    e.created_at,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    credits(1_000_001),
                    "grant",
                    "top-up",
                    credits(3_500_001),
                    later
                ),
                (
                    credits(2_500_000),
                    "grant",
                    "welcome",
                    credits(2_500_000),
                    T0
                ),
            ],
            "newest first, on {backend:?}"
        );
        assert!(ledger.iter().all(|e| e.deliberation_id.is_none()));
        assert!(ledger[0].id > ledger[1].id);
        assert_eq!(store.ledger(acme, LIVE, 1).await.unwrap(), ledger[..1]);

        // Each tenant has its own balance and ledger.
        for (workspace, environment) in [(other, LIVE), (acme, Environment::Test)] {
            let balance = store.balance(workspace, environment).await.unwrap();
            assert_eq!(balance, Credits::ZERO, "{backend:?}");
            assert!(
                store
                    .ledger(workspace, environment, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }

        // A grant of nothing or less is refused by the schema, and writes nothing.
        for amount in [Credits::ZERO, credits(-1)] {
            for workspace in [acme, other] {
                let refused = store
                    .grant_credits(workspace, LIVE, amount, "bad", later)
                    .await;
                assert!(refused.is_err(), "{amount} on {backend:?}");
            }
        }
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), credits(3_500_001));
        assert_eq!(store.balance(other, LIVE).await.unwrap(), Credits::ZERO);
        assert_eq!(store.ledger(acme, LIVE, 10).await.unwrap().len(), 2);
        for workspace in [acme, other] {
            assert_ledger_explains_balance(store, workspace, LIVE).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_balance_for_ten_estimates_accepts_exactly_ten_of_a_hundred_concurrent_submissions() {
    const ESTIMATE: i64 = 4_200_000;
    for backend in backends() {
        // Enough connections that PostgreSQL sees many transactions at once.
        let options = StoreOptions {
            max_connections: 20,
            ..StoreOptions::default()
        };
        let db = TestDb::with_options(backend, &options).await;
        let store = Arc::clone(&db.store);
        let acme = workspace(&*store, "acme").await;
        grant(&*store, acme, LIVE, 10 * ESTIMATE).await;

        let submissions = (0..100).map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let new = submission(credits(ESTIMATE));
                store
                    .create_deliberation(acme, LIVE, &new, T0.plus_ms(n))
                    .await
            })
        });
        let outcomes = futures::future::join_all(submissions).await;
        let (mut created, mut refused) = (0, 0);
        for outcome in outcomes {
            match outcome.expect("the task ran").expect("the store answered") {
                CreateDeliberation::Created(_) => created += 1,
                CreateDeliberation::InsufficientCredits { balance } => {
                    assert!(balance < credits(ESTIMATE), "{balance} on {backend:?}");
                    refused += 1;
                }
            }
        }
        assert_eq!((created, refused), (10, 90), "{backend:?}");
        assert_eq!(store.balance(acme, LIVE).await.unwrap(), Credits::ZERO);
        let entries = store.ledger(acme, LIVE, 1_000).await.unwrap();
        let reserves = entries.iter().filter(|e| e.kind == "reserve").count();
        assert_eq!((entries.len(), reserves), (11, 10), "{backend:?}");
        assert_eq!(store.queue_counts().await.unwrap().queued, 10);
        assert_ledger_explains_balance(&*store, acme, LIVE).await;
    }
}

/// Runs one statement on a connection of its own, outside the store; its error text.
async fn refusal(backend: Backend, url: &str, sql: &'static str) -> String {
    let outcome = match backend {
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").expect("a sqlite:// URL");
            let conn = rusqlite::Connection::open(path).unwrap();
            return match conn.execute(sql, []) {
                Ok(_) => panic!("{sql} was allowed on {backend:?}"),
                Err(error) => error.to_string(),
            };
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.map(drop)
        }
    };
    match outcome {
        Ok(()) => panic!("{sql} was allowed on {backend:?}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn the_ledger_refuses_updates_and_deletes() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        grant(store, acme, LIVE, 3_000_000).await;
        create(store, acme, &submission(credits(1_000_000)), T0).await;
        let before = store.ledger(acme, LIVE, 10).await.unwrap();

        let mut statements = vec![
            "UPDATE credit_ledger SET amount_micros = amount_micros * 2",
            "UPDATE credit_ledger SET note = 'edited' WHERE kind = 'grant'",
            "DELETE FROM credit_ledger WHERE kind = 'reserve'",
            "DELETE FROM credit_ledger",
        ];
        if backend == Backend::Postgres {
            statements.push("TRUNCATE credit_ledger");
        }
        for sql in statements {
            let error = refusal(backend, &db.url, sql).await;
            assert!(
                error.contains("append-only"),
                "{sql} on {backend:?}: {error}"
            );
        }
        assert_eq!(store.ledger(acme, LIVE, 10).await.unwrap(), before);
        assert_ledger_explains_balance(store, acme, LIVE).await;
    }
}
