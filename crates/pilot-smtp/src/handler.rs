//! What the server asks of the application: whether a mailbox exists, and to take a
//! message for it.
//!
//! The server knows nothing about pilots or storage. Pilot's binary implements
//! [`MailHandler`] over its store (a local part is a pilot's address; delivering
//! enqueues a run with [`InboundMail::to_payload`](crate::InboundMail::to_payload)
//! as its trigger payload); tests use [`CollectingHandler`](crate::CollectingHandler).
//! The contract between the two sides is on [`MailHandler`].

use async_trait::async_trait;

use crate::mail::InboundMail;

/// The application side of the SMTP listener.
///
/// # The contract
///
/// * [`accepts`](MailHandler::accepts) is asked once per `RCPT TO` whose domain is
///   the configured one, with the local part in ASCII lower case. `Ok(false)` is a
///   550 (no such mailbox); an error is a 451 (try again later).
/// * [`deliver`](MailHandler::deliver) is called after `DATA`, once per accepted
///   recipient, in the order they were given, and must return only once the mail is
///   durable (for Pilot: the run is committed). The client hears 250 only after
///   every call returned `Ok`; the first error stops the rest and the client hears
///   451, so it keeps the message and sends it again later.
/// * Because of that retry, a recipient whose delivery succeeded before another
///   recipient's failed receives the message again. Deliveries are *at least once*:
///   a handler that must not act twice can key on `(message_id, recipient)`.
/// * An error's text is logged, never sent to the client.
/// * Calls are not bounded by the idle timeout (the client is waiting for the
///   answer): bound your own I/O. A call still running when shutdown's grace
///   period ends is dropped, and the client, having heard no 250, retries.
#[async_trait]
pub trait MailHandler: Send + Sync + 'static {
    /// Whether `local_part` (lower case, without `@domain`) is a mailbox here.
    async fn accepts(&self, local_part: &str) -> Result<bool, HandlerError>;

    /// Takes `mail` for `mail.recipient`; returns once it is stored durably.
    async fn deliver(&self, mail: &InboundMail) -> Result<(), HandlerError>;
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A handler's failure. The server answers it with a temporary failure (451), so a
/// well-behaved client retries; the message is logged with its source chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl HandlerError {
    /// A failure described by `message` alone.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A failure described by `message`, caused by `source` (a store error, …).
    pub fn with_source(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}
