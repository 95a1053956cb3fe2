//! The JSON schemas each stage asks for (structured output).
//!
//! Written for strict structured output: every object lists all its properties as
//! `required` and forbids others. Reviews name each anonymous answer by its label as
//! a property, so a reviewer must score every answer it was shown, once. The same
//! shapes are checked again in code ([`super::answers`]).

use serde_json::{Map, Value, json};

use super::answers::{CLAIMS, RISKS, SCALE, Stance};

fn strict(properties: Value) -> Value {
    let required: Vec<Value> = properties
        .as_object()
        .map(|p| p.keys().cloned().map(Value::String).collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn rating(description: &str) -> Value {
    json!({"type": "number", "minimum": SCALE.0, "maximum": SCALE.1, "description": description})
}

fn list(min: usize, max: usize, description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "minItems": min, "maxItems": max,
           "description": description})
}

/// A persona's answer, first or revised.
pub fn answer() -> Value {
    let stances: Vec<&str> = Stance::ALL.iter().map(|s| s.as_str()).collect();
    strict(json!({
        "stance": {"type": "string", "enum": stances},
        "position": {"type": "string", "description": "Your recommendation and its reasoning."},
        "key_claims": list(CLAIMS.0, CLAIMS.1, "The claims your position rests on."),
        "risks": list(RISKS.0, RISKS.1, "The risks of following your position."),
        "confidence": rating("How sure you are, 0 to 10."),
    }))
}

/// A review of the answers labelled `labels`.
pub fn review(labels: &[String]) -> Value {
    let verdict = strict(json!({
        "score": rating("How sound and useful the answer is, 0 to 10."),
        "objection": {"type": "string", "description": "The strongest objection to it."},
    }));
    let reviews: Map<String, Value> = labels
        .iter()
        .map(|label| (label.clone(), verdict.clone()))
        .collect();
    strict(json!({"reviews": strict(Value::Object(reviews))}))
}

/// The arbiter's synthesis.
pub fn synthesis() -> Value {
    strict(json!({
        "synthesis": {"type": "string", "description": "The deliberated answer, in Markdown."},
        "summary": {"type": "string", "description": "One paragraph: the answer in brief."},
        "minority_report": {"type": "string",
            "description": "The strongest dissent and why it was not adopted; empty if none."},
    }))
}

/// A `smartroute1` answer.
pub fn routed() -> Value {
    strict(json!({
        "answer": {"type": "string", "description": "The answer, in Markdown."},
        "summary": {"type": "string", "description": "One paragraph: the answer in brief."},
        "confidence": rating("How sure you are, 0 to 10."),
    }))
}

/// `deliberation2`: the router's choice of `n` specialists out of `pool`.
pub fn specialists(pool: &[&str], n: usize) -> Value {
    strict(json!({
        "specialists": {"type": "array", "items": {"type": "string", "enum": pool},
                        "minItems": n, "maxItems": n,
                        "description": "The advisers whose perspective this question needs most."},
        "reason": {"type": "string", "description": "Why these, in a sentence."},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_is_strict() {
        let labels = vec!["A".to_owned(), "B".to_owned()];
        let review = review(&labels);
        assert_eq!(review["required"], json!(["reviews"]));
        assert_eq!(
            review["properties"]["reviews"]["required"],
            json!(["A", "B"])
        );
        let verdict = &review["properties"]["reviews"]["properties"]["A"];
        assert_eq!(verdict["additionalProperties"], false);
        assert_eq!(verdict["required"], json!(["score", "objection"]));
        let answer = answer();
        assert_eq!(
            answer["properties"]["stance"]["enum"],
            json!(["yes", "no", "depends"])
        );
        assert_eq!(answer["required"].as_array().unwrap().len(), 5);
        assert_eq!(synthesis()["required"].as_array().unwrap().len(), 3);
        assert_eq!(routed()["properties"]["confidence"]["maximum"], 10.0);
    }
}
