//! What a client sends to create or change a pilot (the seed's field names,
//! `triggerType`), and how it becomes validated store values. The REST surface and
//! MCP deserialize these same structs; the operations validate them.

use std::time::Duration;

use pilot_domain::deliberation::MAX_WEBHOOK_URL_CHARS;
use pilot_domain::pilot::check_description;
use pilot_domain::{
    CatchUp, MasterKey, PilotStatus, Schedule, Steps, Title, TriggerType, UnixMillis, WebhookToken,
    trigger_payload,
};
use pilot_store::PilotTrigger;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::OpError;
use crate::views::pilot::optional_steps_schema_ref;

/// `POST /api/v1/pilots`: a title, and a description to draft steps from — or the
/// steps themselves.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePilot {
    /// 1 to 200 characters once trimmed.
    #[schema(pattern = r"^\s*\S([\s\S]{0,198}\S)?\s*$")]
    pub title: String,
    /// Plain English: what the pilot should do. The AI drafts the steps from it
    /// unless `steps` are sent. At most 5,000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// `manual` (default), `webhook`, `schedule` or `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TriggerType>)]
    pub trigger_type: Option<String>,
    /// `active` (default) or `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PilotStatus>)]
    pub status: Option<String>,
    /// The step list, instead of drafting it, in the step catalog's schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = optional_steps_schema_ref)]
    pub steps: Option<Value>,
    /// For `triggerType: "schedule"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleBody>,
    /// For drafting a `webhook` or `manual` pilot: an example of the payload its
    /// runs will get (a JSON object, at most 16 KiB as JSON). The drafted steps read
    /// only the fields it has; without it they pass the whole payload to prompts
    /// (`{{ trigger | tojson }}`). Not kept; ignored when `steps` are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sample_payload: Option<Value>,
    /// Where each run's `run.completed` / `run.failed` event is delivered, signed
    /// with the workspace environment's signing secret: an `https://` URL (plain
    /// `http://` only on a server with `[webhooks] allow_http`), at most 2,048
    /// characters, whose host is no private, loopback or other special address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048, pattern = "^[hH][tT][tT][pP][sS]://")]
    pub notify_url: Option<String>,
    /// For `triggerType: "webhook"`: sender verification, a scheme and a write-only
    /// secret (see the README's Triggers), as on patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_verification: Option<crate::triggers::WebhookVerificationBody>,
}

/// `PATCH /api/v1/pilots/{id}`: any of the create fields; an absent one is left as
/// it is.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePilot {
    /// 1 to 200 characters once trimmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^\s*\S([\s\S]{0,198}\S)?\s*$")]
    pub title: Option<String>,
    /// At most 5,000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TriggerType>)]
    pub trigger_type: Option<String>,
    /// `active` or `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PilotStatus>)]
    pub status: Option<String>,
    /// The new step list, in the step catalog's schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = optional_steps_schema_ref)]
    pub steps: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleBody>,
    /// An example payload (a JSON object, at most 16 KiB as JSON) that the `steps`
    /// sent with it are checked against: each `trigger.<field>` they read must be in
    /// it. Not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sample_payload: Option<Value>,
    /// A new notify URL, as on create; `null` stops run events.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^[hH][tT][tT][pP][sS]://")]
    pub notify_url: Option<Option<String>>,
    /// `true` gives a webhook pilot a new secret token: the old `webhookUrl` stops
    /// answering at once (`404`), the new one is in the answer and in `GET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_webhook_token: Option<bool>,
    /// A webhook pilot's sender verification: a scheme and a write-only secret (see
    /// the README's Triggers); `null` removes it. A `POST` without a valid signature
    /// is then `401` and queues nothing.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub webhook_verification: Option<Option<crate::triggers::WebhookVerificationBody>>,
}

/// A field that was sent, `null` included (`Some(None)`); with `#[serde(default)]`
/// an absent one is `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A schedule trigger: a cron expression and its IANA time zone.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Five fields (minute hour day month weekday), e.g. `0 9 * * 1`.
    pub cron: String,
    /// An IANA zone such as `Europe/Paris`; empty is UTC.
    #[serde(default)]
    pub timezone: String,
    /// What happens to ticks no node fired on time (every node down): `one` (the
    /// default) fires the latest of them once, late; `none` skips them. A tick is
    /// missed when found more than 60 s late. Also accepted as `catch_up`.
    #[serde(
        default,
        rename = "catchUp",
        alias = "catch_up",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(pattern = "^(one|none)$")]
    pub catch_up: Option<String>,
}

/// Longest `samplePayload`, in bytes of JSON.
pub const MAX_SAMPLE_PAYLOAD_BYTES: usize = 16 * 1024;

/// A `samplePayload`: a JSON object of at most [`MAX_SAMPLE_PAYLOAD_BYTES`].
pub(crate) fn sample_payload(raw: Option<&Value>) -> Result<Option<&Value>, OpError> {
    let Some(sample) = raw else {
        return Ok(None);
    };
    if !sample.is_object() {
        return Err(OpError::validation("samplePayload must be a JSON object."));
    }
    if sample.to_string().len() > MAX_SAMPLE_PAYLOAD_BYTES {
        return Err(OpError::validation(format!(
            "samplePayload must be at most {MAX_SAMPLE_PAYLOAD_BYTES} bytes of JSON."
        )));
    }
    Ok(Some(sample))
}

/// Every template of `steps` checked (`pilot_domain::template_checks`) against what
/// `trigger_type`'s payload holds (the known keys of a schedule or email payload,
/// else `sample`): a `422` naming each step, field and variable that does not fit.
pub(crate) fn check_templates(
    steps: &Steps,
    trigger_type: TriggerType,
    sample: Option<&Value>,
) -> Result<(), OpError> {
    let shape = trigger_payload::checked_shape(trigger_type, sample.and_then(Value::as_object));
    let problems = pilot_domain::template_checks::check(steps, shape.as_ref());
    if problems.is_empty() {
        return Ok(());
    }
    Err(OpError::validation(format!(
        "The steps' templates do not fit: {}.",
        problems.join("; ")
    )))
}

pub(crate) fn title(raw: &str) -> Result<String, OpError> {
    Title::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(OpError::validation)
}

pub(crate) fn description(raw: &str) -> Result<String, OpError> {
    check_description(raw).map_err(OpError::validation)?;
    Ok(raw.trim().to_owned())
}

pub(crate) fn trigger_type(raw: Option<&str>) -> Result<TriggerType, OpError> {
    raw.map_or(Ok(TriggerType::Manual), |raw| {
        raw.parse().map_err(OpError::validation)
    })
}

pub(crate) fn status(raw: Option<&str>) -> Result<PilotStatus, OpError> {
    raw.map_or(Ok(PilotStatus::Active), |raw| {
        raw.parse().map_err(OpError::validation)
    })
}

/// `notifyUrl`'s length; its scheme and host are the webhook guard's
/// (`Operations::check_webhook_url`).
pub(crate) fn notify_url(raw: &str) -> Result<&str, OpError> {
    if raw.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(OpError::validation(format!(
            "notifyUrl must be at most {MAX_WEBHOOK_URL_CHARS} characters"
        )));
    }
    Ok(raw)
}

pub(crate) fn steps(raw: &Value) -> Result<Steps, OpError> {
    Steps::parse(raw).map_err(|errors| OpError::validation(format!("Invalid steps: {errors}")))
}

/// The trigger's stored settings: a schedule's next tick, a webhook's fresh secret
/// token (sealed; its digest for lookup), an email trigger's fresh address. A
/// schedule whose ticks can come closer than `min_interval` is refused.
pub(crate) fn trigger(
    trigger_type: TriggerType,
    schedule: Option<&ScheduleBody>,
    master_key: &MasterKey,
    now: UnixMillis,
    min_interval: Duration,
) -> Result<PilotTrigger, OpError> {
    let mut trigger = PilotTrigger {
        trigger_type: Some(trigger_type),
        ..PilotTrigger::default()
    };
    if schedule.is_some() && trigger_type != TriggerType::Schedule {
        return Err(OpError::validation(
            "schedule is only allowed with triggerType \"schedule\"",
        ));
    }
    match trigger_type {
        TriggerType::Manual => {}
        TriggerType::Schedule => {
            let body = schedule.ok_or_else(|| {
                OpError::validation(
                    "triggerType \"schedule\" needs schedule: {\"cron\": \"0 9 * * 1\", \"timezone\": \"Europe/Paris\"}",
                )
            })?;
            let parsed =
                Schedule::parse(&body.cron, &body.timezone).map_err(OpError::validation)?;
            parsed
                .check_min_interval(min_interval)
                .map_err(OpError::validation)?;
            let next = parsed
                .next_after(now)
                .ok_or_else(|| OpError::validation("schedule.cron never fires again"))?;
            trigger.schedule_cron = Some(parsed.expression().to_owned());
            trigger.schedule_timezone = Some(parsed.timezone().to_owned());
            trigger.schedule_catch_up = body
                .catch_up
                .as_deref()
                .map(CatchUp::parse)
                .transpose()
                .map_err(OpError::validation)?;
            trigger.next_fire_at = Some(next);
        }
        TriggerType::Webhook => {
            let token = WebhookToken::generate();
            trigger.webhook_token_digest = Some(token.digest());
            trigger.webhook_token_sealed = Some(master_key.seal(token.expose()));
        }
        TriggerType::Email => {
            trigger.email_address = Some(format!("pilot-{}", random_token(16).to_lowercase()));
        }
    }
    Ok(trigger)
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
