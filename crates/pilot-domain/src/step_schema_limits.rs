//! Bounds on an `llm` step's JSON schema, so that no schema can make a model — the
//! scripted one builds its answer from the schema — produce unbounded work.
//!
//! A schema is user input that *sizes* an answer: `{"type": "array", "minItems":
//! 100000000, "items": {"type": "string"}}` asks for a hundred million strings. So
//! [`check`] refuses, naming the JSON-pointer path of what is wrong:
//!
//! * a document over [`MAX_SCHEMA_BYTES`] or nested deeper than [`MAX_SCHEMA_DEPTH`];
//! * more than [`MAX_SCHEMA_PROPERTIES`] entries across all `properties` maps, or more
//!   than [`MAX_SCHEMA_REFS`] `$ref`s, or a `$ref` that does not point into the schema
//!   itself (`#`, `#/$defs/…`);
//! * a numeric keyword that sizes an instance (see [`BOUND_KEYWORDS`]) that is not a
//!   whole number or is over its limit;
//! * a schema whose *smallest* valid answer is larger than [`MAX_ANSWER_BYTES`], the
//!   model answer limit: bounds that multiply (`minItems` inside `minItems`), or a
//!   `$ref` recursion that every instance must follow (a required property, or an
//!   array with `minItems ≥ 1`, that leads back to itself) and so never ends.
//!
//! The smallest answer is a lower bound computed by [`MinimumSizes`]: each `$ref`
//! target's minimum is found by iterating to a fixed point from "infinite" (a target
//! whose every instance recurses stays infinite), which costs at most one pass over
//! the schema per target — bounded, unlike following references. The scripted model
//! uses the same bound to refuse, before it builds anything, an answer it could not
//! fit in `models.max_answer_bytes`.
//!
//! A schema without `type` is read as the scripted model reads it: `properties`
//! makes it an object, `items` an array.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

/// Largest schema document, in bytes of JSON.
pub const MAX_SCHEMA_BYTES: usize = 20_000;
/// Deepest nesting of JSON objects and arrays in a schema document.
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Most entries across every `properties` map of a schema; also the largest
/// `minProperties` / `maxProperties`.
pub const MAX_SCHEMA_PROPERTIES: u64 = 256;
/// Most `$ref`s in a schema.
pub const MAX_SCHEMA_REFS: usize = 32;
/// Largest `minItems`, `maxItems`, `minContains`, `maxContains`.
pub const MAX_SCHEMA_ITEMS: u64 = 1_000;
/// Largest `minLength` / `maxLength`, in characters.
pub const MAX_SCHEMA_LENGTH: u64 = 100_000;
/// The model answer limit a schema's smallest instance must fit in: the default of
/// `models.max_answer_bytes` (a server configured lower refuses larger answers when
/// the step runs).
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// Every numeric keyword that sizes an instance, with its limit.
pub const BOUND_KEYWORDS: &[(&str, u64)] = &[
    ("minItems", MAX_SCHEMA_ITEMS),
    ("maxItems", MAX_SCHEMA_ITEMS),
    ("minContains", MAX_SCHEMA_ITEMS),
    ("maxContains", MAX_SCHEMA_ITEMS),
    ("minLength", MAX_SCHEMA_LENGTH),
    ("maxLength", MAX_SCHEMA_LENGTH),
    ("minProperties", MAX_SCHEMA_PROPERTIES),
    ("maxProperties", MAX_SCHEMA_PROPERTIES),
];

/// Keywords whose value is one subschema (or, for `items` in older drafts, a list).
const SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["prefixItems", "allOf", "anyOf", "oneOf"];
/// Keywords whose value maps names to subschemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// "Infinite": no instance fits in any number of bytes.
const UNBOUNDED: u64 = u64::MAX;

/// Every problem with `schema`, each naming its path from `schema` (so a step's
/// label can go in front: `steps[0] (extract): schema/properties/tags/minItems is
/// 100000000; at most 1000`).
pub fn check(schema: &Value) -> Vec<String> {
    let size = schema.to_string().len();
    if size > MAX_SCHEMA_BYTES {
        return vec![format!(
            "schema is {size} bytes of JSON; at most {MAX_SCHEMA_BYTES}"
        )];
    }
    let mut path = vec!["schema".to_owned()];
    if let Some(deep) = too_deep(schema, 1, &mut path) {
        return vec![format!(
            "{deep} nests deeper than {MAX_SCHEMA_DEPTH} levels of JSON"
        )];
    }
    let mut walk = Walk {
        root: schema,
        problems: Vec::new(),
        properties: 0,
        refs: 0,
    };
    let mut path = vec!["schema".to_owned()];
    walk.schema(schema, &mut path);
    let Walk {
        mut problems,
        properties,
        refs,
        ..
    } = walk;
    if properties > MAX_SCHEMA_PROPERTIES {
        problems.push(format!(
            "schema has {properties} properties; at most {MAX_SCHEMA_PROPERTIES}"
        ));
    }
    if refs > MAX_SCHEMA_REFS {
        problems.push(format!(
            "schema has {refs} $refs; at most {MAX_SCHEMA_REFS}"
        ));
    }
    if problems.is_empty() {
        match MinimumSizes::new(schema).of(schema) {
            UNBOUNDED => problems.push(format!(
                "schema: no answer satisfies it within {MAX_ANSWER_BYTES} bytes (a $ref \
                 recursion that every answer must follow never ends, or no value is allowed)"
            )),
            smallest if smallest > MAX_ANSWER_BYTES => problems.push(format!(
                "schema: its smallest valid answer is at least {smallest} bytes; at most \
                 {MAX_ANSWER_BYTES} (the model answer limit)"
            )),
            _ => {}
        }
    }
    problems
}

/// The path of the first value nested deeper than [`MAX_SCHEMA_DEPTH`], if any.
fn too_deep(value: &Value, depth: usize, path: &mut Vec<String>) -> Option<String> {
    if !(value.is_object() || value.is_array()) {
        return None;
    }
    if depth > MAX_SCHEMA_DEPTH {
        return Some(path.join("/"));
    }
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match value {
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (pointer_token(k), v))),
        Value::Array(items) => Box::new(items.iter().enumerate().map(|(i, v)| (i.to_string(), v))),
        _ => return None,
    };
    for (token, child) in children {
        path.push(token);
        let found = too_deep(child, depth + 1, path);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A JSON-pointer token (RFC 6901): `~` and `/` escaped.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The schema-aware walk: keywords are checked where they are keywords, not inside
/// `enum`, `const`, `default` or a property that happens to be named `minItems`.
struct Walk<'a> {
    root: &'a Value,
    problems: Vec<String>,
    properties: u64,
    refs: usize,
}

impl Walk<'_> {
    fn schema(&mut self, node: &Value, path: &mut Vec<String>) {
        let Some(object) = node.as_object() else {
            return;
        };
        for (key, value) in object {
            path.push(pointer_token(key));
            self.keyword(key, value, path);
            path.pop();
        }
    }

    fn keyword(&mut self, key: &str, value: &Value, path: &mut Vec<String>) {
        if let Some((_, limit)) = BOUND_KEYWORDS.iter().find(|(name, _)| *name == key) {
            match value.as_u64() {
                Some(n) if n > *limit => self
                    .problems
                    .push(format!("{} is {n}; at most {limit}", path.join("/"))),
                Some(_) => {}
                None => self.problems.push(format!(
                    "{} must be a whole number from 0 to {limit}",
                    path.join("/")
                )),
            }
        } else if key == "$ref" {
            self.refs += 1;
            if resolve(self.root, value).is_none() {
                self.problems.push(format!(
                    "{} must point into this schema (\"#\" or \"#/$defs/NAME\"), got {value}",
                    path.join("/")
                ));
            }
        } else if SCHEMA_KEYWORDS.contains(&key) {
            match value {
                Value::Array(items) => self.list(items, path),
                other => self.schema(other, path),
            }
        } else if SCHEMA_LIST_KEYWORDS.contains(&key) {
            if let Value::Array(items) = value {
                self.list(items, path);
            }
        } else if SCHEMA_MAP_KEYWORDS.contains(&key)
            && let Value::Object(entries) = value
        {
            if key == "properties" {
                self.properties += entries.len() as u64;
            }
            for (name, subschema) in entries {
                path.push(pointer_token(name));
                self.schema(subschema, path);
                path.pop();
            }
        }
    }

    fn list(&mut self, items: &[Value], path: &mut Vec<String>) {
        for (index, item) in items.iter().enumerate() {
            path.push(index.to_string());
            self.schema(item, path);
            path.pop();
        }
    }
}

/// The subschema a `$ref` names: `#` (the root) or `#/…` (a JSON pointer into it).
fn resolve<'a>(root: &'a Value, reference: &Value) -> Option<&'a Value> {
    let pointer = reference.as_str()?.strip_prefix('#')?;
    root.pointer(pointer)
}

/// The byte length of `text` as a JSON string, quotes and escapes included, as
/// `serde_json` writes it.
pub fn json_string_len(text: &str) -> u64 {
    let escaped: usize = text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum();
    escaped as u64 + 2
}

/// Lower bounds on the size, in bytes of compact JSON, of any instance of a schema
/// and of its subschemas; [`UNBOUNDED`] (`u64::MAX`) when none can exist.
pub struct MinimumSizes {
    /// Each `$ref` target's minimum, by the reference's text.
    targets: HashMap<String, u64>,
}

impl MinimumSizes {
    /// Finds the minimum of every `$ref` target of `root`. With more than
    /// [`MAX_SCHEMA_REFS`] distinct targets the references count as one byte each:
    /// still a lower bound, only a weaker one.
    pub fn new(root: &Value) -> MinimumSizes {
        let mut references = BTreeSet::new();
        collect_refs(root, &mut references, 0);
        let mut sizes = MinimumSizes {
            targets: HashMap::new(),
        };
        if references.len() > MAX_SCHEMA_REFS {
            return sizes;
        }
        let resolved: Vec<(String, &Value)> = references
            .into_iter()
            .filter_map(|r| {
                let target = resolve(root, &Value::String(r.clone()))?;
                Some((r, target))
            })
            .collect();
        for (reference, _) in &resolved {
            sizes.targets.insert(reference.clone(), UNBOUNDED);
        }
        // A minimal instance never passes through the same target twice on one path,
        // so its height in targets is at most their number: that many passes settle.
        for _ in 0..=resolved.len() {
            let mut changed = false;
            for (reference, target) in &resolved {
                let size = sizes.of(target);
                if size < sizes.targets[reference] {
                    sizes.targets.insert(reference.clone(), size);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        sizes
    }

    /// The smallest instance of `schema` (the root or any part of it), in bytes.
    pub fn of(&self, schema: &Value) -> u64 {
        self.node(schema, 0)
    }

    fn node(&self, schema: &Value, depth: usize) -> u64 {
        // Documents are bounded in depth by validation; guard anyway.
        if depth > 2 * MAX_SCHEMA_DEPTH {
            return 1;
        }
        let object = match schema {
            Value::Bool(false) => return UNBOUNDED,
            Value::Object(object) => object,
            _ => return 1,
        };
        // Every keyword holds at once, so each one's bound applies: take the largest.
        let mut best = self.typed(object, depth);
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            best = best.max(self.targets.get(reference).copied().unwrap_or(1));
        }
        if let Some(constant) = object.get("const") {
            best = best.max(constant.to_string().len() as u64);
        }
        if let Some(choices) = object.get("enum").and_then(Value::as_array) {
            let smallest = choices
                .iter()
                .map(|c| c.to_string().len() as u64)
                .min()
                .unwrap_or(UNBOUNDED);
            best = best.max(smallest);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = object.get(key).and_then(Value::as_array) {
                let smallest = branches
                    .iter()
                    .map(|b| self.node(b, depth + 1))
                    .min()
                    .unwrap_or(UNBOUNDED);
                best = best.max(smallest);
            }
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            for part in parts {
                best = best.max(self.node(part, depth + 1));
            }
        }
        best
    }

    /// The bound from `type` (or the type the keywords imply): the smallest over the
    /// types allowed.
    fn typed(&self, object: &Map<String, Value>, depth: usize) -> u64 {
        let types: Vec<&str> = match object.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ if object.contains_key("properties") => vec!["object"],
            _ if object.contains_key("items") || object.contains_key("prefixItems") => {
                vec!["array"]
            }
            _ => return 1,
        };
        types
            .into_iter()
            .map(|name| match name {
                "null" | "boolean" => 4,
                "string" => count(object, "minLength").saturating_add(2),
                "object" => self.object(object, depth),
                "array" => self.array(object, depth),
                _ => 1,
            })
            .min()
            .unwrap_or(1)
    }

    fn object(&self, object: &Map<String, Value>, depth: usize) -> u64 {
        let properties = object.get("properties").and_then(Value::as_object);
        let required: BTreeSet<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut size: u64 = 2;
        for name in &required {
            let value = properties
                .and_then(|p| p.get(*name))
                .map_or(1, |schema| self.node(schema, depth + 1));
            size = size
                .saturating_add(json_string_len(name))
                .saturating_add(1)
                .saturating_add(value);
        }
        // Members beyond the required ones: `"":0` is the smallest.
        let members = (required.len() as u64).max(count(object, "minProperties"));
        size = size.saturating_add((members - required.len() as u64).saturating_mul(4));
        size.saturating_add(members.saturating_sub(1))
    }

    fn array(&self, object: &Map<String, Value>, depth: usize) -> u64 {
        let items = count(object, "minItems");
        let prefix: &[Value] = match (object.get("prefixItems"), object.get("items")) {
            (Some(Value::Array(prefix)), _) | (None, Some(Value::Array(prefix))) => prefix,
            _ => &[],
        };
        let rest = match object.get("items") {
            Some(Value::Array(_)) => object.get("additionalItems"),
            other => other,
        };
        let rest_size = rest.map_or(1, |schema| self.node(schema, depth + 1));
        let mut size: u64 = 2;
        for (index, schema) in prefix.iter().enumerate() {
            if index as u64 >= items {
                break;
            }
            size = size.saturating_add(self.node(schema, depth + 1));
        }
        let beyond = items.saturating_sub(prefix.len() as u64);
        size = size
            .saturating_add(beyond.saturating_mul(rest_size))
            .saturating_add(items.saturating_sub(1));
        if let Some(contains) = object.get("contains") {
            let wanted = object
                .get("minContains")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let contained = self
                .node(contains, depth + 1)
                .saturating_mul(wanted)
                .saturating_add(wanted.saturating_sub(1))
                .saturating_add(2);
            size = size.max(contained);
        }
        size
    }
}

/// A non-negative integer keyword, 0 when absent (bounds are checked elsewhere; an
/// unusable value counts as 0 here).
fn count(object: &Map<String, Value>, key: &str) -> u64 {
    object.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Every `$ref` string in the document.
fn collect_refs(value: &Value, into: &mut BTreeSet<String>, depth: usize) {
    if depth > 2 * MAX_SCHEMA_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => {
                        into.insert(reference.clone());
                    }
                    _ => collect_refs(child, into, depth + 1),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_refs(item, into, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(schema: Value) -> String {
        check(&schema).join("\n")
    }

    fn smallest(schema: Value) -> u64 {
        MinimumSizes::new(&schema).of(&schema)
    }

    #[test]
    fn the_reproducer_is_refused_naming_its_path() {
        let found = problems(
            json!({"type": "array", "minItems": 100_000_000, "items": {"type": "string"}}),
        );
        assert_eq!(found, "schema/minItems is 100000000; at most 1000");
        let nested = problems(json!({"type": "object", "properties": {
            "tags": {"type": "array", "minItems": 100_000_000, "items": {"type": "string"}}
        }}));
        assert_eq!(
            nested,
            "schema/properties/tags/minItems is 100000000; at most 1000"
        );
    }

    fn with(keyword: &str, value: Value) -> Value {
        let mut schema = Map::new();
        schema.insert(keyword.to_owned(), value);
        Value::Object(schema)
    }

    #[test]
    fn every_bound_keyword_is_limited_and_must_be_a_whole_number() {
        for (keyword, limit) in BOUND_KEYWORDS {
            let at_limit =
                json!({"type": "object", "properties": {"x": with(keyword, json!(limit))}});
            assert_eq!(problems(at_limit), "", "{keyword} at its limit");
            let over =
                json!({"type": "object", "properties": {"x": with(keyword, json!(limit + 1))}});
            assert_eq!(
                problems(over),
                format!(
                    "schema/properties/x/{keyword} is {}; at most {limit}",
                    limit + 1
                )
            );
            for bad in [json!(-1), json!(1.5), json!("3"), json!(1e20)] {
                let found = problems(with(keyword, bad.clone()));
                assert_eq!(
                    found,
                    format!("schema/{keyword} must be a whole number from 0 to {limit}"),
                    "{keyword} = {bad}"
                );
            }
        }
    }

    #[test]
    fn keywords_are_judged_only_where_they_are_keywords() {
        // A property named minItems, and an enum or default holding big numbers.
        let schema = json!({"type": "object", "properties": {
            "minItems": {"type": "integer", "default": 5_000_000},
            "maxLength": {"enum": [{"maxLength": 10_000_000}]}
        }});
        assert_eq!(problems(schema), "");
    }

    #[test]
    fn size_depth_properties_and_refs_are_bounded() {
        let big = json!({"type": "string", "description": "x".repeat(MAX_SCHEMA_BYTES)});
        assert!(problems(big).starts_with("schema is 20"), "size");

        let mut deep = json!({"type": "string"});
        for _ in 0..MAX_SCHEMA_DEPTH {
            deep = json!({"type": "array", "items": deep});
        }
        let found = problems(deep);
        assert!(
            found.starts_with("schema/items/items/")
                && found.ends_with("nests deeper than 32 levels of JSON"),
            "{found}"
        );
        let mut fits = json!({"type": "string"});
        for _ in 0..MAX_SCHEMA_DEPTH - 1 {
            fits = json!({"type": "array", "items": fits});
        }
        assert_eq!(problems(fits), "", "31 arrays and a string are 32 levels");

        let properties: Map<String, Value> = (0..=MAX_SCHEMA_PROPERTIES)
            .map(|i| (format!("p{i}"), json!({"type": "integer"})))
            .collect();
        assert_eq!(
            problems(json!({"type": "object", "properties": properties})),
            "schema has 257 properties; at most 256"
        );

        let refs: Vec<Value> = (0..=MAX_SCHEMA_REFS)
            .map(|_| json!({"$ref": "#/$defs/a"}))
            .collect();
        let found = problems(json!({"$defs": {"a": {"type": "integer"}}, "anyOf": refs}));
        assert_eq!(found, "schema has 33 $refs; at most 32");

        assert_eq!(
            problems(json!({"properties": {"a": {"$ref": "https://example.com/s.json"}}})),
            "schema/properties/a/$ref must point into this schema (\"#\" or \"#/$defs/NAME\"), \
             got \"https://example.com/s.json\""
        );
        assert!(problems(json!({"$ref": "#/$defs/missing"})).contains("must point into"));
    }

    #[test]
    fn bounds_that_multiply_are_refused_by_the_smallest_answer() {
        // 1000 × 1000 strings of at least 2 bytes: each bound is fine, the product not.
        let schema = json!({"type": "array", "minItems": 1000, "items": {
            "type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 1}
        }});
        let found = problems(schema.clone());
        assert!(
            found.starts_with(
                "schema: its smallest valid answer is at least 4002001 bytes; at most 1048576"
            ),
            "{found}"
        );
        assert_eq!(smallest(schema), 2 + 1000 * (2 + 1000 * 3 + 999) + 999);
    }

    #[test]
    fn a_ref_recursion_every_answer_must_follow_is_refused() {
        let forced = json!({
            "$defs": {"node": {"type": "object", "required": ["next"],
                               "properties": {"next": {"$ref": "#/$defs/node"}}}},
            "$ref": "#/$defs/node"
        });
        assert_eq!(smallest(forced.clone()), UNBOUNDED);
        assert!(problems(forced).contains("never ends"));
        // Through an array that must hold one.
        let forced = json!({"type": "array", "minItems": 1, "items": {"$ref": "#"}});
        assert!(problems(forced).contains("never ends"));
        // Recursion that an answer may stop: optional, or an empty array, or a branch.
        for optional in [
            json!({"type": "object", "properties": {"next": {"$ref": "#"}}}),
            json!({"type": "array", "items": {"$ref": "#"}}),
            json!({"anyOf": [{"type": "null"}, {"type": "object", "required": ["n"],
                   "properties": {"n": {"$ref": "#"}}}]}),
        ] {
            assert_eq!(problems(optional.clone()), "", "{optional}");
        }
        // A tree: each node needs two children unless it is a leaf string.
        let tree = json!({"$defs": {"t": {"anyOf": [
            {"type": "string", "minLength": 3},
            {"type": "object", "required": ["l", "r"],
             "properties": {"l": {"$ref": "#/$defs/t"}, "r": {"$ref": "#/$defs/t"}}}
        ]}}, "$ref": "#/$defs/t"});
        assert_eq!(smallest(tree), 5);
    }

    #[test]
    fn smallest_sizes_are_exact_for_the_usual_shapes() {
        let persona = json!({
            "type": "object",
            "required": ["position", "claims", "confidence"],
            "properties": {
                "position": {"type": "string", "minLength": 10},
                "claims": {"type": "array", "items": {"type": "string"}, "minItems": 3},
                "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
                "optional": {"type": "string", "minLength": 5000}
            }
        });
        let instance = json!({"claims": ["", "", ""], "confidence": 0, "position": "0123456789"});
        assert_eq!(smallest(persona), instance.to_string().len() as u64);
        assert_eq!(smallest(json!({"enum": ["long one", "b"]})), 3);
        assert_eq!(smallest(json!({"const": {"a": 1}})), 7);
        assert_eq!(
            smallest(json!({"type": ["null", "string"], "minLength": 50})),
            4
        );
        assert_eq!(
            smallest(json!({"type": "object", "minProperties": 3})),
            2 + 3 * 4 + 2
        );
        assert_eq!(smallest(json!(false)), UNBOUNDED);
        assert_eq!(json_string_len("a\"b\n\u{1}é"), 2 + 1 + 2 + 1 + 2 + 6 + 2);
    }

    #[test]
    fn a_schema_at_the_limits_is_accepted() {
        // Every bound at its largest, nesting close to the deepest, 256 properties.
        let mut deep = json!({"type": "string", "minLength": 100, "maxLength": MAX_SCHEMA_LENGTH});
        for _ in 0..14 {
            deep = json!({"type": "array", "items": deep, "minItems": 0, "maxItems": MAX_SCHEMA_ITEMS,
                          "minContains": 0, "maxContains": MAX_SCHEMA_ITEMS, "contains": {}});
        }
        let properties: Map<String, Value> = (1..MAX_SCHEMA_PROPERTIES)
            .map(|i| (format!("p{i}"), json!({"type": "integer"})))
            .collect();
        let refs: Vec<Value> = (0..MAX_SCHEMA_REFS)
            .map(|_| json!({"$ref": "#/$defs/n"}))
            .collect();
        let schema = json!({
            "$defs": {"n": {"type": "integer"}},
            "type": "object",
            "properties": {"deep": deep},
            "additionalProperties": {"type": "object", "properties": properties,
                                     "minProperties": 0, "maxProperties": MAX_SCHEMA_PROPERTIES},
            "required": ["deep"],
            "patternProperties": {"^x": {"anyOf": refs}},
        });
        assert_eq!(problems(schema), "");

        // A smallest answer just under the answer limit.
        let at_limit = json!({"type": "array", "minItems": 1000, "maxItems": 1000,
            "items": {"type": "string", "minLength": 1042, "maxLength": MAX_SCHEMA_LENGTH}});
        assert_eq!(smallest(at_limit.clone()), 2 + 1000 * 1044 + 999);
        assert!(smallest(at_limit.clone()) <= MAX_ANSWER_BYTES);
        assert_eq!(problems(at_limit), "");
    }
}
