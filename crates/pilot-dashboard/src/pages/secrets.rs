//! Secrets: names only — set (or replace) and delete; values are write-only.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use pilot_operations::Operations;
use pilot_operations::secrets::PutSecret;
use serde::Deserialize;
use serde_json::json;

use super::pilots::redirect_or_error;
use super::{CsrfOnly, FlashQuery, flash};
use crate::render;
use crate::session::Signed;

/// `GET /secrets`.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<FlashQuery>,
) -> Response {
    match ops.list_secrets(&signed.principal).await {
        Ok(list) => render::page(
            "secrets.html",
            json!({"title": "Secrets", "nav": "/secrets", "signed_in": signed.view(),
                   "flash": flash(q.flash.as_deref()), "secrets": list}),
        ),
        Err(error) => render::error_page(&error),
    }
}

#[derive(Deserialize)]
pub struct SecretForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

/// `POST /secrets`: sets or replaces one.
pub async fn put(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<SecretForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops
        .put_secret(
            &signed.principal,
            &form.name,
            Ok(PutSecret { value: form.value }),
        )
        .await;
    redirect_or_error(done.map(|_| ()), &signed.link("/secrets?flash=saved"))
}

/// `POST /secrets/{name}/delete`.
pub async fn delete(
    State(ops): State<Operations>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops.delete_secret(&signed.principal, &name).await;
    redirect_or_error(done, &signed.link("/secrets?flash=deleted"))
}
