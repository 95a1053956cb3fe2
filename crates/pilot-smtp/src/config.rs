//! The listener's settings, as the `[email_trigger]` table of Pilot's configuration
//! file (the `[smtp]` table is the outbound server `email` steps send through).
//!
//! Every field has a default, so an empty table (or none) is a valid configuration;
//! unknown keys are refused so that a misspelt setting is an error, not a silent
//! default. [`SmtpListenConfig::validate`] checks what serde cannot: limits of zero
//! would refuse every client, the domain is echoed in replies, so it must be a
//! plain host name, and the TLS certificate and key come as a pair. Whether the
//! PEM files can be read is checked when the server is built
//! ([`SmtpServer::new`](crate::SmtpServer::new)).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Settings of the inbound SMTP listener (the `email` trigger).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpListenConfig {
    /// Whether `pilot serve` starts the SMTP listener at all. Off by default: the
    /// listener has no authentication (and TLS only with `tls_cert_path` and
    /// `tls_key_path`), so run it on a private network or behind an MTA that
    /// forwards mail for `domain` to it. It accepts mail only for pilots' addresses
    /// and never relays.
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
    /// The largest attachment, in decoded bytes, whose content is put in the
    /// payload (base64); a larger one is listed with `content: null, omitted:
    /// true`. 0 never includes content. At most 20 attachments are listed.
    pub max_attachment_bytes: usize,
    /// A PEM file with the certificate chain (leaf first) for `STARTTLS`. Set
    /// together with `tls_key_path`: with both, `EHLO` offers `STARTTLS`; with
    /// neither, the listener speaks plain SMTP only and `STARTTLS` is a 502.
    pub tls_cert_path: Option<PathBuf>,
    /// A PEM file with the private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert_path`.
    pub tls_key_path: Option<PathBuf>,
    /// Refuse `MAIL FROM` with `530 5.7.0 Must issue a STARTTLS command first`
    /// until the client has switched to TLS. Needs `tls_cert_path` and
    /// `tls_key_path`.
    pub require_tls: bool,
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
            max_attachment_bytes: 256 * 1024,
            tls_cert_path: None,
            tls_key_path: None,
            require_tls: false,
        }
    }
}

impl SmtpListenConfig {
    /// The idle timeout as a [`Duration`].
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// Whether `STARTTLS` is configured: both `tls_cert_path` and `tls_key_path`.
    pub fn tls_configured(&self) -> bool {
        self.tls_cert_path.is_some() && self.tls_key_path.is_some()
    }

    /// Checks the settings that serde cannot: every limit above zero, a domain
    /// made of letters, digits, `-` and `.` only (it is written into replies), the
    /// TLS certificate and key both set or both unset, and `require_tls` only
    /// with them.
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
        match (&self.tls_cert_path, &self.tls_key_path) {
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "tls_key_path",
                    "must be set when tls_cert_path is",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "tls_cert_path",
                    "must be set when tls_key_path is",
                ));
            }
            _ => {}
        }
        if self.require_tls && !self.tls_configured() {
            return Err(ConfigError::new(
                "require_tls",
                "needs tls_cert_path and tls_key_path",
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
        assert_eq!(config.max_attachment_bytes, 262_144);
        assert!(!config.tls_configured() && !config.require_tls);
    }

    #[test]
    fn tls_paths_come_as_a_pair_and_require_tls_needs_them() {
        let cert_only = SmtpListenConfig {
            tls_cert_path: Some("cert.pem".into()),
            ..SmtpListenConfig::default()
        };
        assert_eq!(
            cert_only.validate().map_err(|e| e.field),
            Err("tls_key_path")
        );
        let key_only = SmtpListenConfig {
            tls_key_path: Some("key.pem".into()),
            ..SmtpListenConfig::default()
        };
        assert_eq!(
            key_only.validate().map_err(|e| e.field),
            Err("tls_cert_path")
        );
        let required = SmtpListenConfig {
            require_tls: true,
            ..SmtpListenConfig::default()
        };
        assert_eq!(required.validate().map_err(|e| e.field), Err("require_tls"));
        let both = SmtpListenConfig {
            require_tls: true,
            ..cert_only
        };
        let both = SmtpListenConfig {
            tls_key_path: Some("key.pem".into()),
            ..both
        };
        assert_eq!(both.validate(), Ok(()));
        assert!(both.tls_configured());
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
