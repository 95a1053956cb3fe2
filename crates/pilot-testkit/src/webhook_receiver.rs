//! A webhook receiver: a real HTTP server on `127.0.0.1:<random port>` that takes
//! deliveries, checks both signatures on each, and answers as the test scripts it.
//!
//! * Every `POST`, on any path, is recorded ([`Received`]): the path, every header
//!   (names lower-cased), the body's exact bytes, when it arrived (an [`Instant`] and
//!   wall-clock Unix milliseconds), and whether each signature scheme verified with
//!   the configured secret ([`WebhookReceiver::set_secret`]):
//!   `X-Pilot5-Signature` + `X-Pilot5-Timestamp` with
//!   [`verify_pilot5`], `webhook-id` + `webhook-timestamp` + `webhook-signature` with
//!   [`verify_standard`]. A missing header is [`SignatureError::Malformed`].
//! * The tolerance check's "now" is [`WebhookReceiver::set_now`]'s closure (Unix
//!   seconds; the system clock by default, or a test's `ManualClock` through
//!   [`WebhookReceiver::set_clock`]), the tolerance 300 s unless
//!   [`WebhookReceiver::set_tolerance_secs`] says otherwise.
//! * Each request takes the next [`Reply`] from a queue ([`WebhookReceiver::push`]):
//!   a status, a `Retry-After`, a body, a delay before answering (slept with
//!   `tokio::time::sleep` inside the server), or [`Reply::hang`], which never answers:
//!   dropping the receiver closes its connections. An empty queue answers the
//!   fallback, `200` unless [`WebhookReceiver::set_fallback`] says otherwise.
//! * [`WebhookReceiver::wait_for`] waits, without polling, until `n` requests have
//!   arrived, and panics after 30 s of wall-clock time (not tokio's, so a paused tokio
//!   clock does not fire it early) naming what did arrive.
//! * With `PILOT_TEST_CAPTURE_DIR` set ([`CAPTURE_DIR_VAR`]), every request is also
//!   written there as one JSON file, `{"secret", "headers", "body_b64",
//!   "received_at"}` (Unix seconds), for verifiers outside Rust (CI's
//!   `.ci/verify_webhooks.py`). The files are named by process, port and a counter,
//!   so several receivers and test binaries can share one directory.
//!
//! ```no_run
//! # async fn demo() {
//! use pilot_testkit::webhook_receiver::{Reply, WebhookReceiver};
//! let receiver = WebhookReceiver::start().await;
//! receiver.push(Reply::status(503).retry_after("120"));
//! receiver.push(Reply::status(204));
//! // create the endpoint with receiver.url(), then:
//! receiver.set_secret("whsec_…");
//! let got = receiver.wait_for(2).await;
//! assert!(got[1].pilot5_ok() && got[1].standard_ok());
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use pilot_domain::Clock;
use pilot_domain::webhook::signature::{SignatureError, verify_pilot5, verify_standard};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The environment variable naming the directory captures are written to.
pub const CAPTURE_DIR_VAR: &str = "PILOT_TEST_CAPTURE_DIR";
/// The tolerance receivers are told to use (the Deliberations document §5).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;
/// How long [`WebhookReceiver::wait_for`] waits before it fails the test.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the receiver answers to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Option<String>,
    pub delay: Duration,
    /// Never answers; the connection closes when the receiver is dropped.
    pub hang: bool,
}

impl Reply {
    /// This status, with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: None,
            delay: Duration::ZERO,
            hang: false,
        }
    }

    /// `200`, the default answer.
    pub fn ok() -> Reply {
        Reply::status(200)
    }

    /// No answer at all: the request is recorded, the response never comes.
    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::ok()
        }
    }

    /// Adds a `Retry-After` header with this value (seconds or an HTTP date).
    pub fn retry_after(mut self, value: impl Into<String>) -> Reply {
        self.retry_after = Some(value.into());
        self
    }

    /// Answers this body (`text/plain`).
    pub fn body(mut self, body: impl Into<String>) -> Reply {
        self.body = Some(body.into());
        self
    }

    /// Waits this long (tokio time) before answering, head included.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// One request the receiver took.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    /// Names lower-cased; a repeated header's values joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body exactly as it came.
    pub body: Vec<u8>,
    pub at: Instant,
    /// Wall-clock Unix milliseconds of arrival (the system clock, not the injected one).
    pub unix_ms: i64,
    /// The `X-Pilot5-Signature` check.
    pub pilot5: Result<(), SignatureError>,
    /// The Standard Webhooks check.
    pub standard: Result<(), SignatureError>,
    /// What it was (or is being) answered.
    pub reply: Reply,
    /// The capture file written for it, when capturing.
    pub captured: Option<PathBuf>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn pilot5_ok(&self) -> bool {
        self.pilot5.is_ok()
    }

    pub fn standard_ok(&self) -> bool {
        self.standard.is_ok()
    }

    /// The body parsed as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "webhook body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

type NowFn = Arc<dyn Fn() -> i64 + Send + Sync>;

struct Config {
    secret: String,
    tolerance_secs: i64,
    now: NowFn,
    capture_dir: Option<PathBuf>,
    wait_timeout: Duration,
}

struct Script {
    queue: VecDeque<Reply>,
    fallback: Reply,
    received: Vec<Received>,
}

struct ReceiverState {
    port: u16,
    config: Mutex<Config>,
    script: Mutex<Script>,
    count: watch::Sender<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running receiver; stops, closing every connection, when dropped.
pub struct WebhookReceiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    server: JoinHandle<()>,
}

impl WebhookReceiver {
    /// Binds `127.0.0.1:0`, then serves in the background. Captures go to
    /// `PILOT_TEST_CAPTURE_DIR` when it is set.
    pub async fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let addr = listener.local_addr().expect("webhook receiver address");
        let capture_dir = std::env::var_os(CAPTURE_DIR_VAR)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
        let state = Arc::new(ReceiverState {
            port: addr.port(),
            config: Mutex::new(Config {
                secret: String::new(),
                tolerance_secs: DEFAULT_TOLERANCE_SECS,
                now: Arc::new(system_now_secs),
                capture_dir,
                wait_timeout: DEFAULT_WAIT_TIMEOUT,
            }),
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                fallback: Reply::ok(),
                received: Vec::new(),
            }),
            count: watch::Sender::new(0),
        });
        let app = Router::new()
            .fallback(receive)
            .layer(DefaultBodyLimit::disable())
            .with_state(state.clone());
        // Connections live in a JoinSet the server task owns: aborting the task drops
        // them all, so a hanging answer ends when the receiver does.
        let server = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let service = TowerToHyperService::new(app.clone());
                        connections.spawn(async move {
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                                .ok();
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        WebhookReceiver {
            addr,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The secret (`whsec_…`, as printed) requests are verified with from now on.
    pub fn set_secret(&self, secret: impl Into<String>) -> &WebhookReceiver {
        lock(&self.state.config).secret = secret.into();
        self
    }

    /// How far a signature's timestamp may be from "now" (default 300 s).
    pub fn set_tolerance_secs(&self, tolerance_secs: i64) -> &WebhookReceiver {
        lock(&self.state.config).tolerance_secs = tolerance_secs;
        self
    }

    /// Where "now" (Unix seconds) comes from for the tolerance check.
    pub fn set_now(&self, now: impl Fn() -> i64 + Send + Sync + 'static) -> &WebhookReceiver {
        lock(&self.state.config).now = Arc::new(now);
        self
    }

    /// "Now" for the tolerance check is this clock's.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) -> &WebhookReceiver {
        self.set_now(move || clock.now().as_secs())
    }

    /// Captures go here instead (or nowhere, with `None`).
    pub fn set_capture_dir(&self, dir: Option<PathBuf>) -> &WebhookReceiver {
        lock(&self.state.config).capture_dir = dir;
        self
    }

    /// How long [`WebhookReceiver::wait_for`] waits (default 30 s).
    pub fn set_wait_timeout(&self, timeout: Duration) -> &WebhookReceiver {
        lock(&self.state.config).wait_timeout = timeout;
        self
    }

    /// Queues a reply for the next request.
    pub fn push(&self, reply: Reply) -> &WebhookReceiver {
        lock(&self.state.script).queue.push_back(reply);
        self
    }

    /// The reply for requests that find the queue empty (default `200`).
    pub fn set_fallback(&self, reply: Reply) -> &WebhookReceiver {
        lock(&self.state.script).fallback = reply;
        self
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state.script).received.clone()
    }

    /// Waits until at least `n` requests have arrived and returns them all, oldest
    /// first. Panics after the wait timeout (30 s of wall-clock time).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let timeout = lock(&self.state.config).wait_timeout;
        let mut count = self.state.count.subscribe();
        let arrived = wall_clock_timeout(timeout, async move {
            count.wait_for(|count| *count >= n).await.is_ok()
        })
        .await;
        if arrived != Some(true) {
            let received = self.received();
            let summary: Vec<String> = received
                .iter()
                .map(|r| {
                    format!(
                        "{} {} attempt {}",
                        r.path,
                        r.header("x-pilot5-event-id").unwrap_or("-"),
                        r.header("x-pilot5-attempt").unwrap_or("-")
                    )
                })
                .collect();
            panic!(
                "webhook receiver {}: waited {timeout:?} for {n} request(s), {} arrived: {summary:?}",
                self.url(),
                received.len()
            );
        }
        self.received()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "POST")
            .body(Body::empty())
            .expect("a valid response");
    }
    let at = Instant::now();
    let unix_ms = system_now_ms();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        names
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let headers = names;
    let (secret, tolerance, now, capture_dir) = {
        let config = lock(&state.config);
        (
            config.secret.clone(),
            config.tolerance_secs,
            config.now.clone(),
            config.capture_dir.clone(),
        )
    };
    let now = now();
    let pilot5 = match (
        headers.get("x-pilot5-signature"),
        headers.get("x-pilot5-timestamp"),
    ) {
        (Some(signature), Some(timestamp)) => {
            verify_pilot5(&secret, &body, signature, timestamp, now, tolerance)
        }
        _ => Err(SignatureError::Malformed),
    };
    let standard = match (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
    ) {
        (Some(id), Some(timestamp), Some(signatures)) => {
            verify_standard(&secret, id, timestamp, signatures, &body, now, tolerance)
        }
        _ => Err(SignatureError::Malformed),
    };
    let captured = capture_dir.and_then(|dir| {
        capture(&dir, state.port, &secret, &headers, &body, unix_ms)
            .map_err(|error| {
                eprintln!(
                    "warning: webhook receiver could not write a capture to {}: {error}",
                    dir.display()
                )
            })
            .ok()
    });
    let reply = {
        let mut script = lock(&state.script);
        let reply = script
            .queue
            .pop_front()
            .unwrap_or_else(|| script.fallback.clone());
        script.received.push(Received {
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
            at,
            unix_ms,
            pilot5,
            standard,
            reply: reply.clone(),
            captured,
        });
        state.count.send_modify(|count| *count += 1);
        reply
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::builder().status(reply.status);
    if let Some(retry_after) = &reply.retry_after {
        response = response.header(header::RETRY_AFTER, retry_after);
    }
    match reply.body {
        Some(body) => response
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(body)),
        None => response.body(Body::empty()),
    }
    .expect("a scripted reply is a valid response")
}

/// Writes one capture file (through a temporary name, so a reader never sees half).
fn capture(
    dir: &Path,
    port: u16,
    secret: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    unix_ms: i64,
) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::fs::create_dir_all(dir)?;
    let name = format!("{}-{port}-{n:06}.json", std::process::id());
    let file = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let document = json!({
        "secret": secret,
        "headers": headers,
        "body_b64": STANDARD.encode(body),
        "received_at": unix_ms.div_euclid(1000),
    });
    std::fs::write(&partial, serde_json::to_vec_pretty(&document)?)?;
    std::fs::rename(&partial, &file)?;
    Ok(file)
}

/// `future`'s output, or `None` once `timeout` of wall-clock time has passed. A
/// thread keeps the time, so a paused tokio clock neither fires nor stops it.
async fn wall_clock_timeout<F: Future>(timeout: Duration, future: F) -> Option<F::Output> {
    let (fire, fired) = tokio::sync::oneshot::channel::<()>();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(timeout) {
            fire.send(()).ok();
        }
    });
    let output = tokio::select! {
        output = future => Some(output),
        _ = fired => None,
    };
    drop(done);
    output
}

fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock is after 1970")
        .as_millis() as i64
}

fn system_now_secs() -> i64 {
    system_now_ms().div_euclid(1000)
}
