//! Webhook deliveries: filtered by state and endpoint, each attempt's status,
//! latency and response excerpt, replay one, recover an endpoint since a time,
//! re-enable a disabled endpoint. The operations are the Deliberations surface's
//! webhook management (`list_deliveries`, `get_delivery`, `replay_delivery`,
//! `recover_endpoint`, `enable_endpoint`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use pilot_operations::Operations;
use pilot_operations::webhooks::{DeliveriesQuery, RecoverRequest};
use serde::Deserialize;
use serde_json::json;

use super::pilots::redirect_or_error;
use super::{CsrfOnly, flash};
use crate::render;
use crate::session::Signed;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    endpoint: String,
    before: Option<String>,
    flash: Option<String>,
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// `GET /deliveries`.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let query = DeliveriesQuery {
        status: non_empty(&q.status),
        endpoint: non_empty(&q.endpoint),
        before: q.before.clone(),
        limit: Some("50".to_owned()),
    };
    let page = match ops.list_deliveries(&signed.principal, &query).await {
        Ok(page) => page,
        Err(error) => return render::error_page(&error),
    };
    let endpoints = match ops.list_endpoints(&signed.principal).await {
        Ok(endpoints) => endpoints,
        Err(error) => return render::error_page(&error),
    };
    render::page(
        "deliveries.html",
        json!({"title": "Webhook deliveries", "nav": "/deliveries", "signed_in": signed.view(),
               "flash": flash(q.flash.as_deref()), "page": page, "endpoints": endpoints,
               "filter": {"status": q.status, "endpoint": q.endpoint},
               "states": ["pending", "succeeded", "failed", "dead", "disabled"]}),
    )
}

/// `GET /deliveries/{id}`.
pub async fn show(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    match ops.get_delivery(&signed.principal, &id).await {
        Ok(delivery) => render::page(
            "delivery.html",
            json!({"title": format!("Delivery {id}"), "nav": "/deliveries", "signed_in": signed.view(),
                   "flash": flash(q.flash.as_deref()), "delivery": delivery}),
        ),
        Err(error) => render::error_page(&error),
    }
}

/// `POST /deliveries/{id}/replay`.
pub async fn replay(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops
        .replay_delivery(&signed.principal, &id, None)
        .await
        .result;
    redirect_or_error(
        done.map(|_| ()),
        &signed.link(&format!("/deliveries/{id}?flash=replayed")),
    )
}

#[derive(Deserialize)]
pub struct RecoverForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    since: String,
}

/// `POST /endpoints/{id}/recover`: failed deliveries since `since` go out again.
pub async fn recover(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RecoverForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let request = RecoverRequest { since: form.since };
    let done = ops
        .recover_endpoint(&signed.principal, &id, Ok(request), None)
        .await
        .result;
    redirect_or_error(
        done.map(|_| ()),
        &signed.link("/deliveries?flash=recovered"),
    )
}

/// `POST /endpoints/{id}/enable`.
pub async fn enable(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops
        .enable_endpoint(&signed.principal, &id, None)
        .await
        .result;
    redirect_or_error(done.map(|_| ()), &signed.link("/deliveries?flash=enabled"))
}
