//! One connection's conversation: the RFC 5321 state machine.
//!
//! ```text
//!   220 greeting
//!     │
//!   EHLO/HELO ──► greeted ──MAIL FROM──► sender ──RCPT TO (accepted)──► recipients
//!                   ▲                                                      │
//!                   └───── RSET, EHLO/HELO, or the reply to DATA ◄── DATA ─┘
//! ```
//!
//! * A command out of that order is a 503 and changes nothing; `RSET` (and a new
//!   `EHLO`/`HELO`) drops the transaction but keeps the greeting.
//! * `RCPT TO` is refused (550) for any domain but ours (no relaying) and for a
//!   local part the handler does not accept; past `max_recipients` it is a 452.
//!   A recipient given twice is accepted once.
//! * `DATA` reads the message (see `data.rs`), parses it once, hands one copy per
//!   recipient to [`MailHandler::deliver`], and answers 250 only when all of them
//!   succeeded; any failure is a 451. Either way the transaction is over.
//! * `STARTTLS`, when TLS is configured, is offered in `EHLO` and answered 220
//!   after an `EHLO`; the session then ends and hands its connection back to the
//!   server for the handshake (see `tls.rs`). The session that runs over TLS
//!   starts from nothing (no greeting is sent, the client must `EHLO` again) and
//!   refuses another `STARTTLS` with 503. Without TLS configured, `STARTTLS` is
//!   a 502. With `require_tls`, `MAIL FROM` before TLS is a 530.
//! * `NOOP` is 250, `VRFY` 252 (never reveals whether a mailbox exists), `QUIT`
//!   221, known-but-unoffered commands (`AUTH`, `BDAT`, …) 502, anything else
//!   500. A command line over 512 octets is a 500 and the next line is read
//!   normally. `PIPELINING` is not advertised, so replies come one per command.
//! * After 100 commands that deliver nothing (errors, `NOOP`, `RSET`, `VRFY`,
//!   `EHLO`) since its last delivered message, a client hears 421 and is
//!   disconnected.
//! * Every line must arrive within the idle timeout, and every reply must be
//!   written within it: a silent client hears 421 and is disconnected. When the
//!   server shuts down, a session waiting for a command answers 421 and ends; one
//!   in the middle of `DATA` or a delivery finishes it first.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn};

use crate::command::{Command, parse_command};
use crate::config::SmtpListenConfig;
use crate::data::{Data, read_data};
use crate::envelope::{parse_mail_from, parse_rcpt_to};
use crate::handler::MailHandler;
use crate::line::{COMMAND_LINE_MAX, LineReader, ReadError};
use crate::mail::InboundMail;
use crate::parse::parse_message;
use crate::reply::Reply;

/// How many commands that deliver nothing (errors, `NOOP`, `RSET`, `VRFY`,
/// `EHLO`/`HELO`) a session may send since its last delivered message before it
/// is disconnected, so that no client can hold a connection slot for ever or probe
/// mailboxes at leisure.
const JUNK_COMMAND_LIMIT: u32 = 100;

/// An accepted recipient of the current transaction.
struct Recipient {
    local_part: String,
    address: String,
}

/// The mail transaction in progress: from `MAIL FROM` to the reply to `DATA`.
struct Transaction {
    reverse_path: Option<String>,
    recipients: Vec<Recipient>,
}

/// Where a session stands with TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Not configured: `STARTTLS` is not offered (502).
    NotOffered,
    /// Configured, plain text so far: `STARTTLS` is offered.
    Offered,
    /// The connection is encrypted: this session started after the handshake.
    Active,
}

/// Why a conversation ended.
#[derive(Debug)]
enum End {
    Quit,
    /// The client sent `STARTTLS` and heard 220: the handshake comes next.
    StartTls,
    TooManyJunkCommands,
    ClientClosed,
    IdleTimeout,
    WriteTimeout,
    Shutdown,
    Io(io::Error),
}

impl From<ReadError> for End {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Closed => End::ClientClosed,
            ReadError::TimedOut => End::IdleTimeout,
            ReadError::Io(error) => End::Io(error),
        }
    }
}

/// One client's session, over any byte stream.
pub(crate) struct Session<S> {
    /// Reads lines from the stream; replies are written to the stream underneath.
    stream: LineReader<S>,
    tls: Tls,
    handler: Arc<dyn MailHandler>,
    config: Arc<SmtpListenConfig>,
    shutdown: CancellationToken,
    greeted: bool,
    transaction: Option<Transaction>,
    /// Junk commands since the last delivered message; see [`JUNK_COMMAND_LIMIT`].
    junk: u32,
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(
        stream: S,
        tls: Tls,
        handler: Arc<dyn MailHandler>,
        config: Arc<SmtpListenConfig>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            stream: LineReader::new(stream),
            tls,
            handler,
            config,
            shutdown,
            greeted: false,
            transaction: None,
            junk: 0,
        }
    }

    /// Talks with the client until either side ends the session. Returns the
    /// connection when the client asked for `STARTTLS` and heard 220: the caller
    /// does the handshake and runs a new session over TLS.
    pub(crate) async fn run(mut self) -> Option<S> {
        let Err(end) = self.converse().await;
        if let End::StartTls = end {
            debug!("smtp session switching to TLS");
            return Some(self.stream.into_inner());
        }
        let farewell = match &end {
            End::StartTls => None,
            End::Quit => Some(Reply::bye(&self.config.domain)),
            End::IdleTimeout => Some(Reply::idle_timeout(&self.config.domain)),
            End::Shutdown => Some(Reply::shutting_down(&self.config.domain)),
            End::TooManyJunkCommands => Some(Reply::too_many_junk_commands(&self.config.domain)),
            End::ClientClosed | End::WriteTimeout | End::Io(_) => None,
        };
        if let Some(reply) = farewell {
            // The connection is closing anyway; a failure here changes nothing.
            let _ = self.send(reply).await;
        }
        let _ = self.stream.get_mut().shutdown().await;
        match end {
            End::Io(error) => debug!(%error, "smtp session failed"),
            end => debug!(?end, "smtp session ended"),
        }
        None
    }

    async fn converse(&mut self) -> Result<Infallible, End> {
        // After STARTTLS the client speaks first (RFC 3207 §4.2): no new greeting.
        if self.tls != Tls::Active {
            self.send(Reply::greeting(&self.config.domain)).await?;
        }
        let idle = self.config.idle_timeout();
        let mut line = Vec::with_capacity(COMMAND_LINE_MAX);
        loop {
            let status = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(End::Shutdown),
                read = self.stream.read_line_within(&mut line, COMMAND_LINE_MAX, idle) => read?,
            };
            if status.too_long {
                self.count_junk(true)?;
                self.send(Reply::line_too_long()).await?;
            } else {
                self.execute(&line).await?;
            }
        }
    }

    async fn execute(&mut self, line: &[u8]) -> Result<(), End> {
        let command = parse_command(line);
        let unproductive = matches!(
            command,
            Command::Noop | Command::Rset | Command::Vrfy | Command::Ehlo | Command::Helo
        );
        let reply = match command {
            Command::Ehlo => {
                self.greet();
                Reply::ehlo(
                    &self.config.domain,
                    self.config.max_message_bytes,
                    self.tls == Tls::Offered,
                )
            }
            Command::Helo => {
                self.greet();
                Reply::helo(&self.config.domain)
            }
            Command::Mail(argument) => self.mail(argument),
            Command::Rcpt(argument) => self.rcpt(argument).await,
            Command::Data => return self.data().await,
            Command::Rset => {
                self.transaction = None;
                Reply::ok()
            }
            Command::Noop => Reply::ok(),
            Command::Vrfy => Reply::cannot_verify(),
            Command::Quit => return Err(End::Quit),
            Command::StartTls => match self.tls {
                Tls::NotOffered => Reply::not_implemented(),
                Tls::Active => Reply::tls_already_active(),
                Tls::Offered if !self.greeted => Reply::bad_sequence("5.5.1 Send EHLO first"),
                Tls::Offered => {
                    self.send(Reply::ready_for_tls()).await?;
                    return Err(End::StartTls);
                }
            },
            Command::NotImplemented => Reply::not_implemented(),
            Command::Unknown => Reply::unknown_command(),
            Command::Invalid(reply) => reply,
        };
        self.count_junk(unproductive || reply.code() >= 400)?;
        self.send(reply).await
    }

    /// Counts a command that delivered nothing; past the limit, the session ends.
    fn count_junk(&mut self, junk: bool) -> Result<(), End> {
        if junk {
            self.junk += 1;
        }
        if self.junk > JUNK_COMMAND_LIMIT {
            return Err(End::TooManyJunkCommands);
        }
        Ok(())
    }

    fn greet(&mut self) {
        self.greeted = true;
        self.transaction = None;
    }

    fn mail(&mut self, argument: &str) -> Reply {
        if !self.greeted {
            return Reply::bad_sequence("5.5.1 Send EHLO or HELO first");
        }
        if self.config.require_tls && self.tls != Tls::Active {
            return Reply::tls_required();
        }
        if self.transaction.is_some() {
            return Reply::bad_sequence("5.5.1 Sender already given, send RSET to start over");
        }
        let mail_from = match parse_mail_from(argument) {
            Ok(mail_from) => mail_from,
            Err(reply) => return reply,
        };
        let max = u64::try_from(self.config.max_message_bytes).unwrap_or(u64::MAX);
        if mail_from.size.is_some_and(|declared| declared > max) {
            return Reply::too_big();
        }
        self.transaction = Some(Transaction {
            reverse_path: mail_from.reverse_path,
            recipients: Vec::new(),
        });
        Reply::sender_ok()
    }

    async fn rcpt(&mut self, argument: &str) -> Reply {
        let Some(transaction) = self.transaction.as_mut() else {
            return Reply::bad_sequence("5.5.1 Send MAIL FROM first");
        };
        let rcpt = match parse_rcpt_to(argument) {
            Ok(rcpt) => rcpt,
            Err(reply) => return reply,
        };
        if !rcpt.domain.eq_ignore_ascii_case(&self.config.domain) {
            return Reply::relay_denied();
        }
        let recipients = &mut transaction.recipients;
        if recipients.iter().any(|r| r.local_part == rcpt.local_part) {
            return Reply::recipient_ok();
        }
        if recipients.len() >= self.config.max_recipients {
            return Reply::too_many_recipients();
        }
        match self.handler.accepts(&rcpt.local_part).await {
            Ok(true) => {
                let address = format!(
                    "{}@{}",
                    rcpt.local_part,
                    self.config.domain.to_ascii_lowercase()
                );
                recipients.push(Recipient {
                    local_part: rcpt.local_part,
                    address,
                });
                Reply::recipient_ok()
            }
            Ok(false) => Reply::no_such_mailbox(),
            Err(error) => {
                warn!(
                    error = &error as &dyn std::error::Error,
                    "mail handler failed to look up a recipient"
                );
                Reply::try_again_later()
            }
        }
    }

    async fn data(&mut self) -> Result<(), End> {
        let ready = match &self.transaction {
            None => Err("5.5.1 Send MAIL FROM first"),
            Some(transaction) if transaction.recipients.is_empty() => {
                Err("5.5.1 Send RCPT TO first")
            }
            Some(_) => Ok(()),
        };
        if let Err(text) = ready {
            return self.send(Reply::bad_sequence(text)).await;
        }
        self.send(Reply::start_data()).await?;
        let data = read_data(
            &mut self.stream,
            self.config.max_message_bytes,
            self.config.idle_timeout(),
        )
        .await?;
        // The transaction ends with the reply to DATA, whatever it is.
        let reply = match (data, self.transaction.take()) {
            (Data::Message(raw), Some(transaction)) => {
                let reply = self.deliver(transaction, &raw).await;
                if reply.code() == 250 {
                    self.junk = 0;
                }
                reply
            }
            (Data::Message(_), None) => Reply::bad_sequence("5.5.1 Send MAIL FROM first"),
            (Data::TooBig, _) => Reply::too_big(),
            (Data::LineTooLong, _) => Reply::line_too_long(),
            (Data::BareLineFeed, _) => Reply::bare_line_feed(),
        };
        self.send(reply).await
    }

    /// Hands the message to the handler for every recipient; 250 only if all took it.
    async fn deliver(&self, transaction: Transaction, raw: &[u8]) -> Reply {
        let Some(parsed) = parse_message(
            raw,
            transaction.reverse_path,
            unix_millis_now(),
            self.config.max_attachment_bytes,
        ) else {
            return Reply::unparseable();
        };
        for recipient in transaction.recipients {
            let mail = InboundMail {
                recipient: recipient.local_part,
                recipient_address: recipient.address,
                ..parsed.clone()
            };
            if let Err(error) = self.handler.deliver(&mail).await {
                warn!(
                    error = &error as &dyn std::error::Error,
                    recipient = %mail.recipient_address,
                    message_id = mail.message_id.as_deref(),
                    "mail handler failed to deliver; answering 451 so the sender retries"
                );
                return Reply::try_again_later();
            }
            info!(
                recipient = %mail.recipient_address,
                message_id = mail.message_id.as_deref(),
                size = mail.raw_size,
                attachments = mail.attachments.len(),
                tls = self.tls == Tls::Active,
                "mail delivered"
            );
        }
        Reply::accepted()
    }

    async fn send(&mut self, reply: Reply) -> Result<(), End> {
        trace!(code = reply.code(), "smtp reply");
        let wire = reply.to_wire();
        let write = async {
            let writer = self.stream.get_mut();
            writer.write_all(&wire).await?;
            writer.flush().await
        };
        match tokio::time::timeout(self.config.idle_timeout(), write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(End::Io(error)),
            Err(_elapsed) => Err(End::WriteTimeout),
        }
    }
}

fn unix_millis_now() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
