//! Pilot's inbound SMTP listener: the `email` trigger. Mail sent to a pilot's
//! address (`pilot-abc123@<domain>`) becomes the trigger payload of a run.
//!
//! # The flow
//!
//! ```text
//!  client ── TCP ──► SmtpServer::serve          (server.rs: accept, limit, shutdown)
//!                      └─► Session per connection (session.rs: the state machine)
//!                            └─ STARTTLS ─► handshake, a new Session over TLS (tls.rs)
//!                            EHLO ─► MAIL FROM ─► RCPT TO ─────► DATA ─► message
//!                                                   │                     │
//!                              MailHandler::accepts ┘   parse.rs (mail-parser)
//!                                                                         │
//!                                       MailHandler::deliver, per recipient ┘
//!                                         └─► 250 only if every one succeeded
//! ```
//!
//! The crate knows nothing of pilots or storage: the application implements
//! [`MailHandler`] (is this local part a mailbox? take this [`InboundMail`]) and
//! turns a delivery into a run with [`InboundMail::to_payload`], whose doc lists
//! the payload's keys. [`CollectingHandler`] and [`spawn_local`] make an
//! in-memory SMTP sink for tests and local tools.
//!
//! # Guarantees
//!
//! * **Never an open relay.** Only recipients under the configured domain are
//!   accepted, and only those the handler accepts; everything else is a 550
//!   before any message text is read.
//! * **Nothing accepted is lost.** The reply to `DATA` is 250 only after
//!   [`MailHandler::deliver`] returned `Ok` for every recipient, i.e. after the
//!   application made the mail durable. A handler error, a panic, a shutdown or a
//!   dropped connection before that leaves the client without a 250, so it keeps
//!   the message and retries. The price is at-least-once delivery: a message to
//!   two pilots whose second delivery failed is delivered to the first again.
//! * **Bounded resources.** At most `max_connections` sessions; lines of at most
//!   512 (commands) and 1000 (text) octets held in memory; a message of at most
//!   `max_message_bytes` buffered (a larger one is read to its end and
//!   discarded, then refused with 552); every line and reply within
//!   `idle_timeout_ms` or the connection is closed with 421; at most 100
//!   commands that deliver nothing (errors, `NOOP`, `RSET`, …) between two
//!   delivered messages.
//! * **Strict framing.** Only `<CR><LF>.<CR><LF>` ends a message, and a message
//!   with a bare LF is refused, which closes the door on SMTP smuggling.
//! * **Nothing from the client is echoed** into replies, and handler errors are
//!   logged, never sent.
//!
//! * **`STARTTLS`** (RFC 3207), when `tls_cert_path` and `tls_key_path` are set
//!   (see `tls.rs`): the PEM files are loaded at start-up or the server does not
//!   start; after the handshake the session starts from nothing, and plain text
//!   a client (or an attacker on the path) sent behind `STARTTLS` is never read
//!   as a command. `require_tls` refuses `MAIL FROM` (530) until TLS is on;
//!   without it, a client may stay in plain text.
//! * **Bounded payloads.** At most [`MAX_ATTACHMENTS`] attachments are listed,
//!   and only those of at most `max_attachment_bytes` carry their content.
//!
//! # What it is not
//!
//! No authentication (`AUTH`), no implicit TLS (port 465), no client
//! certificates, no `PIPELINING`, no `SMTPUTF8`, no `BDAT`. Run it on a private
//! network, or behind an MTA (Postfix, …) that does spam filtering and forwards
//! mail for the domain here. It is a final destination for pilot addresses, never a relay, and it
//! does not accept the RFC 5321 `postmaster` mailbox unless the handler does.

mod collect;
mod command;
mod config;
mod data;
mod envelope;
mod error;
mod handler;
mod line;
mod mail;
mod parse;
mod reply;
mod server;
mod session;
mod tls;

pub use collect::CollectingHandler;
pub use config::SmtpListenConfig;
pub use error::{ConfigError, SmtpError};
pub use handler::{HandlerError, MailHandler};
pub use mail::{Attachment, InboundMail, KEPT_HEADERS, MAX_ATTACHMENTS, Mailbox};
pub use server::{SmtpServer, serve, spawn_local};
