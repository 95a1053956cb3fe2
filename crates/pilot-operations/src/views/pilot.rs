//! Pilots as the Pilots surface shows them (seed 000): camelCase, integer ids, Unix
//! seconds.

use pilot_domain::{MasterKey, PilotStatus, Schedule, TriggerType, UnixMillis};
use pilot_store::PilotRecord;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A pilot as `GET /api/v1/pilots` lists it: the seed's fields.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PilotSummary {
    pub id: i64,
    /// When the last run was fired (Unix seconds), or `null`.
    pub last_run_at: Option<i64>,
    pub run_count: i64,
    /// `active` or `paused`.
    #[schema(value_type = PilotStatus)]
    pub status: String,
    pub title: String,
    /// `manual`, `webhook`, `schedule` or `email`.
    #[schema(value_type = TriggerType)]
    pub trigger_type: String,
}

impl PilotSummary {
    pub fn of(pilot: &PilotRecord) -> PilotSummary {
        PilotSummary {
            id: pilot.id.0,
            last_run_at: pilot.last_run_at.map(|t| t.as_secs()),
            run_count: pilot.run_count,
            status: pilot.status.as_str().to_owned(),
            title: pilot.title.clone(),
            trigger_type: pilot.trigger_type.as_str().to_owned(),
        }
    }
}

/// `{"pilots": [...]}`, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PilotList {
    pub pilots: Vec<PilotSummary>,
}

/// How many upcoming ticks a schedule shows.
const UPCOMING_TICKS: usize = 5;

/// A schedule trigger's settings and its next ticks.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    /// `one` or `none`: what happens to ticks no node fired on time.
    pub catch_up: String,
    pub cron: String,
    /// The next tick (Unix seconds), or `null` when it never fires again.
    pub next_run_at: Option<i64>,
    /// The next five ticks (Unix seconds) from `nextRunAt` on, as the scheduler will
    /// fire them (fewer when the expression stops firing).
    pub next_run_times: Vec<i64>,
    pub timezone: String,
}

/// A pilot with its steps and trigger settings. The webhook URL carries the
/// trigger's secret token: it is shown to the pilot's owners only.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PilotDetail {
    pub created_at: i64,
    pub description: String,
    /// The email trigger's address, for `triggerType: "email"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    pub id: i64,
    pub last_run_at: Option<i64>,
    /// In the create response only: the secrets the steps read (`secrets.NAME`)
    /// that the workspace environment does not have yet, by name. Runs fail at the
    /// step that reads one until it is set (`PUT /api/v1/secrets/{NAME}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_secrets: Option<Vec<String>>,
    /// Where run events are delivered, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    pub run_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleView>,
    #[schema(value_type = PilotStatus)]
    pub status: String,
    /// The step list, in the step catalog's schema.
    #[schema(schema_with = steps_schema_ref)]
    pub steps: Value,
    pub title: String,
    #[schema(value_type = TriggerType)]
    pub trigger_type: String,
    pub updated_at: i64,
    /// The webhook trigger's secret URL, for `triggerType: "webhook"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The webhook trigger's sender verification, without its secret:
    /// `{scheme, toleranceSecs, header?, encoding?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub webhook_verification: Option<serde_json::Value>,
}

/// Where a pilot's `steps` point in the OpenAPI document: the step catalog's own
/// JSON schema (`pilot_domain::step_schema::steps_schema`), which the document
/// installs under this name as it is, rather than a second description of it.
pub fn steps_schema_ref() -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name(STEPS_SCHEMA)
}

/// An optional `steps` (`null` is the same as leaving it out).
pub fn optional_steps_schema_ref() -> utoipa::openapi::Schema {
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(steps_schema_ref())
        .item(utoipa::openapi::schema::Object::with_type(
            utoipa::openapi::schema::Type::Null,
        ))
        .into()
}

/// The step catalog's name among the document's schemas.
pub const STEPS_SCHEMA: &str = "Steps";

/// What a pilot's links are built from.
#[derive(Clone, Copy, Debug)]
pub struct Links<'a> {
    pub master_key: &'a MasterKey,
    pub public_url: &'a str,
    pub mail_domain: &'a str,
}

impl PilotDetail {
    pub fn of(pilot: &PilotRecord, links: Links<'_>) -> PilotDetail {
        let schedule = match (&pilot.schedule_cron, &pilot.schedule_timezone) {
            (Some(cron), Some(timezone)) => Some(ScheduleView {
                catch_up: pilot.schedule_catch_up.as_str().to_owned(),
                cron: cron.clone(),
                next_run_at: pilot.next_fire_at.map(|t| t.as_secs()),
                next_run_times: match (Schedule::parse(cron, timezone), pilot.next_fire_at) {
                    (Ok(schedule), Some(first)) => schedule
                        .upcoming(first, UPCOMING_TICKS)
                        .into_iter()
                        .map(UnixMillis::as_secs)
                        .collect(),
                    _ => Vec::new(),
                },
                timezone: timezone.clone(),
            }),
            _ => None,
        };
        let webhook_url = pilot
            .webhook_token_sealed
            .as_deref()
            .and_then(|sealed| links.master_key.open(sealed).ok())
            .map(|token| {
                format!(
                    "{}/hooks/pilots/{token}",
                    links.public_url.trim_end_matches('/')
                )
            });
        PilotDetail {
            created_at: pilot.created_at.as_secs(),
            description: pilot.description.clone(),
            email_address: pilot
                .email_address
                .as_ref()
                .map(|local| format!("{local}@{}", links.mail_domain)),
            id: pilot.id.0,
            last_run_at: pilot.last_run_at.map(|t| t.as_secs()),
            missing_secrets: None,
            notify_url: pilot.notify_url.clone(),
            run_count: pilot.run_count,
            schedule,
            status: pilot.status.as_str().to_owned(),
            steps: pilot.steps.clone(),
            title: pilot.title.clone(),
            trigger_type: pilot.trigger_type.as_str().to_owned(),
            updated_at: pilot.updated_at.as_secs(),
            webhook_url,
            webhook_verification: pilot
                .webhook_verification
                .as_deref()
                .and_then(crate::triggers::webhook_verify::view),
        }
    }
}
