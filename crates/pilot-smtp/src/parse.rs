//! From the bytes after `DATA` to an [`InboundMail`], with `mail-parser`.
//!
//! `mail-parser` decodes MIME (multipart, quoted-printable, base64, encoded-word
//! headers, charsets) and never panics on malformed input; it gives up only on a
//! message without any header, which the session refuses (554). Parsing happens
//! once per message; the session then copies the result for each recipient.

use mail_parser::{Address, MessageParser};

use crate::mail::{InboundMail, KEPT_HEADERS, Mailbox};

/// Parses `raw` (the message after dot-unstuffing). The result's `recipient` and
/// `recipient_address` are empty: the session fills them in per recipient.
/// `None` when the message has no headers at all.
pub(crate) fn parse_message(
    raw: &[u8],
    envelope_from: Option<String>,
    received_at_ms: u64,
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
        subject: message.subject().map(str::to_owned),
        text,
        html,
        headers: kept_headers(message.headers_raw()),
        raw_size: raw.len(),
        received_at_ms,
    })
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
        let mail = parse_message(raw.as_bytes(), None, 0).expect("parses");
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
        let mail = parse_message(raw.as_bytes(), None, 0).expect("parses");
        assert!(mail.text.contains("Hello you"), "{:?}", mail.text);
        assert!(!mail.text.contains('<'));
        assert!(mail.html.is_some());
    }

    #[test]
    fn a_plain_message_has_no_html() {
        let raw = "Subject: x\r\n\r\nJust text\r\n";
        let mail = parse_message(raw.as_bytes(), None, 0).expect("parses");
        assert_eq!(mail.text, "Just text\n");
        assert_eq!(mail.html, None);
    }

    #[test]
    fn a_message_without_headers_is_not_a_message() {
        assert_eq!(parse_message(b"", None, 0), None);
        assert_eq!(parse_message(b"just text\r\n", None, 0), None);
        // An empty header section is still a header section.
        let body_only = parse_message(b"\r\nbody only\r\n", None, 0);
        assert_eq!(
            body_only.map(|mail| mail.text),
            Some("body only\n".to_owned())
        );
    }
}
