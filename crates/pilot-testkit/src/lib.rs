//! Test support shared by every crate's integration tests.
//!
//! [`TestDb`] is a fresh, migrated store per test: a SQLite file in a temporary
//! directory, or a PostgreSQL database created on the server named by
//! `PILOT_TEST_POSTGRES_URL` and dropped when the `TestDb` is. [`backends`] lists the
//! backends a scenario must run on: SQLite always; PostgreSQL when the variable is
//! set. Under `CI=true` an unset variable is a failure, so CI never skips PostgreSQL
//! silently.
//!
//! [`fake_llm`] is a fake LLM provider on a random port, speaking the OpenAI-compatible
//! and Anthropic wire formats, scripted per test.
//!
//! [`webhook_receiver`] is a webhook receiver on a random port: it records every
//! delivery (headers, exact body bytes, arrival), checks both signature schemes with
//! an injectable "now", answers as scripted per test (statuses, `Retry-After`, delays,
//! hanging), and with `PILOT_TEST_CAPTURE_DIR` set writes each request to a file for
//! verifiers outside Rust.
//!
//! [`traces`] collects the spans and events code emits on the test's thread, to
//! assert on what it logs.

pub mod fake_llm;
pub mod traces;
pub mod webhook_receiver;

use std::sync::Arc;

use pilot_store::scratch::{ScratchDatabase, drop_database};
use pilot_store::{Backend, Store, StoreOptions};

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
                let scratch = ScratchDatabase::create(&server_url, "test")
                    .await
                    .expect("create a test database");
                let cleanup = Cleanup::Postgres {
                    server_url,
                    database: scratch.name().to_owned(),
                };
                (scratch.url(), cleanup)
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
                if let Err(error) = runtime.block_on(drop_database(&server_url, &database)) {
                    eprintln!("warning: could not drop test database {database}: {error}");
                }
            })
            .join()
            .ok();
        }
    }
}
