use async_trait::async_trait;
use pilot_domain::{Credits, Environment, UnixMillis, WorkspaceId};
use sqlx::PgConnection;

use super::PostgresStore;
use crate::deliberation_rows::{LedgerRow, ledger_columns};
use crate::deliberation_writes::{GRANT, Posting};
use crate::deliberations::{CreditStore, LedgerEntry};
use crate::error::StoreResult;

/// Adds a positive `posting` to the tenant's balance, creating the row on its first
/// credit, and appends its ledger entry; returns the new balance. Runs on `conn`
/// inside the caller's transaction.
pub(super) async fn credit(
    conn: &mut PgConnection,
    posting: &Posting<'_>,
    now: UnixMillis,
) -> StoreResult<Credits> {
    let balance: i64 = sqlx::query_scalar(
        "INSERT INTO credit_balances (workspace_id, environment, balance_micros) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (workspace_id, environment) \
         DO UPDATE SET balance_micros = credit_balances.balance_micros + excluded.balance_micros \
         RETURNING balance_micros",
    )
    .bind(posting.workspace_id.0)
    .bind(posting.environment.as_str())
    .bind(posting.amount.micros())
    .fetch_one(&mut *conn)
    .await?;
    append(conn, posting, balance, now).await
}

/// Takes a negative `posting` from the tenant's balance only if it covers it, and
/// appends its ledger entry; returns the new balance, or `None` (nothing written) if
/// the balance is short or the tenant has none.
pub(super) async fn debit(
    conn: &mut PgConnection,
    posting: &Posting<'_>,
    now: UnixMillis,
) -> StoreResult<Option<Credits>> {
    let balance: Option<i64> = sqlx::query_scalar(
        "UPDATE credit_balances SET balance_micros = balance_micros + $1 \
         WHERE workspace_id = $2 AND environment = $3 AND balance_micros + $1 >= 0 \
         RETURNING balance_micros",
    )
    .bind(posting.amount.micros())
    .bind(posting.workspace_id.0)
    .bind(posting.environment.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match balance {
        Some(balance) => Ok(Some(append(conn, posting, balance, now).await?)),
        None => Ok(None),
    }
}

async fn append(
    conn: &mut PgConnection,
    posting: &Posting<'_>,
    balance_after: i64,
    now: UnixMillis,
) -> StoreResult<Credits> {
    sqlx::query(
        "INSERT INTO credit_ledger (workspace_id, environment, amount_micros, kind, \
         deliberation_id, note, balance_after_micros, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(posting.workspace_id.0)
    .bind(posting.environment.as_str())
    .bind(posting.amount.micros())
    .bind(posting.kind)
    .bind(posting.deliberation_id.map(|id| id.as_str()))
    .bind(&posting.note)
    .bind(balance_after)
    .bind(now.0)
    .execute(conn)
    .await?;
    Ok(Credits::from_micros(balance_after))
}

/// The balance of a tenant, zero when it has no row, on any connection.
pub(super) async fn balance_of(
    conn: &mut PgConnection,
    workspace_id: WorkspaceId,
    environment: Environment,
) -> StoreResult<Credits> {
    let balance: Option<i64> = sqlx::query_scalar(
        "SELECT balance_micros FROM credit_balances WHERE workspace_id = $1 AND environment = $2",
    )
    .bind(workspace_id.0)
    .bind(environment.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(Credits::from_micros(balance.unwrap_or(0)))
}

#[async_trait]
impl CreditStore for PostgresStore {
    async fn balance(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Credits> {
        let mut conn = self.pool.acquire().await?;
        balance_of(&mut conn, workspace_id, environment).await
    }

    async fn grant_credits(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        amount: Credits,
        note: &str,
        now: UnixMillis,
    ) -> StoreResult<Credits> {
        let grant = Posting {
            workspace_id,
            environment,
            amount,
            kind: GRANT,
            deliberation_id: None,
            note: note.to_owned(),
        };
        let mut tx = self.pool.begin().await?;
        let balance = credit(&mut tx, &grant, now).await?;
        tx.commit().await?;
        Ok(balance)
    }

    async fn ledger_page(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let rows = sqlx::query_as::<_, LedgerRow>(concat!(
            "SELECT ",
            ledger_columns!(),
            " FROM credit_ledger WHERE workspace_id = $1 AND environment = $2 \
              AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
