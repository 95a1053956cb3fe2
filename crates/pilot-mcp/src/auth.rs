//! The key check in front of `/mcp`: the same `Authorization: Bearer pk_…` keys as
//! REST, resolved by `Operations::authenticate`. No key, or a bad one, is `401`
//! with `WWW-Authenticate: Bearer` before the MCP layer sees the request; a good
//! one rides on the request as its [`Principal`].

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_operations::Operations;

pub async fn authenticate(
    State(ops): State<Operations>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().map_err(drop));
    match ops.authenticate(header).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => {
            let body = serde_json::json!({
                "error": {"code": error.code.as_str(), "message": error.message}
            });
            let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            // The body is left unread: the connection ends with this answer.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}
