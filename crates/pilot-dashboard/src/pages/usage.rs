//! Credits and usage: the environment's credit ledger, and model tokens and cost by
//! day and model over the last 30 days, drawn as bars (CSS widths set by a class per
//! tenth, no inline style: the Content-Security-Policy allows none).

use axum::extract::{Query, State};
use axum::response::Response;
use pilot_operations::Operations;
use serde::Deserialize;
use serde_json::json;

use crate::render;
use crate::session::Signed;

/// Days of usage shown.
const DAYS: u32 = 30;

#[derive(Deserialize, Default)]
pub struct LedgerQuery {
    before: Option<i64>,
}

/// `GET /usage`.
pub async fn show(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<LedgerQuery>,
) -> Response {
    let usage = match ops.usage_by_day(&signed.principal, DAYS).await {
        Ok(usage) => usage,
        Err(error) => return render::error_page(&error),
    };
    let ledger = match ops
        .tenant_credit_ledger(&signed.principal, q.before, Some(50))
        .await
    {
        Ok(ledger) => ledger,
        Err(error) => return render::error_page(&error),
    };
    let balance = match ops.balance(&signed.principal).await {
        Ok(balance) => balance,
        Err(error) => return render::error_page(&error),
    };
    // Each row's share of the largest day's tokens, in tenths, for its bar.
    let most = usage
        .days
        .iter()
        .map(|d| d.input_tokens + d.output_tokens)
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<_> = usage
        .days
        .iter()
        .map(|d| {
            let tokens = d.input_tokens + d.output_tokens;
            json!({"day": d.day, "model": d.model, "tokens": tokens, "cost": d.cost,
                   "tenths": (tokens * 10 + most - 1) / most})
        })
        .collect();
    render::page(
        "usage.html",
        json!({"title": "Credits and usage", "nav": "/usage", "signed_in": signed.view(),
               "usage": usage, "bars": bars, "ledger": ledger, "balance": balance, "days": DAYS}),
    )
}
