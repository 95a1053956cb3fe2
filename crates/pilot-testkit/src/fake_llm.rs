//! A fake LLM provider: a real HTTP server on `127.0.0.1:<random port>` that speaks
//! both wire formats the model layer does, scripted per test.
//!
//! * `POST /v1/chat/completions` — OpenAI-compatible Chat Completions;
//! * `POST /v1/messages` — Anthropic Messages.
//!
//! Each request takes the next [`FakeReply`] from a queue ([`FakeLlm::push`]), or the
//! fallback when the queue is empty ([`FakeLlm::set_fallback`]; by default the text
//! `"fake answer"` with usage 11 in, 7 out). The reply is rendered in the request's
//! format, streamed (SSE) when the request asked for `"stream": true`. Every request
//! is kept ([`FakeLlm::requests`]) so tests can check what was sent: the
//! `response_format`, `tool_choice`, `stream_options`, the auth header.
//!
//! ```no_run
//! # async fn demo() {
//! use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
//! let fake = FakeLlm::start().await;
//! fake.push(FakeReply::status(429, "slow down").retry_after("1"));
//! fake.push(FakeReply::text("hello").usage(12, 3));
//! // point an OpenAI-compatible provider at fake.openai_base_url() …
//! assert_eq!(fake.requests().len(), 0);
//! # }
//! ```
//!
//! Streams are sent in small chunks that split events mid-line, so a client's SSE
//! parser is exercised on boundaries. Anthropic streams carry **cumulative**
//! `message_delta` usage (two of them), as the real API does.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Usage the default reply and [`FakeReply::text`] report, unless told otherwise.
pub const DEFAULT_USAGE: (u64, u64) = (11, 7);

/// What the fake answers to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeReply {
    body: ReplyBody,
    usage: Option<(u64, u64)>,
    latency: Duration,
    retry_after: Option<String>,
    truncated: bool,
    filtered: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum ReplyBody {
    Text(String),
    Status(u16, String),
    Malformed,
}

impl FakeReply {
    /// A successful answer with this text and [`DEFAULT_USAGE`]. When the request
    /// forces an Anthropic tool call and the text is JSON, it is sent as the tool
    /// call's input.
    pub fn text(text: impl Into<String>) -> FakeReply {
        FakeReply {
            body: ReplyBody::Text(text.into()),
            usage: Some(DEFAULT_USAGE),
            latency: Duration::ZERO,
            retry_after: None,
            truncated: false,
            filtered: false,
        }
    }

    /// An error status with `{"error": {"message": message, "type": "fake_error"}}`.
    pub fn status(status: u16, message: impl Into<String>) -> FakeReply {
        FakeReply {
            body: ReplyBody::Status(status, message.into()),
            ..FakeReply::text("")
        }
    }

    /// A 200 whose body is not JSON (or, streamed, whose first event is not).
    pub fn malformed() -> FakeReply {
        FakeReply {
            body: ReplyBody::Malformed,
            ..FakeReply::text("")
        }
    }

    /// Reports this usage (input, output tokens).
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> FakeReply {
        self.usage = Some((input_tokens, output_tokens));
        self
    }

    /// Reports no usage at all, as some OpenAI-compatible servers do.
    pub fn without_usage(mut self) -> FakeReply {
        self.usage = None;
        self
    }

    /// Waits this long before answering (the response head included).
    pub fn latency(mut self, latency: Duration) -> FakeReply {
        self.latency = latency;
        self
    }

    /// Adds a `Retry-After` header with this value (seconds or an HTTP date).
    pub fn retry_after(mut self, value: impl Into<String>) -> FakeReply {
        self.retry_after = Some(value.into());
        self
    }

    /// Cuts the answer off: a stream stops after its first content event (no finish,
    /// no usage, no end marker); a plain body stops halfway through its JSON.
    pub fn truncated(mut self) -> FakeReply {
        self.truncated = true;
        self
    }

    /// Marks the answer as stopped by guardrails: `finish_reason: "content_filter"`
    /// (OpenAI) or `stop_reason: "refusal"` (Anthropic).
    pub fn filtered(mut self) -> FakeReply {
        self.filtered = true;
        self
    }
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedRequest {
    pub path: String,
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Debug)]
struct FakeState {
    queue: Mutex<VecDeque<FakeReply>>,
    fallback: Mutex<FakeReply>,
    requests: Mutex<Vec<ReceivedRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running fake; stops when dropped.
pub struct FakeLlm {
    addr: SocketAddr,
    state: Arc<FakeState>,
    server: JoinHandle<()>,
}

impl FakeLlm {
    /// Binds `127.0.0.1:0`, then serves in the background.
    pub async fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake LLM");
        let addr = listener.local_addr().expect("fake LLM address");
        let state = Arc::new(FakeState {
            queue: Mutex::new(VecDeque::new()),
            fallback: Mutex::new(FakeReply::text("fake answer")),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeLlm {
            addr,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `base_url` for an OpenAI-compatible provider (`…/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The `base_url` for an Anthropic provider.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Queues a reply for the next request.
    pub fn push(&self, reply: FakeReply) -> &FakeLlm {
        lock(&self.state.queue).push_back(reply);
        self
    }

    /// The reply for requests that find the queue empty.
    pub fn set_fallback(&self, reply: FakeReply) {
        *lock(&self.state.fallback) = reply;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A URL on which nothing listens: connecting is refused.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port to free");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

/// A request to answer with text, in the format of the route it came to.
struct Taken {
    request: Value,
    reply: FakeReply,
    stream: bool,
}

/// Records the request and takes its reply, after the reply's latency. Replies that
/// look the same in both formats (error statuses, malformed bodies) are the `Err`.
async fn take(
    state: &FakeState,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Taken, Response> {
    let body: Value = serde_json::from_slice(body).map_err(|error| {
        plain(
            StatusCode::BAD_REQUEST,
            &format!("the fake wants JSON: {error}"),
        )
    })?;
    let headers = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    lock(&state.requests).push(ReceivedRequest {
        path: path.to_owned(),
        headers,
        body: body.clone(),
    });
    let reply = lock(&state.queue)
        .pop_front()
        .unwrap_or_else(|| lock(&state.fallback).clone());
    if !reply.latency.is_zero() {
        tokio::time::sleep(reply.latency).await;
    }
    let stream = wants_stream(&body);
    match common(&reply, stream) {
        Some(response) => Err(response),
        None => Ok(Taken {
            request: body,
            reply,
            stream,
        }),
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = status;
    response
}

fn json_response(status: StatusCode, body: String, retry_after: Option<&str>) -> Response {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(value) = retry_after {
        builder = builder.header(header::RETRY_AFTER, value);
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad fake reply"))
}

/// An SSE body sent in small chunks that split events mid-line.
fn sse_response(events: Vec<String>) -> Response {
    let mut chunks = Vec::new();
    for event in events {
        let middle = event.len() / 2;
        let cut = (middle..event.len())
            .find(|i| event.is_char_boundary(*i))
            .unwrap_or(event.len());
        chunks.push(Bytes::from(event[..cut].to_owned()));
        chunks.push(Bytes::from(event[cut..].to_owned()));
    }
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad fake stream"))
}

/// Replies shared by both formats: an error status or a malformed body.
fn common(reply: &FakeReply, stream: bool) -> Option<Response> {
    match &reply.body {
        ReplyBody::Status(status, message) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": {"message": message, "type": "fake_error"}});
            Some(json_response(
                status,
                body.to_string(),
                reply.retry_after.as_deref(),
            ))
        }
        ReplyBody::Malformed if stream => Some(sse_response(vec!["data: {not json\n\n".into()])),
        ReplyBody::Malformed => Some(json_response(
            StatusCode::OK,
            "this is not json {".into(),
            None,
        )),
        ReplyBody::Text(_) => None,
    }
}

fn text_of(reply: &FakeReply) -> &str {
    match &reply.body {
        ReplyBody::Text(text) => text,
        _ => "",
    }
}

/// The text in three pieces (fewer when it is short), split on character boundaries.
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(3).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn half(body: &str) -> String {
    body.chars().take(body.chars().count() / 2).collect()
}

fn wants_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

fn data(value: &Value) -> String {
    format!("data: {value}\n\n")
}

async fn openai(State(state): State<Arc<FakeState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Taken {
        request,
        reply,
        stream,
    } = match take(&state, "/v1/chat/completions", &headers, &body).await {
        Ok(taken) => taken,
        Err(response) => return response,
    };
    let text = text_of(&reply);
    let model = request.get("model").cloned().unwrap_or(Value::Null);
    let finish = if reply.filtered {
        "content_filter"
    } else {
        "stop"
    };
    let usage = reply.usage.map(|(input, output)| {
        json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output})
    });
    if !stream {
        let body = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        })
        .to_string();
        let body = if reply.truncated { half(&body) } else { body };
        return json_response(StatusCode::OK, body, None);
    }
    let chunk = |delta: Value, finish: Value| {
        data(&json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }))
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(text) {
        events.push(chunk(json!({"content": piece}), Value::Null));
        if reply.truncated {
            return sse_response(events);
        }
    }
    events.push(chunk(json!({}), json!(finish)));
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    if let (Some(usage), true) = (usage, include_usage) {
        events.push(data(
            &json!({"id": "chatcmpl-fake", "choices": [], "usage": usage}),
        ));
    }
    events.push("data: [DONE]\n\n".into());
    sse_response(events)
}

/// The name of the tool the request forces, if any.
fn forced_tool(request: &Value) -> Option<String> {
    (request.pointer("/tool_choice/type").and_then(Value::as_str) == Some("tool"))
        .then(|| request.pointer("/tool_choice/name").and_then(Value::as_str))
        .flatten()
        .map(str::to_owned)
}

async fn anthropic(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Taken {
        request,
        reply,
        stream,
    } = match take(&state, "/v1/messages", &headers, &body).await {
        Ok(taken) => taken,
        Err(response) => return response,
    };
    let text = text_of(&reply);
    // A forced tool call answers with the text as the tool's input when it is JSON.
    let tool = forced_tool(&request).and_then(|name| {
        serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .map(|input| (name, input))
    });
    let stop = match (&tool, reply.filtered) {
        (_, true) => "refusal",
        (Some(_), false) => "tool_use",
        (None, false) => "end_turn",
    };
    let model = request.get("model").cloned().unwrap_or(Value::Null);
    if !stream {
        let content = match &tool {
            Some((name, input)) => {
                json!([{"type": "tool_use", "id": "toolu_fake", "name": name, "input": input}])
            }
            None => json!([{"type": "text", "text": text}]),
        };
        let mut body = json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop,
        });
        if let Some((input, output)) = reply.usage {
            body["usage"] = json!({"input_tokens": input, "output_tokens": output});
        }
        let body = body.to_string();
        let body = if reply.truncated { half(&body) } else { body };
        return json_response(StatusCode::OK, body, None);
    }
    let event = |name: &str, value: Value| format!("event: {name}\n{}", data(&value));
    let mut start = json!({"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []}});
    if let Some((input, _)) = reply.usage {
        start["message"]["usage"] = json!({"input_tokens": input, "output_tokens": 1});
    }
    let (block, deltas) = match &tool {
        Some((name, input)) => (
            json!({"type": "tool_use", "id": "toolu_fake", "name": name, "input": {}}),
            pieces(&input.to_string())
                .into_iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                .collect::<Vec<_>>(),
        ),
        None => (
            json!({"type": "text", "text": ""}),
            pieces(text)
                .into_iter()
                .map(|p| json!({"type": "text_delta", "text": p}))
                .collect(),
        ),
    };
    let mut events = vec![
        event("message_start", start),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    let total = deltas.len();
    for (n, delta) in deltas.into_iter().enumerate() {
        events.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ));
        if reply.truncated {
            return sse_response(events);
        }
        // Halfway, a cumulative usage update: a client that sums them overcounts.
        if let (Some((_, output)), true) = (reply.usage, n + 1 == total.div_ceil(2)) {
            let partial = json!({"output_tokens": output / 2});
            events.push(event(
                "message_delta",
                json!({"type": "message_delta", "delta": {}, "usage": partial}),
            ));
        }
    }
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    let mut last =
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}});
    if let Some((_, output)) = reply.usage {
        last["usage"] = json!({"output_tokens": output});
    }
    events.push(event("message_delta", last));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    sse_response(events)
}
