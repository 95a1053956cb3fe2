//! `pilot mcp`: a stdio MCP server that is only a transport adapter. Each JSON-RPC
//! message read from stdin (one per line) is POSTed to a Pilot server's `/mcp`
//! (Streamable HTTP); what the server answers — one JSON message, an event stream of
//! them, or `202 Accepted` — is written to stdout, one message per line. The bridge
//! defines no tools: the server's list is the only one. Nothing but protocol goes to
//! stdout; logs go to stderr.
//!
//! Requests are forwarded concurrently, so a long tool call does not stop stdin from
//! being read (a `notifications/cancelled` can follow it: once forwarded, the request
//! it names is dropped, since no answer is expected); `initialize` and messages without
//! an answer (notifications, responses) are forwarded in order, each delivered before
//! the next line is read — so a server sees `notifications/initialized` before the
//! requests after it. An HTTP or network failure is answered, for each request it
//! carried, with a JSON-RPC error naming the status and the server's text. An event
//! stream the server ends before its response is resumed with `Last-Event-ID`. On
//! stdin's end (after up to [`CLOSING_GRACE`] for requests in flight) or SIGTERM/SIGINT
//! (at once) the session, if the server opened one, is closed with `DELETE`.
//!
//! `scripts/mcp-server.mjs` is the same bridge in Node; the two behave alike.

mod sse;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tracing_subscriber::EnvFilter;

use crate::cli::McpArgs;
use sse::SseParser;

/// Where the bridge forwards to when neither `--url` nor the environment says.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";
/// Where a 2026-07-28 request names its protocol version, in `params._meta`.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The JSON-RPC error code of a failure between the bridge and the server.
const BRIDGE_ERROR: i64 = -32000;
/// How long in-flight requests may finish after stdin ends.
const CLOSING_GRACE: Duration = Duration::from_secs(10);
/// How long the session's `DELETE` may take (clients signal a bridge that does not
/// exit a few seconds after stdin's end, then kill it).
const DELETE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How many resumptions of an event stream in a row may bring no message.
const MAX_FRUITLESS_RESUMES: u32 = 3;
/// The longest reconnection delay a server may ask for, in milliseconds.
const MAX_RETRY_MS: u64 = 30_000;
/// How much of an error body is quoted back.
const ERROR_TEXT_LIMIT: usize = 500;

/// Runs the bridge until stdin ends. A missing key exits with status 2.
pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    init_logging();
    let env = |name: &str| std::env::var(name).ok();
    let url = setting(args.url, &env, "PILOT_API_URL", "BIZOPS_API_URL")
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let Some(key) = setting(args.key, &env, "PILOT_API_KEY", "BIZOPS_API_KEY") else {
        eprintln!(
            "pilot mcp: no API key: pass --key, or set PILOT_API_KEY (or BIZOPS_API_KEY) \
             to a Pilot API key (pk_…)"
        );
        std::process::exit(2);
    };
    let endpoint = mcp_endpoint(&url);
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;

    let (out, lines_out) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_stdout(lines_out));
    let bridge = Arc::new(Bridge {
        client,
        endpoint,
        key,
        session: Mutex::new(None),
        protocol_version: Mutex::new(None),
        out,
    });
    tracing::info!(endpoint = %bridge.endpoint, "pilot mcp: forwarding stdio to Pilot's MCP endpoint");

    let mut tasks = JoinSet::new();
    // The requests in flight by id, so a cancellation can drop the one it names.
    let mut in_flight: HashMap<String, AbortHandle> = HashMap::new();
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut signalled = false;
    loop {
        let read = tokio::select! {
            read = stdin.next_line() => read,
            () = &mut shutdown => {
                signalled = true;
                break;
            }
        };
        let line = match read {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(error) => {
                tracing::error!(%error, "pilot mcp: reading stdin failed; closing");
                break;
            }
        };
        while tasks.try_join_next().is_some() {}
        in_flight.retain(|_, task| !task.is_finished());
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(line) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "pilot mcp: a line on stdin is not JSON");
                bridge.emit(&error_message(
                    Value::Null,
                    -32700,
                    format!("parse error: {error}"),
                    None,
                ));
                continue;
            }
        };
        let exchange = Exchange::of(&message);
        let cancelled = exchange.cancelled.clone();
        let body = line.to_owned();
        if exchange.initialize.is_some() || exchange.requests.is_empty() {
            bridge.clone().forward(body, exchange).await;
        } else {
            let ids: Vec<String> = exchange.requests.iter().map(Value::to_string).collect();
            let task = tasks.spawn(bridge.clone().forward(body, exchange));
            for id in ids {
                in_flight.insert(id, task.clone());
            }
        }
        // The server has the cancellation; the client expects no answer any more, so
        // the request's stream is dropped (which tells the server too).
        for id in cancelled {
            if let Some(task) = in_flight.remove(&id) {
                tracing::debug!(request = id, "pilot mcp: request cancelled by the client");
                task.abort();
            }
        }
    }

    if signalled {
        tracing::info!("pilot mcp: signalled; closing");
    } else {
        tokio::select! {
            finished = tokio::time::timeout(CLOSING_GRACE, async {
                while tasks.join_next().await.is_some() {}
            }) => if finished.is_err() {
                tracing::warn!(
                    in_flight = tasks.len(),
                    "pilot mcp: stdin ended; requests still unanswered are abandoned"
                );
            },
            () = &mut shutdown => tracing::info!("pilot mcp: signalled; closing"),
        }
    }
    tasks.shutdown().await;
    bridge.close_session().await;
    drop(bridge);
    writer.await.ok();
    // A signal leaves tokio's stdin reader blocked in a read the runtime would wait
    // for; everything is written, so leave now.
    std::process::exit(0)
}

/// SIGTERM or SIGINT: what a client sends when stdin's end was not enough.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                tokio::signal::ctrl_c().await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok();
    }
}

/// A setting: the flag, else the first of two environment variables that is set and
/// not empty.
fn setting(
    flag: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    first: &str,
    second: &str,
) -> Option<String> {
    let present = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    present(flag)
        .or_else(|| present(env(first)))
        .or_else(|| present(env(second)))
        .map(|value| value.trim().to_owned())
}

/// The MCP endpoint of a server's base URL: `…/mcp`, whether or not the URL already
/// names it, with or without a trailing slash.
fn mcp_endpoint(url: &str) -> String {
    let base = url.trim().trim_end_matches('/');
    if base.ends_with("/mcp") {
        base.to_owned()
    } else {
        format!("{base}/mcp")
    }
}

/// Logs to stderr only: stdout is the protocol's.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,pilot::commands::mcp=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .ok();
}

/// Writes each message on a line of its own, flushed, in the order they come.
async fn write_stdout(mut lines: mpsc::UnboundedReceiver<String>) {
    let mut stdout = tokio::io::stdout();
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        let written = async {
            stdout.write_all(line.as_bytes()).await?;
            stdout.flush().await
        };
        if let Err(error) = written.await {
            tracing::error!(%error, "pilot mcp: writing stdout failed");
            return;
        }
    }
}

struct Bridge {
    client: reqwest::Client,
    endpoint: String,
    key: String,
    /// The server's `Mcp-Session-Id`, once it has given one.
    session: Mutex<Option<String>>,
    /// The version `initialize` negotiated, sent as `MCP-Protocol-Version` after it.
    protocol_version: Mutex<Option<String>>,
    out: mpsc::UnboundedSender<String>,
}

/// What one message from stdin expects back.
struct Exchange {
    /// The ids of the requests in it (one, or a batch's), each owed a response.
    requests: Vec<Value>,
    /// The id of an `initialize` request in it.
    initialize: Option<Value>,
    /// The ids (as JSON text) of the requests its `notifications/cancelled` name.
    cancelled: Vec<String>,
    /// The protocol version the message declares itself (2026-07-28's stateless
    /// requests carry it in `_meta`); it is sent instead of the negotiated one.
    version: Option<String>,
    /// SEP-2243's `Mcp-Method` and `Mcp-Name`, which 2026-07-28 servers require and
    /// earlier ones ignore (a batch has none).
    standard_headers: Vec<(&'static str, String)>,
}

impl Exchange {
    fn of(message: &Value) -> Self {
        let messages = match message {
            Value::Array(batch) => batch.iter().collect(),
            single => vec![single],
        };
        let mut exchange = Exchange {
            requests: Vec::new(),
            initialize: None,
            cancelled: Vec::new(),
            version: None,
            standard_headers: Vec::new(),
        };
        if let Some(method) = message.get("method").and_then(Value::as_str) {
            exchange.version = message
                .pointer("/params/_meta")
                .and_then(|meta| meta.get(META_VERSION))
                .and_then(Value::as_str)
                .map(str::to_owned);
            exchange
                .standard_headers
                .push((METHOD_HEADER, header_value(method)));
            let name_key = match method {
                "tools/call" | "prompts/get" => Some("name"),
                "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
                "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
                _ => None,
            };
            if let Some(name) = name_key
                .and_then(|key| message.get("params")?.get(key))
                .and_then(Value::as_str)
            {
                exchange
                    .standard_headers
                    .push((NAME_HEADER, header_value(name)));
            }
        }
        for message in messages {
            if message.get("method").and_then(Value::as_str) == Some("notifications/cancelled")
                && let Some(id) = message.pointer("/params/requestId")
            {
                exchange.cancelled.push(id.to_string());
            }
            let (Some(method), Some(id)) = (
                message.get("method").and_then(Value::as_str),
                message.get("id").filter(|id| !id.is_null()),
            ) else {
                continue;
            };
            if method == "initialize" {
                exchange.initialize = Some(id.clone());
            }
            exchange.requests.push(id.clone());
        }
        exchange
    }
}

impl Bridge {
    /// POSTs one message and relays what the server answers.
    async fn forward(self: Arc<Self>, body: String, exchange: Exchange) {
        let mut request = self
            .request(
                Method::POST,
                "application/json, text/event-stream",
                Some(&exchange),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in &exchange.standard_headers {
            request = request.header(*name, value);
        }
        // `initialize` opens a session: it carries neither the old one nor a version.
        let sent_session = match exchange.initialize {
            Some(_) => None,
            None => self.session.lock().unwrap().clone(),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::error!(endpoint = %self.endpoint, error = %error_chain(&error), "pilot mcp: the server could not be reached");
                self.fail(
                    &exchange.requests,
                    format!(
                        "Pilot's MCP endpoint {} could not be reached: {}",
                        self.endpoint,
                        error_chain(&error)
                    ),
                    None,
                );
                return;
            }
        };
        if let Some(session) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            *self.session.lock().unwrap() = Some(session.to_owned());
        } else if response.status() == StatusCode::NOT_FOUND && sent_session.is_some() {
            // The server ended the session; the client must initialize again, and
            // that `initialize` goes without it.
            let mut session = self.session.lock().unwrap();
            if *session == sent_session {
                tracing::warn!(
                    "pilot mcp: the server ended the session; the client must initialize again"
                );
                *session = None;
            }
        }
        let mut answered = HashSet::new();
        self.relay(response, &exchange, &mut answered).await;
        let unanswered: Vec<Value> = exchange
            .requests
            .iter()
            .filter(|id| !answered.contains(&id.to_string()))
            .cloned()
            .collect();
        if !unanswered.is_empty() {
            tracing::warn!(
                count = unanswered.len(),
                "pilot mcp: the server's answer ended without a response"
            );
            self.fail(
                &unanswered,
                "Pilot's MCP endpoint ended its answer without a response to this request"
                    .to_owned(),
                None,
            );
        }
    }

    /// Writes the messages of one HTTP answer to stdout, noting the responses seen.
    async fn relay(
        &self,
        response: reqwest::Response,
        exchange: &Exchange,
        answered: &mut HashSet<String>,
    ) {
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            // A JSON-RPC answer carried on an error status is still the answer.
            if let Ok(message) = serde_json::from_str::<Value>(&text)
                && is_response(&message)
            {
                self.relay_message(message, None, exchange, answered);
                return;
            }
            let detail = error_text(&text);
            tracing::error!(%status, detail, "pilot mcp: the server refused a message");
            let mut message = format!("Pilot's MCP endpoint answered HTTP {status}");
            if !detail.is_empty() {
                message.push_str(": ");
                message.push_str(&detail);
            }
            self.fail(&exchange.requests, message, Some(status));
            answered.extend(exchange.requests.iter().map(Value::to_string));
            return;
        }
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return;
        }
        if is_event_stream(&response) {
            self.relay_stream(response, exchange, answered).await;
        } else {
            match response.text().await {
                Ok(text) if text.trim().is_empty() => {}
                Ok(text) => self.relay_data(&text, exchange, answered),
                Err(error) => {
                    tracing::error!(error = %error_chain(&error), "pilot mcp: reading the server's answer failed");
                }
            }
        }
    }

    /// Relays an event stream until every request in it is answered or it ends. A
    /// stream the server ends early, having given an event id, is resumed with a `GET`
    /// carrying `Last-Event-ID` after the `retry` it asked for (the transport's
    /// resumability), as long as resuming keeps bringing events.
    async fn relay_stream(
        &self,
        mut response: reqwest::Response,
        exchange: &Exchange,
        answered: &mut HashSet<String>,
    ) {
        let mut parser = SseParser::new();
        let mut fruitless = 0;
        loop {
            let relayed = self
                .read_stream(&mut response, &mut parser, exchange, answered)
                .await;
            if exchange.requests.is_empty() || all_answered(exchange, answered) {
                return;
            }
            let Some(last_event_id) = parser.last_event_id().map(str::to_owned) else {
                return;
            };
            fruitless = if relayed { 0 } else { fruitless + 1 };
            if fruitless > MAX_FRUITLESS_RESUMES {
                tracing::warn!(
                    "pilot mcp: resuming the server's event stream brings nothing; giving up"
                );
                return;
            }
            let delay = parser.retry_ms().unwrap_or(1_000).min(MAX_RETRY_MS);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            tracing::info!(
                last_event_id,
                "pilot mcp: resuming the server's event stream"
            );
            let resumed = self
                .request(Method::GET, "text/event-stream", Some(exchange))
                .header("last-event-id", &last_event_id)
                .send()
                .await;
            response = match resumed {
                Ok(resumed) if resumed.status().is_success() && is_event_stream(&resumed) => {
                    resumed
                }
                Ok(resumed) => {
                    tracing::warn!(status = %resumed.status(), "pilot mcp: the server would not resume its event stream");
                    return;
                }
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "pilot mcp: resuming the server's event stream failed");
                    continue;
                }
            };
            parser.next_stream();
        }
    }

    /// Reads one event stream to its end, or until every request is answered; whether
    /// it relayed any message.
    async fn read_stream(
        &self,
        response: &mut reqwest::Response,
        parser: &mut SseParser,
        exchange: &Exchange,
        answered: &mut HashSet<String>,
    ) -> bool {
        let mut relayed = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    for data in parser.feed(&chunk) {
                        relayed = true;
                        self.relay_data(&data, exchange, answered);
                    }
                }
                Ok(None) => return relayed,
                Err(error) => {
                    tracing::error!(error = %error_chain(&error), "pilot mcp: the server's event stream broke off");
                    return relayed;
                }
            }
            if !exchange.requests.is_empty() && all_answered(exchange, answered) {
                // Every response is in; the server closes the stream, and a server
                // that does not is not waited for.
                return relayed;
            }
        }
    }

    fn relay_data(&self, data: &str, exchange: &Exchange, answered: &mut HashSet<String>) {
        if data.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(data) {
            Ok(message) => self.relay_message(message, Some(data), exchange, answered),
            Err(error) => {
                tracing::warn!(%error, "pilot mcp: the server sent something that is not JSON; dropped");
            }
        }
    }

    /// Writes one message (or batch) from the server, as the server wrote it when it
    /// fits on one line.
    fn relay_message(
        &self,
        message: Value,
        raw: Option<&str>,
        exchange: &Exchange,
        answered: &mut HashSet<String>,
    ) {
        let messages = match &message {
            Value::Array(batch) => batch.iter().collect(),
            single => vec![single],
        };
        for message in messages {
            if !is_response(message) {
                continue;
            }
            let Some(id) = message.get("id") else {
                continue;
            };
            answered.insert(id.to_string());
            if exchange.initialize.as_ref() == Some(id)
                && let Some(version) = message
                    .pointer("/result/protocolVersion")
                    .and_then(Value::as_str)
            {
                *self.protocol_version.lock().unwrap() = Some(version.to_owned());
            }
        }
        match raw {
            Some(raw) if !raw.contains(['\n', '\r']) => self.send_line(raw.trim().to_owned()),
            _ => self.emit(&message),
        }
    }

    fn emit(&self, message: &Value) {
        self.send_line(message.to_string());
    }

    fn send_line(&self, line: String) {
        // The writer ends only when stdout is gone; then there is no one to tell.
        self.out.send(line).ok();
    }

    /// Answers each request with a JSON-RPC error.
    fn fail(&self, requests: &[Value], message: String, status: Option<StatusCode>) {
        for id in requests {
            self.emit(&error_message(
                id.clone(),
                BRIDGE_ERROR,
                message.clone(),
                status,
            ));
        }
    }

    /// A request to the endpoint with the key, and the session and negotiated version
    /// once there are.
    fn request(
        &self,
        method: Method,
        accept: &str,
        exchange: Option<&Exchange>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, &self.endpoint)
            .header(ACCEPT, accept)
            .header(AUTHORIZATION, format!("Bearer {}", self.key));
        let initialize = exchange.is_some_and(|exchange| exchange.initialize.is_some());
        if !initialize && let Some(session) = self.session.lock().unwrap().clone() {
            request = request.header(SESSION_HEADER, session);
        }
        let version = exchange
            .and_then(|exchange| exchange.version.clone())
            .or_else(|| {
                (!initialize)
                    .then(|| self.protocol_version.lock().unwrap().clone())
                    .flatten()
            });
        if let Some(version) = version {
            request = request.header(VERSION_HEADER, version);
        }
        request
    }

    /// Ends the server's session, if it opened one.
    async fn close_session(&self) {
        if self.session.lock().unwrap().is_none() {
            return;
        }
        let request = self
            .request(Method::DELETE, "application/json, text/event-stream", None)
            .timeout(DELETE_TIMEOUT);
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                tracing::info!("pilot mcp: session closed");
            }
            // 405: the server does not let clients end sessions; it will expire it.
            Ok(response) => {
                tracing::info!(status = %response.status(), "pilot mcp: the server did not close the session");
            }
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "pilot mcp: closing the session failed");
            }
        }
    }
}

fn all_answered(exchange: &Exchange, answered: &HashSet<String>) -> bool {
    exchange
        .requests
        .iter()
        .all(|id| answered.contains(&id.to_string()))
}

fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// A value as SEP-2243 carries it in a header: as is when it is printable ASCII without
/// surrounding blanks, else (or when it looks like the wrapping) `=?base64?…?=`.
fn header_value(value: &str) -> String {
    use base64::Engine;
    let blank_edge = value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']);
    let printable = value.chars().all(|c| (' '..='~').contains(&c));
    let looks_wrapped = value.starts_with("=?base64?") && value.ends_with("?=");
    if printable && !blank_edge && !looks_wrapped {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// A JSON-RPC response: an id and a result or an error, no method.
fn is_response(message: &Value) -> bool {
    match message {
        Value::Array(batch) => !batch.is_empty() && batch.iter().all(is_response),
        Value::Object(object) => {
            !object.contains_key("method")
                && object.contains_key("id")
                && (object.contains_key("result") || object.contains_key("error"))
        }
        _ => false,
    }
}

fn error_message(id: Value, code: i64, message: String, status: Option<StatusCode>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(status) = status {
        error["data"] = json!({ "httpStatus": status.as_u16() });
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// The server's reason in an error body: the message of either surface's error shape
/// (`{"error": "…"}`, `{"error": {"message": "…"}}`, `{"message": "…"}`), else the
/// text itself, shortened.
fn error_text(body: &str) -> String {
    let text = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| {
            let error = value.get("error");
            error
                .and_then(Value::as_str)
                .or_else(|| error.and_then(|e| e.get("message")).and_then(Value::as_str))
                .or_else(|| value.get("message").and_then(Value::as_str))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(ERROR_TEXT_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// An error with its causes, which reqwest keeps apart ("error sending request" alone
/// says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_base_url_with_one_mcp() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/mcp",
            "http://127.0.0.1:8080/mcp/",
            " http://127.0.0.1:8080// ",
        ] {
            assert_eq!(mcp_endpoint(url), "http://127.0.0.1:8080/mcp", "{url:?}");
        }
        assert_eq!(
            mcp_endpoint("https://pilot.example/base/"),
            "https://pilot.example/base/mcp"
        );
    }

    #[test]
    fn flags_come_before_pilot_variables_before_bizops_ones() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let both = env(&[("PILOT_API_KEY", "pk_pilot"), ("BIZOPS_API_KEY", "bp_doc")]);
        let key = |flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>| {
            setting(
                flag.map(str::to_owned),
                env,
                "PILOT_API_KEY",
                "BIZOPS_API_KEY",
            )
        };
        assert_eq!(key(Some("pk_flag"), &both).as_deref(), Some("pk_flag"));
        assert_eq!(key(None, &both).as_deref(), Some("pk_pilot"));
        assert_eq!(
            key(None, &env(&[("BIZOPS_API_KEY", "bp_doc")])).as_deref(),
            Some("bp_doc")
        );
        assert_eq!(
            key(
                Some(""),
                &env(&[("PILOT_API_KEY", " "), ("BIZOPS_API_KEY", "bp_doc")])
            )
            .as_deref(),
            Some("bp_doc"),
            "empty values count as unset"
        );
        assert_eq!(key(None, &env(&[])), None);
    }

    #[test]
    fn requests_and_initialize_are_told_from_notifications_and_responses() {
        let exchange = Exchange::of(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize"}));
        assert_eq!(exchange.requests, [json!(0)]);
        assert_eq!(exchange.initialize, Some(json!(0)));
        let exchange =
            Exchange::of(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert!(exchange.requests.is_empty() && exchange.initialize.is_none());
        let exchange = Exchange::of(&json!({"jsonrpc": "2.0", "id": "a", "result": {}}));
        assert!(exchange.requests.is_empty());
        let exchange = Exchange::of(&json!([
            {"jsonrpc": "2.0", "id": "x", "method": "tools/list"},
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
        ]));
        assert_eq!(exchange.requests, [json!("x")]);
        assert_eq!(exchange.cancelled, ["3"]);
    }

    #[test]
    fn standard_headers_name_the_method_and_what_it_acts_on() {
        let exchange = Exchange::of(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "run_pilot", "arguments": {},
                       "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}));
        assert_eq!(
            exchange.standard_headers,
            [
                (METHOD_HEADER, "tools/call".to_owned()),
                (NAME_HEADER, "run_pilot".to_owned())
            ]
        );
        assert_eq!(exchange.version.as_deref(), Some("2026-07-28"));
        let exchange = Exchange::of(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
            "params": {"uri": "pilot://runs/ünï"}}),
        );
        assert_eq!(
            exchange.standard_headers[1],
            (
                NAME_HEADER,
                "=?base64?cGlsb3Q6Ly9ydW5zL8O8bsOv?=".to_owned()
            )
        );
        assert_eq!(exchange.version, None);
        let exchange =
            Exchange::of(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(
            exchange.standard_headers,
            [(METHOD_HEADER, "notifications/initialized".to_owned())]
        );
        assert_eq!(header_value(" padded"), "=?base64?IHBhZGRlZA==?=");
        assert_eq!(header_value("=?base64?x?="), "=?base64?PT9iYXNlNjQ/eD89?=");
        assert!(
            Exchange::of(&json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]))
                .standard_headers
                .is_empty()
        );
    }

    #[test]
    fn error_text_is_the_servers_message() {
        assert_eq!(
            error_text(r#"{"error":"invalid API key"}"#),
            "invalid API key"
        );
        assert_eq!(
            error_text(r#"{"error":{"code":"unauthorized","message":"bad key"}}"#),
            "bad key"
        );
        assert_eq!(error_text("Session not found\n"), "Session not found");
        assert_eq!(
            error_text(&"x".repeat(600)).chars().count(),
            ERROR_TEXT_LIMIT + 1
        );
    }

    #[test]
    fn errors_carry_the_requests_id_and_the_status() {
        assert_eq!(
            error_message(
                json!(7),
                BRIDGE_ERROR,
                "no".into(),
                Some(StatusCode::UNAUTHORIZED)
            ),
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32000, "message": "no", "data": {"httpStatus": 401}}})
        );
    }
}
