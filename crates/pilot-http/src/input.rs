//! An operation's input as a request carries it (`pilot_operations` takes it this
//! way): the decoded JSON body — or why it could not be decoded, which the
//! operation answers in its turn, after its scope and idempotency checks — and the
//! request's `Idempotency-Key` with its fingerprint.
//!
//! `Idempotency-Key` is read on `POST`s. A key that is not 1 to 255 visible
//! characters is refused at once (`422`), and so is a body that cannot be read
//! (over the limit `413`, broken off `400`): neither is a request an operation could
//! keep an answer for. The fingerprint is method, path and the body's bytes: "the
//! same request" is the same bytes to the same place.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method};
use pilot_operations::{Idempotency, IdempotencyKey, OpError};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::extract::{body_rejection, parse, require_json};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A JSON body for an operation (`Content-Type` per [`crate::extract`]).
pub struct JsonInput<T> {
    pub input: Result<T, OpError>,
    pub idempotency: Option<Idempotency>,
}

/// A JSON body read whole before it is judged, key or no key: a body that cannot be
/// read is refused as such (`413`, `400`) whatever it claims to be, and its type,
/// syntax and schema (`415`, `400`, `422`) are left for the operation to answer in
/// its turn — `POST /v1/api/deliberations` answers them after counting the request
/// against the key's rate limit, so they carry its fields like any answer.
pub struct ReadJsonInput<T> {
    pub input: Result<T, OpError>,
    pub idempotency: Option<Idempotency>,
}

/// A JSON body that may be left out: no body, or only whitespace, is `Ok(None)`
/// whatever the headers say.
pub struct OptionalJsonInput<T> {
    pub input: Result<Option<T>, OpError>,
    pub idempotency: Option<Idempotency>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonInput<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = idempotency_key(request.method(), request.headers())?;
        if key.is_none()
            && let Err(not_json) = require_json(request.headers())
        {
            // Nothing to fingerprint: answer the missing JSON type without reading on.
            return Ok(JsonInput {
                input: Err(not_json),
                idempotency: None,
            });
        }
        let body = Read::body(request, state, key).await?;
        Ok(JsonInput {
            input: body.json(),
            idempotency: body.idempotency,
        })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ReadJsonInput<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = idempotency_key(request.method(), request.headers())?;
        let body = Read::body(request, state, key).await?;
        Ok(ReadJsonInput {
            input: body.json(),
            idempotency: body.idempotency,
        })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJsonInput<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = idempotency_key(request.method(), request.headers())?;
        let body = Read::body(request, state, key).await?;
        let input = if body.bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(None)
        } else {
            body.json().map(Some)
        };
        Ok(OptionalJsonInput {
            input,
            idempotency: body.idempotency,
        })
    }
}

/// A request that takes no body, for its `Idempotency-Key` alone. Whatever body
/// comes is read (bounded like any) into the fingerprint, and not looked at.
pub struct NoBodyInput {
    pub idempotency: Option<Idempotency>,
}

impl<S: Send + Sync> FromRequest<S> for NoBodyInput {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = idempotency_key(request.method(), request.headers())?;
        let body = Read::body(request, state, key).await?;
        Ok(NoBodyInput {
            idempotency: body.idempotency,
        })
    }
}

/// A body read whole, with its headers and the request's idempotency key over it.
struct Read {
    headers: HeaderMap,
    bytes: Bytes,
    idempotency: Option<Idempotency>,
}

impl Read {
    /// Reads the body (`413` over the limit, `400` broken off) and fingerprints the
    /// request for `key`: method, path, body.
    async fn body<S: Send + Sync>(
        request: Request,
        state: &S,
        key: Option<IdempotencyKey>,
    ) -> Result<Read, ApiError> {
        let (method, path) = (
            request.method().as_str().to_owned(),
            request.uri().path().to_owned(),
        );
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|r| ApiError::from(body_rejection(r)))?;
        let idempotency = key.map(|key| Idempotency::of_http(key, &method, &path, &bytes));
        Ok(Read {
            headers,
            bytes,
            idempotency,
        })
    }

    /// The body as JSON, held to the `Content-Type` rule.
    fn json<T: DeserializeOwned>(&self) -> Result<T, OpError> {
        require_json(&self.headers).and_then(|()| parse(&self.bytes))
    }
}

/// The request's idempotency key, on a `POST` that has one.
fn idempotency_key(
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if method != Method::POST {
        return Ok(None);
    }
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(raw) => IdempotencyKey::parse(raw.as_bytes())
            .map(Some)
            .map_err(ApiError::from),
    }
}
