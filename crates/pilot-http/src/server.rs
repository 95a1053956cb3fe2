//! Serving the router over TCP: hyper's HTTP/1 connections, a bounded number at a
//! time, with a header-read timeout and a graceful shutdown.
//!
//! `axum::serve` is deliberately plain: no timer (so hyper's header-read timeout
//! never fires) and no bound on connections. Here:
//!
//! * **Connections are bounded** (`http.max_connections`): the loop takes a slot
//!   from a semaphore *before* it accepts, so with every slot taken the next
//!   connection is not accepted at all — it waits in the kernel's listen backlog and
//!   is served as soon as a connection closes, rather than being refused.
//! * **Heads are timed** (`http.header_read_timeout_ms`): hyper closes a connection
//!   whose request head has not fully arrived in time (a half-sent head, or an idle
//!   keep-alive connection). It closes without an answer: nothing was asked yet.
//! * **hyper's own limits sit above the application's** (`HttpConfig::hyper_*`), so
//!   a head over the application's URI or header limits still reaches the
//!   application and gets its `414`/`431` in the surface's shape with a request id
//!   (`crate::head_limits`). Only what hyper cannot parse, or what is beyond those
//!   raised ceilings, is answered by hyper itself — bare, with no body or request id,
//!   because no request exists yet to route to a surface: a malformed request line
//!   or header (`400`), a head past the ceiling (`431`), a URI past 64 KiB (`414`).
//! * **Shutdown is graceful**: when `shutdown` completes the listener is dropped
//!   (new connections are refused), every connection is told to finish the request
//!   it is serving and close (idle ones close at once), and `serve` returns once all
//!   have. The caller bounds that wait (`queue.shutdown_grace_ms` in `pilot serve`).
//!
//! The body and whole-request timeouts are the router's (`crate::timeouts`), since
//! the application answers them in the surface's shape.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, info, warn};

use crate::HttpConfig;

/// How long the accept loop pauses after a failed accept (usually: out of file
/// descriptors), so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// connections finish (see the module docs). `config` should have passed
/// [`HttpConfig::validate`].
pub async fn serve<F>(listener: TcpListener, router: Router, config: &HttpConfig, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let http = connection_builder(config);
    let slots = config.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(slots));
    // Dropping the sender tells every connection to finish up.
    let (draining, drain) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    if let Ok(address) = listener.local_addr() {
        info!(%address, max_connections = slots, "HTTP listening");
    }
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "accepting an HTTP connection failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, %peer, "could not set TCP_NODELAY");
        }
        // Each request knows its peer (`ConnectInfo`), for limits per address.
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut drain = drain.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = drain.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                // Timeouts, malformed requests, clients that went away: theirs.
                debug!(%error, %peer, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    drop(draining);
    // Every connection holds a permit until it closes: having them all back means
    // all have closed.
    let _all_closed = permits.acquire_many(slots as u32).await;
    info!("HTTP server stopped");
}

/// hyper's HTTP/1 settings from `config`.
fn connection_builder(config: &HttpConfig) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .max_headers(config.hyper_max_headers())
        .max_header_size(config.hyper_max_head_bytes())
        .max_buf_size(config.hyper_max_buf_bytes());
    http
}
