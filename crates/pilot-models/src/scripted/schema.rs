//! A deterministic instance of a JSON schema, so the scripted model can answer any
//! role's structured request — a persona's position, a peer review, an arbiter's
//! synthesis — in the shape asked for.
//!
//! Understood: `type` (one or a list; the first that is not `null`), `properties`
//! (every one is filled, so `required` always holds), `items`, `minItems` /
//! `maxItems`, `uniqueItems` (best effort), `enum`, `const`, `anyOf` / `oneOf` (the
//! first branch), `allOf` (merged), `$ref` into `#/$defs` or `#/definitions`,
//! `minimum` / `maximum` and their exclusive forms, `minLength` / `maxLength`, and the
//! `date-time`, `date`, `email`, `uri` and `uuid` formats. Strings are made of the
//! prompt's words. Not understood: `pattern`, `multipleOf`, conditionals; a schema
//! relying on them may not be satisfied.

use serde_json::{Map, Number, Value, json};

use super::dice::Dice;

/// Nesting beyond this gives `null` (guards recursive `$ref`s).
const MAX_DEPTH: usize = 16;
/// Arrays without `maxItems` get at most this many more items than `minItems`.
const SPARE_ITEMS: u64 = 2;
/// Strings get this many words (before length limits).
const MIN_WORDS: u64 = 3;
const MAX_WORDS: u64 = 8;
const FALLBACK_WORDS: [&str; 4] = ["scripted", "answer", "for", "testing"];

pub(crate) struct Instance<'a> {
    root: &'a Value,
    dice: &'a mut Dice,
    words: &'a [String],
}

impl<'a> Instance<'a> {
    pub(crate) fn new(root: &'a Value, dice: &'a mut Dice, words: &'a [String]) -> Self {
        Instance { root, dice, words }
    }

    pub(crate) fn generate(&mut self) -> Value {
        self.value(self.root, 0)
    }

    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        let Some(object) = schema.as_object() else {
            // `true` or `{}`: anything goes.
            return self.string(&Map::new());
        };
        if let Some(target) = object.get("$ref").and_then(Value::as_str) {
            return match target.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                Some(resolved) => self.value(resolved, depth + 1),
                None => Value::Null,
            };
        }
        if let Some(constant) = object.get("const") {
            return constant.clone();
        }
        if let Some(choices) = object.get("enum").and_then(Value::as_array)
            && let Some(choice) = self.dice.pick(choices)
        {
            return choice.clone();
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = object.get(key).and_then(Value::as_array) {
                let branch = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .or(branches.first());
                if let Some(branch) = branch {
                    return self.value(branch, depth + 1);
                }
            }
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            return self.value(&merge(object, parts), depth + 1);
        }
        match type_of(object) {
            "object" => self.object(object, depth),
            "array" => self.array(object, depth),
            "integer" => self.integer(object),
            "number" => self.number(object),
            "boolean" => Value::Bool(self.dice.below(2) == 1),
            "null" => Value::Null,
            _ => self.string(object),
        }
    }

    fn object(&mut self, schema: &Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let value = self.value(property, depth + 1);
                out.insert(name.clone(), value);
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, schema: &Map<String, Value>, depth: usize) -> Value {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(min + SPARE_ITEMS)
            .max(min);
        let count = min + self.dice.below(max - min + 1);
        let items = schema.get("items").cloned().unwrap_or(json!({}));
        let unique = schema.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        let mut out: Vec<Value> = Vec::new();
        // Unique items: a few extra draws to replace duplicates.
        let mut draws = if unique { count * 4 } else { count };
        while (out.len() as u64) < count && draws > 0 {
            draws -= 1;
            let item = self.value(&items, depth + 1);
            if !(unique && out.contains(&item)) {
                out.push(item);
            }
        }
        Value::Array(out)
    }

    fn integer(&mut self, schema: &Map<String, Value>) -> Value {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        let low = bound("minimum")
            .map(f64::ceil)
            .or_else(|| bound("exclusiveMinimum").map(|v| v.floor() + 1.0));
        let high = bound("maximum")
            .map(f64::floor)
            .or_else(|| bound("exclusiveMaximum").map(|v| v.ceil() - 1.0));
        let (low, high) = match (low, high) {
            (Some(low), Some(high)) => (low, high.max(low)),
            (Some(low), None) => (low, low + 100.0),
            (None, Some(high)) => (if high >= 0.0 { 0.0 } else { high - 100.0 }, high),
            (None, None) => (0.0, 100.0),
        };
        let (low, high) = (low as i64, high as i64);
        let span = high.saturating_sub(low).saturating_add(1).max(1) as u64;
        Value::from(low.saturating_add(self.dice.below(span) as i64))
    }

    fn number(&mut self, schema: &Map<String, Value>) -> Value {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        let (low, low_open) = match (bound("minimum"), bound("exclusiveMinimum")) {
            (_, Some(v)) => (v, true),
            (Some(v), None) => (v, false),
            (None, None) => (0.0, false),
        };
        let (high, high_open) = match (bound("maximum"), bound("exclusiveMaximum")) {
            (_, Some(v)) => (v, true),
            (Some(v), None) => (v, false),
            (None, None) => (low.max(0.0) + 1.0, false),
        };
        let high = high.max(low);
        // Two decimals, kept strictly inside open bounds.
        let mut value = ((low + (high - low) * self.dice.unit()) * 100.0).round() / 100.0;
        let step = ((high - low) / 1_000.0).max(f64::EPSILON);
        if (low_open && value <= low) || value < low {
            value = low + if low_open { step } else { 0.0 };
        }
        if (high_open && value >= high) || value > high {
            value = high - if high_open { step } else { 0.0 };
        }
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }

    fn string(&mut self, schema: &Map<String, Value>) -> Value {
        let mut text = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2025-01-01T00:00:00Z".to_owned(),
            Some("date") => "2025-01-01".to_owned(),
            Some("email") => "scripted@example.com".to_owned(),
            Some("uri" | "url") => "https://example.com/scripted".to_owned(),
            Some("uuid") => {
                let hex = format!("{:016x}{:016x}", self.dice.next_u64(), self.dice.next_u64());
                format!(
                    "{}-{}-4{}-8{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[13..16],
                    &hex[17..20],
                    &hex[20..32]
                )
            }
            _ => self.phrase(),
        };
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        while text.chars().count() < min {
            text.push_str(" scripted");
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            text = text.chars().take(max as usize).collect();
        }
        Value::String(text)
    }

    /// A few of the prompt's words, in an order the dice choose.
    fn phrase(&mut self) -> String {
        let count = MIN_WORDS + self.dice.below(MAX_WORDS - MIN_WORDS + 1);
        (0..count)
            .map(|_| match self.dice.pick(self.words) {
                Some(word) => word.as_str(),
                None => FALLBACK_WORDS[self.dice.below(FALLBACK_WORDS.len() as u64) as usize],
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn type_of(schema: &Map<String, Value>) -> &str {
    match schema.get("type") {
        Some(Value::String(name)) => name,
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .find(|name| *name != "null")
            .or_else(|| names.first().and_then(Value::as_str))
            .unwrap_or("string"),
        _ if schema.contains_key("properties") => "object",
        _ if schema.contains_key("items") => "array",
        _ if schema.contains_key("minimum") || schema.contains_key("maximum") => "number",
        _ => "string",
    }
}

/// `allOf`: the parts' keywords merged over the schema's own (properties united).
fn merge(own: &Map<String, Value>, parts: &[Value]) -> Value {
    let mut merged = own.clone();
    merged.remove("allOf");
    let mut properties = merged
        .remove("properties")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    for part in parts.iter().filter_map(Value::as_object) {
        for (key, value) in part {
            if key == "properties" {
                if let Some(more) = value.as_object() {
                    properties.extend(more.clone());
                }
            } else {
                merged.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    if !properties.is_empty() {
        merged.insert("properties".into(), Value::Object(properties));
    }
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(schema: &Value, words: &[&str]) -> Value {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        let (mut dice, _) = Dice::from_parts(["seed"]);
        Instance::new(schema, &mut dice, &words).generate()
    }

    #[test]
    fn honours_bounds_enums_and_lengths() {
        let schema = json!({
            "type": "object",
            "required": ["position", "claims", "confidence", "score", "stance", "flag", "maybe"],
            "properties": {
                "position": {"type": "string", "minLength": 40, "maxLength": 60},
                "claims": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
                "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
                "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "stance": {"enum": ["for", "against"]},
                "flag": {"type": "boolean"},
                "maybe": {"type": ["null", "string"]}
            }
        });
        for seed_words in [&["pricing", "risk"][..], &[][..]] {
            let value = instance(&schema, seed_words);
            let position = value["position"].as_str().unwrap();
            assert!((40..=60).contains(&position.chars().count()), "{position}");
            let claims = value["claims"].as_array().unwrap();
            assert!((2..=4).contains(&claims.len()));
            let confidence = value["confidence"].as_i64().unwrap();
            assert!((0..=10).contains(&confidence));
            let score = value["score"].as_f64().unwrap();
            assert!(score > 0.0 && score < 1.0, "{score}");
            assert!(["for", "against"].contains(&value["stance"].as_str().unwrap()));
            assert!(value["flag"].is_boolean());
            assert!(value["maybe"].is_string());
        }
        let value = instance(&schema, &["pricing"]);
        assert!(value["claims"][0].as_str().unwrap().contains("pricing"));
    }

    #[test]
    fn follows_refs_any_of_all_of_and_formats() {
        let schema = json!({
            "$defs": {"review": {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}}}},
            "type": "object",
            "properties": {
                "reviews": {"type": "array", "items": {"$ref": "#/$defs/review"}, "minItems": 4, "maxItems": 4},
                "either": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 7, "maximum": 7}]},
                "both": {"allOf": [{"properties": {"a": {"const": 1}}}, {"properties": {"b": {"const": 2}}}]},
                "when": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "format": "uuid"},
                "self": {"$ref": "#"}
            }
        });
        let value = instance(&schema, &["x"]);
        let reviews = value["reviews"].as_array().unwrap();
        assert_eq!(reviews.len(), 4);
        assert!(
            reviews
                .iter()
                .all(|r| (1..=5).contains(&r["score"].as_i64().unwrap()))
        );
        assert_eq!(value["either"], 7);
        assert_eq!(value["both"], json!({"a": 1, "b": 2}));
        assert_eq!(value["when"], "2025-01-01T00:00:00Z");
        assert_eq!(value["id"].as_str().unwrap().len(), 36);
        // Recursion stops at the depth limit instead of overflowing.
        assert!(value["self"].is_object());
    }

    #[test]
    fn unique_items_stay_unique() {
        let schema = json!({"type": "array", "uniqueItems": true, "minItems": 3, "maxItems": 3,
            "items": {"enum": ["a", "b", "c"]}});
        let value = instance(&schema, &[]);
        let mut items: Vec<&str> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        items.sort();
        items.dedup();
        assert_eq!(items.len(), value.as_array().unwrap().len());
    }
}
