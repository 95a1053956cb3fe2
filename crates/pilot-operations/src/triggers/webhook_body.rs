//! A webhook request as the run's trigger payload. A body that is JSON is the payload
//! as is, whatever its `Content-Type` (none is `{}`); every other body becomes one
//! object: `form` (a form's fields: a string each, an array of strings for a name
//! sent more than once), `files` (a multipart body's files), `text` (a raw body that
//! is UTF-8) or `base64` (one that is not), with `request` beside them: the method,
//! the query, the content type and the headers, credentials left out. That same
//! `request` is kept with every webhook run, JSON bodies included, and templates
//! read it as `{{ request.method }}`, `{{ request.headers["x-github-event"] }}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::error::OpError;

/// The largest file a multipart body's payload carries as content; a larger one is
/// listed with `"omitted": true` and no content.
pub const MAX_WEBHOOK_FILE_BYTES: usize = 256 * 1024;

/// The headers a payload never shows: credentials the sender meant for us alone.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-api-key",
];

/// What a transport read of a webhook request: nothing of its own types.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    /// `POST`, `PUT`, …, as sent.
    pub method: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Every header as (name, value), names in any case; values not UTF-8 skipped.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type, lowercased, without parameters.
    fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The query's pairs, a name sent more than once as an array.
    pub fn query_pairs(&self) -> Map<String, Value> {
        fields(form_urlencoded::parse(self.query.as_bytes()))
    }

    /// `request`: what steps may read of the request besides its body.
    pub(crate) fn request_view(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            if SECRET_HEADERS.contains(&name.as_str()) {
                continue;
            }
            match headers.get_mut(&name) {
                Some(Value::String(first)) => {
                    first.push_str(", ");
                    first.push_str(value);
                }
                _ => {
                    headers.insert(name, Value::String(value.clone()));
                }
            }
        }
        json!({
            "method": self.method,
            "query": self.query_pairs(),
            "contentType": self.header("content-type"),
            "headers": headers,
        })
    }
}

/// Collects name/value pairs, a repeated name as an array in order.
fn fields<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in pairs {
        add_field(
            &mut out,
            name.into_owned(),
            Value::String(value.into_owned()),
        );
    }
    out
}

fn add_field(out: &mut Map<String, Value>, name: String, value: Value) {
    match out.get_mut(&name) {
        Some(Value::Array(values)) => values.push(value),
        Some(first) => {
            let first = first.take();
            out.insert(name, Value::Array(vec![first, value]));
        }
        None => {
            out.insert(name, value);
        }
    }
}

/// The payload `request` makes, or why its body cannot be read (`400`).
pub async fn webhook_payload(request: &WebhookRequest) -> Result<Value, OpError> {
    let body = &request.body;
    let media = request.media_type();
    let media = media.as_deref().unwrap_or("");
    if body.iter().all(u8::is_ascii_whitespace) && !is_form(media) {
        return Ok(json!({}));
    }
    let mut payload = Map::new();
    match media {
        "application/x-www-form-urlencoded" => {
            payload.insert(
                "form".into(),
                Value::Object(fields(form_urlencoded::parse(body))),
            );
        }
        "multipart/form-data" => {
            let (form, files) = multipart(request).await?;
            payload.insert("form".into(), Value::Object(form));
            payload.insert("files".into(), Value::Array(files));
        }
        _ => {
            if let Ok(value) = serde_json::from_slice::<Value>(body) {
                return Ok(value);
            }
            if media == "application/json" || media.ends_with("+json") {
                let e = serde_json::from_slice::<Value>(body).unwrap_err();
                return Err(OpError::bad_request(format!(
                    "Request body is not valid JSON: {e}"
                )));
            }
            match std::str::from_utf8(body) {
                Ok(text) => payload.insert("text".into(), Value::String(text.to_owned())),
                Err(_) => payload.insert("base64".into(), Value::String(STANDARD.encode(body))),
            };
        }
    }
    payload.insert("request".into(), request.request_view());
    Ok(Value::Object(payload))
}

fn is_form(media: &str) -> bool {
    media == "application/x-www-form-urlencoded" || media == "multipart/form-data"
}

/// A multipart body's text fields and files.
async fn multipart(request: &WebhookRequest) -> Result<(Map<String, Value>, Vec<Value>), OpError> {
    let bad = |e: multer::Error| {
        OpError::bad_request(format!(
            "Request body is not valid multipart/form-data: {e}"
        ))
    };
    let boundary = request
        .header("content-type")
        .ok_or_else(|| OpError::bad_request("multipart/form-data needs a boundary."))
        .and_then(|ct| multer::parse_boundary(ct).map_err(bad))?;
    let body = request.body.clone();
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut form = Map::new();
    let mut files = Vec::new();
    while let Some(field) = parts.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(bad)?;
        match file_name {
            None if content_type.is_none()
                || content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/plain")) =>
            {
                match std::str::from_utf8(&data) {
                    Ok(text) => add_field(&mut form, name, Value::String(text.to_owned())),
                    Err(_) => files.push(file(name, None, content_type, &data)),
                }
            }
            _ => files.push(file(name, file_name, content_type, &data)),
        }
    }
    Ok((form, files))
}

/// A file as the payload lists it: content as base64 up to the cap, else omitted.
fn file(field: String, name: Option<String>, content_type: Option<String>, data: &[u8]) -> Value {
    let mut file = json!({
        "field": field,
        "name": name,
        "contentType": content_type.unwrap_or_else(|| "application/octet-stream".into()),
        "size": data.len(),
    });
    if data.len() <= MAX_WEBHOOK_FILE_BYTES {
        file["content"] = Value::String(STANDARD.encode(data));
    } else {
        file["omitted"] = Value::Bool(true);
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, body: &[u8]) -> WebhookRequest {
        let mut headers = vec![
            ("Authorization".to_owned(), "Bearer x".to_owned()),
            ("X-Sender".to_owned(), "a".to_owned()),
        ];
        if let Some(ct) = content_type {
            headers.push(("Content-Type".to_owned(), ct.to_owned()));
        }
        WebhookRequest {
            method: "POST".into(),
            query: "a=1&a=2&b=x".into(),
            headers,
            body: body.to_vec(),
        }
    }

    #[tokio::test]
    async fn json_is_the_payload_as_is_whatever_the_type() {
        for ct in [None, Some("application/json"), Some("text/plain")] {
            let p = webhook_payload(&request(ct, br#"{"n": 1}"#)).await.unwrap();
            assert_eq!(p, json!({"n": 1}));
        }
        assert_eq!(
            webhook_payload(&request(None, b" ")).await.unwrap(),
            json!({})
        );
        assert!(
            webhook_payload(&request(Some("application/json"), b"{"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn forms_text_and_bytes_go_under_their_keys_with_the_request() {
        let p = webhook_payload(&request(
            Some("application/x-www-form-urlencoded"),
            b"text=hi+there&x=1&x=2",
        ))
        .await
        .unwrap();
        assert_eq!(p["form"], json!({"text": "hi there", "x": ["1", "2"]}));
        assert_eq!(p["request"]["method"], "POST");
        assert_eq!(p["request"]["query"], json!({"a": ["1", "2"], "b": "x"}));
        assert_eq!(p["request"]["headers"]["x-sender"], "a");
        assert!(p["request"]["headers"].get("authorization").is_none());

        let p = webhook_payload(&request(Some("text/plain"), b"hello"))
            .await
            .unwrap();
        assert_eq!(p["text"], "hello");
        let p = webhook_payload(&request(Some("application/octet-stream"), &[0xff, 0]))
            .await
            .unwrap();
        assert_eq!(p["base64"], "/wA=");
    }

    #[tokio::test]
    async fn multipart_fields_and_files() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n\
--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--XX--\r\n";
        let p = webhook_payload(&request(Some("multipart/form-data; boundary=XX"), body))
            .await
            .unwrap();
        assert_eq!(p["form"], json!({"a": "one"}));
        assert_eq!(
            p["files"],
            json!([{"field": "f", "name": "a.bin", "contentType": "application/octet-stream", "size": 2, "content": "AAE="}])
        );
    }
}
