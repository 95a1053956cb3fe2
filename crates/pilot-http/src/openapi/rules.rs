//! What the layers around a route add to its operation, by where the route is.
//!
//! [`crate::router`] puts every route behind the same layers as its neighbours, so
//! what those layers can answer is a property of the place, not of the handler:
//!
//! | place | layers (outermost first) | adds |
//! | --- | --- | --- |
//! | everywhere | request id | `X-Request-Id` on every response |
//! | everywhere | head limits, singular headers, timeouts, panics | `400`, `414`, `431`, `503`, `500` |
//! | `/api/v1`, `/v1/api`, `/hooks` | body limit, body timeout | `413`, `408` (a body read too slowly) |
//! | `/api/v1`, `/v1/api` | authentication, write scope | `401`, `403`, the bearer key requirement |
//! | `POST` on `/api/v1`, `/v1/api` | idempotency | `Idempotency-Key`, `409`, `422`, `Idempotent-Replayed` |
//! | Deliberations submissions and reads | §6 rate limits | the `X-RateLimit-*`, `RateLimit`, `RateLimit-Policy` fields |
//!
//! and every error response gets its surface's body (the surface renderer's shape,
//! `crate::surface`), every `429` — and `503`, which may know — `Retry-After`. A
//! response the handler declared keeps its description; a rule only adds what is
//! missing.

use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};

use super::schemas::{
    self, BEARER, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, RATE_LIMIT_HEADERS, RETRY_AFTER,
    X_REQUEST_ID,
};
use crate::Surface;
use crate::routes::{DELIBERATIONS, HOOKS, PILOTS};

/// Where a path is served, which decides its layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Behind API-key authentication: `/api/v1` or `/v1/api`.
    Api(Surface),
    /// The webhook trigger: the Pilots surface's layers but the key check.
    Hooks,
    /// Health, metrics, the documents: the guards, in the Pilots shape.
    Outside,
}

impl Place {
    pub fn of(path: &str) -> Place {
        let under = |prefix: &str| path.starts_with(&format!("{prefix}/"));
        if under(PILOTS) {
            Place::Api(Surface::Pilots)
        } else if under(DELIBERATIONS) {
            Place::Api(Surface::Deliberations)
        } else if under(HOOKS) {
            Place::Hooks
        } else {
            Place::Outside
        }
    }

    fn surface(self) -> Surface {
        match self {
            Place::Api(surface) => surface,
            Place::Hooks | Place::Outside => Surface::Pilots,
        }
    }
}

/// Operations whose every answer after authentication carries §6's fields.
const RATE_LIMITED: [&str; 3] = [
    "submitDeliberation",
    "getDeliberation",
    "getDeliberationResult",
];

pub fn apply(place: Place, method: HttpMethod, operation: &mut Operation) {
    let rate_limited = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| RATE_LIMITED.contains(&id));
    if rate_limited {
        // Only the handler's own answers: it counts the request after the layers'
        // checks (an unauthenticated request is not counted).
        for response in own_responses(operation) {
            for name in RATE_LIMIT_HEADERS {
                response
                    .headers
                    .insert(name.to_owned(), schemas::header_ref(name));
            }
        }
    }

    let has_body = operation.request_body.is_some();
    if let Some(RefOr::T(body)) = operation.request_body.as_mut()
        && body.required != Some(Required::True)
    {
        // An optional body (`OptionalJsonInput`) is "no body" when absent, never
        // when it is JSON `null`: the schema is that of the body when there is one.
        for content in body.content.values_mut() {
            let RefOr::T(content) = content else {
                continue;
            };
            if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
                let mut present = one_of.items.iter().filter(|item| !is_null(item));
                if let (Some(only), None) = (present.next(), present.next()) {
                    content.schema = Some(only.clone());
                }
            }
        }
    }
    let idempotent = method == HttpMethod::Post && matches!(place, Place::Api(_));
    let mut layer_errors: Vec<(u16, &str)> = vec![
        (
            400,
            "`invalid_request`: a repeated `Authorization`, `Content-Type` or \
             `Idempotency-Key` header.",
        ),
        (
            414,
            "`uri_too_long`: the request target is over `http.max_uri_bytes`.",
        ),
        (
            431,
            "`headers_too_large`: over `http.max_headers` header fields or \
             `http.max_header_bytes`.",
        ),
        (500, "`internal_error`: our fault; quote the request id."),
        (
            503,
            "`unavailable`: the response was not ready within `http.request_timeout_ms`.",
        ),
    ];
    if place != Place::Outside {
        layer_errors.push((
            413,
            "`payload_too_large`: the body is over `http.body_limit_bytes`.",
        ));
        if has_body {
            layer_errors.push((
                408,
                "`request_timeout`: the body did not arrive within \
                 `http.body_read_timeout_ms`.",
            ));
        }
    }
    if let Place::Api(surface) = place {
        layer_errors.push((
            401,
            "`invalid_api_key`: missing, malformed, unknown or revoked key.",
        ));
        layer_errors.push((
            403,
            match surface {
                Surface::Pilots => "`insufficient_scope`: the key lacks `pilots:read` (reads) or `pilots:write` (writes).",
                Surface::Deliberations => "`insufficient_scope`: the key lacks `deliberations:read` (reads) or `deliberations:write` (writes).",
            },
        ));
        operation.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
    }
    if idempotent {
        layer_errors.push((
            409,
            "`idempotency_conflict`: this `Idempotency-Key` was used with another request \
             (or its first request is still running).",
        ));
        layer_errors.push((
            422,
            "`validation_error`: the `Idempotency-Key` is not 1 to 255 visible characters.",
        ));
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::Ref(Ref::new(format!(
                "#/components/parameters/{IDEMPOTENCY_KEY}"
            ))));
    }
    for (status, description) in layer_errors {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }

    let error_body = schemas::error_schema(place.surface());
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let status: u16 = status.parse().unwrap_or(0);
        if status >= 400 && response.content.is_empty() {
            *response = with_error_body(std::mem::take(response), error_body);
        }
        response
            .headers
            .insert(X_REQUEST_ID.to_owned(), schemas::header_ref(X_REQUEST_ID));
        if status == 429 || status == 503 {
            response
                .headers
                .insert(RETRY_AFTER.to_owned(), schemas::header_ref(RETRY_AFTER));
        }
        // Kept answers are replayed; `401`/`403` come before the lookup, and
        // `402`, `429` and `5xx` are never kept.
        let kept = !matches!(status, 401 | 402 | 429) && status < 500;
        if idempotent && kept {
            response.headers.insert(
                IDEMPOTENT_REPLAYED.to_owned(),
                schemas::header_ref(IDEMPOTENT_REPLAYED),
            );
        }
    }
}

/// The responses the handler declared, before any rule adds the layers'.
fn own_responses(operation: &mut Operation) -> impl Iterator<Item = &mut Response> {
    operation
        .responses
        .responses
        .values_mut()
        .filter_map(|response| match response {
            RefOr::T(response) => Some(response),
            RefOr::Ref(_) => None,
        })
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object))
        if object.schema_type == SchemaType::Type(Type::Null))
}

fn with_error_body(response: Response, schema: &str) -> Response {
    let mut built = ResponseBuilder::new()
        .description(response.description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(schemas::schema_ref(schema)))
                .build(),
        )
        .build();
    built.headers = response.headers;
    built
}
