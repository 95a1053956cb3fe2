//! Accepting connections: one task per session, a bounded number at a time, and a
//! shutdown that lets sessions finish.
//!
//! The caller binds the listener (so it can report the address, and tests can bind
//! port 0 and learn the port before serving); [`SmtpServer::serve`] then accepts
//! until the shutdown token is cancelled:
//!
//! * each connection takes a permit from a semaphore of `max_connections`; with
//!   none left the client is answered `421 … Too many connections` and closed;
//! * each session runs on its own task, inside a `smtp` tracing span carrying the
//!   peer's address; a session that panics only loses its own connection (the
//!   client heard no 250, so it retries);
//! * when a plain session ends with `STARTTLS`, the same task does the TLS
//!   handshake (within the idle timeout) and runs a fresh session over it, under
//!   the same connection permit; a failed handshake closes the connection;
//! * on shutdown the listener is dropped at once (new connections are refused),
//!   sessions waiting for a command answer 421 and end, sessions in the middle of
//!   a message get up to `idle_timeout_ms` to finish, and any still running then
//!   are aborted: their clients heard no 250 and will send again.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::config::SmtpListenConfig;
use crate::error::SmtpError;
use crate::handler::MailHandler;
use crate::reply::Reply;
use crate::session::{Session, Tls};
use crate::tls::load_acceptor;

/// How long the accept loop pauses after a failed accept (usually: out of file
/// descriptors), so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long writing the "too many connections" reply may take.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The inbound SMTP server: a [`MailHandler`] and its settings.
pub struct SmtpServer {
    handler: Arc<dyn MailHandler>,
    config: Arc<SmtpListenConfig>,
    /// For `STARTTLS`, when `tls_cert_path` and `tls_key_path` are set.
    tls: Option<TlsAcceptor>,
}

impl SmtpServer {
    /// A server for `handler`, once `config` passes
    /// [`validate`](SmtpListenConfig::validate) and, when TLS is configured, its
    /// certificate and key files load ([`SmtpError::Tls`] otherwise).
    pub fn new(handler: Arc<dyn MailHandler>, config: SmtpListenConfig) -> Result<Self, SmtpError> {
        config.validate()?;
        let tls = load_acceptor(&config)?;
        Ok(Self {
            handler,
            config: Arc::new(config),
            tls,
        })
    }

    /// Accepts connections on `listener` until `shutdown` is cancelled, then waits
    /// (at most the idle timeout) for the sessions in progress. `config.enabled`
    /// and `config.bind` are the caller's business and not looked at here.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        if let Ok(address) = listener.local_addr() {
            info!(
                %address,
                domain = %self.config.domain,
                starttls = self.tls.is_some(),
                require_tls = self.config.require_tls,
                "smtp listener accepting mail"
            );
        }
        let permits = Arc::new(Semaphore::new(self.config.max_connections));
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(joined) = sessions.join_next(), if !sessions.is_empty() => report(joined),
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                            self.refuse(stream, peer).await;
                            continue;
                        };
                        let connection = Connection {
                            handler: Arc::clone(&self.handler),
                            config: Arc::clone(&self.config),
                            tls: self.tls.clone(),
                            shutdown: shutdown.clone(),
                        };
                        let span = info_span!("smtp", %peer);
                        sessions.spawn(
                            async move {
                                connection.run(stream).await;
                                drop(permit);
                            }
                            .instrument(span),
                        );
                    }
                    Err(error) => {
                        warn!(%error, "accepting an SMTP connection failed");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
            }
        }
        drop(listener);
        self.drain(sessions).await;
    }

    /// Answers a connection over the limit with a 421 and closes it.
    async fn refuse(&self, mut stream: TcpStream, peer: SocketAddr) {
        debug!(%peer, "smtp connection refused: too many connections");
        let wire = Reply::too_many_connections(&self.config.domain).to_wire();
        let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, stream.write_all(&wire)).await;
    }

    /// Waits up to the idle timeout for `sessions`, then aborts the rest.
    async fn drain(&self, mut sessions: JoinSet<()>) {
        let wait_all = async {
            while let Some(joined) = sessions.join_next().await {
                report(joined);
            }
        };
        if tokio::time::timeout(self.config.idle_timeout(), wait_all)
            .await
            .is_err()
        {
            warn!(
                sessions = sessions.len(),
                "aborting SMTP sessions still running after the shutdown grace period"
            );
            sessions.shutdown().await;
        }
        info!("smtp listener stopped");
    }
}

/// What one connection's task needs: a session, and another over TLS after
/// `STARTTLS`.
struct Connection {
    handler: Arc<dyn MailHandler>,
    config: Arc<SmtpListenConfig>,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let offer = if self.tls.is_some() {
            Tls::Offered
        } else {
            Tls::NotOffered
        };
        let plain = Session::new(
            stream,
            offer,
            Arc::clone(&self.handler),
            Arc::clone(&self.config),
            self.shutdown.clone(),
        );
        let (Some(stream), Some(acceptor)) = (plain.run().await, self.tls) else {
            return;
        };
        let handshake = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => return,
            done = tokio::time::timeout(self.config.idle_timeout(), acceptor.accept(stream)) => done,
        };
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return debug!(%error, "smtp TLS handshake failed"),
            Err(_elapsed) => return debug!("smtp TLS handshake timed out"),
        };
        debug!("smtp session now over TLS");
        let secure = Session::new(
            stream,
            Tls::Active,
            self.handler,
            self.config,
            self.shutdown,
        );
        // A session over TLS refuses STARTTLS, so it never hands its stream back.
        let _ = secure.run().await;
    }
}

fn report(joined: Result<(), JoinError>) {
    if let Err(failure) = joined
        && failure.is_panic()
    {
        error!("an SMTP session panicked; its client will retry");
    }
}

/// Serves `listener` with a new [`SmtpServer`]; see [`SmtpServer::serve`].
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn MailHandler>,
    config: SmtpListenConfig,
    shutdown: CancellationToken,
) -> Result<(), SmtpError> {
    SmtpServer::new(handler, config)?
        .serve(listener, shutdown)
        .await;
    Ok(())
}

/// Starts a server for `handler` on a free port of 127.0.0.1, in the background,
/// and returns its address and the token that stops it. For tests and local
/// tools (`config.bind` is ignored); pair it with
/// [`CollectingHandler`](crate::CollectingHandler) for an SMTP sink.
pub async fn spawn_local(
    handler: Arc<dyn MailHandler>,
    config: SmtpListenConfig,
) -> Result<(SocketAddr, CancellationToken), SmtpError> {
    let server = SmtpServer::new(handler, config)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(SmtpError::Bind)?;
    let address = listener.local_addr().map_err(SmtpError::Bind)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(server.serve(listener, shutdown.clone()));
    Ok((address, shutdown))
}
