use async_trait::async_trait;
use pilot_domain::{Environment, UsageRecord};
use rusqlite::params;

use super::SqliteStore;
use super::row;
use crate::UsageStore;
use crate::error::StoreResult;
use crate::usage::{DAY_MS, SummaryRow, UsageQuery, UsageSummaryRow};

#[async_trait]
impl UsageStore for SqliteStore {
    async fn record_usage(&self, record: &UsageRecord) -> StoreResult<()> {
        let record = record.clone();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO model_usage (workspace_id, environment, owner_kind, owner_id, \
                     provider, model, input_tokens, output_tokens, usage_known, latency_ms, \
                     cost_micros, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        record.workspace_id.map(|w| w.0),
                        record.environment.map(Environment::as_str),
                        record.owner_kind,
                        record.owner_id,
                        record.provider,
                        record.model,
                        record.input_tokens,
                        record.output_tokens,
                        record.usage_known,
                        record.latency_ms,
                        record.cost.micros(),
                        record.created_at.0
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn usage_summary(&self, query: &UsageQuery) -> StoreResult<Vec<UsageSummaryRow>> {
        let query = query.clone();
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<SummaryRow>(
                    conn,
                    "SELECT created_at / ?1 AS day, provider, model, COUNT(*) AS calls, \
                     SUM(CASE WHEN usage_known THEN 0 ELSE 1 END) AS estimated_calls, \
                     SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, \
                     SUM(cost_micros) AS cost_micros \
                     FROM model_usage \
                     WHERE created_at >= ?2 AND (?3 IS NULL OR workspace_id = ?3) \
                     AND (?4 IS NULL OR environment = ?4) \
                     GROUP BY day, provider, model ORDER BY day, provider, model",
                    params![
                        DAY_MS,
                        query.since.0,
                        query.workspace_id.map(|w| w.0),
                        query.environment.map(Environment::as_str)
                    ],
                )
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
