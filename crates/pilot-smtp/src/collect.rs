//! An in-memory [`MailHandler`], for tests and local tools: an SMTP sink.
//!
//! ```no_run
//! # async fn example() -> Result<(), pilot_smtp::SmtpError> {
//! use std::sync::Arc;
//! use pilot_smtp::{CollectingHandler, SmtpListenConfig, spawn_local};
//!
//! let sink = Arc::new(CollectingHandler::new(["pilot-abc"]));
//! let (address, shutdown) = spawn_local(sink.clone(), SmtpListenConfig::default()).await?;
//! // … send mail to pilot-abc@localhost through `address` …
//! let mail = sink.next_mail().await;
//! assert_eq!(mail.recipient, "pilot-abc");
//! shutdown.cancel();
//! # Ok(()) }
//! ```
//!
//! Since the server answers 250 only after [`deliver`](MailHandler::deliver)
//! returned, a mail whose sending succeeded is already in
//! [`CollectingHandler::mails`] when the client hears back; the waiting methods
//! are for code that sends from another task.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::handler::{HandlerError, MailHandler};
use crate::mail::InboundMail;

/// Which local parts a [`CollectingHandler`] accepts.
#[derive(Debug)]
enum Mailboxes {
    Any,
    Only(HashSet<String>),
}

/// A [`MailHandler`] that accepts a fixed set of local parts (or any) and keeps
/// every delivered mail in memory, in delivery order.
#[derive(Debug)]
pub struct CollectingHandler {
    mailboxes: Mailboxes,
    /// The delivered mails; the watch channel wakes whoever waits for more.
    delivered: watch::Sender<Vec<InboundMail>>,
    /// How many mails [`next_mail`](Self::next_mail) has handed out.
    taken: AtomicUsize,
    failing: AtomicBool,
}

impl CollectingHandler {
    /// Accepts mail for these local parts (compared without regard to case).
    pub fn new<I, S>(local_parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let only = local_parts
            .into_iter()
            .map(|local_part| local_part.as_ref().to_ascii_lowercase())
            .collect();
        Self::with(Mailboxes::Only(only))
    }

    /// Accepts mail for every local part of the server's domain.
    pub fn accepting_any() -> Self {
        Self::with(Mailboxes::Any)
    }

    fn with(mailboxes: Mailboxes) -> Self {
        Self {
            mailboxes,
            delivered: watch::Sender::new(Vec::new()),
            taken: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// While `failing` is true, every delivery fails (the client hears 451) and
    /// nothing is collected: for testing a sender's retry path.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Every mail delivered so far, one per recipient, in delivery order.
    pub fn mails(&self) -> Vec<InboundMail> {
        self.delivered.borrow().clone()
    }

    /// Waits until at least `count` mails were delivered, and returns them all.
    pub async fn wait_for_mails(&self, count: usize) -> Vec<InboundMail> {
        let mut receiver = self.delivered.subscribe();
        match receiver.wait_for(|mails| mails.len() >= count).await {
            Ok(mails) => mails.clone(),
            // Unreachable: `self` owns the sender, so it cannot be dropped.
            Err(_) => self.mails(),
        }
    }

    /// The next mail not yet returned by this method, waiting for it if needed.
    /// Concurrent callers each get a different mail.
    pub async fn next_mail(&self) -> InboundMail {
        let index = self.taken.fetch_add(1, Ordering::SeqCst);
        let mut mails = self.wait_for_mails(index + 1).await;
        mails.swap_remove(index)
    }
}

#[async_trait]
impl MailHandler for CollectingHandler {
    async fn accepts(&self, local_part: &str) -> Result<bool, HandlerError> {
        Ok(match &self.mailboxes {
            Mailboxes::Any => true,
            Mailboxes::Only(only) => only.contains(&local_part.to_ascii_lowercase()),
        })
    }

    async fn deliver(&self, mail: &InboundMail) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::new("CollectingHandler is set to fail"));
        }
        self.delivered.send_modify(|mails| mails.push(mail.clone()));
        Ok(())
    }
}
