//! Webhooks out (DESIGN §6, the Deliberations document §5): what a delivery is, how
//! it is signed, and when a failed one is tried again.
//!
//! * An **event** (`evt_…`) is a terminal state worth telling someone about:
//!   `deliberation.completed` / `deliberation.failed`, and `run.completed` /
//!   `run.failed` for pilots with a `notifyUrl`. Its id is the receivers'
//!   deduplication key: the same on every attempt (`X-Pilot5-Event-Id`,
//!   `webhook-id`).
//! * A **delivery** (`dlv_…`) sends one event to one URL; an **attempt** is one
//!   `POST` of it. Attempts are signed afresh, each with its own timestamp
//!   ([`signature`]).
//! * An **endpoint** (`wep_…`) is a workspace + environment + URL: what is disabled
//!   after [`AUTO_DISABLE_AFTER`] consecutive failed attempts or a `410 Gone`.
//!
//! [`retry`] holds the schedule and the response policy. Nothing here does I/O.

pub mod body;
pub mod retry;
pub mod signature;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::deliberation::named_enum;

pub use body::{DeliberationEventData, EventBody, RunEventData};
pub use retry::{
    AUTO_DISABLE_AFTER, MAX_RETRY_AFTER_MS, RETRY_DELAYS_MS, Verdict, next_attempt_delay_ms,
    verdict,
};
pub use signature::{SignatureError, Signed, sign};

/// The User-Agent of every delivery, as §5 shows it.
pub const USER_AGENT: &str = "Pilot5-Webhook/1.0";
/// Longest an attempt may take for its 2xx to count (§5: "within 10 seconds").
pub const ATTEMPT_TIMEOUT_MS: u64 = 10_000;
/// Most response-body bytes an attempt keeps for the record.
pub const RESPONSE_EXCERPT_BYTES: usize = 2 * 1024;
/// How far back `recover` may reach.
pub const RECOVER_MAX_AGE_MS: i64 = 14 * 24 * 3_600_000;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The id of a ULID's 26-character Crockford base32 text.
            pub fn from_ulid_text(ulid: &str) -> $name {
                $name(format!("{}{ulid}", $prefix))
            }

            /// The prefix and a ULID as we write them, or no id of ours (answered as
            /// an unknown one): one spelling per id.
            pub fn parse(raw: &str) -> Option<$name> {
                let body = raw.strip_prefix($prefix)?;
                is_ulid_text(body).then(|| $name(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .examples([concat!($prefix, "01HV4Z2X8Q9T7M3N5P6R8S0W2Y")])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

prefixed_id!(
    /// A terminal event, the receivers' deduplication key.
    EventId,
    "evt_"
);
prefixed_id!(
    /// One event on its way to one URL (`X-Pilot5-Delivery-Id`).
    DeliveryId,
    "dlv_"
);
prefixed_id!(
    /// A workspace + environment + URL that deliveries go to.
    EndpointId,
    "wep_"
);

/// 26 upper-case Crockford base32 characters, the first `0`–`7`.
fn is_ulid_text(body: &str) -> bool {
    let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
    body.len() == 26
        && body.starts_with(|c: char| ('0'..='7').contains(&c))
        && body.chars().all(crockford)
}

named_enum!(
    /// What happened (`X-Pilot5-Event`, the body's `event`).
    EventKind {
        DeliberationCompleted => "deliberation.completed",
        DeliberationFailed => "deliberation.failed",
        RunCompleted => "run.completed",
        RunFailed => "run.failed",
    } "event"
);

named_enum!(
    /// Where a delivery stands. `pending`: an attempt is due or will be;
    /// `succeeded`: a 2xx came back; `failed`: a response that is not retried (4xx
    /// but 408/429, 3xx); `dead`: the last retry failed; `disabled`: its endpoint is
    /// disabled, and it waits to go out when the endpoint is enabled again.
    DeliveryState {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Dead => "dead",
        Disabled => "disabled",
    } "status"
);

named_enum!(
    /// Whether an endpoint receives deliveries.
    EndpointState { Enabled => "enabled", Disabled => "disabled" } "state"
);

named_enum!(
    /// Why an endpoint was disabled.
    DisabledReason {
        ConsecutiveFailures => "consecutive_failures",
        Gone => "gone",
    } "reason"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        let id = DeliveryId::from_ulid_text("01HV4Z2X8Q9T7M3N5P6R8S0W2Y");
        assert_eq!(id.as_str(), "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y");
        assert_eq!(DeliveryId::parse(id.as_str()), Some(id));
        for bad in [
            "dlv_01hv4z2x8q9t7m3n5p6r8s0w2y",
            "dlv_81HV4Z2X8Q9T7M3N5P6R8S0W2Y",
            "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2",
            "wep_01HV4Z2X8Q9T7M3N5P6R8S0W2Y",
            "dlv_01HV4Z2X8Q9T7M3N5P6R8S0WIY",
        ] {
            assert_eq!(DeliveryId::parse(bad), None, "{bad}");
        }
        assert!(EndpointId::parse("wep_01HV4Z2X8Q9T7M3N5P6R8S0W2Y").is_some());
    }

    #[test]
    fn states_and_kinds_round_trip() {
        for state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>(), Ok(*state));
        }
        assert_eq!("run.failed".parse::<EventKind>(), Ok(EventKind::RunFailed));
        assert!(
            "sent"
                .parse::<DeliveryState>()
                .unwrap_err()
                .contains("pending")
        );
    }
}
