//! What can go wrong with an outbound request, in words an API user can act on.
//!
//! These messages end up in run step errors and in `422` validation answers, so two
//! rules hold for every variant:
//!
//! * **No secrets.** URLs carry secrets in their paths and queries (a Slack incoming
//!   webhook is `https://hooks.slack.com/services/T…/B…/<secret>`), so every `url`
//!   field holds [`redacted_url`]: scheme, host and port only. A URL that does not
//!   parse is never echoed at all. Header values never appear.
//! * **No internal addresses of names.** When a host name resolves only to forbidden
//!   addresses, the message says so without listing them: a tenant must not learn
//!   what an internal name resolves to. The addresses go to the operator's logs.
//!   An IP literal the user wrote is named back to them, since it is theirs.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

use crate::address::{Reason, embedded_ipv4};

/// Why an outbound request was refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// The URL does not parse; `reason` comes from the parser and never quotes it.
    #[error("invalid URL: {reason}")]
    InvalidUrl { reason: String },
    /// A scheme other than `http`/`https`, or `http` where `https` is required.
    #[error("{url}: the `{scheme}` scheme is not allowed; use {allowed}")]
    SchemeNotAllowed {
        url: String,
        scheme: String,
        allowed: &'static str,
    },
    /// `https://user:password@host/`: credentials belong in a header.
    #[error("{url}: credentials in the URL are not allowed; send them in a header instead")]
    CredentialsInUrl { url: String },
    /// The URL's host is an IP address the guard refuses.
    #[error("{}", forbidden_message(host, *ip, *reason))]
    ForbiddenAddress {
        host: String,
        ip: IpAddr,
        reason: Reason,
    },
    /// Every address the host name resolves to is refused.
    #[error(
        "{host} resolves only to forbidden addresses (loopback, private, link-local or other \
         special-purpose); outbound requests to it are refused unless the server's outbound \
         allow-list permits them"
    )]
    ResolvesToNothingAllowed { host: String },
    /// The host name does not resolve.
    #[error("could not resolve {host}: {message}")]
    Dns { host: String, message: String },
    /// The whole exchange (redirects and body included) took longer than allowed.
    #[error("{url}: no complete response within {timeout_ms} ms")]
    Timeout { url: String, timeout_ms: u64 },
    /// No connection could be made to an allowed address.
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// More redirects than the policy follows.
    #[error("{url}: stopped after {max} redirects")]
    TooManyRedirects { url: String, max: u32 },
    /// A redirect whose `Location` is not a URL.
    #[error("{url}: redirect with an invalid Location header")]
    BadRedirect { url: String },
    /// The body exceeds the bound (only from [`crate::OutboundClient::send_strict`]).
    #[error("{url}: response body is larger than {limit} bytes")]
    BodyTooLarge { url: String, limit: usize },
    /// Anything else the HTTP exchange reported (a reset, a malformed response).
    #[error("request to {url} failed: {message}")]
    Http { url: String, message: String },
}

/// The HTTP client could not be built (its TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("could not build the outbound HTTP client")]
pub struct BuildError(#[source] pub(crate) reqwest::Error);

fn forbidden_message(host: &str, ip: IpAddr, reason: Reason) -> String {
    let embedded = match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map(|v4| format!(" embedding {v4}")),
        IpAddr::V4(_) => None,
    };
    format!(
        "outbound requests to {host} are refused: {ip} is {reason}{} (unless the server's \
         outbound allow-list permits it)",
        embedded.unwrap_or_default()
    )
}

/// `url` with everything that may be secret removed: `scheme://host[:port]/`, then `…`
/// when the original had a path, query or fragment beyond `/`. Credentials are
/// always dropped.
///
/// ```
/// # use pilot_outbound::{redacted_url, Url};
/// let url = Url::parse("https://hooks.slack.com/services/T0/B0/s3cr3t?x=1").unwrap();
/// assert_eq!(redacted_url(&url), "https://hooks.slack.com/…");
/// ```
pub fn redacted_url(url: &Url) -> String {
    Redacted(url).to_string()
}

struct Redacted<'a>(&'a Url);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or(""))?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        let bare =
            matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
        f.write_str(if bare { "/" } else { "/…" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn redaction_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redacted_url(&url("http://example.com")),
            "http://example.com/"
        );
        assert_eq!(
            redacted_url(&url("https://example.com:8443/a/b?c=d#e")),
            "https://example.com:8443/…"
        );
        assert_eq!(
            redacted_url(&url("https://example.com/?q=1")),
            "https://example.com/…"
        );
        assert_eq!(redacted_url(&url("http://[::1]:80/x")), "http://[::1]/…");
        assert_eq!(
            redacted_url(&url("https://user:pass@example.com/")),
            "https://example.com/"
        );
    }

    #[test]
    fn forbidden_address_message_names_the_embedded_ipv4() {
        let err = OutboundError::ForbiddenAddress {
            host: "[::ffff:7f00:1]".into(),
            ip: "::ffff:127.0.0.1".parse().expect("test address"),
            reason: Reason::Ipv4Mapped,
        };
        assert_eq!(
            err.to_string(),
            "outbound requests to [::ffff:7f00:1] are refused: ::ffff:127.0.0.1 is an \
             IPv4-mapped IPv6 address embedding 127.0.0.1 (unless the server's outbound \
             allow-list permits it)"
        );
    }
}
