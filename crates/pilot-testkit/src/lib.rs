//! Test support shared by every crate's integration tests.
//!
//! [`TestDb`] is a fresh, migrated store per test: a SQLite file in a temporary
//! directory, or a PostgreSQL database created on the server named by
//! `PILOT_TEST_POSTGRES_URL` and dropped when the `TestDb` is. [`backends`] lists the
//! backends a scenario must run on: SQLite always; PostgreSQL when the variable is
//! set. Under `CI=true` an unset variable is a failure, so CI never skips PostgreSQL
//! silently.

use std::sync::Arc;

use pilot_store::{Backend, Store, StoreOptions};
use sqlx::{Connection, PgConnection};

pub const POSTGRES_URL_VAR: &str = "PILOT_TEST_POSTGRES_URL";

/// The backends to run a scenario on.
pub fn backends() -> Vec<Backend> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => vec![Backend::Sqlite, Backend::Postgres],
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{POSTGRES_URL_VAR} must be set under CI=true: PostgreSQL tests may not be skipped"
            )
        }
        _ => {
            eprintln!(
                "notice: {POSTGRES_URL_VAR} is unset; PostgreSQL scenarios are skipped (SQLite only)"
            );
            vec![Backend::Sqlite]
        }
    }
}

/// The PostgreSQL server URL, when tests against PostgreSQL are on.
pub fn postgres_url() -> Option<String> {
    backends()
        .contains(&Backend::Postgres)
        .then(|| std::env::var(POSTGRES_URL_VAR).expect("checked by backends()"))
}

/// A fresh, migrated store that cleans up after itself.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// The URL that opens this same database again (for a second process or node).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        server_url: String,
        database: String,
    },
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        Self::with_options(backend, &StoreOptions::default()).await
    }

    pub async fn with_options(backend: Backend, options: &StoreOptions) -> TestDb {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("pilot.db").display());
                (url, Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                let server_url = postgres_url().expect("PostgreSQL tests are off");
                let database = format!(
                    "pilot_test_{}",
                    ulid::Ulid::new().to_string().to_lowercase()
                );
                let mut admin = PgConnection::connect(&server_url)
                    .await
                    .expect("connect to the PostgreSQL test server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                let url = with_database(&server_url, &database);
                (
                    url,
                    Cleanup::Postgres {
                        server_url,
                        database,
                    },
                )
            }
        };
        let store = pilot_store::open(&url, options)
            .await
            .expect("open test store");
        store.migrate().await.expect("migrate test store");
        TestDb {
            store,
            url,
            cleanup,
        }
    }
}

/// Replaces the database name in a `postgres://` URL.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            server_url,
            database,
        } = &self.cleanup
        {
            let (server_url, database) = (server_url.clone(), database.clone());
            // Drop may run inside the test's runtime, which is blocked here; clean up on
            // a thread and runtime of its own. FORCE ends the store's open connections.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cleanup runtime");
                runtime.block_on(async move {
                    let Ok(mut admin) = PgConnection::connect(&server_url).await else {
                        eprintln!("warning: could not connect to drop test database {database}");
                        return;
                    };
                    let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                    if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                        .execute(&mut admin)
                        .await
                    {
                        eprintln!("warning: could not drop test database {database}: {error}");
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
