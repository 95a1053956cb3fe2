//! The stdio MCP bridges — `pilot mcp` and `scripts/mcp-server.mjs` — driven over
//! piped stdin and stdout against a fake Streamable HTTP MCP endpoint (the real one is
//! tested with the server): what they forward, with which headers, and that stdout
//! carries exactly the server's JSON-RPC messages, one a line. The same scenarios run
//! against both bridges; the Node one is skipped with a notice where `node` is missing.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Notify;
use tokio::time::timeout;

const KEY: &str = "pk_test_bridge0000000000000000000000000000000";
const SESSION: &str = "session-7f3a";
const SESSION_2: &str = "session-9c01";
const VERSION: &str = "2025-11-25";
const WAIT: Duration = Duration::from_secs(20);

/// One message the fake endpoint received, with the headers the bridge sent with it.
#[derive(Debug, Clone)]
struct Seen {
    http_method: String,
    rpc_method: Option<String>,
    authorization: Option<String>,
    session: Option<String>,
    version: Option<String>,
    accept: Option<String>,
    content_type: Option<String>,
    last_event_id: Option<String>,
    mcp_method: Option<String>,
    mcp_name: Option<String>,
}

#[derive(Default)]
struct Endpoint {
    seen: Mutex<Vec<Seen>>,
    /// Signalled by `notifications/cancelled`; the `slow` tool waits for it.
    cancelled: Notify,
    /// Signalled when the `slow` tool call arrives, and when its answer is dropped.
    called: Notify,
    dropped: Notify,
    /// The id of the `resumable` call whose stream was ended before its response.
    resumable: Mutex<Option<Value>>,
    /// Sessions opened so far; the first is [`SESSION`], the next [`SESSION_2`].
    sessions: Mutex<u32>,
    /// Whether the `expire` call ended the first session.
    expired: Mutex<bool>,
}

/// A fake Streamable HTTP MCP endpoint on a random port: `initialize` answered with
/// JSON and a session id, `tools/list` with an event stream (a progress notification,
/// then the result, in awkward chunks), notifications with `202`, a `slow` tool call
/// never (it notes the cancellation and the bridge hanging up), a `resumable` one on an event stream ended after a
/// progress notification and resumed by `GET` with `Last-Event-ID`, `DELETE` recorded;
/// a wrong key gets `401`.
struct FakeMcp {
    url: String,
    endpoint: Arc<Endpoint>,
}

impl FakeMcp {
    async fn start() -> FakeMcp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let endpoint = Arc::new(Endpoint::default());
        let app = Router::new()
            .route("/mcp", post(message).get(resume).delete(close))
            .with_state(endpoint.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeMcp { url, endpoint }
    }

    fn seen(&self) -> Vec<Seen> {
        self.endpoint.seen.lock().unwrap().clone()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

fn record(endpoint: &Endpoint, http_method: &str, headers: &HeaderMap, body: Option<&Value>) {
    endpoint.seen.lock().unwrap().push(Seen {
        http_method: http_method.to_owned(),
        rpc_method: body
            .and_then(|body| body.get("method"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        authorization: header(headers, "authorization"),
        session: header(headers, "mcp-session-id"),
        version: header(headers, "mcp-protocol-version"),
        accept: header(headers, "accept"),
        content_type: header(headers, "content-type"),
        last_event_id: header(headers, "last-event-id"),
        mcp_method: header(headers, "mcp-method"),
        mcp_name: header(headers, "mcp-name"),
    });
}

fn initialize_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "protocolVersion": VERSION,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "fake-pilot", "version": "0.0.0"}
    }})
}

fn progress() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/progress",
           "params": {"progressToken": "list", "progress": 1, "message": "línea ✓"}})
}

fn tools_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [
        {"name": "list_pilots", "description": "Your Pilots.", "inputSchema": {"type": "object"}}
    ]}})
}

fn call_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "content": [{"type": "text", "text": "answered on the resumed stream"}]
    }})
}

async fn message(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("the bridge POSTs JSON");
    record(&endpoint, "POST", &headers, Some(&body));
    if header(&headers, "authorization") != Some(format!("Bearer {KEY}")) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"invalid API key"}"#,
        )
            .into_response();
    }
    if *endpoint.expired.lock().unwrap()
        && header(&headers, "mcp-session-id").as_deref() == Some(SESSION)
    {
        return (StatusCode::NOT_FOUND, "Session not found").into_response();
    }
    let id = body.get("id").cloned();
    let method = body.get("method").and_then(Value::as_str).unwrap_or("");
    let Some(id) = id else {
        if method == "notifications/cancelled" {
            endpoint.cancelled.notify_one();
        }
        return StatusCode::ACCEPTED.into_response();
    };
    match method {
        "initialize" => {
            let mut opened = endpoint.sessions.lock().unwrap();
            *opened += 1;
            let session = if *opened == 1 { SESSION } else { SESSION_2 };
            (
                [("mcp-session-id", session)],
                axum::Json(initialize_result(&id)),
            )
                .into_response()
        }
        "tools/call" if body["params"]["name"] == "expire" => {
            *endpoint.expired.lock().unwrap() = true;
            (StatusCode::NOT_FOUND, "Session not found").into_response()
        }
        "tools/list" => {
            let progress = format!("event: message\nid: 1\ndata: {}\r\n\r\n", progress());
            let (first, second) = progress.split_at(progress.len() / 2);
            // The result over two data lines, CRLF-ended: one message, two lines.
            let result = tools_result(&id).to_string();
            let (head, tail) = result.split_at(result.find("\"result\"").unwrap());
            let chunks: Vec<Vec<u8>> = vec![
                b": connected\n\n".to_vec(),
                b"retry: 1000\n\n".to_vec(),
                first.as_bytes().to_vec(),
                second.as_bytes().to_vec(),
                format!("id: 2\r\ndata: {head}\r\ndata: {tail}\r").into_bytes(),
                b"\n\r\n".to_vec(),
            ];
            let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
            (
                [
                    (header::CONTENT_TYPE, "text/event-stream"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                Body::from_stream(stream),
            )
                .into_response()
        }
        "tools/call" if body["params"]["name"] == "écho" => {
            axum::Json(call_result(&id)).into_response()
        }
        "tools/call" if body["params"]["name"] == "resumable" => {
            *endpoint.resumable.lock().unwrap() = Some(id);
            // A priming event (an id, no data) and the retry, a progress notification,
            // then the end of the stream: the response comes on the resumed one.
            let events = format!(
                "id: ev-1\nretry: 20\ndata:\n\nid: ev-2\ndata: {}\n\n",
                progress()
            );
            ([(header::CONTENT_TYPE, "text/event-stream")], events).into_response()
        }
        "tools/call" => {
            struct Dropped(Arc<Endpoint>);
            impl Drop for Dropped {
                fn drop(&mut self) {
                    self.0.dropped.notify_one();
                }
            }
            let _dropped = Dropped(endpoint.clone());
            endpoint.called.notify_one();
            timeout(WAIT, endpoint.cancelled.notified())
                .await
                .expect("the cancellation reaches the server while the call is in flight");
            // A cancelled request gets no answer; the bridge drops the wait for one.
            std::future::pending::<Response>().await
        }
        "ping" => axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": {}})).into_response(),
        _ => axum::Json(json!({"jsonrpc": "2.0", "id": id,
                               "error": {"code": -32601, "message": "method not found"}}))
        .into_response(),
    }
}

async fn resume(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap) -> Response {
    record(&endpoint, "GET", &headers, None);
    let id = endpoint.resumable.lock().unwrap().take();
    match (header(&headers, "last-event-id").as_deref(), id) {
        (Some("ev-2"), Some(id)) => (
            [(header::CONTENT_TYPE, "text/event-stream")],
            format!("id: ev-3\ndata: {}\n\n", call_result(&id)),
        )
            .into_response(),
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

async fn close(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap) -> StatusCode {
    record(&endpoint, "DELETE", &headers, None);
    StatusCode::OK
}

/// Which bridge runs, and how it is told where to go and as whom.
#[derive(Clone, Copy, Debug)]
enum Bridge {
    /// `pilot mcp --url … --key …` (a different key in the environment loses).
    PilotFlags,
    /// `pilot mcp` configured by `PILOT_API_URL`/`PILOT_API_KEY` over `BIZOPS_*`.
    PilotEnv,
    /// `node scripts/mcp-server.mjs` with the document's `BIZOPS_API_URL`/`BIZOPS_API_KEY`.
    Node,
    /// `node scripts/mcp-server.mjs --url … --key …` over `PILOT_*`.
    NodeFlags,
}

fn node_available() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/mcp-server.mjs").to_owned()
}

fn command(bridge: Bridge, url: &str, key: Option<&str>) -> Command {
    let mut command = match bridge {
        Bridge::PilotFlags | Bridge::PilotEnv => {
            let mut command = Command::new(env!("CARGO_BIN_EXE_pilot"));
            command.arg("mcp");
            command
        }
        Bridge::Node | Bridge::NodeFlags => {
            let mut command = Command::new("node");
            command.arg(script());
            command
        }
    };
    for name in [
        "PILOT_API_URL",
        "PILOT_API_KEY",
        "BIZOPS_API_URL",
        "BIZOPS_API_KEY",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "debug");
    match bridge {
        Bridge::PilotFlags | Bridge::NodeFlags => {
            command.args(["--url", url]);
            if let Some(key) = key {
                command.args(["--key", key]);
            }
            command
                .env("PILOT_API_URL", "http://127.0.0.1:9")
                .env("PILOT_API_KEY", "pk_test_loses_to_the_flag");
        }
        Bridge::PilotEnv => {
            command
                .env("PILOT_API_URL", url)
                .env("BIZOPS_API_URL", "http://127.0.0.1:9");
            if let Some(key) = key {
                command
                    .env("PILOT_API_KEY", key)
                    .env("BIZOPS_API_KEY", "bp_loses_to_pilot");
            }
        }
        Bridge::Node => {
            command.env("BIZOPS_API_URL", url);
            if let Some(key) = key {
                command.env("BIZOPS_API_KEY", key);
            }
        }
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A running bridge: its stdin to write messages to, its stdout read line by line.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Running {
    fn spawn(mut command: Command) -> Running {
        let mut child = command.spawn().expect("the bridge starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            stderr.read_to_string(&mut text).await.ok();
            text
        });
        Running {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    async fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next line on stdout: exactly one JSON-RPC message, nothing around it.
    async fn receive(&mut self) -> Value {
        let line = timeout(WAIT, self.stdout.next_line())
            .await
            .expect("a message within the wait")
            .unwrap()
            .expect("stdout still open");
        assert_eq!(line, line.trim(), "nothing around the message");
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("stdout line {line:?} is not JSON: {error}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        message
    }

    /// Closes stdin; returns the exit code and stderr once the bridge has exited,
    /// having checked it wrote nothing more to stdout.
    async fn close(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let status = timeout(WAIT, self.child.wait())
            .await
            .expect("the bridge exits once stdin ends")
            .unwrap();
        let rest = timeout(WAIT, self.stdout.next_line())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rest, None, "nothing more on stdout");
        let stderr = timeout(WAIT, self.stderr).await.unwrap().unwrap();
        (status.code(), stderr)
    }
}

fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

fn initialize(id: Value) -> Value {
    request(
        id,
        "initialize",
        json!({"protocolVersion": VERSION, "capabilities": {},
               "clientInfo": {"name": "bridge-test", "version": "0"}}),
    )
}

/// Skips a Node scenario (with a notice) where `node` is missing.
fn runnable(bridge: Bridge) -> bool {
    let node = matches!(bridge, Bridge::Node | Bridge::NodeFlags);
    if node && !node_available() {
        eprintln!("skipping {bridge:?}: `node` is not on PATH");
        return false;
    }
    true
}

/// The whole conversation: initialize (JSON, a session), initialized, tools/list (an
/// event stream), a slow call cancelled while in flight, a stream resumed, then EOF and
/// `DELETE`.
async fn conversation(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let fake = FakeMcp::start().await;
    // Both spellings of the URL are accepted.
    let url = match bridge {
        Bridge::PilotFlags | Bridge::Node => format!("{}/", fake.url),
        Bridge::PilotEnv | Bridge::NodeFlags => format!("{}/mcp", fake.url),
    };
    let mut running = Running::spawn(command(bridge, &url, Some(KEY)));

    running.send(initialize(json!(0))).await;
    assert_eq!(running.receive().await, initialize_result(&json!(0)));
    running
        .send(notification("notifications/initialized", json!({})))
        .await;
    running
        .send(request(
            json!(1),
            "tools/list",
            json!({"_meta": {"progressToken": "list"}}),
        ))
        .await;
    assert_eq!(running.receive().await, progress());
    assert_eq!(running.receive().await, tools_result(&json!(1)));

    // A call the server holds until it sees the cancellation: stdin is still read.
    running
        .send(request(
            json!("call-2"),
            "tools/call",
            json!({"name": "slow", "arguments": {}}),
        ))
        .await;
    timeout(WAIT, fake.endpoint.called.notified())
        .await
        .expect("the call reaches the server");
    running
        .send(notification(
            "notifications/cancelled",
            json!({"requestId": "call-2", "reason": "the user moved on"}),
        ))
        .await;
    // Nothing comes for the cancelled call: the next line answers the next request,
    // and the bridge has hung up on the call's stream.
    running.send(request(json!(5), "ping", json!({}))).await;
    assert_eq!(
        running.receive().await,
        json!({"jsonrpc": "2.0", "id": 5, "result": {}})
    );
    timeout(WAIT, fake.endpoint.dropped.notified())
        .await
        .expect("the cancelled call's stream is dropped");

    // A 2026-07-28 request declares its version itself, which is sent for it.
    running
        .send(request(
            json!(6),
            "tools/call",
            json!({"name": "écho", "arguments": {},
                   "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
        ))
        .await;
    assert_eq!(running.receive().await, call_result(&json!(6)));

    // A stream ended before its response: resumed from the last event id.
    running
        .send(request(
            json!(4),
            "tools/call",
            json!({"name": "resumable", "arguments": {}}),
        ))
        .await;
    assert_eq!(running.receive().await, progress());
    assert_eq!(running.receive().await, call_result(&json!(4)));

    let (code, stderr) = running.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(!stderr.contains(KEY), "the key is never logged: {stderr}");

    let seen = fake.seen();
    let methods: Vec<(&str, Option<&str>)> = seen
        .iter()
        .map(|s| (s.http_method.as_str(), s.rpc_method.as_deref()))
        .collect();
    assert_eq!(
        methods,
        [
            ("POST", Some("initialize")),
            ("POST", Some("notifications/initialized")),
            ("POST", Some("tools/list")),
            ("POST", Some("tools/call")),
            ("POST", Some("notifications/cancelled")),
            ("POST", Some("ping")),
            ("POST", Some("tools/call")),
            ("POST", Some("tools/call")),
            ("GET", None),
            ("DELETE", None),
        ],
        "{seen:#?}"
    );
    let bearer = format!("Bearer {KEY}");
    for s in &seen {
        assert_eq!(s.authorization.as_deref(), Some(bearer.as_str()), "{s:?}");
    }
    for s in seen.iter().filter(|s| s.http_method == "POST") {
        assert_eq!(s.content_type.as_deref(), Some("application/json"), "{s:?}");
        assert_eq!(
            s.accept.as_deref(),
            Some("application/json, text/event-stream"),
            "{s:?}"
        );
    }
    let resumed = seen.iter().find(|s| s.http_method == "GET").unwrap();
    assert_eq!(
        resumed.last_event_id.as_deref(),
        Some("ev-2"),
        "{resumed:?}"
    );
    assert_eq!(
        resumed.accept.as_deref(),
        Some("text/event-stream"),
        "{resumed:?}"
    );
    assert_eq!(
        seen[0].session, None,
        "no session before the server opens one"
    );
    assert_eq!(seen[0].version, None, "no version before it is negotiated");
    // SEP-2243's headers on every POST; Mcp-Name on the tool calls.
    for s in seen.iter().filter(|s| s.http_method == "POST") {
        assert_eq!(s.mcp_method, s.rpc_method, "{s:?}");
    }
    let names: Vec<Option<&str>> = seen
        .iter()
        .filter(|s| s.rpc_method.as_deref() == Some("tools/call"))
        .map(|s| s.mcp_name.as_deref())
        .collect();
    assert_eq!(
        names,
        [Some("slow"), Some("=?base64?w6ljaG8=?="), Some("resumable")]
    );
    let stateless = seen
        .iter()
        .find(|s| s.mcp_name.as_deref() == Some("=?base64?w6ljaG8=?="))
        .unwrap();
    assert_eq!(stateless.version.as_deref(), Some("2026-07-28"));
    for s in seen[1..].iter().filter(|s| !std::ptr::eq(*s, stateless)) {
        assert_eq!(s.session.as_deref(), Some(SESSION), "{s:?}");
        assert_eq!(s.version.as_deref(), Some(VERSION), "{s:?}");
    }
}

/// A wrong key: each request answered with a JSON-RPC error naming the 401 and the
/// server's text, the bridge still running; no session, so no `DELETE`.
async fn refused(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let fake = FakeMcp::start().await;
    let mut running = Running::spawn(command(bridge, &fake.url, Some("pk_test_wrong")));

    running.send(initialize(json!("a"))).await;
    let error = running.receive().await;
    assert_eq!(error["id"], "a", "{error}");
    assert_eq!(error["error"]["code"], -32000, "{error}");
    assert_eq!(error["error"]["data"]["httpStatus"], 401, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("401") && message.contains("invalid API key"),
        "{message}"
    );

    // A refused notification is only logged; the next request is answered in turn.
    running
        .send(notification("notifications/initialized", json!({})))
        .await;
    running
        .send(request(json!(3), "tools/list", json!({})))
        .await;
    let error = running.receive().await;
    assert_eq!(error["id"], 3, "{error}");
    assert_eq!(error["error"]["code"], -32000, "{error}");

    let (code, stderr) = running.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(stderr.contains("401"), "the failure is logged: {stderr}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert!(
        seen.iter()
            .all(|s| s.http_method == "POST" && s.session.is_none())
    );
}

/// No server at the URL: requests answered with errors, no crash.
async fn unreachable(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    // A port bound and then released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut running = Running::spawn(command(bridge, &url, Some(KEY)));
    running.send(initialize(json!(9))).await;
    let error = running.receive().await;
    assert_eq!(error["id"], 9, "{error}");
    assert_eq!(error["error"]["code"], -32000, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{error}"
    );
    // Not JSON: a parse error, and the bridge goes on.
    running
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"not json\n")
        .await
        .unwrap();
    let error = running.receive().await;
    assert_eq!(error["id"], Value::Null, "{error}");
    assert_eq!(error["error"]["code"], -32700, "{error}");
    let (code, stderr) = running.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");
}

/// The server ends the session (`404` to a request carrying it): the request gets an
/// error, and the client's next `initialize` goes without the old session, whose
/// successor is used from then on.
async fn expired(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let fake = FakeMcp::start().await;
    let mut running = Running::spawn(command(bridge, &fake.url, Some(KEY)));
    running.send(initialize(json!(0))).await;
    assert_eq!(running.receive().await, initialize_result(&json!(0)));
    running
        .send(request(
            json!(1),
            "tools/call",
            json!({"name": "expire", "arguments": {}}),
        ))
        .await;
    let error = running.receive().await;
    assert_eq!(error["id"], 1, "{error}");
    assert_eq!(error["error"]["data"]["httpStatus"], 404, "{error}");
    running.send(initialize(json!(2))).await;
    assert_eq!(running.receive().await, initialize_result(&json!(2)));
    running.send(request(json!(3), "ping", json!({}))).await;
    assert_eq!(
        running.receive().await,
        json!({"jsonrpc": "2.0", "id": 3, "result": {}})
    );
    let (code, stderr) = running.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let seen: Vec<(String, Option<String>, Option<String>)> = fake
        .seen()
        .into_iter()
        .map(|s| (s.http_method, s.session, s.version))
        .collect();
    let with = |method: &str, session: Option<&str>, version: Option<&str>| {
        (
            method.to_owned(),
            session.map(str::to_owned),
            version.map(str::to_owned),
        )
    };
    assert_eq!(
        seen,
        [
            with("POST", None, None),
            with("POST", Some(SESSION), Some(VERSION)),
            with("POST", None, None),
            with("POST", Some(SESSION_2), Some(VERSION)),
            with("DELETE", Some(SESSION_2), Some(VERSION)),
        ]
    );
}

/// SIGTERM (what a client sends a bridge still running a while after stdin's end)
/// with a call in flight: the call's stream dropped, the session deleted, exit 0.
#[cfg(unix)]
async fn signalled(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let fake = FakeMcp::start().await;
    let mut running = Running::spawn(command(bridge, &fake.url, Some(KEY)));
    running.send(initialize(json!(0))).await;
    assert_eq!(running.receive().await, initialize_result(&json!(0)));
    running
        .send(request(
            json!(1),
            "tools/call",
            json!({"name": "slow", "arguments": {}}),
        ))
        .await;
    timeout(WAIT, fake.endpoint.called.notified())
        .await
        .expect("the call reaches the server");
    let pid = running.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = timeout(WAIT, running.child.wait())
        .await
        .expect("the bridge exits on SIGTERM")
        .unwrap();
    let stderr = timeout(WAIT, running.stderr).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    timeout(WAIT, fake.endpoint.dropped.notified())
        .await
        .expect("the call's stream is dropped");
    let seen = fake.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.http_method, "DELETE", "{seen:#?}");
    assert_eq!(last.session.as_deref(), Some(SESSION));
}

/// Against the real server (`/mcp` on a `pilot serve` of the harness): the 2025-11-25
/// handshake, the server's own tool list, a tool call; then a 2026-07-28 stateless
/// call through a second bridge (no session, the version in `_meta`, SEP-2243
/// headers); and a wrong key's 401 as a JSON-RPC error.
async fn against_pilot(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let app = crate::harness::spawn_app(pilot_store::Backend::Sqlite).await;
    let mut running = Running::spawn(command(bridge, &app.url, Some(&app.test_key)));
    running.send(initialize(json!(0))).await;
    let initialized = running.receive().await;
    assert_eq!(initialized["id"], 0, "{initialized}");
    assert_eq!(
        initialized["result"]["protocolVersion"], VERSION,
        "{initialized}"
    );
    assert_eq!(
        initialized["result"]["serverInfo"]["name"], "pilot",
        "{initialized}"
    );
    running
        .send(notification("notifications/initialized", json!({})))
        .await;
    running
        .send(request(json!(1), "tools/list", json!({})))
        .await;
    let listed = running.receive().await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"list_pilots") && names.contains(&"get_balance"),
        "the server's tools, not the bridge's: {names:?}"
    );
    running
        .send(request(
            json!(2),
            "tools/call",
            json!({"name": "get_balance", "arguments": {}}),
        ))
        .await;
    let balance = running.receive().await;
    assert_eq!(balance["id"], 2, "{balance}");
    assert_eq!(balance["result"]["isError"], false, "{balance}");
    let (code, stderr) = running.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");

    let mut stateless = Running::spawn(command(bridge, &app.url, Some(&app.test_key)));
    stateless
        .send(request(
            json!("s1"),
            "tools/call",
            json!({"name": "get_balance", "arguments": {}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "bridge-test", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {},
            }}),
        ))
        .await;
    let balance = stateless.receive().await;
    assert_eq!(balance["id"], "s1", "{balance}");
    assert_eq!(balance["result"]["isError"], false, "{balance}");
    let (code, stderr) = stateless.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");

    let mut refused = Running::spawn(command(bridge, &app.url, Some("pk_test_not_a_key")));
    refused.send(initialize(json!(0))).await;
    let error = refused.receive().await;
    assert_eq!(error["id"], 0, "{error}");
    assert_eq!(error["error"]["data"]["httpStatus"], 401, "{error}");
    let (code, stderr) = refused.close().await;
    assert_eq!(code, Some(0), "stderr: {stderr}");
}

/// No key anywhere: exit 2 with the reason on stderr, nothing on stdout.
async fn missing_key(bridge: Bridge) {
    if !runnable(bridge) {
        return;
    }
    let mut command = command(bridge, "http://127.0.0.1:9", None);
    command.env_remove("PILOT_API_KEY").stdin(Stdio::null());
    let output = timeout(WAIT, command.output()).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no API key"), "{stderr}");
}

#[tokio::test]
async fn pilot_mcp_relays_a_conversation() {
    conversation(Bridge::PilotFlags).await;
    conversation(Bridge::PilotEnv).await;
}

#[tokio::test]
async fn pilot_mcp_answers_failures_with_json_rpc_errors() {
    refused(Bridge::PilotFlags).await;
    refused(Bridge::PilotEnv).await;
    unreachable(Bridge::PilotFlags).await;
    expired(Bridge::PilotFlags).await;
    #[cfg(unix)]
    signalled(Bridge::PilotFlags).await;
    missing_key(Bridge::PilotFlags).await;
    missing_key(Bridge::PilotEnv).await;
}

#[tokio::test]
async fn node_bridge_relays_a_conversation() {
    conversation(Bridge::Node).await;
    conversation(Bridge::NodeFlags).await;
}

#[tokio::test]
async fn node_bridge_answers_failures_with_json_rpc_errors() {
    refused(Bridge::Node).await;
    refused(Bridge::NodeFlags).await;
    unreachable(Bridge::Node).await;
    expired(Bridge::Node).await;
    #[cfg(unix)]
    signalled(Bridge::Node).await;
    missing_key(Bridge::Node).await;
    missing_key(Bridge::NodeFlags).await;
}

/// The Node bridge's own unit tests (its event-stream parser and URL rule), run with
/// `node --test`.
#[tokio::test]
async fn node_bridge_unit_tests_pass() {
    if !runnable(Bridge::Node) {
        return;
    }
    let tests = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/mcp-server.test.mjs"
    );
    let output = timeout(WAIT, Command::new("node").args(["--test", tests]).output())
        .await
        .expect("node --test finishes")
        .unwrap();
    assert!(
        output.status.success(),
        "node --test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn pilot_mcp_against_the_real_server() {
    against_pilot(Bridge::PilotFlags).await;
}

#[tokio::test]
async fn node_bridge_against_the_real_server() {
    against_pilot(Bridge::Node).await;
}
