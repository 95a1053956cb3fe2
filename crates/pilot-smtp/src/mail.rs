//! A received message, as the application sees it, and the trigger payload a
//! pilot's run gets from it.
//!
//! The payload's keys are part of Pilot's public contract; they are documented
//! on [`InboundMail::to_payload`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_parser::DateTime;
use serde_json::{Map, Value, json};

/// The most attachments listed in the payload; further ones are left out (the
/// message as a whole is bounded by `max_message_bytes`).
pub const MAX_ATTACHMENTS: usize = 20;

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

/// A file attached to a message: a MIME part that is not one of the bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The file name (`Content-Disposition` `filename`, or `Content-Type` `name`),
    /// decoded; `None` when the sender gave none.
    pub name: Option<String>,
    /// The part's media type, `type/subtype` in lower case, without parameters;
    /// `text/plain` when the part has no `Content-Type` (RFC 2045).
    pub content_type: String,
    /// The decoded size in bytes (after base64 or quoted-printable; a text part
    /// counts its UTF-8 bytes).
    pub size: usize,
    /// The decoded bytes, when `size` is at most `max_attachment_bytes`; `None`
    /// when they were left out.
    pub content: Option<Vec<u8>>,
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
    /// The `Cc` header's addresses.
    pub cc: Vec<Mailbox>,
    /// The `Date` header, as Unix seconds; `None` when absent or unparseable.
    pub date: Option<i64>,
    /// The first [`MAX_ATTACHMENTS`] attachments, in message order.
    pub attachments: Vec<Attachment>,
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
    /// | `cc` | array of strings | the `Cc` header's addresses, as the sender wrote them |
    /// | `date` | string or null | the `Date` header, RFC 3339 in UTC, to the second; null when absent or unparseable |
    /// | `attachments` | array of objects | the message's attachments in order, at most [`MAX_ATTACHMENTS`] (further ones are not listed), each as below |
    ///
    /// Each attachment is an object with these keys, in this order:
    ///
    /// | key | JSON type | value |
    /// | --- | --- | --- |
    /// | `name` | string or null | the file name the sender gave, decoded |
    /// | `contentType` | string | `type/subtype`, lower case, without parameters |
    /// | `size` | integer | the decoded size in bytes |
    /// | `content` | string or null | the decoded bytes in standard base64 (with padding), when `size` is at most `max_attachment_bytes`; null otherwise |
    /// | `omitted` | boolean | true when `content` was left out because of that limit |
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
            "cc": self.cc.iter().map(|mailbox| mailbox.address.as_str()).collect::<Vec<_>>(),
            "date": self.date.map(rfc3339_seconds),
            "attachments": self.attachments.iter().map(Attachment::to_payload).collect::<Vec<_>>(),
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

impl Attachment {
    /// The attachment's object in the payload; see [`InboundMail::to_payload`].
    pub fn to_payload(&self) -> Value {
        json!({
            "name": self.name,
            "contentType": self.content_type,
            "size": self.size,
            "content": self.content.as_ref().map(|bytes| BASE64.encode(bytes)),
            "omitted": self.content.is_none(),
        })
    }
}

fn rfc3339(unix_ms: u64) -> String {
    rfc3339_seconds(i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX))
}

fn rfc3339_seconds(unix_seconds: i64) -> String {
    DateTime::from_timestamp(unix_seconds).to_rfc3339()
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
            cc: vec![Mailbox {
                name: Some("Carol".to_owned()),
                address: "carol@example.com".to_owned(),
            }],
            date: Some(1_699_999_999),
            attachments: vec![
                Attachment {
                    name: Some("notes.txt".to_owned()),
                    content_type: "text/plain".to_owned(),
                    size: 5,
                    content: Some(b"hello".to_vec()),
                },
                Attachment {
                    name: None,
                    content_type: "application/pdf".to_owned(),
                    size: 1_000_000,
                    content: None,
                },
            ],
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
                "cc": ["carol@example.com"],
                "date": "2023-11-14T22:13:19Z",
                "attachments": [
                    {
                        "name": "notes.txt",
                        "contentType": "text/plain",
                        "size": 5,
                        "content": "aGVsbG8=",
                        "omitted": false,
                    },
                    {
                        "name": null,
                        "contentType": "application/pdf",
                        "size": 1_000_000,
                        "content": null,
                        "omitted": true,
                    },
                ],
            })
        );
    }

    #[test]
    fn the_payload_keys_come_in_the_documented_order() {
        let payload = mail().to_payload();
        let keys: Vec<&str> = payload
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
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
            ]
        );
        let attachment = &payload["attachments"][0];
        let keys: Vec<&str> = attachment
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["name", "contentType", "size", "content", "omitted"]);
    }

    #[test]
    fn without_cc_date_or_attachments_the_keys_are_still_there() {
        let mail = InboundMail {
            cc: Vec::new(),
            date: None,
            attachments: Vec::new(),
            ..mail()
        };
        let payload = mail.to_payload();
        assert_eq!(payload["cc"], json!([]));
        assert_eq!(payload["date"], Value::Null);
        assert_eq!(payload["attachments"], json!([]));
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
