//! The OpenAPI document: committed as `openapi.json` at the repository's root, so
//! every API change shows in review, and checked here against what the code
//! generates; and checked as OpenAPI 3.1 in its structure.
//!
//! After an intended change, regenerate the committed copy with
//!
//! ```text
//! cargo run -q -- openapi > openapi.json
//! ```
//!
//! (or `PILOT_UPDATE_OPENAPI=1 cargo test -p pilot-http --test openapi`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use pilot_http::openapi::{COMMITTED_PUBLIC_URL, document, to_json};
use serde_json::{Value, json};

const REGENERATE: &str = "cargo run -q -- openapi > openapi.json";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = to_json(COMMITTED_PUBLIC_URL, None);
    let path = committed_path();
    if std::env::var_os("PILOT_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |n| n,
            );
        panic!(
            "openapi.json at the repository's root differs from the document the code \
             generates (first at line {}).\nIf the API change is intended, regenerate it \
             from the repository's root:\n\n    {REGENERATE}\n\n(or run this test with \
             PILOT_UPDATE_OPENAPI=1) and commit it with the change.",
            first_difference + 1
        );
    }
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document(COMMITTED_PUBLIC_URL, None);
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["servers"][0]["url"], COMMITTED_PUBLIC_URL);
    let paths = doc["paths"].as_object().expect("paths");
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, operation) in item.as_object().expect("path item") {
            assert!(
                [
                    "get", "put", "post", "delete", "patch", "head", "options", "trace"
                ]
                .contains(&method.as_str()),
                "{path}: {method}"
            );
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{id} has no responses");
            for (status, response) in responses {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{id}: {status}"
                );
                assert!(response["description"].is_string(), "{id} {status}");
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{id} {status} lacks X-Request-Id"
                );
            }
            let in_path: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{id}: path parameters are required");
                    p["name"].as_str().unwrap_or_default()
                })
                .collect();
            assert_eq!(in_path, templated, "{id}: path parameters");
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
}

#[test]
fn every_error_has_its_surfaces_shape_and_the_api_needs_a_key() {
    let doc = document(COMMITTED_PUBLIC_URL, None);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let (shape, keyed) = if path.starts_with("/v1/api/") {
            ("DeliberationsError", true)
        } else if path.starts_with("/api/v1/") {
            ("PilotsError", true)
        } else {
            ("PilotsError", false)
        };
        for (method, operation) in item.as_object().expect("path item") {
            assert_eq!(
                operation.get("security").is_some(),
                keyed,
                "{method} {path}: security"
            );
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if status.as_str() >= "400" {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        format!("#/components/schemas/{shape}"),
                        "{method} {path} {status}"
                    );
                }
                if status == "429" {
                    assert!(response["headers"]["Retry-After"].is_object());
                }
            }
            if method == "post" && keyed {
                let parameters = operation["parameters"].to_string();
                assert!(parameters.contains("IdempotencyKey"), "{method} {path}");
            }
        }
    }
    let poll = &doc["paths"]["/v1/api/deliberations/{id}"]["get"]["responses"];
    assert_eq!(
        poll["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TerminalView"
    );
    assert_eq!(
        poll["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PendingView"
    );
    for header in ["X-RateLimit-Limit", "RateLimit", "RateLimit-Policy"] {
        assert!(poll["202"]["headers"][header].is_object(), "{header}");
    }
    let events = &doc["paths"]["/v1/api/deliberations/{id}/events"]["get"]["responses"]["200"];
    assert!(events["content"]["text/event-stream"].is_object());
    let codes = &doc["components"]["schemas"]["DeliberationsError"]["properties"]["error"]["properties"]
        ["code"]["enum"];
    assert!(codes.as_array().is_some_and(|c| c.len() >= 20), "{codes}");
}

#[test]
fn steps_are_the_step_catalogs_schema() {
    let doc = document(COMMITTED_PUBLIC_URL, None);
    assert_eq!(
        doc["components"]["schemas"]["Steps"],
        pilot_domain::step_schema::steps_schema()
    );
    let detail = &doc["components"]["schemas"]["PilotDetail"]["properties"]["steps"];
    assert_eq!(detail["$ref"], "#/components/schemas/Steps");
}

#[test]
fn servers_name_the_public_url() {
    let doc = document("https://pilot.example.com/", None);
    assert_eq!(
        doc["servers"],
        json!([{"url": "https://pilot.example.com"}])
    );
}

/// §9: "Both servers are listed (production + staging)".
#[test]
fn servers_list_the_staging_server_after_this_one() {
    let doc = document(
        "https://api.example.com",
        Some("https://staging-api.example.com"),
    );
    assert_eq!(
        doc["servers"],
        json!([
            {"url": "https://api.example.com", "description": "Production (pk_live_… keys)"},
            {"url": "https://staging-api.example.com", "description": "Staging (pk_test_… keys)"},
        ])
    );
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).expect("resolves"),
        None => value,
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect_refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}
