//! JSON Schemas for tools, from the same utoipa schemas the OpenAPI document uses:
//! references are inlined, so each tool's schema stands alone (MCP clients do not
//! share a components section).

use std::collections::HashMap;

use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

const COMPONENTS: &str = "#/components/schemas/";

/// `T`'s schema, every reference inlined.
pub fn of<T: utoipa::ToSchema>() -> Map<String, Value> {
    let mut dependencies: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut dependencies);
    let named: HashMap<String, Value> = dependencies
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect();
    let root = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    match inline(root, &named, &mut Vec::new()) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `value` with each `{"$ref": "#/components/schemas/X"}` replaced by `X`'s schema.
/// A type that contains itself is left open (`{}`) where it recurs.
fn inline(value: Value, named: &HashMap<String, Value>, stack: &mut Vec<String>) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref")
                && let Some(name) = reference.strip_prefix(COMPONENTS)
            {
                let Some(target) = named.get(name) else {
                    return Value::Object(Map::new());
                };
                if stack.iter().any(|seen| seen == name) {
                    return Value::Object(Map::new());
                }
                stack.push(name.to_owned());
                let resolved = inline(target.clone(), named, stack);
                stack.pop();
                return resolved;
            }
            Value::Object(
                map.into_iter()
                    .map(|(key, value)| (key, inline(value, named, stack)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| inline(item, named, stack))
                .collect(),
        ),
        other => other,
    }
}

/// An object schema with `properties` (name, schema, required) and the rest closed.
pub fn object(properties: Vec<(&str, Value, bool)>) -> Map<String, Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, schema, needed) in properties {
        if needed {
            required.push(Value::String(name.to_owned()));
        }
        props.insert(name.to_owned(), schema);
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(props));
    out.insert("required".into(), Value::Array(required));
    out.insert("additionalProperties".into(), Value::Bool(false));
    out
}

/// `base` (an object schema) with more properties, `required` ones among them.
pub fn extend(mut base: Map<String, Value>, more: Vec<(&str, Value, bool)>) -> Map<String, Value> {
    let props = base
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let mut newly_required = Vec::new();
    if let Value::Object(props) = props {
        for (name, schema, needed) in more {
            if needed {
                newly_required.push(Value::String(name.to_owned()));
            }
            props.insert(name.to_owned(), schema);
        }
    }
    let required = base
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        required.extend(newly_required);
    }
    base.insert("type".into(), "object".into());
    base
}
