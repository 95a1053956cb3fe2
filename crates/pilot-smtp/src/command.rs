//! Recognizing a command line: the verb (case-insensitive) and its raw argument.
//!
//! Only the shape is checked here; what `MAIL FROM:` and `RCPT TO:` carry is parsed
//! in `envelope.rs`, and whether a command may come now is the session's business.

use crate::reply::Reply;

/// A command line, recognized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    Ehlo,
    Helo,
    /// The text after `MAIL FROM:`.
    Mail(&'a str),
    /// The text after `RCPT TO:`.
    Rcpt(&'a str),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    /// `STARTTLS` (RFC 3207), which takes no parameters.
    StartTls,
    /// A standard command this server does not offer (`AUTH`, `BDAT`, …): 502.
    NotImplemented,
    /// Not a command at all: 500.
    Unknown,
    /// A known command with malformed arguments; the reply says what is wrong.
    Invalid(Reply),
}

/// Commands defined by RFC 5321 and common extensions that we do not implement.
const NOT_IMPLEMENTED: &[&str] = &[
    "EXPN", "HELP", "TURN", "ETRN", "AUTH", "BDAT", "ATRN", "SEND", "SOML", "SAML",
];

/// Recognizes `line` (without its line ending).
pub(crate) fn parse_command(line: &[u8]) -> Command<'_> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Command::Unknown;
    };
    let line = line.trim_end_matches([' ', '\t']);
    let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
    let argument = argument.trim_start_matches(' ');
    let is = |name: &str| verb.eq_ignore_ascii_case(name);
    if is("EHLO") || is("HELO") {
        if argument.is_empty() {
            return Command::Invalid(Reply::syntax("5.5.4 Syntax: EHLO <your host name>"));
        }
        return if is("EHLO") {
            Command::Ehlo
        } else {
            Command::Helo
        };
    }
    if is("MAIL") {
        return match strip_prefix_ignore_case(argument, "FROM:") {
            Some(path) => Command::Mail(path.trim_start_matches(' ')),
            None => Command::Invalid(Reply::syntax("5.5.4 Syntax: MAIL FROM:<address>")),
        };
    }
    if is("RCPT") {
        return match strip_prefix_ignore_case(argument, "TO:") {
            Some(path) => Command::Rcpt(path.trim_start_matches(' ')),
            None => Command::Invalid(Reply::syntax("5.5.4 Syntax: RCPT TO:<address>")),
        };
    }
    let without_argument = [
        ("DATA", Command::Data),
        ("RSET", Command::Rset),
        ("QUIT", Command::Quit),
        ("STARTTLS", Command::StartTls),
    ];
    if let Some((_, command)) = without_argument.into_iter().find(|(name, _)| is(name)) {
        return if argument.is_empty() {
            command
        } else {
            Command::Invalid(Reply::syntax(
                "5.5.4 Syntax: this command takes no parameters",
            ))
        };
    }
    if is("NOOP") {
        Command::Noop
    } else if is("VRFY") {
        Command::Vrfy
    } else if NOT_IMPLEMENTED.iter().any(|name| is(name)) {
        Command::NotImplemented
    } else {
        Command::Unknown
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_case_insensitive_and_arguments_kept_raw() {
        assert_eq!(parse_command(b"ehlo client.example"), Command::Ehlo);
        assert_eq!(
            parse_command(b"mail from: <a@b> SIZE=10"),
            Command::Mail("<a@b> SIZE=10")
        );
        assert_eq!(parse_command(b"RCPT To:<x@y>"), Command::Rcpt("<x@y>"));
        assert_eq!(parse_command(b"QUIT  "), Command::Quit);
        assert_eq!(parse_command(b"starttls"), Command::StartTls);
        assert_eq!(parse_command(b"AUTH PLAIN"), Command::NotImplemented);
        assert_eq!(parse_command(b"HELLO"), Command::Unknown);
        assert_eq!(parse_command(b"\xff\xfe"), Command::Unknown);
    }

    #[test]
    fn malformed_arguments_are_syntax_errors() {
        for line in [
            "EHLO",
            "MAIL <a@b>",
            "RCPT FROM:<a@b>",
            "DATA now",
            "STARTTLS now",
        ] {
            let Command::Invalid(reply) = parse_command(line.as_bytes()) else {
                panic!("{line} should be invalid");
            };
            assert_eq!(reply.code(), 501, "{line}");
        }
    }
}
