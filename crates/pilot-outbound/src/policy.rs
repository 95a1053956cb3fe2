//! The operator's settings for outbound requests, and the one question they answer:
//! may this host, at this address, be reached?
//!
//! The defaults are the production answer: no special-purpose address, no matter how
//! it is spelled or what name leads to it. The escape hatches are for development
//! (a webhook receiver on `localhost`, a mock API in a Docker network):
//!
//! * `allow_list` entries: an IP address or CIDR block (`127.0.0.1`, `10.1.0.0/16`,
//!   `fd00::/8`) permits those addresses for every host; a host name (`localhost`,
//!   `mock-api`) permits every address that exact name resolves to — whoever controls
//!   that name's DNS then chooses where requests go, which is the point in
//!   development and a hazard elsewhere.
//! * `allow_private = true` turns the address check off entirely, including for
//!   cloud metadata at `169.254.169.254`. Scheme, redirect, size and time limits
//!   still apply. The client logs a warning when it is built with it.
//!
//! Entries are parsed when the configuration is read, so a typo fails at start-up
//! with a message naming the entry, not at the first request.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::address::{Reason, is_forbidden};
use crate::cidr::{Cidr, CidrError};

/// Settings for outbound requests (`http` steps, webhook deliveries).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundPolicy {
    /// Turn the address check off entirely (development only).
    pub allow_private: bool,
    /// Addresses, blocks and host names exempt from the address check.
    pub allow_list: Vec<AllowEntry>,
    /// Refuse plain `http` URLs, on the first hop and on every redirect.
    pub require_https: bool,
    /// Most response-body bytes read; the rest is cut off (or an error, by call).
    pub max_response_bytes: usize,
    /// Longest a whole exchange may take, redirects and body included; also the
    /// ceiling for a per-request timeout.
    pub timeout_ms: NonZeroU64,
    /// Most redirects followed, each re-checked; one more is an error.
    pub max_redirects: u32,
    /// Fixed answers for host names, used instead of DNS (like `/etc/hosts`, and
    /// checked by the guard like any DNS answer): for a split-horizon name, or a test
    /// that stands in for a DNS server changing its answer.
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
}

const DEFAULT_TIMEOUT_MS: NonZeroU64 = NonZeroU64::new(10_000).expect("10 000 is not zero");

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_private: false,
            allow_list: Vec::new(),
            require_https: false,
            max_response_bytes: 1024 * 1024,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_redirects: 3,
            hosts: BTreeMap::new(),
        }
    }
}

impl OutboundPolicy {
    /// The default policy with `entries` on the allow-list, e.g.
    /// `OutboundPolicy::allowing(&["127.0.0.1"])` for a local webhook receiver.
    pub fn allowing(entries: &[&str]) -> Result<OutboundPolicy, AllowEntryError> {
        Ok(OutboundPolicy {
            allow_list: entries
                .iter()
                .map(|e| e.parse())
                .collect::<Result<_, _>>()?,
            ..OutboundPolicy::default()
        })
    }

    /// `timeout_ms` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }

    /// Why a connection to `ip` on behalf of the URL host `host` is refused, or
    /// `None` when it may go ahead.
    pub fn refusal(&self, host: &str, ip: IpAddr) -> Option<Reason> {
        if self.allow_private || self.allow_list.iter().any(|e| e.permits(host, ip)) {
            return None;
        }
        is_forbidden(ip)
    }
}

/// One `allow_list` entry: addresses, or a host name whose addresses are all allowed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum AllowEntry {
    /// An address or block (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`).
    Network(Cidr),
    /// A host name, lower case and without a trailing dot (`localhost`).
    Host(String),
}

impl AllowEntry {
    fn permits(&self, host: &str, ip: IpAddr) -> bool {
        match self {
            AllowEntry::Network(block) => block.contains(ip),
            AllowEntry::Host(name) => *name == normalize_host(host),
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

impl FromStr for AllowEntry {
    type Err = AllowEntryError;

    fn from_str(s: &str) -> Result<AllowEntry, AllowEntryError> {
        let error = |problem| AllowEntryError {
            entry: s.to_owned(),
            problem,
        };
        let trimmed = s.trim();
        if trimmed.contains("://") {
            return Err(error(Problem::NotAHostName));
        }
        // Anything shaped like an address must be a valid one: a mistyped block
        // must not quietly become a host name that never matches.
        let last_label = trimmed
            .trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or("");
        let address_like = trimmed.contains(['/', ':'])
            || (!last_label.is_empty() && last_label.bytes().all(|b| b.is_ascii_digit()));
        if address_like {
            return trimmed
                .parse()
                .map(AllowEntry::Network)
                .map_err(|e| error(Problem::Cidr(e)));
        }
        let name = normalize_host(trimmed);
        if is_host_name(&name) {
            Ok(AllowEntry::Host(name))
        } else {
            Err(error(Problem::NotAHostName))
        }
    }
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1 to 63 characters.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl TryFrom<String> for AllowEntry {
    type Error = AllowEntryError;

    fn try_from(s: String) -> Result<AllowEntry, AllowEntryError> {
        s.parse()
    }
}

impl From<AllowEntry> for String {
    fn from(entry: AllowEntry) -> String {
        entry.to_string()
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Network(block) => block.fmt(f),
            AllowEntry::Host(name) => f.write_str(name),
        }
    }
}

/// An `allow_list` entry that is neither an address, a block nor a host name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("allow_list entry `{entry}`: {problem}")]
pub struct AllowEntryError {
    entry: String,
    problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum Problem {
    #[error("{0}")]
    Cidr(CidrError),
    #[error(
        "expected an IP address (127.0.0.1), a CIDR block (10.0.0.0/8) or a host name \
         (localhost)"
    )]
    NotAHostName,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> AllowEntry {
        s.parse().expect("test entry")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn entries_parse_into_blocks_or_names() {
        assert_eq!(
            entry("127.0.0.1"),
            AllowEntry::Network(Cidr::v4([127, 0, 0, 1], 32))
        );
        assert_eq!(entry("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(entry("fd00::/8").to_string(), "fd00::/8");
        assert_eq!(entry("::1").to_string(), "::1/128");
        assert_eq!(entry(" Localhost. "), AllowEntry::Host("localhost".into()));
        assert_eq!(
            entry("mock_api.internal"),
            AllowEntry::Host("mock_api.internal".into())
        );
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry_named() {
        let err = |s: &str| s.parse::<AllowEntry>().unwrap_err().to_string();
        assert_eq!(
            err("10.0.0.1/8"),
            "allow_list entry `10.0.0.1/8`: `10.0.0.1/8` has host bits set; did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            err("10.0.0.256"),
            "allow_list entry `10.0.0.256`: `10.0.0.256` is not an IP address"
        );
        assert!(err("http://localhost").contains("expected an IP address"));
        assert!(err("*.internal").contains("expected an IP address"));
        assert!(err("").contains("expected an IP address"));
        assert!(err("a..b").contains("expected an IP address"));
        assert_eq!(
            OutboundPolicy::allowing(&["localhost", "10.0.0.0/33"])
                .unwrap_err()
                .to_string(),
            err("10.0.0.0/33")
        );
    }

    #[test]
    fn default_policy_refuses_special_addresses_only() {
        let policy = OutboundPolicy::default();
        assert_eq!(policy.refusal("x", ip("127.0.0.1")), Some(Reason::Loopback));
        assert_eq!(policy.refusal("x", ip("8.8.8.8")), None);
    }

    #[test]
    fn allow_list_blocks_permit_their_addresses_only() {
        let policy = OutboundPolicy::allowing(&["127.0.0.1"]).expect("valid entries");
        assert_eq!(policy.refusal("localhost", ip("127.0.0.1")), None);
        assert_eq!(
            policy.refusal("localhost", ip("::1")),
            Some(Reason::Loopback)
        );
        assert_eq!(
            policy.refusal("x", ip("169.254.169.254")),
            Some(Reason::LinkLocal)
        );
    }

    #[test]
    fn allow_list_names_permit_any_address_of_that_name() {
        let policy = OutboundPolicy::allowing(&["mock-api"]).expect("valid entries");
        assert_eq!(policy.refusal("MOCK-API.", ip("172.18.0.5")), None);
        assert_eq!(
            policy.refusal("other", ip("172.18.0.5")),
            Some(Reason::Private)
        );
    }

    #[test]
    fn allow_private_turns_the_address_check_off() {
        let policy = OutboundPolicy {
            allow_private: true,
            ..OutboundPolicy::default()
        };
        assert_eq!(policy.refusal("x", ip("169.254.169.254")), None);
    }

    #[test]
    fn deserializes_with_defaults_and_refuses_unknown_fields() {
        let policy: OutboundPolicy =
            serde_json::from_str(r#"{"allow_list": ["127.0.0.1/32", "localhost"]}"#)
                .expect("valid policy");
        assert_eq!(
            policy.allow_list,
            vec![entry("127.0.0.1"), entry("localhost")]
        );
        assert_eq!(policy.max_redirects, 3);
        assert_eq!(policy.timeout(), Duration::from_secs(10));
        assert!(!policy.allow_private && !policy.require_https);

        let unknown = serde_json::from_str::<OutboundPolicy>(r#"{"allow_privat": true}"#);
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `allow_privat`")
        );

        let bad = serde_json::from_str::<OutboundPolicy>(r#"{"allow_list": ["10.0.0.0/33"]}"#);
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("allow_list entry `10.0.0.0/33`: prefix /33 is too long for 10.0.0.0")
        );

        let zero = serde_json::from_str::<OutboundPolicy>(r#"{"timeout_ms": 0}"#);
        assert!(zero.is_err());
    }

    #[test]
    fn serializes_back_to_the_same_strings() {
        let policy = OutboundPolicy::allowing(&["10.0.0.0/8", "localhost"]).expect("valid entries");
        let json = serde_json::to_value(&policy).expect("serializable");
        assert_eq!(
            json["allow_list"],
            serde_json::json!(["10.0.0.0/8", "localhost"])
        );
        let back: OutboundPolicy = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, policy);
    }
}
