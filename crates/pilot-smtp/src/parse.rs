//! From the bytes after `DATA` to an [`InboundMail`], with `mail-parser`.
//!
//! `mail-parser` decodes MIME (multipart, quoted-printable, base64, encoded-word
//! headers, charsets) and never panics on malformed input; it gives up only on a
//! message without any header, which the session refuses (554). Parsing happens
//! once per message; the session then copies the result for each recipient.

use mail_parser::{Address, MessageParser, MessagePart, MimeHeaders};

use crate::mail::{Attachment, InboundMail, KEPT_HEADERS, MAX_ATTACHMENTS, Mailbox};

/// Parses `raw` (the message after dot-unstuffing). The result's `recipient` and
/// `recipient_address` are empty: the session fills them in per recipient.
/// Attachments of at most `max_attachment_bytes` decoded bytes keep their
/// content. `None` when the message has no headers at all.
pub(crate) fn parse_message(
    raw: &[u8],
    envelope_from: Option<String>,
    received_at_ms: u64,
    max_attachment_bytes: usize,
) -> Option<InboundMail> {
    let message = MessageParser::default().parse(raw)?;
    let text = (0..message.text_body_count())
        .filter_map(|index| message.body_text(index))
        .map(|body| normalize_newlines(&body))
        .collect::<Vec<_>>()
        .join("\n\n");
    let html = message
        .html_bodies()
        .find(|part| part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(normalize_newlines);
    Some(InboundMail {
        envelope_from,
        recipient: String::new(),
        recipient_address: String::new(),
        message_id: message.message_id().map(str::to_owned),
        from: message.from().and_then(|from| mailboxes(from).next()),
        to: message
            .to()
            .map(|to| mailboxes(to).collect())
            .unwrap_or_default(),
        cc: message
            .cc()
            .map(|cc| mailboxes(cc).collect())
            .unwrap_or_default(),
        date: message
            .date()
            .filter(|date| date.is_valid())
            .map(mail_parser::DateTime::to_timestamp),
        attachments: message
            .attachments()
            .take(MAX_ATTACHMENTS)
            .map(|part| attachment(part, max_attachment_bytes))
            .collect(),
        subject: message.subject().map(str::to_owned),
        text,
        html,
        headers: kept_headers(message.headers_raw()),
        raw_size: raw.len(),
        received_at_ms,
    })
}

fn attachment(part: &MessagePart<'_>, max_bytes: usize) -> Attachment {
    let content_type = part.content_type().map_or_else(
        || "text/plain".to_owned(),
        |content_type| match content_type.subtype() {
            Some(subtype) => format!("{}/{subtype}", content_type.ctype()),
            None => content_type.ctype().to_owned(),
        },
    );
    let contents = part.contents();
    Attachment {
        name: part.attachment_name().map(str::to_owned),
        content_type: content_type.to_ascii_lowercase(),
        size: contents.len(),
        content: (contents.len() <= max_bytes && max_bytes > 0).then(|| contents.to_vec()),
    }
}

fn mailboxes<'a>(address: &'a Address<'_>) -> impl Iterator<Item = Mailbox> + 'a {
    address.iter().filter_map(|addr| {
        Some(Mailbox {
            name: addr.name().map(str::to_owned),
            address: addr.address()?.to_owned(),
        })
    })
}

/// The first occurrence of each header in [`KEPT_HEADERS`], unfolded and trimmed.
fn kept_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if KEPT_HEADERS.contains(&name.as_str()) && !kept.iter().any(|(seen, _)| *seen == name) {
            let unfolded = value.replace("\r\n", "").replace('\n', "");
            kept.push((name, unfolded.trim().to_owned()));
        }
    }
    kept
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_message_yields_text_html_and_decoded_headers() {
        let raw = concat!(
            "From: =?utf-8?q?Al=C3=AFce?= <alice@example.com>\r\n",
            "To: a@localhost, Bob <b@localhost>\r\n",
            "Subject: =?utf-8?b?SMOpbGxv?=\r\n",
            "Message-ID: <m1@example.com>\r\n",
            "References: <a@x>\r\n <b@x>\r\n",
            "Received: from elsewhere\r\n",
            "Content-Type: multipart/alternative; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "\r\n",
            "Plain body\r\nline two\r\n",
            "--b\r\n",
            "Content-Type: text/html\r\n",
            "\r\n",
            "<p>HTML body</p>\r\n",
            "--b--\r\n",
        );
        let mail = parse_message(raw.as_bytes(), None, 0, 1024).expect("parses");
        assert_eq!(mail.subject.as_deref(), Some("Héllo"));
        let from = mail.from.as_ref().expect("has a From");
        assert_eq!(from.name.as_deref(), Some("Alïce"));
        assert_eq!(from.address, "alice@example.com");
        let to: Vec<_> = mail.to.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(to, ["a@localhost", "b@localhost"]);
        assert_eq!(mail.message_id.as_deref(), Some("m1@example.com"));
        assert!(
            mail.text.starts_with("Plain body\nline two"),
            "{:?}",
            mail.text
        );
        assert!(
            mail.html
                .as_deref()
                .is_some_and(|h| h.contains("<p>HTML body</p>"))
        );
        assert_eq!(mail.header("references"), Some("<a@x> <b@x>"));
        assert_eq!(mail.header("received"), None);
        assert_eq!(mail.raw_size, raw.len());
    }

    #[test]
    fn an_html_only_message_gets_its_text_from_the_html() {
        let raw = "Subject: x\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>you</b></p>\r\n";
        let mail = parse_message(raw.as_bytes(), None, 0, 1024).expect("parses");
        assert!(mail.text.contains("Hello you"), "{:?}", mail.text);
        assert!(!mail.text.contains('<'));
        assert!(mail.html.is_some());
    }

    #[test]
    fn a_plain_message_has_no_html() {
        let raw = "Subject: x\r\n\r\nJust text\r\n";
        let mail = parse_message(raw.as_bytes(), None, 0, 1024).expect("parses");
        assert_eq!(mail.text, "Just text\n");
        assert_eq!(mail.html, None);
    }

    #[test]
    fn a_message_without_headers_is_not_a_message() {
        assert_eq!(parse_message(b"", None, 0, 1024), None);
        assert_eq!(parse_message(b"just text\r\n", None, 0, 1024), None);
        // An empty header section is still a header section.
        let body_only = parse_message(b"\r\nbody only\r\n", None, 0, 1024);
        assert_eq!(
            body_only.map(|mail| mail.text),
            Some("body only\n".to_owned())
        );
    }

    fn with_attachments(count: usize) -> String {
        let mut raw = String::from(concat!(
            "From: a@example.com\r\n",
            "To: pilot-abc@localhost\r\n",
            "Cc: Carol <carol@example.com>, dave@example.com\r\n",
            "Date: Tue, 14 Nov 2023 23:13:19 +0100\r\n",
            "Subject: files\r\n",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "See attached.\r\n",
        ));
        for index in 0..count {
            raw.push_str(&format!(
                concat!(
                    "--b\r\n",
                    "Content-Type: Application/Octet-Stream; name=\"f{0}.bin\"\r\n",
                    "Content-Disposition: attachment; filename=\"f{0}.bin\"\r\n",
                    "Content-Transfer-Encoding: base64\r\n",
                    "\r\n",
                    "AAECAwQFBgcICQ==\r\n",
                ),
                index
            ));
        }
        raw.push_str("--b--\r\n");
        raw
    }

    #[test]
    fn cc_date_and_attachments_are_decoded() {
        let raw = with_attachments(1);
        let mail = parse_message(raw.as_bytes(), None, 0, 10).expect("parses");
        let cc: Vec<_> = mail.cc.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(cc, ["carol@example.com", "dave@example.com"]);
        // 23:13:19 at +01:00 is 22:13:19 UTC.
        assert_eq!(mail.date, Some(1_699_999_999));
        // The CRLF before a boundary belongs to the boundary.
        assert_eq!(mail.text, "See attached.");
        assert_eq!(
            mail.attachments,
            [Attachment {
                name: Some("f0.bin".to_owned()),
                content_type: "application/octet-stream".to_owned(),
                size: 10,
                content: Some((0..10).collect()),
            }]
        );
    }

    #[test]
    fn content_over_the_limit_is_left_out_and_the_list_is_bounded() {
        let raw = with_attachments(MAX_ATTACHMENTS + 5);
        let mail = parse_message(raw.as_bytes(), None, 0, 9).expect("parses");
        assert_eq!(mail.attachments.len(), MAX_ATTACHMENTS);
        assert!(
            mail.attachments
                .iter()
                .all(|a| a.content.is_none() && a.size == 10)
        );
        let never = parse_message(raw.as_bytes(), None, 0, 0).expect("parses");
        assert!(never.attachments.iter().all(|a| a.content.is_none()));
    }

    #[test]
    fn a_missing_or_invalid_date_is_none() {
        let raw = "Subject: x\r\nDate: not a date\r\n\r\nbody\r\n";
        let mail = parse_message(raw.as_bytes(), None, 0, 10).expect("parses");
        assert_eq!(mail.date, None);
        assert!(mail.cc.is_empty() && mail.attachments.is_empty());
    }
}
