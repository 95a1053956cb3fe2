//! Extractors whose rejections are [`ApiError`]s, so bad input gets the surface's shape,
//! and the one rule for what counts as a JSON body.
//!
//! **JSON bodies.** A body read as JSON must say so: `Content-Type` is
//! `application/json` or an `application/<name>+json` type (RFC 6839's structured
//! syntax suffix, e.g. `application/merge-patch+json`), in any letter case, with or
//! without parameters (`; charset=utf-8`). This is the test axum's own `Json`
//! extractor makes (it parses a MIME type and checks type, subtype and suffix),
//! written out once here so that every JSON body on both surfaces — [`Json`],
//! [`OptionalJson`], and handlers that read the bytes themselves, like the
//! deliberation submit, through [`require_json`] — is held to the same rule.
//! `application/jsonx`, `text/json`, `application/json garbage` and a missing
//! header are `415`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use pilot_operations::{ErrorCode, OpError};

use crate::error::ApiError;

/// A JSON body: `415` without a JSON `Content-Type` ([`is_json_content_type`]),
/// malformed JSON `400`, a body that does not fit the schema `422`, a body over the
/// limit `413`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(request.headers())?;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        Ok(Json(parse(&bytes)?))
    }
}

/// A JSON body that may be left out: no body, or one of only whitespace, is `None`
/// whatever the headers say; any other body is held to [`Json`]'s rules.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        require_json(&headers)?;
        Ok(OptionalJson(Some(parse(&bytes)?)))
    }
}

/// `bytes` as JSON, with axum's 400/422 split.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, OpError> {
    axum::Json::<T>::from_bytes(bytes)
        .map(|axum::Json(value)| value)
        .map_err(json_rejection)
}

/// `415` unless the request declares a JSON body ([`is_json_content_type`]).
pub fn require_json(headers: &HeaderMap) -> Result<(), OpError> {
    if is_json_content_type(headers) {
        Ok(())
    } else {
        Err(OpError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with 'Content-Type: application/json'.",
        ))
    }
}

/// Whether `Content-Type` is `application/json` or `application/<name>+json`, with
/// well-formed parameters if any. See the module documentation.
pub fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (essence, parameters) = match value.split_once(';') {
        Some((essence, parameters)) => (essence, Some(parameters)),
        None => (value, None),
    };
    let Some((kind, subtype)) = essence.trim().split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    let json = kind.eq_ignore_ascii_case("application")
        && is_token(&subtype)
        && (subtype == "json"
            || subtype
                .strip_suffix("+json")
                .is_some_and(|name| !name.is_empty()));
    json && parameters.is_none_or(|parameters| parameters.split(';').all(is_parameter))
}

/// `name=value` with a token name and a token or quoted-string value (RFC 9110 §5.6.6).
fn is_parameter(parameter: &str) -> bool {
    let Some((name, value)) = parameter.trim().split_once('=') else {
        return false;
    };
    let quoted = value.len() >= 2
        && value.starts_with('"')
        && value.ends_with('"')
        && !value[1..value.len() - 1].replace("\\\"", "").contains('"');
    is_token(name) && (is_token(value) || quoted)
}

/// RFC 9110 `token`: one or more `tchar`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The surface's answer to a body that could not be read: over the limit `413`,
/// anything else (a broken or abandoned upload) `400`.
pub(crate) fn body_rejection(rejection: BytesRejection) -> OpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        OpError::new(ErrorCode::PayloadTooLarge, "Request body is too large.")
    } else {
        OpError::bad_request("The request body could not be read.")
    }
}

/// The surface's answer to a body axum's JSON parsing refused.
pub(crate) fn json_rejection(rejection: JsonRejection) -> OpError {
    match rejection {
        JsonRejection::JsonDataError(error) => OpError::validation(error.body_text()),
        JsonRejection::JsonSyntaxError(error) => OpError::bad_request(format!(
            "Request body is not valid JSON: {}",
            error.body_text()
        )),
        JsonRejection::BytesRejection(error) => body_rejection(error),
        other => OpError::bad_request(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn json(content_type: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        is_json_content_type(&headers)
    }

    #[test]
    fn json_and_json_suffixed_types_are_json() {
        for yes in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"utf-8\"",
            " application/json ",
            "application/merge-patch+json",
            "application/cloudevents+json; charset=utf-8",
        ] {
            assert!(json(yes), "{yes:?}");
        }
    }

    #[test]
    fn look_alikes_are_not() {
        for no in [
            "application/jsonx",
            "application/json-seq",
            "application/x-json",
            "application/+json",
            "text/json",
            "json",
            "application/json garbage",
            "application/json;",
            "application/json; charset",
            "application/json; charset=\"utf-8",
            "",
        ] {
            assert!(!json(no), "{no:?}");
        }
        assert!(!is_json_content_type(&HeaderMap::new()));
    }
}
