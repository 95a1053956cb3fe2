//! The pre-connection check of one URL: the first one and every redirect hop.
//!
//! What it decides without the network:
//!
//! * **Scheme**: `http` or `https` only (`https` only when the policy requires it);
//!   `file:`, `gopher:`, `ftp:` and the rest never reach the HTTP client.
//! * **Credentials**: `user:password@` is refused. It would put a secret where logs
//!   and stored settings show it, and `http://public.example@10.0.0.1/` is a
//!   classic way to make a reader misjudge the host.
//! * **IP-literal hosts**: checked here, because the HTTP client connects to them
//!   without asking a resolver. The `url` crate has already normalized every
//!   spelling of an IPv4 address per WHATWG (`127.1`, `2130706433`, `0x7f000001`,
//!   `0177.0.0.1` all become `127.0.0.1`) and bracketed IPv6, so one comparison
//!   against the canonical address covers them all.
//!
//! Host names pass through; their addresses are checked when they are resolved
//! (see [`crate::GuardedResolver`]).

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{OutboundError, redacted_url};
use crate::policy::OutboundPolicy;

/// A URL's host after the pre-connection check.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// An allowed IP literal.
    Address(IpAddr),
    /// A host name, still to be resolved and filtered.
    Name(String),
}

/// Parses a caller's URL without ever quoting it back.
pub(crate) fn parse(url: &str) -> Result<Url, OutboundError> {
    Url::parse(url.trim()).map_err(|e| OutboundError::InvalidUrl {
        reason: e.to_string(),
    })
}

/// Checks everything about `url` that can be checked before connecting.
pub(crate) fn check(policy: &OutboundPolicy, url: &Url) -> Result<Target, OutboundError> {
    let allowed = if policy.require_https {
        "https"
    } else {
        "http or https"
    };
    match url.scheme() {
        "https" => {}
        "http" if !policy.require_https => {}
        scheme => {
            return Err(OutboundError::SchemeNotAllowed {
                url: redacted_url(url),
                scheme: scheme.to_owned(),
                allowed,
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::CredentialsInUrl {
            url: redacted_url(url),
        });
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        // The parser never leaves an address as a domain; if one ever did, the HTTP
        // client would connect to it directly, so judge it as an address.
        Some(Host::Domain(name)) => match name.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(Target::Name(name.to_owned())),
        },
        None => {
            return Err(OutboundError::InvalidUrl {
                reason: "the URL has no host".to_owned(),
            });
        }
    };
    let host = url.host_str().unwrap_or_default();
    match policy.refusal(host, ip) {
        None => Ok(Target::Address(ip)),
        Some(reason) => Err(OutboundError::ForbiddenAddress {
            host: host.to_owned(),
            ip,
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Reason;

    fn check_default(url: &str) -> Result<Target, OutboundError> {
        check(&OutboundPolicy::default(), &parse(url)?)
    }

    #[test]
    fn the_parser_normalizes_every_ipv4_spelling() {
        for spelling in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://127.0.0.1./",
            "http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}/",
        ] {
            let url = parse(spelling).expect("valid URL");
            assert_eq!(
                url.host(),
                Some(Host::Ipv4([127, 0, 0, 1].into())),
                "{spelling}"
            );
        }
        let mapped = parse("http://[::ffff:127.0.0.1]/").expect("valid URL");
        assert_eq!(mapped.host_str(), Some("[::ffff:7f00:1]"));
    }

    #[test]
    fn ip_literals_are_judged_directly() {
        assert_eq!(
            check_default("http://0x7f000001/latest").unwrap_err(),
            OutboundError::ForbiddenAddress {
                host: "127.0.0.1".into(),
                ip: "127.0.0.1".parse().expect("test address"),
                reason: Reason::Loopback,
            }
        );
        assert_eq!(
            check_default("https://93.184.215.14/"),
            Ok(Target::Address(
                "93.184.215.14".parse().expect("test address")
            ))
        );
    }

    #[test]
    fn names_are_left_to_the_resolver() {
        assert_eq!(
            check_default("https://Example.COM/x"),
            Ok(Target::Name("example.com".into()))
        );
    }

    #[test]
    fn only_http_and_https_pass() {
        for url in [
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
        ] {
            assert!(
                matches!(
                    check_default(url),
                    Err(OutboundError::SchemeNotAllowed { .. })
                ),
                "{url}"
            );
        }
        let https_only = OutboundPolicy {
            require_https: true,
            ..OutboundPolicy::default()
        };
        let err = check(
            &https_only,
            &parse("http://example.com/a?b").expect("valid URL"),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "http://example.com/…: the `http` scheme is not allowed; use https"
        );
    }

    #[test]
    fn credentials_are_refused_without_being_repeated() {
        let err = check_default("http://example.com@10.0.0.1/").unwrap_err();
        assert_eq!(
            err,
            OutboundError::CredentialsInUrl {
                url: "http://10.0.0.1/".into()
            }
        );
        let err = check_default("https://user:hunter2@example.com/").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn unparsable_urls_are_not_echoed() {
        let err = check_default("not a url /secret-token").unwrap_err();
        assert!(matches!(err, OutboundError::InvalidUrl { .. }));
        assert!(!err.to_string().contains("secret-token"));
    }
}
