//! A received message, as the application sees it, and the trigger payload a
//! pilot's run gets from it.
//!
//! The payload's keys are part of Pilot's public contract; they are documented
//! on [`InboundMail::to_payload`].

use mail_parser::DateTime;
use serde_json::{Map, Value, json};

/// The headers kept in [`InboundMail::headers`], beyond the ones with fields of
/// their own. `auto-submitted`, `precedence` and `list-id` let a pilot avoid
/// answering automatic mail (and mail loops); the rest are for threading replies.
pub const KEPT_HEADERS: &[&str] = &[
    "date",
    "reply-to",
    "cc",
    "in-reply-to",
    "references",
    "auto-submitted",
    "precedence",
    "list-id",
];

/// One address of a header such as `From` or `To`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name (`Alice` in `Alice <alice@example.com>`), decoded.
    pub name: Option<String>,
    /// The address itself.
    pub address: String,
}

/// A message accepted for one recipient. A message sent to three pilots is three
/// `InboundMail`s that differ only in `recipient` and `recipient_address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMail {
    /// The envelope sender (`MAIL FROM`); `None` for the null sender `<>` of
    /// bounces and other automatic replies.
    pub envelope_from: Option<String>,
    /// The recipient's local part, in ASCII lower case: what
    /// [`MailHandler::accepts`](crate::MailHandler::accepts) accepted.
    pub recipient: String,
    /// The recipient's full address, `recipient@domain`, in lower case.
    pub recipient_address: String,
    /// The `Message-ID` header, without angle brackets.
    pub message_id: Option<String>,
    /// The `From` header's first address.
    pub from: Option<Mailbox>,
    /// The `To` header's addresses.
    pub to: Vec<Mailbox>,
    /// The decoded `Subject` header.
    pub subject: Option<String>,
    /// The plain-text body (see [`to_payload`](Self::to_payload) for how it is chosen).
    pub text: String,
    /// The first HTML body, if any.
    pub html: Option<String>,
    /// The headers named in [`KEPT_HEADERS`] that the message has, first
    /// occurrence of each, lower-case name and unfolded raw value.
    pub headers: Vec<(String, String)>,
    /// The message's size in bytes, as received (after dot-unstuffing).
    pub raw_size: usize,
    /// When the listener accepted the message, in Unix milliseconds.
    pub received_at_ms: u64,
}

impl InboundMail {
    /// The `trigger` payload of the run this mail starts: what step templates read
    /// (`{{ trigger.subject }}`). Its shape is part of Pilot's public contract:
    ///
    /// | key | JSON type | value |
    /// | --- | --- | --- |
    /// | `from` | string or null | the `From` header's first address; the envelope sender when there is no `From`; null when neither exists (a bounce) |
    /// | `fromName` | string or null | the `From` header's display name |
    /// | `to` | array of strings | the `To` header's addresses, as the sender wrote them |
    /// | `recipient` | string | the pilot's own address this copy was delivered to (`local@domain`, lower case); differs from `to` for Bcc and lists |
    /// | `subject` | string | the decoded `Subject`, `""` when absent |
    /// | `text` | string | the `text/plain` bodies joined by a blank line, or the HTML body converted to text when there is no plain part; `""` when there is no text at all; lines end with `\n` |
    /// | `html` | string or null | the first `text/html` body, when the message has one; lines end with `\n` |
    /// | `messageId` | string or null | the `Message-ID` header, without angle brackets |
    /// | `receivedAt` | string | when the listener accepted the message, RFC 3339 in UTC, to the second |
    /// | `headers` | object | a fixed subset of headers, by lower-case name, raw (unfolded) values: see [`KEPT_HEADERS`] |
    ///
    /// Attachments are not part of the payload.
    pub fn to_payload(&self) -> Value {
        let from = self
            .from
            .as_ref()
            .map(|mailbox| mailbox.address.clone())
            .or_else(|| self.envelope_from.clone());
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        json!({
            "from": from,
            "fromName": self.from.as_ref().and_then(|mailbox| mailbox.name.clone()),
            "to": self.to.iter().map(|mailbox| mailbox.address.as_str()).collect::<Vec<_>>(),
            "recipient": self.recipient_address,
            "subject": self.subject.as_deref().unwrap_or_default(),
            "text": self.text,
            "html": self.html,
            "messageId": self.message_id,
            "receivedAt": rfc3339(self.received_at_ms),
            "headers": headers,
        })
    }

    /// The value of a kept header (see [`KEPT_HEADERS`]), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(kept, _)| kept.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn rfc3339(unix_ms: u64) -> String {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    DateTime::from_timestamp(seconds).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> InboundMail {
        InboundMail {
            envelope_from: Some("bounce@example.com".to_owned()),
            recipient: "pilot-abc".to_owned(),
            recipient_address: "pilot-abc@localhost".to_owned(),
            message_id: Some("m1@example.com".to_owned()),
            from: Some(Mailbox {
                name: Some("Alice".to_owned()),
                address: "alice@example.com".to_owned(),
            }),
            to: vec![Mailbox {
                name: None,
                address: "team@example.com".to_owned(),
            }],
            subject: Some("Hello".to_owned()),
            text: "Hi there".to_owned(),
            html: None,
            headers: vec![("reply-to".to_owned(), "bob@example.com".to_owned())],
            raw_size: 120,
            received_at_ms: 1_700_000_000_123,
        }
    }

    #[test]
    fn the_payload_has_every_documented_key() {
        assert_eq!(
            mail().to_payload(),
            json!({
                "from": "alice@example.com",
                "fromName": "Alice",
                "to": ["team@example.com"],
                "recipient": "pilot-abc@localhost",
                "subject": "Hello",
                "text": "Hi there",
                "html": null,
                "messageId": "m1@example.com",
                "receivedAt": "2023-11-14T22:13:20Z",
                "headers": {"reply-to": "bob@example.com"},
            })
        );
    }

    #[test]
    fn without_a_from_header_the_envelope_sender_stands_in() {
        let mail = InboundMail {
            from: None,
            subject: None,
            ..mail()
        };
        let payload = mail.to_payload();
        assert_eq!(payload["from"], "bounce@example.com");
        assert_eq!(payload["fromName"], Value::Null);
        assert_eq!(payload["subject"], "");
        assert_eq!(mail.header("Reply-To"), Some("bob@example.com"));
    }
}
