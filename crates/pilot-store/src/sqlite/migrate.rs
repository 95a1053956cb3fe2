//! SQLite migrations: the files in `migrations/sqlite`, applied in order.
//!
//! The ledger is sqlx's `_sqlx_migrations` table, in sqlx's format (version, SHA-384
//! checksum of the file): the PostgreSQL backend migrates with sqlx, and SQLite
//! databases made before this runner existed are read as they are. An applied
//! migration whose file has changed since is refused, not re-run.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha384};

use crate::error::{StoreError, StoreResult};

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
    /// A schema edit SQL cannot say, run after `sql` in the same transaction.
    then: Option<fn(&Connection) -> StoreResult<()>>,
}

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        migration!($version, $description, $file, None)
    };
    ($version:literal, $description:literal, $file:literal, $then:expr) => {
        Migration {
            version: $version,
            description: $description,
            sql: include_str!(concat!("../../migrations/sqlite/", $file)),
            then: $then,
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "foundation", "0001_foundation.sql"),
    migration!(2, "model usage", "0002_model_usage.sql"),
    migration!(3, "pilots", "0003_pilots.sql"),
    migration!(4, "deliberations", "0004_deliberations.sql"),
    migration!(5, "hardening", "0005_hardening.sql"),
    migration!(6, "step running", "0006_step_running.sql"),
    migration!(7, "webhooks", "0007_webhooks.sql"),
    migration!(8, "fired by", "0008_fired_by.sql"),
    migration!(9, "webhook triggers", "0009_webhook_triggers.sql"),
    migration!(10, "schedule catch up", "0010_schedule_catch_up.sql"),
    migration!(11, "run request", "0011_run_request.sql"),
    migration!(12, "accounts", "0012_accounts.sql"),
    migration!(13, "dashboard reads", "0013_dashboard_reads.sql"),
    migration!(14, "key last used", "0014_key_last_used.sql"),
    migration!(15, "queue lanes", "0015_queue_lanes.sql"),
    migration!(16, "pilot run tallies", "0016_pilot_run_tallies.sql"),
    migration!(
        18,
        "checkpoints",
        "0018_checkpoints.sql",
        Some(widen_deliberation_checks)
    ),
];

/// `deliberations.mode` and `failure_code` admit `deliberation2` and
/// `checkpoint_expired`. SQLite cannot alter a CHECK constraint, and rebuilding the
/// table would need foreign keys off (its panel rows cascade), which a transaction
/// cannot turn off; so this is SQLite's documented procedure for loosening a
/// constraint that changes no stored row: rewrite the table's SQL in
/// `sqlite_schema` and bump `schema_version`, so every connection reads it again.
fn widen_deliberation_checks(conn: &Connection) -> StoreResult<()> {
    const EDITS: [(&str, &str); 2] = [
        (
            "CHECK (mode IN ('deliberation1', 'smartroute1'))",
            "CHECK (mode IN ('deliberation1', 'smartroute1', 'deliberation2'))",
        ),
        (
            "CHECK (failure_code IN ('processing_timeout', 'processing_failed'))",
            "CHECK (failure_code IN ('processing_timeout', 'processing_failed', \
             'checkpoint_expired'))",
        ),
    ];
    let table = "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'deliberations'";
    let mut sql: String = conn.query_row(table, [], |row| row.get(0))?;
    for (old, new) in EDITS {
        if !sql.contains(old) {
            return Err(StoreError::Migrate(format!(
                "deliberations has no {old:?} to widen"
            )));
        }
        sql = sql.replace(old, new);
    }
    let version: i64 = conn.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA writable_schema = ON")?;
    let edited = conn.execute(
        "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = 'deliberations'",
        [&sql],
    );
    let bumped = conn.execute_batch(&format!("PRAGMA schema_version = {}", version + 1));
    conn.execute_batch("PRAGMA writable_schema = OFF")?;
    edited?;
    bumped?;
    Ok(())
}

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Applies every pending migration on `conn`, inside the caller's transaction: all
/// of them or none.
pub(super) fn run(conn: &Connection) -> StoreResult<()> {
    apply(conn, MIGRATIONS)
}

fn apply(conn: &Connection, migrations: &[Migration]) -> StoreResult<()> {
    conn.execute_batch(LEDGER)?;
    for migration in migrations {
        let checksum = Sha384::digest(migration.sql.as_bytes()).to_vec();
        let applied: Option<(Vec<u8>, bool)> = conn
            .query_row(
                "SELECT checksum, success FROM _sqlx_migrations WHERE version = ?1",
                [migration.version],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match applied {
            Some((stored, true)) if stored == checksum => continue,
            Some((_, true)) => {
                return Err(StoreError::Migrate(format!(
                    "migration {} ({}) was changed after it was applied",
                    migration.version, migration.description
                )));
            }
            Some((_, false)) => {
                return Err(StoreError::Migrate(format!(
                    "migration {} ({}) failed earlier and was left partly applied",
                    migration.version, migration.description
                )));
            }
            None => {}
        }
        let started = Instant::now();
        conn.execute_batch(migration.sql).map_err(|error| {
            StoreError::Migrate(format!(
                "migration {} ({}): {error}",
                migration.version, migration.description
            ))
        })?;
        if let Some(then) = migration.then {
            then(conn)?;
        }
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![
                migration.version,
                migration.description,
                checksum,
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("the migrations folder")
            .map(|entry| entry.expect("an entry").file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        for (file, migration) in files.iter().zip(MIGRATIONS) {
            let version: i64 = file[..4].parse().expect("a numbered file");
            assert_eq!(version, migration.version, "{file}");
            let description = file[5..file.len() - 4].replace('_', " ");
            assert_eq!(description, migration.description, "{file}");
        }
    }

    #[test]
    fn migrating_twice_applies_once_and_a_changed_file_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        run(&conn).unwrap();
        run(&conn).unwrap();
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, MIGRATIONS.len() as i64);
        conn.execute(
            "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1",
            [],
        )
        .unwrap();
        let refused = run(&conn).unwrap_err().to_string();
        assert!(
            refused.contains("changed after it was applied"),
            "{refused}"
        );
    }

    #[test]
    fn runs_from_before_fired_by_are_read_from_their_trigger_and_retry() {
        let conn = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS.iter().position(|m| m.version == 8).unwrap();
        apply(&conn, &MIGRATIONS[..before]).unwrap();
        // Runs only: their pilots do not matter here.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for (id, trigger, retry_of) in [
            (1, "manual", None),
            (2, "webhook", None),
            (3, "schedule", None),
            (4, "email", None),
            (5, "webhook", Some(2)),
        ] {
            conn.execute(
                "INSERT INTO runs (id, pilot_id, workspace_id, environment, status, \
                 trigger_type, payload, steps, created_at, retry_of) \
                 VALUES (?1, 1, 1, 'live', 'success', ?2, '{}', '[]', 0, ?3)",
                rusqlite::params![id, trigger, retry_of],
            )
            .unwrap();
        }
        run(&conn).unwrap();
        let mut read = conn
            .prepare("SELECT fired_by FROM runs ORDER BY id")
            .unwrap();
        let fired: Vec<String> = read
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(fired, ["api", "webhook", "schedule", "email", "retry"]);
    }
}
