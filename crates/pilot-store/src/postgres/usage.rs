use async_trait::async_trait;
use pilot_domain::{Environment, UsageRecord};

use super::PostgresStore;
use crate::UsageStore;
use crate::error::StoreResult;
use crate::usage::{DAY_MS, SummaryRow, UsageQuery, UsageSummaryRow};

#[async_trait]
impl UsageStore for PostgresStore {
    async fn record_usage(&self, record: &UsageRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO model_usage (workspace_id, environment, owner_kind, owner_id, provider, \
             model, input_tokens, output_tokens, usage_known, latency_ms, cost_micros, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn usage_summary(&self, query: &UsageQuery) -> StoreResult<Vec<UsageSummaryRow>> {
        // SUM over BIGINT is NUMERIC in PostgreSQL: cast back.
        let rows = sqlx::query_as::<_, SummaryRow>(
            "SELECT created_at / $1 AS day, provider, model, COUNT(*) AS calls, \
             COUNT(*) FILTER (WHERE NOT usage_known) AS estimated_calls, \
             SUM(input_tokens)::BIGINT AS input_tokens, \
             SUM(output_tokens)::BIGINT AS output_tokens, \
             SUM(cost_micros)::BIGINT AS cost_micros \
             FROM model_usage \
             WHERE created_at >= $2 AND ($3::BIGINT IS NULL OR workspace_id = $3) \
             AND ($4::TEXT IS NULL OR environment = $4) \
             GROUP BY day, provider, model ORDER BY day, provider, model",
        )
        .bind(DAY_MS)
        .bind(query.since.0)
        .bind(query.workspace_id.map(|w| w.0))
        .bind(query.environment.map(Environment::as_str))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
