//! What every operation shares, as the document's components: each surface's error
//! body, the response headers the layers add, the `Idempotency-Key` request header,
//! and the bearer key scheme.
//!
//! These describe what the code does, from the code's own constants: the error
//! codes are [`ErrorCode::ALL`], the idempotency key's bounds are the ones
//! [`IdempotencyKey::parse`](pilot_operations::IdempotencyKey::parse) enforces, and
//! each header is named as the layer that writes it names it.

use pilot_domain::deliberation::MAX_IDEMPOTENCY_KEY_CHARS;
use pilot_operations::ErrorCode;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, Ref, RefOr, Required};

use crate::Surface;

/// The security scheme's name: `Authorization: Bearer pk_live_…` or `pk_test_…`.
pub const BEARER: &str = "apiKey";
/// The `Idempotency-Key` parameter's name among the components.
pub const IDEMPOTENCY_KEY: &str = "IdempotencyKey";

/// Headers the layers write, by the name the document gives each.
pub const X_REQUEST_ID: &str = "X-Request-Id";
pub const RETRY_AFTER: &str = "Retry-After";
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";
/// §6's fields, on every answer a Deliberations rate limit counted.
pub const RATE_LIMIT_HEADERS: [&str; 5] = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
];

/// One server-sent event of `GET /v1/api/deliberations/{id}/events`, as OpenAPI 3.1
/// reads an event stream's schema: each event, with its `event` name and its `data`
/// (JSON text).
pub struct DeliberationEvent;

impl utoipa::PartialSchema for DeliberationEvent {
    fn schema() -> RefOr<Schema> {
        let names = [
            "answer",
            "review",
            "revision",
            "synthesis",
            "routed",
            "status",
            "completed",
            "failed",
        ];
        ObjectBuilder::new()
            .description(Some(
                "A panel entry as it is recorded (`answer`, `review`, `revision`, \
                 `synthesis`, `routed`: `{author, created_at}`), a status change (`status`: \
                 `{status}`), and last `completed` or `failed` with the full payload.",
            ))
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(names)),
            )
            .property(
                "data",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_media_type("application/json"),
            )
            .required("event")
            .required("data")
            .into()
    }
}

impl utoipa::ToSchema for DeliberationEvent {}

/// The name of a surface's error schema.
pub fn error_schema(surface: Surface) -> &'static str {
    match surface {
        Surface::Pilots => "PilotsError",
        Surface::Deliberations => "DeliberationsError",
    }
}

/// Adds the shared components to `components`.
pub fn install(components: &mut Components) {
    components.schemas.insert(
        error_schema(Surface::Pilots).to_owned(),
        pilots_error().into(),
    );
    components.schemas.insert(
        error_schema(Surface::Deliberations).to_owned(),
        deliberations_error().into(),
    );
    for (name, header) in headers() {
        components.headers.insert(name.to_owned(), RefOr::T(header));
    }
    components
        .parameters
        .insert(IDEMPOTENCY_KEY.to_owned(), RefOr::T(idempotency_key()));
    components.security_schemes.insert(
        BEARER.to_owned(),
        RefOr::T(SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("pk_live_… or pk_test_…")
                .description(Some(
                    "An API key, `Authorization: Bearer pk_live_…` (live) or `pk_test_…` \
                     (test mode: the scripted model, separate data and credits). Create one \
                     with `pilot keys create`.",
                ))
                .build(),
        )),
    );
}

/// A `$ref` to a component header.
pub fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

/// A `$ref` to a component schema.
pub fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `{"error": "message"}`: the Pilots surface's errors, and those outside both
/// surfaces (health, documents, unknown paths).
fn pilots_error() -> Schema {
    ObjectBuilder::new()
        .description(Some(
            "An error on the Pilots surface (`/api/v1`, `/hooks`) and outside both surfaces.",
        ))
        .property(
            "error",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What went wrong, for people.")),
        )
        .required("error")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// `{"error": {"code", "message", "request_id"}}`: the Deliberations surface's.
fn deliberations_error() -> Schema {
    let detail = ObjectBuilder::new()
        .property(
            "code",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
                .description(Some("Machine-readable; the status says the kind.")),
        )
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What went wrong, for people.")),
        )
        .property(
            "request_id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(REQUEST_ID_PATTERN))
                .description(Some("The response's `X-Request-Id`; quote it in reports.")),
        )
        .required("code")
        .required("message")
        .required("request_id")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    ObjectBuilder::new()
        .description(Some("An error on the Deliberations surface (`/v1/api`)."))
        .property("error", detail)
        .required("error")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// `req_` and a ULID.
const REQUEST_ID_PATTERN: &str = "^req_[0-9A-HJKMNP-TV-Z]{26}$";

fn headers() -> Vec<(&'static str, Header)> {
    let string = |pattern: Option<&str>| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(pattern)
    };
    let integer = |minimum: f64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(minimum))
    };
    let header = |schema: ObjectBuilder, description: &str| {
        HeaderBuilder::new()
            .schema(Some(schema))
            .description(Some(description))
            .build()
    };
    vec![
        (
            X_REQUEST_ID,
            header(
                string(Some(REQUEST_ID_PATTERN)),
                "This request's id, on every response; errors on the Deliberations surface \
                 repeat it as `error.request_id`.",
            ),
        ),
        (
            RETRY_AFTER,
            header(
                integer(1.0),
                "Seconds to wait before retrying (on `429`, and on a `503` that knows).",
            ),
        ),
        (
            IDEMPOTENT_REPLAYED,
            header(
                string(Some("^true$")),
                "`true` on the kept answer to an earlier request with this `Idempotency-Key`.",
            ),
        ),
        (
            "X-RateLimit-Limit",
            header(integer(0.0), "The limit: requests per window."),
        ),
        (
            "X-RateLimit-Remaining",
            header(integer(0.0), "Requests that would go through right now."),
        ),
        (
            "X-RateLimit-Reset",
            header(
                integer(0.0),
                "The Unix second by which the whole limit is available again.",
            ),
        ),
        (
            "RateLimit",
            header(
                string(Some(r#"^"default";r=\d+;t=\d+$"#)),
                "IETF `RateLimit`: `r` as `X-RateLimit-Remaining`, `t` the seconds until one \
                 more request is available (0 while some are).",
            ),
        ),
        (
            "RateLimit-Policy",
            header(
                string(Some(r#"^"default";q=\d+;w=\d+$"#)),
                "IETF `RateLimit-Policy`: the limit `q` per window of `w` seconds.",
            ),
        ),
    ]
}

/// `Idempotency-Key`, on every `POST` of both API surfaces.
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "1 to 255 visible ASCII characters. The same key and request within 24 hours \
             replays the first answer (`Idempotent-Replayed: true`); the same key with \
             another request is `409`. `402`, `429` and `5xx` answers are not kept.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!("^[!-~]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}$"))),
        ))
        .build()
}
