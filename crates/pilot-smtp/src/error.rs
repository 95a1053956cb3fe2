//! Errors of starting the listener. Errors *inside* a session never leave it: they
//! become SMTP replies (see `reply.rs`) or a closed connection, and are logged.

/// A setting that [`SmtpListenConfig::validate`](crate::SmtpListenConfig::validate)
/// refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("smtp.{field} {reason}")]
pub struct ConfigError {
    /// The offending key of the `[smtp]` table.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `STARTTLS` certificate or key could not be loaded.
    #[error("smtp.{field} {}: {reason}", path.display())]
    Tls {
        /// `tls_cert_path` or `tls_key_path`.
        field: &'static str,
        /// The file it names.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The listening socket could not be bound or inspected.
    #[error("cannot listen for SMTP: {0}")]
    Bind(#[source] std::io::Error),
}
