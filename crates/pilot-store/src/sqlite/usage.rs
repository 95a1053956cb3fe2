use async_trait::async_trait;
use pilot_domain::{Environment, UsageRecord};

use super::SqliteStore;
use crate::UsageStore;
use crate::error::StoreResult;
use crate::usage::{DAY_MS, SummaryRow, UsageQuery, UsageSummaryRow};

#[async_trait]
impl UsageStore for SqliteStore {
    async fn record_usage(&self, record: &UsageRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO model_usage (workspace_id, environment, owner_kind, owner_id, provider, \
             model, input_tokens, output_tokens, usage_known, latency_ms, cost_micros, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(record.workspace_id.map(|w| w.0))
        .bind(record.environment.map(Environment::as_str))
        .bind(&record.owner_kind)
        .bind(&record.owner_id)
        .bind(&record.provider)
        .bind(&record.model)
        .bind(record.input_tokens)
        .bind(record.output_tokens)
        .bind(record.usage_known)
        .bind(record.latency_ms)
        .bind(record.cost.micros())
        .bind(record.created_at.0)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn usage_summary(&self, query: &UsageQuery) -> StoreResult<Vec<UsageSummaryRow>> {
        let rows = sqlx::query_as::<_, SummaryRow>(
            "SELECT created_at / ? AS day, provider, model, COUNT(*) AS calls, \
             SUM(CASE WHEN usage_known THEN 0 ELSE 1 END) AS estimated_calls, \
             SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, \
             SUM(cost_micros) AS cost_micros \
             FROM model_usage \
             WHERE created_at >= ? AND (? IS NULL OR workspace_id = ?) \
             AND (? IS NULL OR environment = ?) \
             GROUP BY day, provider, model ORDER BY day, provider, model",
        )
        .bind(DAY_MS)
        .bind(query.since.0)
        .bind(query.workspace_id.map(|w| w.0))
        .bind(query.workspace_id.map(|w| w.0))
        .bind(query.environment.map(Environment::as_str))
        .bind(query.environment.map(Environment::as_str))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
