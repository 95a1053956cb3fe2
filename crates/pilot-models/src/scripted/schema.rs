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
//!
//! **Bounded.** The instance is built against a byte budget (`models.max_answer_bytes`)
//! that is checked *before* anything is built: first the schema's smallest instance
//! ([`MinimumSizes`], the bound step validation uses), then, value by value, the
//! room each one may take — the budget less what is built and the minimum of what
//! must still come. An array's `minItems` × its items' minimum size and a string's
//! `minLength` are checked before they are allocated; optional extras (a property
//! that is not required, items past `minItems`, words past what fits) are left out
//! when there is no room. Within the budget the instance is exactly what it would be
//! without one. The work is linear in the answer's size.

use pilot_domain::step_schema_limits::{MinimumSizes, json_string_len};
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
/// What pads a string up to its `minLength`.
const PADDING: &str = " scripted";

/// The instance cannot fit in the budget; `what` says which part did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Oversize {
    pub what: String,
}

pub(crate) struct Instance<'a> {
    root: &'a Value,
    dice: &'a mut Dice,
    words: &'a [String],
    sizes: MinimumSizes,
    budget: u64,
}

/// A built value and its size in bytes of compact JSON.
type Built = (Value, u64);

impl<'a> Instance<'a> {
    pub(crate) fn new(
        root: &'a Value,
        dice: &'a mut Dice,
        words: &'a [String],
        budget: u64,
    ) -> Self {
        Instance {
            root,
            dice,
            words,
            sizes: MinimumSizes::new(root),
            budget,
        }
    }

    /// The instance, at most `budget` bytes of compact JSON; or why it cannot be.
    pub(crate) fn generate(&mut self) -> Result<Value, Oversize> {
        let smallest = self.sizes.of(self.root);
        if smallest > self.budget {
            return Err(Oversize {
                what: if smallest == u64::MAX {
                    "the schema has no finite answer".to_owned()
                } else {
                    format!("the schema's smallest answer is {smallest} bytes")
                },
            });
        }
        let (value, _) = self.value(self.root, 0, self.budget)?;
        Ok(value)
    }

    /// The smallest size of `schema`'s instance, as the room reserved for it.
    fn min(&self, schema: &Value) -> u64 {
        self.sizes.of(schema)
    }

    fn value(&mut self, schema: &Value, depth: usize, room: u64) -> Result<Built, Oversize> {
        if depth > MAX_DEPTH {
            return fits(Value::Null, room);
        }
        let Some(object) = schema.as_object() else {
            // `true` or `{}`: anything goes.
            return self.string(&Map::new(), room);
        };
        if let Some(target) = object.get("$ref").and_then(Value::as_str) {
            return match target.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                Some(resolved) => self.value(resolved, depth + 1, room),
                None => fits(Value::Null, room),
            };
        }
        if let Some(constant) = object.get("const") {
            return fits(constant.clone(), room);
        }
        if let Some(choices) = object.get("enum").and_then(Value::as_array)
            && let Some(choice) = self.dice.pick(choices)
        {
            let choice = choice.clone();
            return match fits(choice, room) {
                // Too big for the room left: the smallest choice that fits.
                Err(_) => choices
                    .iter()
                    .map(|c| (c, c.to_string().len() as u64))
                    .filter(|(_, size)| *size <= room)
                    .min_by_key(|(_, size)| *size)
                    .map(|(c, size)| (c.clone(), size))
                    .ok_or_else(|| too_big("an enum value", room)),
                built => built,
            };
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = object.get(key).and_then(Value::as_array) {
                let branch = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .or(branches.first());
                if let Some(branch) = branch {
                    return self.value(branch, depth + 1, room);
                }
            }
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            return self.value(&merge(object, parts), depth + 1, room);
        }
        match type_of(object) {
            "object" => self.object(object, depth, room),
            "array" => self.array(object, depth, room),
            "integer" => fits(self.integer(object), room),
            "number" => fits(self.number(object), room),
            "boolean" => fits(Value::Bool(self.dice.below(2) == 1), room),
            "null" => fits(Value::Null, room),
            _ => self.string(object, room),
        }
    }

    fn object(
        &mut self,
        schema: &Map<String, Value>,
        depth: usize,
        room: u64,
    ) -> Result<Built, Oversize> {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if room < 2 {
            return Err(too_big("an object", room));
        }
        let mut out = Map::new();
        let mut used: u64 = 2;
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            // What the required properties still to come need at least.
            let mut reserved: u64 = properties
                .iter()
                .filter(|(name, _)| required.contains(&name.as_str()))
                .map(|(name, property)| member(name, self.min(property)))
                .fold(0, u64::saturating_add);
            for (name, property) in properties {
                let needed = required.contains(&name.as_str());
                let smallest = self.min(property);
                if needed {
                    reserved = reserved.saturating_sub(member(name, smallest));
                }
                // `"name":`, and a comma unless it is the first member.
                let overhead = json_string_len(name) + 1 + u64::from(!out.is_empty());
                let left = room.saturating_sub(used).saturating_sub(reserved);
                if left < overhead.saturating_add(smallest) {
                    if needed {
                        return Err(too_big(&format!("property {name:?}"), left));
                    }
                    continue;
                }
                let (value, size) = self.value(property, depth + 1, left - overhead)?;
                used += overhead + size;
                out.insert(name.clone(), value);
            }
        }
        Ok((Value::Object(out), used))
    }

    fn array(
        &mut self,
        schema: &Map<String, Value>,
        depth: usize,
        room: u64,
    ) -> Result<Built, Oversize> {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(min.saturating_add(SPARE_ITEMS))
            .max(min);
        let items = schema.get("items").cloned().unwrap_or(json!({}));
        let item_min = self.min(&items);
        // Before anything is built: the items that must be there, at their smallest.
        let needed = item_min
            .saturating_mul(min)
            .saturating_add(min.saturating_sub(1))
            .saturating_add(2);
        if needed > room {
            return Err(too_big(&format!("{min} array items"), room));
        }
        let count = min + self.dice.below(max - min + 1);
        let unique = schema.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        let mut out: Vec<Value> = Vec::new();
        let mut used: u64 = 2;
        // Unique items: a few extra draws to replace duplicates.
        let mut draws = if unique { count * 4 } else { count };
        while (out.len() as u64) < count && draws > 0 {
            draws -= 1;
            let index = out.len() as u64;
            let comma = u64::from(index > 0);
            // Room for the items that must still follow this one.
            let reserved = min
                .saturating_sub(index + 1)
                .saturating_mul(item_min.saturating_add(1));
            let left = room
                .saturating_sub(used)
                .saturating_sub(comma)
                .saturating_sub(reserved);
            if left < item_min {
                if index >= min {
                    break;
                }
                return Err(too_big("an array item", left));
            }
            let (item, size) = self.value(&items, depth + 1, left)?;
            if !(unique && out.contains(&item)) {
                used += comma + size;
                out.push(item);
            }
        }
        Ok((Value::Array(out), used))
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

    fn string(&mut self, schema: &Map<String, Value>, room: u64) -> Result<Built, Oversize> {
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
        // Before anything is built: `minLength` characters are at least as many bytes.
        if min.saturating_add(2) > room {
            return Err(too_big(&format!("a string of {min} characters"), room));
        }
        let min = min as usize;
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
            _ => self.phrase(room),
        };
        // Counted once, then kept: padding is linear in `minLength`.
        let mut chars = text.chars().count();
        while chars < min {
            text.push_str(PADDING);
            chars += PADDING.len();
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && (max as usize) < chars
        {
            text = text.chars().take(max as usize).collect();
        }
        let mut size = json_string_len(&text);
        if size > room {
            // Cut to the room left, keeping `minLength` characters.
            let mut kept = String::new();
            let mut kept_size = 2;
            for (count, c) in text.chars().enumerate() {
                let grown = kept_size + json_string_len(c.encode_utf8(&mut [0; 4])) - 2;
                if count >= min && grown > room {
                    break;
                }
                kept.push(c);
                kept_size = grown;
            }
            if kept_size > room {
                return Err(too_big("a string", room));
            }
            (text, size) = (kept, kept_size);
        }
        Ok((Value::String(text), size))
    }

    /// A few of the prompt's words, in an order the dice choose; no longer than
    /// `room` bytes once past the first word.
    fn phrase(&mut self, room: u64) -> String {
        let count = MIN_WORDS + self.dice.below(MAX_WORDS - MIN_WORDS + 1);
        let mut phrase = String::new();
        for n in 0..count {
            let word = match self.dice.pick(self.words) {
                Some(word) => word.as_str(),
                None => FALLBACK_WORDS[self.dice.below(FALLBACK_WORDS.len() as u64) as usize],
            };
            if n > 0 {
                if phrase.len() as u64 >= room {
                    break;
                }
                phrase.push(' ');
            }
            phrase.push_str(word);
        }
        phrase
    }
}

/// `value` and its size, if it fits in `room`.
fn fits(value: Value, room: u64) -> Result<Built, Oversize> {
    let size = match &value {
        Value::String(text) => json_string_len(text),
        other => other.to_string().len() as u64,
    };
    if size > room {
        return Err(too_big("a value", room));
    }
    Ok((value, size))
}

fn too_big(what: &str, room: u64) -> Oversize {
    Oversize {
        what: format!("{what} does not fit in the {room} bytes left of the answer"),
    }
}

/// The size of `"name":` plus a value of `value` bytes and the comma before it (one
/// more than a first member needs: the reservation is a little generous).
fn member(name: &str, value: u64) -> u64 {
    json_string_len(name)
        .saturating_add(2)
        .saturating_add(value)
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

    const BUDGET: u64 = 1024 * 1024;

    fn within(schema: &Value, words: &[&str], budget: u64) -> Result<Value, Oversize> {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        let (mut dice, _) = Dice::from_parts(["seed"]);
        Instance::new(schema, &mut dice, &words, budget).generate()
    }

    fn instance(schema: &Value, words: &[&str]) -> Value {
        within(schema, words, BUDGET).expect("fits the budget")
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

    #[test]
    fn an_over_budget_schema_is_refused_before_anything_is_built() {
        // The reproducer: a hundred million strings.
        let huge = json!({"type": "array", "minItems": 100_000_000, "items": {"type": "string"}});
        let refused = within(&huge, &["x"], BUDGET).unwrap_err();
        assert_eq!(
            refused.what, "the schema's smallest answer is 300000001 bytes",
            "refused by the smallest answer, before building"
        );
        // A branch the smallest answer would not take, but the scripted model does:
        // the array's own check refuses it before an item is built.
        let branch = json!({"anyOf": [
            {"type": "array", "minItems": 100_000_000, "items": {"type": "string"}},
            {"type": "null"}
        ]});
        let refused = within(&branch, &["x"], BUDGET).unwrap_err();
        assert!(
            refused
                .what
                .starts_with("100000000 array items does not fit"),
            "{}",
            refused.what
        );
        let long = json!({"type": "string", "minLength": 2_000_000_000u64});
        assert!(within(&long, &[], BUDGET).is_err());
        // Recursion every answer must follow has no finite answer at all.
        let forced = json!({"type": "array", "minItems": 1, "items": {"$ref": "#"}});
        assert_eq!(
            within(&forced, &[], BUDGET).unwrap_err().what,
            "the schema has no finite answer"
        );
    }

    #[test]
    fn an_at_limit_schema_is_answered_within_the_limit() {
        // Its smallest answer is the whole budget: every string exactly at minLength.
        let schema = json!({"type": "array", "minItems": 1000, "maxItems": 1000,
            "items": {"type": "string", "minLength": 1042}});
        let budget = 2 + 1000 * 1044 + 999;
        let value = within(&schema, &["word"], budget).expect("fits exactly");
        assert_eq!(value.to_string().len() as u64, budget);
        assert!(
            value
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.as_str().unwrap().len() == 1042)
        );
        assert!(within(&schema, &["word"], budget - 1).is_err());

        // Optional extras are left out when they do not fit; what must be there is.
        let schema = json!({"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "minLength": 5},
            "notes": {"type": "array", "minItems": 0, "maxItems": 1000,
                      "items": {"type": "string", "minLength": 100}},
            "zzz": {"type": "string", "minLength": 50}
        }});
        for budget in [14, 40, 200, 1_000, 10_000] {
            let value = within(&schema, &["pricing", "risk"], budget).expect("fits");
            assert!(
                value.to_string().len() as u64 <= budget,
                "{budget}: {value}"
            );
            assert!(value["id"].as_str().unwrap().chars().count() >= 5);
        }
        assert!(
            within(&schema, &["pricing"], 13).is_err(),
            "id alone needs 14"
        );
    }

    #[test]
    fn sizes_are_counted_exactly_and_long_strings_are_linear() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "b": {"type": "integer", "minimum": -50, "maximum": 50},
            "c": {"type": "number"},
            "d": {"enum": [1, "two", null]},
            "e": {"type": "boolean"},
            "quote\"d": {"type": "string", "minLength": 3}
        }});
        for words in [&["é\u{1}", "naïve"][..], &["a"][..], &[][..]] {
            let value = within(&schema, words, BUDGET).unwrap();
            let text = value.to_string();
            let exact = within(&schema, words, text.len() as u64).unwrap();
            assert_eq!(exact, value, "a budget of exactly its size changes nothing");
        }
        // A long minLength is padded in one pass (it was quadratic).
        let value = instance(&json!({"type": "string", "minLength": 100_000}), &["w"]);
        let text = value.as_str().unwrap();
        assert!((100_000..100_000 + 9).contains(&text.chars().count()));
    }
}
