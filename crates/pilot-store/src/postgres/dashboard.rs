//! The dashboard's tenant-wide reads on PostgreSQL: the shared queries of
//! `dashboard.rs`, bound and run on the pool. Deliberations page by `seq`
//! (migration `0013`).

use pilot_domain::{DeliberationStatus, Environment, WorkspaceId};
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::dashboard::{
    BuiltQuery, DeliberationSummaryRecord, DeliberationSummaryRow, RunSummaryRecord, RunSummaryRow,
    SqlValue, TenantRunsFilter, tenant_deliberations_query, tenant_runs_query,
};
use crate::error::StoreResult;

impl PostgresStore {
    async fn fetch_built<T>(&self, query: &BuiltQuery) -> StoreResult<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        // Built only from fixed fragments and numbered placeholders: every value is
        // bound.
        let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(query.sql.as_str()));
        for value in &query.values {
            q = match value {
                SqlValue::Int(n) => q.bind(*n),
                SqlValue::Text(s) => q.bind(*s),
            };
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub(super) async fn tenant_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        filter: &TenantRunsFilter,
        limit: u32,
    ) -> StoreResult<Vec<RunSummaryRecord>> {
        let query = tenant_runs_query('$', workspace_id, environment, filter, limit);
        let rows: Vec<RunSummaryRow> = self.fetch_built(&query).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(super) async fn tenant_deliberations(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        status: Option<DeliberationStatus>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<DeliberationSummaryRecord>> {
        let query = tenant_deliberations_query(
            '$',
            "seq",
            workspace_id,
            environment,
            status,
            before,
            limit,
        );
        let rows: Vec<DeliberationSummaryRow> = self.fetch_built(&query).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
