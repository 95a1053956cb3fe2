//! `STARTTLS` (RFC 3207): the server's certificate and key, loaded once at start-up.
//!
//! With `tls_cert_path` and `tls_key_path` set, [`load_acceptor`] reads both PEM
//! files and builds a rustls server configuration (aws-lc-rs, TLS 1.2 and 1.3, no
//! client certificates). Any problem — a file that cannot be read, no certificate
//! in it, no key, a key that does not match — is an [`SmtpError::Tls`] before the
//! listener accepts anyone, never a surprise at a client's first `STARTTLS`.
//!
//! The switch itself is in `server.rs`: the plain session answers `220`, hands its
//! connection back (dropping whatever the client sent after `STARTTLS`, so nothing
//! injected before the handshake is read as a command inside TLS), and a new
//! session with no state but "TLS is active" runs over the encrypted stream.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::SmtpListenConfig;
use crate::error::SmtpError;

/// The acceptor for `STARTTLS`, or `None` when TLS is not configured.
pub(crate) fn load_acceptor(config: &SmtpListenConfig) -> Result<Option<TlsAcceptor>, SmtpError> {
    let (Some(cert_path), Some(key_path)) = (&config.tls_cert_path, &config.tls_key_path) else {
        return Ok(None);
    };
    let cert_error = |reason: String| SmtpError::Tls {
        field: "tls_cert_path",
        path: cert_path.clone(),
        reason,
    };
    let key_error = |reason: String| SmtpError::Tls {
        field: "tls_key_path",
        path: key_path.clone(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&read(cert_path).map_err(cert_error)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cert_error(format!("is not valid PEM: {error}")))?;
    if certs.is_empty() {
        return Err(cert_error("holds no CERTIFICATE block".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_path).map_err(key_error)?)
        .map_err(|error| key_error(format!("holds no usable private key: {error}")))?;
    let server = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| cert_error(format!("cannot set up TLS: {error}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| {
            key_error(format!(
                "cannot be used with the certificate of tls_cert_path: {error}"
            ))
        })?;
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot be read: {error}"))
}
