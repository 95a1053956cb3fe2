//! Raw HTTP/1.1 over a `TcpStream`, for what a well-behaved client cannot send:
//! repeated headers, half-sent heads, short bodies, malformed request lines.
//!
//! Nothing here waits on a clock: reads go until the server answers or closes, and
//! the only timeout is [`HANG_GUARD`], a generous bound that turns a hang into a
//! failure instead of a stuck test.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any read may block before the test fails as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// A parsed response: status, headers (names lower-cased; repeated ones joined by
/// `, `) and body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// `host:port` of a test server's URL.
pub fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

pub async fn connect(url: &str) -> TcpStream {
    TcpStream::connect(addr(url)).await.expect("connect")
}

/// Sends `request` on a fresh connection and reads until the server closes it.
/// Requests that should be answered normally end their head with
/// `Connection: close`.
pub async fn exchange(url: &str, request: &[u8]) -> Option<RawResponse> {
    let mut stream = connect(url).await;
    stream.write_all(request).await.expect("write");
    parse(&read_to_close(&mut stream).await)
}

/// Everything the server sends until it closes the connection.
pub async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection")
        .ok();
    bytes
}

/// Reads one response (head and a `Content-Length` body) without waiting for the
/// connection to close.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            if let Some(response) = parse_complete(&bytes) {
                return response;
            }
            let read = stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "closed before a whole response: {bytes:?}");
            bytes.extend_from_slice(&chunk[..read]);
        }
    })
    .await
    .expect("the server answers")
}

/// A response parsed from everything read; `None` for no bytes at all.
pub fn parse(bytes: &[u8]) -> Option<RawResponse> {
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let mut headers: HashMap<String, String> = HashMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        headers
            .entry(name.trim().to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value.trim());
            })
            .or_insert_with(|| value.trim().to_owned());
    }
    let body = match headers.get("content-length") {
        Some(length) => body[..length.parse::<usize>().unwrap().min(body.len())].to_owned(),
        None => body.to_owned(),
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

/// A response once its head and `Content-Length` body have all arrived.
fn parse_complete(bytes: &[u8]) -> Option<RawResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let response = parse(bytes)?;
    let length = response
        .header("content-length")
        .map_or(0, |l| l.parse::<usize>().unwrap());
    (bytes.len() >= end + length).then_some(response)
}

/// Asserts `response` is an error in the surface's shape with a request id; returns
/// the message.
pub fn assert_shaped(
    response: &RawResponse,
    status: u16,
    deliberations_code: Option<&str>,
) -> String {
    assert_eq!(response.status, status, "{response:?}");
    let request_id = response
        .header("x-request-id")
        .unwrap_or_else(|| panic!("X-Request-Id: {response:?}"));
    assert!(request_id.starts_with("req_"), "{request_id}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    match deliberations_code {
        None => {
            assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
            body["error"]
                .as_str()
                .expect("error is a string")
                .to_owned()
        }
        Some(code) => {
            assert_eq!(body["error"]["code"], code, "{body}");
            assert_eq!(body["error"]["request_id"], request_id, "{body}");
            body["error"]["message"].as_str().unwrap().to_owned()
        }
    }
}
