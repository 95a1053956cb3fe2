//! How the shared row structs (`rows.rs`, `pilot_rows.rs`, `deliberation_rows.rs`,
//! `usage.rs`) are read on each backend, so that neither backend's module is where
//! the other's decoding lives.
//!
//! A row struct names its fields as the columns its queries select and is read two
//! ways: on PostgreSQL by `#[derive(sqlx::FromRow)]`, on SQLite by [`FromSqliteRow`],
//! which [`from_sqlite_row!`] implements by column name beside the struct (so its
//! fields stay private). Both backends depend on this module and on the row structs;
//! the row structs depend on no backend. What each backend then does with a row
//! (`sqlite/row.rs`'s statement helpers, sqlx's `query_as`) stays in the backend.

use rusqlite::Row;
use rusqlite::types::FromSql;

/// A row struct read from a SQLite row by column name.
pub(crate) trait FromSqliteRow: Sized {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

/// A pair of columns, by position.
impl<A: FromSql, B: FromSql> FromSqliteRow for (A, B) {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

/// Implements [`FromSqliteRow`] for a struct whose fields are named as the columns
/// its queries select. Invoked beside the struct, so its fields may stay private.
macro_rules! from_sqlite_row {
    ($row:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::row_decode::FromSqliteRow for $row {
            fn from_sqlite_row(row: &::rusqlite::Row<'_>) -> ::rusqlite::Result<Self> {
                Ok($row { $($field: row.get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use from_sqlite_row;
