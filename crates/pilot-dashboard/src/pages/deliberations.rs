//! Deliberations: submit one (question, mode, use case, difficulty), and its page —
//! synthesis, summary, confidence and the panel (each persona's answer and reviews),
//! and, while a `deliberation2` waits at a checkpoint, the checkpoint's choices as a
//! form (`respond`) — updated live while it runs: `GET /deliberations/{id}/live` follows the
//! deliberation's own event stream (`watch_deliberation`) and re-renders the page's
//! body after each event.

use std::convert::Infallible;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::Stream;
use pilot_domain::Channel;
use pilot_domain::deliberation::SubmissionBody;
use pilot_operations::deliberations::{CheckpointReply, DeliberationQuery, DeliberationWatch};
use pilot_operations::views::DeliberationView;
use pilot_operations::{Operations, Replayable};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{FlashQuery, flash};
use crate::render;
use crate::session::Signed;

#[derive(Deserialize)]
pub struct SubmitForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    use_case: String,
    #[serde(default)]
    difficulty: String,
}

fn field(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| Value::String(text.to_owned()))
}

/// `POST /deliberations`: submits, then shows it.
pub async fn submit(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<SubmitForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let body = SubmissionBody {
        question: field(&form.question),
        mode: field(&form.mode),
        use_case: field(&form.use_case),
        webhook_url: None,
        metadata: None,
        difficulty: field(&form.difficulty),
    };
    match ops
        .submit_deliberation(&signed.principal, Ok(body), None, Channel::Interactive)
        .await
        .result
    {
        Ok(Replayable::Fresh(accepted)) => {
            Redirect::to(&signed.link(&format!("/deliberations/{}", accepted.deliberation_id)))
                .into_response()
        }
        Ok(Replayable::Replayed(kept)) => Redirect::to(&signed.link(&format!(
            "/deliberations/{}",
            kept["deliberation_id"].as_str().unwrap_or_default()
        )))
        .into_response(),
        Err(error) => render::error_page(&error),
    }
}

fn with_panel() -> DeliberationQuery {
    DeliberationQuery {
        include: Some("panel".to_owned()),
    }
}

fn is_running(view: &DeliberationView) -> bool {
    matches!(view, DeliberationView::Pending(_))
}

/// `GET /deliberations/{id}`.
pub async fn show(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    match ops
        .get_deliberation(&signed.principal, &id, &with_panel())
        .await
        .result
    {
        Ok(view) => render::page(
            "deliberation.html",
            json!({"title": "Deliberation", "nav": "/deliberations", "signed_in": signed.view(),
                   "flash": flash(q.flash.as_deref()), "d": view, "live": is_running(&view)}),
        ),
        Err(error) => render::error_page(&error),
    }
}

/// `POST /deliberations/{id}/checkpoints/{checkpoint}`: a person's answer to a
/// `deliberation2` checkpoint — the form's fields as posted (an unticked box is
/// absent, so absent reads as unticked) — then the deliberation again, which goes
/// on live.
pub async fn respond(
    State(ops): State<Operations>,
    signed: Signed,
    Path((id, checkpoint)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = form
        .iter()
        .find(|(name, _)| name == "_csrf")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    if let Err(refused) = signed.check_csrf(csrf) {
        return refused.into_response();
    }
    let fields: Map<String, Value> = form
        .into_iter()
        .filter(|(name, _)| name != "_csrf")
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let reply = CheckpointReply::Form {
        fields,
        defaults: false,
    };
    match ops
        .respond_checkpoint(&signed.principal, &id, &checkpoint, reply)
        .await
        .result
    {
        Ok(_) => Redirect::to(&signed.link(&format!("/deliberations/{id}?flash=answered")))
            .into_response(),
        Err(error) => render::error_page(&error),
    }
}

/// `GET /deliberations/{id}/live`.
pub async fn live(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let watch = ops
        .watch_deliberation(&signed.principal, &id)
        .await
        .map_err(|error| render::error_page(&error))?;
    struct Follow {
        ops: Operations,
        signed: Signed,
        id: String,
        watch: DeliberationWatch,
        ended: bool,
    }
    let start = Follow {
        ops,
        signed,
        id,
        watch,
        ended: false,
    };
    let stream = futures::stream::unfold(start, |mut follow| async move {
        if follow.ended {
            return None;
        }
        let events = follow.watch.next().await;
        let view = follow
            .ops
            .get_deliberation(&follow.signed.principal, &follow.id, &with_panel())
            .await
            .result
            .ok()?;
        let running = is_running(&view);
        let html = render::fragment(
            "deliberation_body.html",
            json!({"d": view, "signed_in": follow.signed.view()}),
        );
        let mut out = vec![Ok(Event::default().event("update").data(html))];
        if events.is_none() || !running {
            follow.ended = true;
            out.push(Ok(Event::default().event("done").data("done")));
        }
        Some((futures::stream::iter(out), follow))
    });
    Ok(Sse::new(futures::StreamExt::flatten(stream)).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    before: Option<i64>,
    flash: Option<String>,
}

/// `GET /deliberations`: the submit form and the list, newest first.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let query = pilot_operations::dashboard::DeliberationsQuery {
        status: (!q.status.is_empty()).then(|| q.status.clone()),
        before: q.before,
        limit: Some(50),
    };
    let page = match ops.list_deliberations(&signed.principal, query).await {
        Ok(page) => page,
        Err(error) => return render::error_page(&error),
    };
    let balance = match ops.balance(&signed.principal).await {
        Ok(balance) => balance,
        Err(error) => return render::error_page(&error),
    };
    // What a submission reserves, shown beside the form (the API's own table).
    let pricing = match ops.pricing(&signed.principal) {
        Ok(pricing) => pricing,
        Err(error) => return render::error_page(&error),
    };
    render::page(
        "deliberations.html",
        json!({"title": "Deliberations", "nav": "/deliberations", "signed_in": signed.view(),
               "flash": flash(q.flash.as_deref()), "page": page, "balance": balance,
               "pricing": pricing,
               "filter": {"status": q.status},
               "statuses": ["queued", "running", "completed", "failed"]}),
    )
}
