//! The published OpenAPI document and reference page: no key, the server's own
//! `public_url` in `servers`, the same document at both paths, a page that loads
//! nothing from elsewhere.

use pilot_store::Backend;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use serde_json::Value;

use crate::harness::spawn_app;

#[tokio::test]
async fn the_document_is_served_without_a_key_naming_this_server() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(document["servers"][0]["url"], app.url.as_str());
    assert_eq!(document, pilot_http::openapi::document(&app.url, None));

    let at_docs: Value = app
        .get("/docs/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at_docs, document);
    app.shut_down().await.unwrap();
}

#[tokio::test]
async fn the_reference_page_is_self_contained() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/docs").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = response.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"op-submitDeliberation\""));
    assert!(html.contains(&app.url.replace('/', "&#x2f;")));
    for outside in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "the page refers out: {outside}");
    }
    app.shut_down().await.unwrap();
}
