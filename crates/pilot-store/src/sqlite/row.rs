//! Reading rows on a rusqlite connection: row structs by column name, and the few
//! query shapes every SQLite file uses, all through the connection's statement cache.

use rusqlite::types::FromSql;
use rusqlite::{Connection, OptionalExtension, Params, Row};

use crate::error::StoreResult;

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
        impl $crate::sqlite::row::FromSqliteRow for $row {
            fn from_sqlite_row(row: &::rusqlite::Row<'_>) -> ::rusqlite::Result<Self> {
                Ok($row { $($field: row.get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use from_sqlite_row;

/// The one row `sql` returns, as `T`.
pub(super) fn one<T: FromSqliteRow>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<T> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, T::from_sqlite_row)?)
}

/// The row `sql` returns, if any, as `T`.
pub(super) fn optional<T: FromSqliteRow>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<Option<T>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, T::from_sqlite_row)
        .optional()?)
}

/// Every row `sql` returns, as `T`.
pub(super) fn all<T: FromSqliteRow>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, T::from_sqlite_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Runs a statement that returns no rows; how many rows it changed.
pub(super) fn execute(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// The first column of the one row `sql` returns.
pub(super) fn scalar<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<T> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))?)
}

/// The first column of the row `sql` returns, if any.
pub(super) fn optional_scalar<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<Option<T>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))
        .optional()?)
}
