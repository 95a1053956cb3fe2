//! The dashboard's tenant-wide reads on SQLite: the shared queries of
//! `dashboard.rs`, bound and run on a read thread. Deliberations page by `rowid`.

use pilot_domain::{DeliberationStatus, Environment, WorkspaceId};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::SqliteStore;
use super::row;
use crate::dashboard::{
    BuiltQuery, DeliberationSummaryRecord, DeliberationSummaryRow, RunSummaryRecord, RunSummaryRow,
    SqlValue, TenantRunsFilter, tenant_deliberations_query, tenant_runs_query,
};
use crate::error::StoreResult;

fn values(query: &BuiltQuery) -> Vec<Value> {
    query
        .values
        .iter()
        .map(|v| match v {
            SqlValue::Int(n) => Value::Integer(*n),
            SqlValue::Text(s) => Value::Text((*s).to_owned()),
        })
        .collect()
}

impl SqliteStore {
    pub(super) async fn tenant_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        filter: &TenantRunsFilter,
        limit: u32,
    ) -> StoreResult<Vec<RunSummaryRecord>> {
        let query = tenant_runs_query('?', workspace_id, environment, filter, limit);
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<RunSummaryRow>(conn, &query.sql, params_from_iter(values(&query)))
            })
            .await?;
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
            '?',
            "rowid",
            workspace_id,
            environment,
            status,
            before,
            limit,
        );
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<DeliberationSummaryRow>(
                    conn,
                    &query.sql,
                    params_from_iter(values(&query)),
                )
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
