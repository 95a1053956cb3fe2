//! Throwaway PostgreSQL databases, for tests and benchmarks: created on a server with
//! a unique name, dropped (`WITH (FORCE)`) when done.

use sqlx::{Connection, PgConnection};

use crate::error::StoreResult;

pub struct ScratchDatabase {
    server_url: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates `pilot_<label>_<random>` on the server at `server_url`.
    pub async fn create(server_url: &str, label: &str) -> StoreResult<ScratchDatabase> {
        let suffix: u64 = rand_suffix();
        let name = format!("pilot_{label}_{suffix:016x}");
        let mut admin = PgConnection::connect(server_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await.ok();
        Ok(ScratchDatabase {
            server_url: server_url.to_owned(),
            name,
        })
    }

    /// A URL that opens this database.
    pub fn url(&self) -> String {
        with_database(&self.server_url, &self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending any connections still open to it.
    pub async fn drop_database(self) -> StoreResult<()> {
        drop_database(&self.server_url, &self.name).await
    }
}

pub async fn drop_database(server_url: &str, name: &str) -> StoreResult<()> {
    let mut admin = PgConnection::connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await.ok();
    Ok(())
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_database(server_url: &str, database: &str) -> String {
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
