//! Reading rows on a rusqlite connection: the few query shapes every SQLite file
//! uses, all through the connection's statement cache. Row structs say how they are
//! read ([`FromSqliteRow`], in the shared `row_decode.rs`).

use rusqlite::types::FromSql;
use rusqlite::{Connection, OptionalExtension, Params};

use crate::error::StoreResult;
use crate::row_decode::FromSqliteRow;

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

/// The first column of every row `sql` returns.
pub(super) fn column<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
