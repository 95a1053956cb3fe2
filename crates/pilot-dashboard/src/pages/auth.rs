//! Signing in and out, the first owner's setup link, and password reset links.
//! Each form carries the pre-session CSRF token (double submit; see `session`), and
//! each `POST` calls one operation: `sign_in`, `complete_setup`, `complete_reset`,
//! `sign_out`, `sign_out_everywhere`.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pilot_operations::{OpError, Operations, SignedIn};
use serde::{Deserialize, Serialize};

use crate::render;
use crate::session::{self, Signed};

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    next: Option<String>,
}

#[derive(Serialize)]
struct FormPage<'a> {
    title: &'a str,
    action: &'a str,
    submit: &'a str,
    ask_email: bool,
    email: &'a str,
    token: &'a str,
    next: &'a str,
    csrf_token: String,
    error: Option<String>,
    signed_in: Option<()>,
}

fn form_page(mut page: FormPage<'_>, status: StatusCode) -> Response {
    let (token, cookie) = session::new_form_csrf();
    page.csrf_token = token;
    let mut response = render::page_with(status, "signin.html", &page);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

fn sign_in_form<'a>(next: &'a str, email: &'a str, error: Option<String>) -> FormPage<'a> {
    FormPage {
        title: "Sign in",
        action: "/signin",
        submit: "Sign in",
        ask_email: true,
        email,
        token: "",
        next,
        csrf_token: String::new(),
        error,
        signed_in: None,
    }
}

/// `GET /signin`.
pub async fn sign_in_page(signed: Option<Signed>, Query(query): Query<NextQuery>) -> Response {
    let next = session::safe_next(query.next.as_deref());
    if signed.is_some() {
        return Redirect::to(&next).into_response();
    }
    form_page(sign_in_form(&next, "", None), StatusCode::OK)
}

/// `POST /signin`.
pub async fn sign_in(
    State(ops): State<Operations>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    let next = session::safe_next(form.next.as_deref());
    if !session::form_csrf_ok(&headers, &form.csrf) {
        return session::csrf_refused();
    }
    match ops
        .sign_in(&form.email, &form.password, &peer.ip().to_string())
        .await
    {
        Ok(signed_in) => started(&ops, &signed_in, &next),
        Err(error) => refused(sign_in_form(&next, &form.email, None), &error),
    }
}

fn link_form<'a>(setup: bool, token: &'a str, error: Option<String>) -> FormPage<'a> {
    FormPage {
        title: if setup {
            "Create the first owner"
        } else {
            "Set your password"
        },
        action: if setup { "/setup" } else { "/reset" },
        submit: if setup {
            "Create owner and sign in"
        } else {
            "Set password and sign in"
        },
        ask_email: setup,
        email: "",
        token,
        next: "/",
        csrf_token: String::new(),
        error,
        signed_in: None,
    }
}

/// `GET /setup?token=…` and `GET /reset?token=…`: the link's form (the token is
/// checked when it is sent).
pub async fn setup_page(Query(query): Query<NextQuery>) -> Response {
    link_page(true, query)
}

pub async fn reset_page(Query(query): Query<NextQuery>) -> Response {
    link_page(false, query)
}

fn link_page(setup: bool, query: NextQuery) -> Response {
    match query.token.as_deref() {
        Some(token) if !token.is_empty() && token.len() <= 128 => {
            form_page(link_form(setup, token, None), StatusCode::OK)
        }
        _ => render::message(
            StatusCode::NOT_FOUND,
            "Link missing",
            "Open the whole link you were given; it ends with ?token=….",
        ),
    }
}

/// `POST /setup`.
pub async fn setup(
    State(ops): State<Operations>,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    if !session::form_csrf_ok(&headers, &form.csrf) {
        return session::csrf_refused();
    }
    match ops
        .complete_setup(&form.token, &form.email, &form.password)
        .await
    {
        Ok(signed_in) => started(&ops, &signed_in, "/"),
        Err(error) => refused(link_form(true, &form.token, None), &error),
    }
}

/// `POST /reset`.
pub async fn reset(
    State(ops): State<Operations>,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    if !session::form_csrf_ok(&headers, &form.csrf) {
        return session::csrf_refused();
    }
    match ops.complete_reset(&form.token, &form.password).await {
        Ok(signed_in) => started(&ops, &signed_in, "/"),
        Err(error) => refused(link_form(false, &form.token, None), &error),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    everywhere: Option<String>,
}

/// `POST /signout`: this session, or with `everywhere`, every session of the person.
pub async fn sign_out(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<SignOutForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let done = if form.everywhere.is_some() {
        ops.sign_out_everywhere(&signed.session).await.map(|_| ())
    } else {
        ops.sign_out(&signed.token).await
    };
    if let Err(error) = done {
        return render::error_page(&error);
    }
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::cleared_session_cookie());
    response
}

/// A session started: its cookie, then `next`.
fn started(ops: &Operations, signed_in: &SignedIn, next: &str) -> Response {
    let max_age = signed_in.expires_at - ops.now().as_secs();
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::session_cookie(&signed_in.token, max_age, signed_in.session.secure_cookie),
    );
    response
}

/// The form again, saying why, with the operation's status.
fn refused(mut page: FormPage<'_>, error: &OpError) -> Response {
    let status = render::status_of(error.kind);
    page.error = Some(error.message.clone());
    let mut response = form_page(page, status);
    if let Some(secs) = error.retry_after_secs
        && let Ok(value) = secs.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
