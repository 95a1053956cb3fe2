use async_trait::async_trait;
use pilot_domain::{Credits, Environment, UnixMillis, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::row;
use crate::deliberation_rows::{LedgerRow, ledger_columns};
use crate::deliberation_writes::{GRANT, Posting};
use crate::deliberations::{CreditStore, LedgerEntry};
use crate::error::StoreResult;

/// Adds a positive `posting` to the tenant's balance, creating the row on its first
/// credit, and appends its ledger entry; returns the new balance. Runs inside the
/// caller's write.
pub(super) fn credit(
    conn: &Connection,
    posting: &Posting<'_>,
    now: UnixMillis,
) -> StoreResult<Credits> {
    let balance: i64 = row::scalar(
        conn,
        "INSERT INTO credit_balances (workspace_id, environment, balance_micros) \
         VALUES (?1, ?2, ?3) \
         ON CONFLICT (workspace_id, environment) \
         DO UPDATE SET balance_micros = credit_balances.balance_micros + excluded.balance_micros \
         RETURNING balance_micros",
        params![
            posting.workspace_id.0,
            posting.environment.as_str(),
            posting.amount.micros()
        ],
    )?;
    append(conn, posting, balance, now)
}

/// Takes a negative `posting` from the tenant's balance only if it covers it, and
/// appends its ledger entry; returns the new balance, or `None` (nothing written) if
/// the balance is short or the tenant has none.
pub(super) fn debit(
    conn: &Connection,
    posting: &Posting<'_>,
    now: UnixMillis,
) -> StoreResult<Option<Credits>> {
    let balance: Option<i64> = row::optional_scalar(
        conn,
        "UPDATE credit_balances SET balance_micros = balance_micros + ?1 \
         WHERE workspace_id = ?2 AND environment = ?3 AND balance_micros + ?1 >= 0 \
         RETURNING balance_micros",
        params![
            posting.amount.micros(),
            posting.workspace_id.0,
            posting.environment.as_str()
        ],
    )?;
    balance
        .map(|balance| append(conn, posting, balance, now))
        .transpose()
}

fn append(
    conn: &Connection,
    posting: &Posting<'_>,
    balance_after: i64,
    now: UnixMillis,
) -> StoreResult<Credits> {
    row::execute(
        conn,
        "INSERT INTO credit_ledger (workspace_id, environment, amount_micros, kind, \
         deliberation_id, note, balance_after_micros, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            posting.workspace_id.0,
            posting.environment.as_str(),
            posting.amount.micros(),
            posting.kind,
            posting.deliberation_id.map(|id| id.as_str()),
            posting.note,
            balance_after,
            now.0
        ],
    )?;
    Ok(Credits::from_micros(balance_after))
}

/// The balance of a tenant, zero when it has no row, on any connection.
pub(super) fn balance_of(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
) -> StoreResult<Credits> {
    let balance: Option<i64> = row::optional_scalar(
        conn,
        "SELECT balance_micros FROM credit_balances WHERE workspace_id = ?1 AND environment = ?2",
        params![workspace_id.0, environment.as_str()],
    )?;
    Ok(Credits::from_micros(balance.unwrap_or(0)))
}

#[async_trait]
impl CreditStore for SqliteStore {
    async fn balance(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Credits> {
        self.readers
            .read(move |conn| balance_of(conn, workspace_id, environment))
            .await
    }

    async fn grant_credits(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        amount: Credits,
        note: &str,
        now: UnixMillis,
    ) -> StoreResult<Credits> {
        let note = note.to_owned();
        self.writer
            .write(move |conn| {
                let grant = Posting {
                    workspace_id,
                    environment,
                    amount,
                    kind: GRANT,
                    deliberation_id: None,
                    note,
                };
                credit(conn, &grant, now)
            })
            .await
    }

    async fn ledger_page(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<LedgerRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        ledger_columns!(),
                        " FROM credit_ledger WHERE workspace_id = ?1 AND environment = ?2 \
                          AND id < ?3 ORDER BY id DESC LIMIT ?4"
                    ),
                    params![
                        workspace_id.0,
                        environment.as_str(),
                        before.unwrap_or(i64::MAX),
                        i64::from(limit)
                    ],
                )
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
