//! Pilots: the list, creating one from a description (the drafted steps shown, and
//! editable, before anything is saved), a pilot's page (steps, trigger, runs) and its
//! forms — steps, pause/resume, rotate the webhook URL, run now.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pilot_operations::pilots::{CreatePilot, DraftPilot, RunsQuery, ScheduleBody, UpdatePilot};
use pilot_operations::{OpError, Operations, Replayable};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CsrfOnly, FlashQuery, flash};
use crate::render;
use crate::session::Signed;

/// `GET /pilots`.
pub async fn list(
    State(ops): State<Operations>,
    signed: Signed,
    Query(q): Query<FlashQuery>,
) -> Response {
    match ops.list_pilots(&signed.principal).await {
        Ok(list) => render::page(
            "pilots.html",
            json!({"title": "Pilots", "nav": "/pilots", "signed_in": signed.view(),
                   "flash": flash(q.flash.as_deref()), "pilots": list}),
        ),
        Err(error) => render::error_page(&error),
    }
}

#[derive(Deserialize, Default)]
pub struct NewPilotForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    trigger_type: String,
    #[serde(default)]
    sample_payload: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    notify_url: String,
}

fn new_page(
    signed: &Signed,
    form: &NewPilotForm,
    drafted: Option<Value>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render::page_with(
        status,
        "pilot_new.html",
        json!({"title": "New pilot", "nav": "/pilots", "signed_in": signed.view(),
               "form": {"title": form.title, "description": form.description,
                        "trigger_type": if form.trigger_type.is_empty() { "manual" } else { form.trigger_type.as_str() },
                        "sample_payload": form.sample_payload, "cron": form.cron,
                        "timezone": form.timezone, "steps": form.steps, "notify_url": form.notify_url},
               "drafted": drafted, "error": error}),
    )
}

/// `GET /pilots/new`.
pub async fn new(signed: Signed) -> Response {
    new_page(
        &signed,
        &NewPilotForm::default(),
        None,
        None,
        StatusCode::OK,
    )
}

/// A JSON field of a form, or the 422 naming it.
fn json_field(name: &str, text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("{name} is not valid JSON: {e}"))
}

/// `POST /pilots/draft`: the drafter's steps, shown in the form, nothing saved.
pub async fn draft(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<NewPilotForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let sample = match json_field("Sample payload", &form.sample_payload) {
        Ok(sample) => sample,
        Err(message) => {
            return new_page(
                &signed,
                &form,
                None,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let request = DraftPilot {
        title: form.title.clone(),
        description: form.description.clone(),
        trigger_type: Some(trigger_of(&form)),
        sample_payload: sample,
    };
    match ops.draft_pilot(&signed.principal, request).await {
        Ok(drafted) => {
            let steps = serde_json::to_string_pretty(&drafted.steps).unwrap_or_default();
            let shown = NewPilotForm { steps, ..form };
            new_page(
                &signed,
                &shown,
                Some(json!({"missing_secrets": drafted.missing_secrets})),
                None,
                StatusCode::OK,
            )
        }
        Err(error) => new_page(
            &signed,
            &form,
            None,
            Some(error.message),
            render::status_of(error.kind),
        ),
    }
}

fn trigger_of(form: &NewPilotForm) -> String {
    if form.trigger_type.is_empty() {
        "manual".to_owned()
    } else {
        form.trigger_type.clone()
    }
}

/// `POST /pilots`: saves the pilot with the steps in the form.
pub async fn create(
    State(ops): State<Operations>,
    signed: Signed,
    Form(form): Form<NewPilotForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let parsed = json_field("Steps", &form.steps).and_then(|steps| {
        json_field("Sample payload", &form.sample_payload).map(|sample| (steps, sample))
    });
    let (steps, sample_payload) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            return new_page(
                &signed,
                &form,
                None,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let trigger_type = trigger_of(&form);
    let schedule = (trigger_type == "schedule").then(|| ScheduleBody {
        cron: form.cron.clone(),
        timezone: form.timezone.clone(),
        catch_up: None,
    });
    let request = CreatePilot {
        title: form.title.clone(),
        description: form.description.clone(),
        trigger_type: Some(trigger_type),
        status: None,
        steps,
        schedule,
        sample_payload,
        notify_url: (!form.notify_url.trim().is_empty()).then(|| form.notify_url.trim().to_owned()),
        webhook_verification: None,
    };
    match ops
        .create_pilot(&signed.principal, Ok(request), None)
        .await
        .result
    {
        Ok(created) => {
            let id = created.to_json()["id"].as_i64().unwrap_or_default();
            Redirect::to(&signed.link(&format!("/pilots/{id}?flash=created"))).into_response()
        }
        Err(error) => new_page(
            &signed,
            &form,
            None,
            Some(error.message),
            render::status_of(error.kind),
        ),
    }
}

/// `GET /pilots/{id}`.
pub async fn show(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    pilot_page(
        &ops,
        &signed,
        &id,
        flash(q.flash.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

async fn pilot_page(
    ops: &Operations,
    signed: &Signed,
    id: &str,
    flash: Option<Value>,
    steps_error: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let pilot = match ops.get_pilot(&signed.principal, id).await {
        Ok(pilot) => pilot,
        Err(error) => return render::error_page(&error),
    };
    let runs = match ops
        .list_runs(&signed.principal, id, &RunsQuery::default())
        .await
    {
        Ok(runs) => runs,
        Err(error) => return render::error_page(&error),
    };
    let (steps_text, steps_error) = match steps_error {
        Some((text, error)) => (text, Some(error)),
        None => (
            serde_json::to_string_pretty(&pilot.steps).unwrap_or_default(),
            None,
        ),
    };
    render::page_with(
        status,
        "pilot.html",
        json!({"title": pilot.title, "nav": "/pilots", "signed_in": signed.view(), "flash": flash,
               "pilot": pilot, "runs": runs, "steps_text": steps_text, "steps_error": steps_error}),
    )
}

#[derive(Deserialize)]
pub struct StepsForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    steps: String,
}

/// `POST /pilots/{id}/steps`: new steps, validated as the API does; problems shown
/// beside the editor.
pub async fn save_steps(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<StepsForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let steps = match json_field("Steps", &form.steps) {
        Ok(Some(steps)) => steps,
        Ok(None) => json!([]),
        Err(message) => {
            return pilot_page(
                &ops,
                &signed,
                &id,
                None,
                Some((form.steps, message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let request = UpdatePilot {
        steps: Some(steps),
        ..UpdatePilot::default()
    };
    match ops.update_pilot(&signed.principal, &id, Ok(request)).await {
        Ok(_) => Redirect::to(&signed.link(&format!("/pilots/{id}?flash=saved"))).into_response(),
        Err(error) => {
            let status = render::status_of(error.kind);
            pilot_page(
                &ops,
                &signed,
                &id,
                None,
                Some((form.steps, error.message)),
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    status: String,
}

/// `POST /pilots/{id}/status`: pause or resume.
pub async fn set_status(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let flash = if form.status == "paused" {
        "paused"
    } else {
        "resumed"
    };
    let request = UpdatePilot {
        status: Some(form.status),
        ..UpdatePilot::default()
    };
    redirect_or_error(
        ops.update_pilot(&signed.principal, &id, Ok(request))
            .await
            .map(|_| ()),
        &signed.link(&format!("/pilots/{id}?flash={flash}")),
    )
}

/// `POST /pilots/{id}/rotate`: a new webhook URL; the old one stops at once.
pub async fn rotate(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let request = UpdatePilot {
        rotate_webhook_token: Some(true),
        ..UpdatePilot::default()
    };
    redirect_or_error(
        ops.update_pilot(&signed.principal, &id, Ok(request))
            .await
            .map(|_| ()),
        &signed.link(&format!("/pilots/{id}?flash=rotated")),
    )
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    payload: String,
}

/// `POST /pilots/{id}/run`: runs it with the payload given, then shows the run.
pub async fn run(
    State(ops): State<Operations>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RunForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let payload = json_field("Payload", &form.payload).map_err(OpError::validation);
    let answer = ops.run_pilot(&signed.principal, &id, payload, None).await;
    match answer.result {
        Ok(Replayable::Fresh(queued)) => {
            Redirect::to(&signed.link(&format!("/runs/{}", queued.job_id))).into_response()
        }
        Ok(Replayable::Replayed(kept)) => {
            Redirect::to(&signed.link(&format!("/runs/{}", kept["jobId"]))).into_response()
        }
        Err(error) => render::error_page(&error),
    }
}

/// After a form: back to `to`, or the refusal as a page.
pub fn redirect_or_error(done: Result<(), OpError>, to: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(to).into_response(),
        Err(error) => render::error_page(&error),
    }
}
