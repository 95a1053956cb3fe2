//! The overview: balances (live and test), recent runs and deliberations, and
//! webhook endpoints that are failing or disabled.

use axum::extract::State;
use axum::response::Response;
use pilot_domain::Environment;
use pilot_operations::Operations;
use serde_json::json;

use crate::render;
use crate::session::Signed;

/// `GET /`.
pub async fn show(State(ops): State<Operations>, signed: Signed) -> Response {
    let other = match signed.environment {
        Environment::Live => Environment::Test,
        Environment::Test => Environment::Live,
    };
    let other_principal = match ops.dashboard_principal(&signed.session, other).await {
        Ok(principal) => principal,
        Err(error) => return render::error_page(&error),
    };
    let who = &signed.principal;
    let runs_query = pilot_operations::dashboard::RunsQuery {
        pilot_id: None,
        status: None,
        fired_by: None,
        trigger_type: None,
        since: None,
        until: None,
        before: None,
        limit: Some(10),
    };
    let deliberations_query = pilot_operations::dashboard::DeliberationsQuery {
        status: None,
        before: None,
        limit: Some(10),
    };
    let (balance, other_balance, runs, deliberations, failing) = tokio::join!(
        ops.balance(who),
        ops.balance(&other_principal),
        ops.list_all_runs(who, runs_query),
        ops.list_deliberations(who, deliberations_query),
        ops.failing_endpoints(who),
    );
    let result = (|| {
        Ok::<_, pilot_operations::OpError>((
            balance?,
            other_balance?,
            runs?,
            deliberations?,
            failing?,
        ))
    })();
    match result {
        Ok((balance, other_balance, runs, deliberations, failing)) => render::page(
            "overview.html",
            json!({"title": "Overview", "nav": "/", "signed_in": signed.view(),
                   "balances": [balance, other_balance], "runs": runs, "show_pilot": true,
                   "deliberations": deliberations, "failing": failing}),
        ),
        Err(error) => render::error_page(&error),
    }
}
