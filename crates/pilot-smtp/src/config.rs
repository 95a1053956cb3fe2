//! The listener's settings, as the `[smtp]` table of Pilot's configuration file.
//!
//! Every field has a default, so an empty table (or none) is a valid configuration;
//! unknown keys are refused so that a misspelt setting is an error, not a silent
//! default. [`SmtpListenConfig::validate`] checks what serde cannot: limits of zero
//! would refuse every client, and the domain is echoed in replies, so it must be a
//! plain host name.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Settings of the inbound SMTP listener (the `email` trigger).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpListenConfig {
    /// Whether `pilot serve` starts the SMTP listener at all. Off by default: the
    /// listener speaks plain SMTP without TLS or authentication, so run it on a
    /// private network or behind an MTA that terminates TLS and forwards mail for
    /// `domain` to it. It accepts mail only for pilots' addresses and never relays.
    pub enabled: bool,
    /// The address and port to listen on.
    pub bind: String,
    /// The domain pilots' addresses live under: a pilot's address is
    /// `<its local part>@<domain>`, e.g. `pilot-abc123@localhost`. Mail for any
    /// other domain is refused (550); the comparison ignores case.
    pub domain: String,
    /// The largest message accepted, in bytes. Advertised in `EHLO` as `SIZE`; a
    /// larger `MAIL FROM … SIZE=` or a larger message body is refused with 552.
    pub max_message_bytes: usize,
    /// The most recipients one message may have; further `RCPT TO` commands get a
    /// 452 and the client sends them in another transaction.
    pub max_recipients: usize,
    /// How long, in milliseconds, the listener waits for each line a client sends
    /// (a command, or a line of message text) before it answers 421 and hangs up.
    /// It also bounds how long shutdown waits for sessions still in progress.
    pub idle_timeout_ms: u64,
    /// The most simultaneous connections; one more is answered 421 (try again
    /// later) and closed.
    pub max_connections: usize,
}

impl Default for SmtpListenConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            bind: "127.0.0.1:2525".to_owned(),
            domain: "localhost".to_owned(),
            max_message_bytes: 1024 * 1024,
            max_recipients: 10,
            idle_timeout_ms: 60_000,
            max_connections: 64,
        }
    }
}

impl SmtpListenConfig {
    /// The idle timeout as a [`Duration`].
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// Checks the settings that serde cannot: every limit above zero and a domain
    /// made of letters, digits, `-` and `.` only (it is written into replies).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_message_bytes", self.max_message_bytes == 0),
            ("max_recipients", self.max_recipients == 0),
            ("idle_timeout_ms", self.idle_timeout_ms == 0),
            ("max_connections", self.max_connections == 0),
        ];
        if let Some((field, _)) = positive.into_iter().find(|(_, zero)| *zero) {
            return Err(ConfigError::new(field, "must be greater than zero"));
        }
        if !is_host_name(&self.domain) {
            return Err(ConfigError::new(
                "domain",
                "must be a host name: letters, digits, '-' and '.', at most 253 characters",
            ));
        }
        Ok(())
    }
}

fn is_host_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63)
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_documented_values() {
        let config = SmtpListenConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert!(!config.enabled);
        assert_eq!(config.max_message_bytes, 1_048_576);
        assert_eq!(config.idle_timeout(), Duration::from_secs(60));
    }

    #[test]
    fn zero_limits_and_odd_domains_are_refused() {
        let zero = SmtpListenConfig {
            max_recipients: 0,
            ..SmtpListenConfig::default()
        };
        assert_eq!(zero.validate().map_err(|e| e.field), Err("max_recipients"));
        for domain in ["", "a b", "evil\r\n250 ok", "a..b", "x."] {
            let config = SmtpListenConfig {
                domain: domain.to_owned(),
                ..SmtpListenConfig::default()
            };
            assert_eq!(
                config.validate().map_err(|e| e.field),
                Err("domain"),
                "{domain:?}"
            );
        }
    }
}
