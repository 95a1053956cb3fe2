//! The stylesheet and the script, embedded in the binary: nothing is fetched from
//! anywhere else. Each is served at `/assets/{name}` with a strong `ETag` (the
//! SHA-256 of its bytes) and pages link it with `?v=` that hash, so browsers keep it
//! for a year and a new build's pages ask for the new one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// Hex SHA-256 of `bytes`, its first 16 characters.
    pub version: String,
}

fn asset(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let version = hex::encode(Sha256::digest(bytes))[..16].to_owned();
    Asset {
        name,
        content_type,
        bytes,
        version,
    }
}

/// Every asset.
pub static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset(
            "app.css",
            "text/css; charset=utf-8",
            include_bytes!("../assets/app.css"),
        ),
        asset(
            "app.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/app.js"),
        ),
    ]
});

/// The path pages link an asset by, its version in the query.
pub fn href(name: &str) -> String {
    ASSETS.iter().find(|a| a.name == name).map_or_else(
        || format!("/assets/{name}"),
        |a| format!("/assets/{}?v={}", a.name, a.version),
    )
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", asset.version);
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|seen| seen.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::CACHE_CONTROL, cache)]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, cache),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).expect("a hex ETag is a valid header"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_linked_by_their_version() {
        let css = href("app.css");
        assert!(css.starts_with("/assets/app.css?v="), "{css}");
        assert_eq!(css.len(), "/assets/app.css?v=".len() + 16);
    }
}
