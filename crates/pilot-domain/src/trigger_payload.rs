//! The payloads the `schedule` and `email` triggers produce, by their top-level
//! keys: what templates are checked against when a pilot with one of those triggers
//! is created or changed (`trigger.<key>` must be one of them), as a `samplePayload`
//! is for the others. The producers are the operations' schedule trigger and
//! `pilot-smtp`'s `InboundMail::to_payload`; a test in the binary holds the email
//! keys to what the listener really sends.

use serde_json::{Map, Value};

use crate::pilot::TriggerType;

/// The schedule trigger's payload keys.
pub const SCHEDULE_KEYS: &[&str] = &["scheduledAt", "firedAt"];

/// The email trigger's payload keys.
pub const EMAIL_KEYS: &[&str] = &[
    "from",
    "fromName",
    "to",
    "recipient",
    "subject",
    "text",
    "html",
    "messageId",
    "receivedAt",
    "headers",
    "cc",
    "date",
    "attachments",
];

/// A payload's fields as templates are checked against them.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadShape {
    /// How problems name it: `the samplePayload`, `the schedule payload`, …
    pub name: &'static str,
    pub fields: Map<String, Value>,
}

/// What a trigger type's templates are checked against: the known keys of a
/// `schedule` or `email` payload (their values stand in as `null`, so only
/// top-level keys are checked), else the client's sample (`None`: unknown, not
/// checked).
pub fn checked_shape(
    trigger_type: TriggerType,
    sample: Option<&Map<String, Value>>,
) -> Option<PayloadShape> {
    let (name, keys) = match trigger_type {
        TriggerType::Schedule => ("the schedule payload", SCHEDULE_KEYS),
        TriggerType::Email => ("the email payload", EMAIL_KEYS),
        TriggerType::Webhook | TriggerType::Manual => {
            return sample.map(|fields| PayloadShape {
                name: "the samplePayload",
                fields: fields.clone(),
            });
        }
    };
    Some(PayloadShape {
        name,
        fields: keys
            .iter()
            .map(|key| ((*key).to_owned(), Value::Null))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schedule_and_email_have_fixed_shapes_others_their_sample() {
        let schedule = checked_shape(TriggerType::Schedule, None).unwrap();
        assert_eq!(
            schedule.fields.keys().collect::<Vec<_>>(),
            ["scheduledAt", "firedAt"]
        );
        let email = checked_shape(TriggerType::Email, None).unwrap();
        assert!(email.fields.contains_key("subject") && email.fields.contains_key("attachments"));
        assert_eq!(checked_shape(TriggerType::Webhook, None), None);
        let sample = json!({"orderId": "1"});
        let sampled = checked_shape(TriggerType::Manual, sample.as_object()).unwrap();
        assert_eq!(Some(&sampled.fields), sample.as_object());
        assert_eq!(sampled.name, "the samplePayload");
    }
}
