//! The envelope: what `MAIL FROM:<…>` and `RCPT TO:<…>` carry.
//!
//! A path is an address in angle brackets (`<alice@example.com>`); the sender may be
//! the null path `<>` (bounces). An obsolete source route (`<@relay:alice@x>`) is
//! accepted and ignored, as RFC 5321 §4.1.1.3 asks. Addresses must be ASCII
//! (`SMTPUTF8` is not offered), without spaces or brackets, with a local part of
//! at most 64 octets; quoted local parts are not supported. `MAIL FROM` may carry
//! `SIZE=<octets>` and `BODY=7BIT|8BITMIME`; `RCPT TO` carries no parameters.

use crate::reply::Reply;

/// The longest local part (RFC 5321 §4.5.3.1.1).
const LOCAL_PART_MAX: usize = 64;
/// The longest domain (RFC 5321 §4.5.3.1.2).
const DOMAIN_MAX: usize = 255;

/// A parsed `MAIL FROM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MailFrom {
    /// The sender, `None` for the null path `<>`.
    pub(crate) reverse_path: Option<String>,
    /// The size the client declared with `SIZE=`.
    pub(crate) size: Option<u64>,
}

/// A parsed `RCPT TO`, normalized: both parts in ASCII lower case, the domain
/// without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RcptTo {
    pub(crate) local_part: String,
    pub(crate) domain: String,
}

/// Parses the text after `MAIL FROM:`.
pub(crate) fn parse_mail_from(argument: &str) -> Result<MailFrom, Reply> {
    let bad_sender = || Reply::syntax("5.1.7 Bad sender address syntax");
    let (path, parameters) = split_path(argument).ok_or_else(bad_sender)?;
    let reverse_path = if path.is_empty() {
        None
    } else {
        let (local, domain) = split_address(path).ok_or_else(bad_sender)?;
        Some(format!("{local}@{domain}"))
    };
    let mut size = None;
    for parameter in parameters.split_ascii_whitespace() {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if key.eq_ignore_ascii_case("SIZE") {
            let declared = value
                .parse::<u64>()
                .map_err(|_| Reply::syntax("5.5.4 Syntax: SIZE=<octets>"))?;
            size = Some(declared);
        } else if key.eq_ignore_ascii_case("BODY")
            && (value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME"))
        {
            // Both are fine: the message is read as bytes either way.
        } else {
            return Err(Reply::unsupported_parameter());
        }
    }
    Ok(MailFrom { reverse_path, size })
}

/// Parses the text after `RCPT TO:`.
pub(crate) fn parse_rcpt_to(argument: &str) -> Result<RcptTo, Reply> {
    let bad_recipient = || Reply::syntax("5.1.3 Bad recipient address syntax");
    let (path, parameters) = split_path(argument).ok_or_else(bad_recipient)?;
    if !parameters.is_empty() {
        return Err(Reply::unsupported_parameter());
    }
    let (local, domain) = split_address(path).ok_or_else(bad_recipient)?;
    Ok(RcptTo {
        local_part: local.to_ascii_lowercase(),
        domain: domain.trim_end_matches('.').to_ascii_lowercase(),
    })
}

/// Splits `<path> parameters` into the path's inside (source route removed) and the
/// parameters; `None` when the brackets are missing or the inside is malformed.
fn split_path(argument: &str) -> Option<(&str, &str)> {
    let rest = argument.strip_prefix('<')?;
    let (inside, parameters) = rest.split_once('>')?;
    if !parameters.is_empty() && !parameters.starts_with(' ') {
        return None;
    }
    let mailbox = if inside.starts_with('@') {
        inside.split_once(':')?.1
    } else {
        inside
    };
    let printable = mailbox
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'<' | b'>' | b'"' | b'\\'));
    printable.then(|| (mailbox, parameters.trim()))
}

/// Splits `local@domain` at its last `@`, checking both parts' lengths.
fn split_address(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.rsplit_once('@')?;
    let fits = |part: &str, max: usize| !part.is_empty() && part.len() <= max;
    (fits(local, LOCAL_PART_MAX) && fits(domain, DOMAIN_MAX) && !local.contains('@'))
        .then_some((local, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_from_accepts_the_null_sender_and_known_parameters() {
        assert_eq!(
            parse_mail_from("<> SIZE=1200 body=8bitmime"),
            Ok(MailFrom {
                reverse_path: None,
                size: Some(1200)
            })
        );
        assert_eq!(
            parse_mail_from("<@relay.example:Alice@Example.com>").map(|m| m.reverse_path),
            Ok(Some("Alice@Example.com".to_owned()))
        );
    }

    #[test]
    fn mail_from_refuses_bad_paths_and_parameters() {
        let code = |argument: &str| parse_mail_from(argument).map_err(|reply| reply.code());
        assert_eq!(code("alice@example.com"), Err(501));
        assert_eq!(code("<alice example.com>"), Err(501));
        assert_eq!(code("<alice@example.com>SIZE=1"), Err(501));
        assert_eq!(code("<a@b> SIZE=lots"), Err(501));
        assert_eq!(code("<a@b> SMTPUTF8"), Err(555));
    }

    #[test]
    fn rcpt_to_normalizes_case_and_trailing_dot() {
        assert_eq!(
            parse_rcpt_to("<Pilot-ABC@LocalHost.>"),
            Ok(RcptTo {
                local_part: "pilot-abc".to_owned(),
                domain: "localhost".to_owned()
            })
        );
        let code = |argument: &str| parse_rcpt_to(argument).map_err(|reply| reply.code());
        assert_eq!(code("<>"), Err(501));
        assert_eq!(code("<a@b@c>"), Err(501));
        assert_eq!(code(&format!("<{}@x>", "a".repeat(65))), Err(501));
        assert_eq!(code("<a@b> NOTIFY=NEVER"), Err(555));
    }
}
