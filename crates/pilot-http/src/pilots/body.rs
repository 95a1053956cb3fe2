//! The request bodies of `POST` and `PATCH /api/v1/pilots`, and how they become
//! validated store values. Field names follow the seed (`triggerType`).

use std::time::Duration;

use pilot_domain::pilot::check_description;
use pilot_domain::{MasterKey, PilotStatus, Schedule, Steps, Title, TriggerType, UnixMillis};
use pilot_store::PilotTrigger;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePilot {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub trigger_type: Option<String>,
    pub status: Option<String>,
    pub steps: Option<Value>,
    pub schedule: Option<ScheduleBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePilot {
    pub title: Option<String>,
    pub description: Option<String>,
    pub trigger_type: Option<String>,
    pub status: Option<String>,
    pub steps: Option<Value>,
    pub schedule: Option<ScheduleBody>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    pub cron: String,
    #[serde(default)]
    pub timezone: String,
}

pub fn title(raw: &str) -> Result<String, ApiError> {
    Title::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(ApiError::validation)
}

pub fn description(raw: &str) -> Result<String, ApiError> {
    check_description(raw).map_err(ApiError::validation)?;
    Ok(raw.trim().to_owned())
}

pub fn trigger_type(raw: Option<&str>) -> Result<TriggerType, ApiError> {
    raw.map_or(Ok(TriggerType::Manual), |raw| {
        raw.parse().map_err(ApiError::validation)
    })
}

pub fn status(raw: Option<&str>) -> Result<PilotStatus, ApiError> {
    raw.map_or(Ok(PilotStatus::Active), |raw| {
        raw.parse().map_err(ApiError::validation)
    })
}

pub fn steps(raw: &Value) -> Result<Steps, ApiError> {
    Steps::parse(raw).map_err(|errors| ApiError::validation(format!("Invalid steps: {errors}")))
}

/// The trigger's stored settings: a schedule's next tick, a webhook's fresh secret
/// token (sealed; its digest for lookup), an email trigger's fresh address. A
/// schedule whose ticks can come closer than `min_interval` is refused.
pub fn trigger(
    trigger_type: TriggerType,
    schedule: Option<&ScheduleBody>,
    master_key: &MasterKey,
    now: UnixMillis,
    min_interval: Duration,
) -> Result<PilotTrigger, ApiError> {
    let mut trigger = PilotTrigger {
        trigger_type: Some(trigger_type),
        ..PilotTrigger::default()
    };
    if schedule.is_some() && trigger_type != TriggerType::Schedule {
        return Err(ApiError::validation(
            "schedule is only allowed with triggerType \"schedule\"",
        ));
    }
    match trigger_type {
        TriggerType::Manual => {}
        TriggerType::Schedule => {
            let body = schedule.ok_or_else(|| {
                ApiError::validation(
                    "triggerType \"schedule\" needs schedule: {\"cron\": \"0 9 * * 1\", \"timezone\": \"Europe/Paris\"}",
                )
            })?;
            let parsed =
                Schedule::parse(&body.cron, &body.timezone).map_err(ApiError::validation)?;
            parsed
                .check_min_interval(min_interval)
                .map_err(ApiError::validation)?;
            let next = parsed
                .next_after(now)
                .ok_or_else(|| ApiError::validation("schedule.cron never fires again"))?;
            trigger.schedule_cron = Some(parsed.expression().to_owned());
            trigger.schedule_timezone = Some(parsed.timezone().to_owned());
            trigger.next_fire_at = Some(next);
        }
        TriggerType::Webhook => {
            let token = format!("wh_{}", random_token(32));
            trigger.webhook_token_digest = Some(token_digest(&token));
            trigger.webhook_token_sealed = Some(master_key.seal(&token));
        }
        TriggerType::Email => {
            trigger.email_address = Some(format!("pilot-{}", random_token(16).to_lowercase()));
        }
    }
    Ok(trigger)
}

/// SHA-256 hex of a webhook token: what the store looks the pilot up by.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
