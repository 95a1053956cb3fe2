//! The `email` step: one message over SMTP (lettre), to the server in `[smtp]`.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// Most recipients one email step may address.
const MAX_RECIPIENTS: usize = 10;

/// SMTP settings; see `config.default.toml`.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Empty: email steps fail with "no SMTP server is configured".
    pub host: String,
    pub port: u16,
    /// `starttls` (upgrade, required), `tls` (implicit TLS) or `none` (development).
    pub security: SmtpSecurity,
    pub username: String,
    /// Name of the environment variable holding the password.
    pub password_env: String,
    /// The `From` of every message.
    pub from: String,
    pub timeout_ms: u64,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .field("from", &self.from)
            .finish()
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password_env: String::new(),
            from: "Pilot <pilot@localhost>".to_owned(),
            timeout_ms: 30_000,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

/// Sends step emails; `None` inside when no server is configured.
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
}

impl Mailer {
    /// Builds the transport from config; a bad `from` or TLS setup is a config error.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, String> {
        if config.host.trim().is_empty() {
            return Ok(Mailer {
                transport: None,
                from: None,
            });
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("smtp.from {:?} is not an address: {e}", config.from))?;
        let tls = match config.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls | SmtpSecurity::Tls => {
                let parameters = TlsParameters::new(config.host.clone())
                    .map_err(|e| format!("smtp TLS setup: {e}"))?;
                if config.security == SmtpSecurity::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        if !config.username.is_empty() {
            let password = std::env::var(&config.password_env).unwrap_or_default();
            builder = builder.credentials(Credentials::new(config.username.clone(), password));
        }
        Ok(Mailer {
            transport: Some(builder.build()),
            from: Some(from),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends one plain-text message; returns the recipients and the server's reply.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<serde_json::Value, String> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err("no SMTP server is configured (set [smtp] host)".to_owned());
        };
        let recipients = parse_recipients(to)?;
        let mut builder = Message::builder()
            .from(from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for recipient in &recipients {
            builder = builder.to(recipient.clone());
        }
        let message = builder
            .body(body.to_owned())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        let response = transport
            .send(message)
            .await
            .map_err(|e| format!("SMTP delivery failed: {e}"))?;
        Ok(serde_json::json!({
            "to": recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "subject": subject,
            "smtp": response.message().collect::<Vec<_>>().join(" "),
        }))
    }
}

/// Comma-separated mailboxes, each `a@b` or `Name <a@b>`.
fn parse_recipients(to: &str) -> Result<Vec<Mailbox>, String> {
    let recipients: Vec<Mailbox> = to
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<Mailbox>()
                .map_err(|e| format!("{part:?} is not an email address: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if recipients.is_empty() {
        return Err("to names no recipient".to_owned());
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(format!("at most {MAX_RECIPIENTS} recipients"));
    }
    Ok(recipients)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_parsed_and_bounded() {
        assert_eq!(
            parse_recipients("a@example.com, B <b@example.com>")
                .unwrap()
                .len(),
            2
        );
        assert!(parse_recipients("not an address").is_err());
        assert!(parse_recipients(" , ").is_err());
        let many = ["x@example.com"; 11].join(",");
        assert!(parse_recipients(&many).is_err());
    }

    #[tokio::test]
    async fn without_a_host_sending_fails_clearly() {
        let mailer = Mailer::new(&SmtpConfig::default()).unwrap();
        assert!(!mailer.is_configured());
        let error = mailer.send("a@example.com", "s", "b").await.unwrap_err();
        assert!(error.contains("no SMTP server"));
    }
}
