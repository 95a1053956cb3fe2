//! Account → API keys (owners): create one (scopes, environment, name) and see it and
//! its webhook secret once, list them with their prefix, revoke, and rotate (a new
//! key at once; the old one revoked after a confirmation). Members of the workspace:
//! the list, and invitations (a set-password link shown once).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pilot_domain::{Environment, Role, Scope, Scopes};
use pilot_operations::{NewKey, OpError, Operations};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pilots::redirect_or_error;
use super::{CsrfOnly, FlashQuery, flash};
use crate::render;
use crate::session::Signed;

async fn keys_page(
    ops: &Operations,
    signed: &Signed,
    flash: Option<Value>,
    issued: Option<Value>,
    status: StatusCode,
) -> Response {
    let keys = match ops.owner_list_keys(&signed.session).await {
        Ok(keys) => keys,
        Err(error) => return render::error_page(&error),
    };
    let members = match ops.owner_list_members(&signed.session).await {
        Ok(members) => members,
        Err(error) => return render::error_page(&error),
    };
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    render::page_with(
        status,
        "keys.html",
        json!({"title": "API keys", "nav": "/keys", "signed_in": signed.view(), "flash": flash,
               "keys": keys, "members": members, "issued": issued, "scopes": scopes}),
    )
}

/// `GET /keys`.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<FlashQuery>,
) -> Response {
    keys_page(
        &ops,
        &signed,
        flash(q.flash.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    environment: String,
    /// Each checked scope (`scope=pilots:read&scope=…`), collected by hand: a form
    /// may repeat a name.
    #[serde(default)]
    scopes: String,
}

fn environment(raw: &str) -> Result<Environment, OpError> {
    match raw {
        "live" => Ok(Environment::Live),
        "test" => Ok(Environment::Test),
        other => Err(OpError::validation(format!(
            "environment must be live or test, not {other:?}"
        ))),
    }
}

/// The answer to a new key: the page with the key and secret shown this once.
async fn issued(
    ops: &Operations,
    signed: &Signed,
    request: NewKey,
    rotated_from: Option<i64>,
) -> Response {
    match ops.owner_issue_key(&signed.session, request).await {
        Ok(issued) => {
            let mut shown = serde_json::to_value(&issued).unwrap_or(Value::Null);
            shown["rotated_from"] = json!(rotated_from);
            keys_page(ops, signed, None, Some(shown), StatusCode::OK).await
        }
        Err(error) => render::error_page(&error),
    }
}

/// `POST /keys`.
pub async fn create(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<NewKeyForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let request = environment(&form.environment).and_then(|environment| {
        let scopes = if form.scopes.trim().is_empty() {
            Ok(Scopes::all())
        } else {
            Scopes::parse(&form.scopes).map_err(|e| OpError::validation(e.to_string()))
        }?;
        Ok(NewKey {
            environment,
            name: form.name.clone(),
            scopes,
        })
    });
    match request {
        Ok(request) => issued(&ops, &signed, request, None).await,
        Err(error) => render::error_page(&error),
    }
}

/// `POST /keys/{id}/rotate`: a new key like the old one, shown once; the old one
/// stays until the owner confirms its revocation on that page.
pub async fn rotate(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let keys = match ops.owner_list_keys(&signed.session).await {
        Ok(keys) => keys,
        Err(error) => return render::error_page(&error),
    };
    let Some(old) = keys
        .keys
        .iter()
        .find(|k| k.id == id && k.revoked_at.is_none())
    else {
        return render::error_page(&OpError::not_found("No such active key in this workspace."));
    };
    let request = environment(&old.environment).and_then(|environment| {
        let scopes =
            Scopes::parse(&old.scopes.join(" ")).map_err(|e| OpError::validation(e.to_string()))?;
        Ok(NewKey {
            environment,
            name: old.name.clone(),
            scopes,
        })
    });
    match request {
        Ok(request) => issued(&ops, &signed, request, Some(id)).await,
        Err(error) => render::error_page(&error),
    }
}

/// `POST /keys/{id}/revoke`.
pub async fn revoke(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops.owner_revoke_key(&signed.session, id).await.map(|_| ());
    redirect_or_error(done, &signed.link("/keys?flash=revoked"))
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /members`: an invitation; its link shown once.
pub async fn invite(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<InviteForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let role = if form.role == "owner" {
        Role::Owner
    } else {
        Role::Member
    };
    match ops.owner_invite(&signed.session, &form.email, role).await {
        Ok(link) => render::page(
            "message.html",
            json!({"title": "Invitation", "signed_in": signed.view(), "nav": "/keys",
                   "message": format!("Send {} this link to set a password (it works once, until it expires):", form.email),
                   "link": {"href": link.url, "text": link.url}}),
        ),
        Err(error) => render::error_page(&error),
    }
}

/// `POST /members/{id}/disable`.
pub async fn disable_member(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = ops.owner_disable_member(&signed.session, id).await;
    redirect_or_error(done, &signed.link("/keys?flash=disabled"))
}
