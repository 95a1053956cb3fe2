//! Every reply the server sends, in one place.
//!
//! A reply is a three-digit code and one or more lines of text (`250-…` for all but
//! the last, `250 …` for the last). The first digit is what clients act on: 2
//! success, 3 go on (send the message), 4 temporary failure (keep the message and
//! retry later), 5 permanent failure (give up and bounce). Since `EHLO` advertises
//! `ENHANCEDSTATUSCODES`, every reply but the greeting and the `EHLO`/`HELO`
//! answer starts its text with an RFC 3463 code (`5.1.1` no such mailbox, …).
//!
//! Reply text is only ever built from constants and the configured domain (checked
//! by [`SmtpListenConfig::validate`](crate::SmtpListenConfig::validate)), never from
//! what a client sent, so a client cannot inject lines into the conversation.

use std::borrow::Cow;

/// One SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    code: u16,
    lines: Vec<Cow<'static, str>>,
}

impl Reply {
    fn new(code: u16, text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            lines: vec![text.into()],
        }
    }

    /// The reply's code, for logs.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    /// The reply as it goes on the wire, CRLF after each line.
    pub(crate) fn to_wire(&self) -> Vec<u8> {
        let mut wire = Vec::new();
        let last = self.lines.len().saturating_sub(1);
        for (index, line) in self.lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            wire.extend_from_slice(format!("{}{separator}{line}\r\n", self.code).as_bytes());
        }
        wire
    }

    pub(crate) fn greeting(domain: &str) -> Self {
        Self::new(220, format!("{domain} ESMTP Pilot"))
    }

    /// The `EHLO` answer: our name, then the extensions, one per line.
    /// `STARTTLS` is listed only when `starttls` (configured and not yet active).
    pub(crate) fn ehlo(domain: &str, max_message_bytes: usize, starttls: bool) -> Self {
        let mut lines: Vec<Cow<'static, str>> = vec![
            domain.to_owned().into(),
            format!("SIZE {max_message_bytes}").into(),
            "8BITMIME".into(),
        ];
        if starttls {
            lines.push("STARTTLS".into());
        }
        lines.push("ENHANCEDSTATUSCODES".into());
        Self { code: 250, lines }
    }

    pub(crate) fn ready_for_tls() -> Self {
        Self::new(220, "2.0.0 Ready to start TLS")
    }

    pub(crate) fn tls_already_active() -> Self {
        Self::new(503, "5.5.1 TLS already active")
    }

    pub(crate) fn tls_required() -> Self {
        Self::new(530, "5.7.0 Must issue a STARTTLS command first")
    }

    pub(crate) fn helo(domain: &str) -> Self {
        Self::new(250, domain.to_owned())
    }

    pub(crate) fn ok() -> Self {
        Self::new(250, "2.0.0 OK")
    }

    pub(crate) fn sender_ok() -> Self {
        Self::new(250, "2.1.0 Sender OK")
    }

    pub(crate) fn recipient_ok() -> Self {
        Self::new(250, "2.1.5 Recipient OK")
    }

    pub(crate) fn start_data() -> Self {
        Self::new(354, "End data with <CR><LF>.<CR><LF>")
    }

    pub(crate) fn accepted() -> Self {
        Self::new(250, "2.0.0 Message accepted for delivery")
    }

    pub(crate) fn bye(domain: &str) -> Self {
        Self::new(221, format!("2.0.0 {domain} closing connection"))
    }

    pub(crate) fn cannot_verify() -> Self {
        Self::new(
            252,
            "2.5.0 Cannot VRFY user, but will accept message for delivery",
        )
    }

    pub(crate) fn unknown_command() -> Self {
        Self::new(500, "5.5.2 Command not recognized")
    }

    pub(crate) fn line_too_long() -> Self {
        Self::new(500, "5.5.2 Line too long")
    }

    pub(crate) fn syntax(text: &'static str) -> Self {
        Self::new(501, text)
    }

    pub(crate) fn not_implemented() -> Self {
        Self::new(502, "5.5.1 Command not implemented")
    }

    pub(crate) fn bad_sequence(text: &'static str) -> Self {
        Self::new(503, text)
    }

    pub(crate) fn unsupported_parameter() -> Self {
        Self::new(555, "5.5.4 Parameter not recognized or not implemented")
    }

    pub(crate) fn no_such_mailbox() -> Self {
        Self::new(550, "5.1.1 No such mailbox here")
    }

    pub(crate) fn relay_denied() -> Self {
        Self::new(
            550,
            "5.7.1 Relaying denied: this server only accepts mail for its own domain",
        )
    }

    pub(crate) fn too_many_recipients() -> Self {
        Self::new(
            452,
            "4.5.3 Too many recipients, send the rest in another message",
        )
    }

    pub(crate) fn too_big() -> Self {
        Self::new(552, "5.3.4 Message size exceeds fixed maximum message size")
    }

    pub(crate) fn bare_line_feed() -> Self {
        Self::new(
            554,
            "5.6.0 Message contains a bare <LF>; lines must end with <CR><LF>",
        )
    }

    pub(crate) fn unparseable() -> Self {
        Self::new(554, "5.6.0 Message has no headers")
    }

    pub(crate) fn try_again_later() -> Self {
        Self::new(451, "4.3.0 Temporary failure, please try again later")
    }

    pub(crate) fn idle_timeout(domain: &str) -> Self {
        Self::new(
            421,
            format!("4.4.2 {domain} Idle timeout, closing connection"),
        )
    }

    pub(crate) fn shutting_down(domain: &str) -> Self {
        Self::new(
            421,
            format!("4.3.2 {domain} Service shutting down, closing connection"),
        )
    }

    pub(crate) fn too_many_junk_commands(domain: &str) -> Self {
        Self::new(
            421,
            format!("4.7.0 {domain} Too many commands without mail, closing connection"),
        )
    }

    pub(crate) fn too_many_connections(domain: &str) -> Self {
        Self::new(
            421,
            format!("4.7.0 {domain} Too many connections, try again later"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_use_a_dash_on_all_but_the_last_line() {
        let wire = Reply::ehlo("localhost", 1024, false).to_wire();
        assert_eq!(
            String::from_utf8(wire).as_deref(),
            Ok("250-localhost\r\n250-SIZE 1024\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
        );
        let wire = Reply::ehlo("localhost", 1024, true).to_wire();
        assert!(
            String::from_utf8_lossy(&wire).contains("\r\n250-STARTTLS\r\n"),
            "{wire:?}"
        );
        assert_eq!(Reply::ok().to_wire(), b"250 2.0.0 OK\r\n");
    }
}
