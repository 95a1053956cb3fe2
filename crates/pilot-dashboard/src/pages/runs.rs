//! A run: its steps with status, duration, attempts, output and error (long
//! outputs folded), updated live while it runs — `GET /runs/{id}/live` is a stream of
//! server-sent events, each the steps re-rendered (escaped here, like every page)
//! whenever the run changed, then `done` — and retried from the start or from the
//! failed step.

use std::convert::Infallible;
use std::time::Duration;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::Stream;
use pilot_operations::runs::RetryRequest;
use pilot_operations::{Operations, Replayable};
use serde::Deserialize;
use serde_json::json;

use super::{FlashQuery, flash};
use crate::render;
use crate::session::Signed;

/// How often a live run is looked at.
const LIVE_EVERY: Duration = Duration::from_millis(300);
/// How long one live stream lasts; the page reconnects after.
const LIVE_FOR: Duration = Duration::from_secs(600);

fn is_terminal(status: &str) -> bool {
    matches!(status, "success" | "failed" | "filtered")
}

/// `GET /runs/{id}`.
pub async fn show(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    match ops.get_run(&signed.principal, &id).await {
        Ok(run) => {
            let live = !is_terminal(&run.status);
            render::page(
                "run.html",
                json!({"title": format!("Run #{}", run.id), "nav": "/runs", "signed_in": signed.view(),
                       "flash": flash(q.flash.as_deref()), "run": run, "live": live}),
            )
        }
        Err(error) => render::error_page(&error),
    }
}

/// `GET /runs/{id}/live`.
pub async fn live(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    // The run must be the caller's before anything streams.
    ops.get_run(&signed.principal, &id)
        .await
        .map_err(|error| render::error_page(&error))?;
    let env_query = signed.view().env_query;
    struct Watch {
        ops: Operations,
        signed: Signed,
        id: String,
        last: Option<String>,
        ended: bool,
        until: tokio::time::Instant,
    }
    let start = Watch {
        ops,
        signed,
        id,
        last: None,
        ended: false,
        until: tokio::time::Instant::now() + LIVE_FOR,
    };
    let stream = futures::stream::unfold(start, move |mut watch| async move {
        loop {
            if watch.ended || tokio::time::Instant::now() >= watch.until {
                return None;
            }
            let run = match watch.ops.get_run(&watch.signed.principal, &watch.id).await {
                Ok(run) => run,
                Err(_) => return None,
            };
            let terminal = is_terminal(&run.status);
            let html = render::fragment(
                "run_steps.html",
                json!({"run": run, "signed_in": {"env_query": env_query}}),
            );
            if watch.last.as_deref() != Some(html.as_str()) {
                watch.last = Some(html.clone());
                watch.ended = terminal;
                let mut events = vec![Ok(Event::default().event("update").data(html))];
                if terminal {
                    events.push(Ok(Event::default().event("done").data("done")));
                }
                return Some((futures::stream::iter(events), watch));
            }
            if terminal {
                watch.ended = true;
                let done = vec![Ok(Event::default().event("done").data("done"))];
                return Some((futures::stream::iter(done), watch));
            }
            tokio::time::sleep(LIVE_EVERY).await;
        }
    });
    Ok(Sse::new(futures::StreamExt::flatten(stream)).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    from: String,
}

/// `POST /runs/{id}/retry`: from the start or from the failed step; shows the new run.
pub async fn retry(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RetryForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let request = RetryRequest {
        from: (!form.from.is_empty()).then_some(form.from),
    };
    match ops
        .retry_run(&signed.principal, &id, Ok(Some(request)), None)
        .await
        .result
    {
        Ok(Replayable::Fresh(queued)) => {
            Redirect::to(&signed.link(&format!("/runs/{}?flash=retried", queued.job_id)))
                .into_response()
        }
        Ok(Replayable::Replayed(kept)) => {
            Redirect::to(&signed.link(&format!("/runs/{}", kept["jobId"]))).into_response()
        }
        Err(error) => render::error_page(&error),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pilot: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    fired_by: String,
    #[serde(default)]
    trigger: String,
    /// `YYYY-MM-DD` (UTC), the first day shown.
    #[serde(default)]
    since: String,
    /// `YYYY-MM-DD` (UTC), the last day shown.
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

/// A `YYYY-MM-DD` day's first second (`end`: its last), UTC; a bad date is a 422.
fn day(raw: &str, what: &str, end: bool) -> Result<Option<i64>, pilot_operations::OpError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        pilot_operations::OpError::validation(format!(
            "{what} must be a date as YYYY-MM-DD, not {raw:?}"
        ))
    })?;
    let time = if end {
        date.and_hms_opt(23, 59, 59)
    } else {
        date.and_hms_opt(0, 0, 0)
    };
    Ok(time.map(|t| t.and_utc().timestamp()))
}

fn opt(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// `GET /runs`: across pilots, filtered by pilot, status, trigger, what fired it and
/// time, newest first, paged.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let query = (|| {
        Ok::<_, pilot_operations::OpError>(pilot_operations::dashboard::RunsQuery {
            pilot_id: match q.pilot.as_str() {
                "" => None,
                raw => Some(raw.parse().map_err(|_| {
                    pilot_operations::OpError::validation(format!(
                        "pilot must be a pilot id, not {raw:?}"
                    ))
                })?),
            },
            status: opt(&q.status),
            fired_by: opt(&q.fired_by),
            trigger_type: opt(&q.trigger),
            since: day(&q.since, "since", false)?,
            until: day(&q.until, "until", true)?,
            before: q.before,
            limit: Some(50),
        })
    })();
    let page = match query {
        Ok(query) => ops.list_all_runs(&signed.principal, query).await,
        Err(error) => Err(error),
    };
    let page = match page {
        Ok(page) => page,
        Err(error) => return render::error_page(&error),
    };
    let pilots = match ops.list_pilots(&signed.principal).await {
        Ok(pilots) => pilots,
        Err(error) => return render::error_page(&error),
    };
    render::page(
        "runs.html",
        json!({"title": "Runs", "nav": "/runs", "signed_in": signed.view(), "runs": page,
               "show_pilot": true, "pilots": pilots,
               "filter": {"pilot": q.pilot, "status": q.status, "fired_by": q.fired_by,
                          "trigger": q.trigger, "since": q.since, "until": q.until},
               "statuses": ["queued", "running", "waiting", "success", "failed", "filtered"],
               "fired_bys": ["api", "webhook", "schedule", "email", "retry"],
               "triggers": ["manual", "webhook", "schedule", "email"]}),
    )
}
