//! What each stage's model answers, as types, and the checks that turn a model's JSON
//! into them.
//!
//! The JSON schemas in [`super::schemas`] ask for these shapes, but a schema is a
//! request, not a guarantee: every answer is validated here, in code. An answer that
//! fails validation counts as that call failing. Fields beyond the ones read are
//! ignored; missing, mistyped, empty or out-of-range ones are not.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Key claims a position must rest on: at least one, at most five.
pub const CLAIMS: (usize, usize) = (1, 5);
/// Risks a position may name.
pub const RISKS: (usize, usize) = (0, 5);
/// The scale of scores and confidences.
pub const SCALE: (f64, f64) = (0.0, 10.0);

/// A persona's answer to the question's main proposal. Agreement is measured on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    Yes,
    No,
    Depends,
}

impl Stance {
    pub const ALL: [Stance; 3] = [Stance::Yes, Stance::No, Stance::Depends];

    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Yes => "yes",
            Stance::No => "no",
            Stance::Depends => "depends",
        }
    }

    fn parse(raw: &str) -> Option<Stance> {
        Stance::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for Stance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A persona's answer (first, or revised).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub stance: Stance,
    pub position: String,
    pub key_claims: Vec<String>,
    pub risks: Vec<String>,
    /// Self-rated, 0–10.
    pub confidence: f64,
}

/// One reviewer's verdict on one anonymous answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// 0–10.
    pub score: f64,
    pub objection: String,
}

/// The arbiter's writing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Synthesis {
    pub synthesis: String,
    pub summary: String,
    /// `None` when the arbiter wrote none (a unanimous panel).
    pub minority_report: Option<String>,
}

/// A `smartroute1` answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Routed {
    pub answer: String,
    pub summary: String,
    /// Self-rated, 0–10 (capped by configuration before use).
    pub confidence: f64,
}

type Checked<T> = Result<T, String>;

fn object(value: &Value) -> Checked<&Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_owned())
}

fn text(object: &Map<String, Value>, field: &str) -> Checked<String> {
    match object.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) => Err(format!("{field} is empty")),
        Some(_) => Err(format!("{field} is not a string")),
        None => Err(format!("{field} is missing")),
    }
}

fn texts(
    object: &Map<String, Value>,
    field: &str,
    (min, max): (usize, usize),
) -> Checked<Vec<String>> {
    let items = object
        .get(field)
        .ok_or_else(|| format!("{field} is missing"))?
        .as_array()
        .ok_or_else(|| format!("{field} is not a list"))?;
    if !(min..=max).contains(&items.len()) {
        return Err(format!(
            "{field} has {} items (expected {min} to {max})",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(n, item)| match item.as_str().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(format!("{field}[{n}] is not a non-empty string")),
        })
        .collect()
}

/// A number on the 0–10 scale.
fn rating(object: &Map<String, Value>, field: &str) -> Checked<f64> {
    let number = object
        .get(field)
        .ok_or_else(|| format!("{field} is missing"))?
        .as_f64()
        .ok_or_else(|| format!("{field} is not a number"))?;
    if (SCALE.0..=SCALE.1).contains(&number) {
        Ok(number)
    } else {
        Err(format!("{field} is {number}, outside 0 to 10"))
    }
}

impl Answer {
    pub fn from_json(value: &Value) -> Checked<Answer> {
        let object = object(value)?;
        let stance = match object.get("stance") {
            Some(Value::String(raw)) => Stance::parse(raw.trim())
                .ok_or_else(|| format!("stance {raw:?} is not yes, no or depends"))?,
            _ => return Err("stance is missing or not a string".to_owned()),
        };
        Ok(Answer {
            stance,
            position: text(object, "position")?,
            key_claims: texts(object, "key_claims", CLAIMS)?,
            risks: texts(object, "risks", RISKS)?,
            confidence: rating(object, "confidence")?,
        })
    }
}

/// `{"reviews": {"A": {"score", "objection"}, …}}` with exactly `labels`, in their
/// order.
pub fn verdicts_from_json(value: &Value, labels: &[String]) -> Checked<Vec<Verdict>> {
    let reviews = object(value)?
        .get("reviews")
        .and_then(Value::as_object)
        .ok_or_else(|| "reviews is missing or not an object".to_owned())?;
    if let Some(extra) = reviews.keys().find(|key| !labels.contains(key)) {
        return Err(format!("reviews names {extra:?}, which is no answer shown"));
    }
    labels
        .iter()
        .map(|label| {
            let review = reviews
                .get(label)
                .ok_or_else(|| format!("reviews.{label} is missing"))?;
            let review = object(review).map_err(|_| format!("reviews.{label} is not an object"))?;
            Ok(Verdict {
                score: rating(review, "score").map_err(|e| format!("reviews.{label}.{e}"))?,
                objection: text(review, "objection").map_err(|e| format!("reviews.{label}.{e}"))?,
            })
        })
        .collect()
}

impl Synthesis {
    pub fn from_json(value: &Value) -> Checked<Synthesis> {
        let object = object(value)?;
        let minority_report = match object.get("minority_report") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(_) => return Err("minority_report is not a string".to_owned()),
        };
        Ok(Synthesis {
            synthesis: text(object, "synthesis")?,
            summary: text(object, "summary")?,
            minority_report,
        })
    }
}

impl Routed {
    pub fn from_json(value: &Value) -> Checked<Routed> {
        let object = object(value)?;
        Ok(Routed {
            answer: text(object, "answer")?,
            summary: text(object, "summary")?,
            confidence: rating(object, "confidence")?,
        })
    }
}

/// How many personas took each stance.
pub fn tally(stances: impl IntoIterator<Item = Stance>) -> BTreeMap<Stance, usize> {
    let mut counts = BTreeMap::new();
    for stance in stances {
        *counts.entry(stance).or_insert(0) += 1;
    }
    counts
}

/// The share of answers in the largest stance bloc (0 with no answers).
pub fn largest_bloc_share(stances: &[Stance]) -> f64 {
    let largest = tally(stances.iter().copied())
        .into_values()
        .max()
        .unwrap_or(0);
    if stances.is_empty() {
        0.0
    } else {
        largest as f64 / stances.len() as f64
    }
}

/// Whether the panel is split: its largest bloc holds less than `threshold` of it.
pub fn is_split(stances: &[Stance], threshold: f64) -> bool {
    largest_bloc_share(stances) < threshold
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer() -> Value {
        json!({"stance": "yes", "position": " Go usage-based. ", "key_claims": ["aligns"],
               "risks": [], "confidence": 7, "extra": "ignored"})
    }

    #[test]
    fn answers_are_validated_field_by_field() {
        let parsed = Answer::from_json(&answer()).unwrap();
        assert_eq!(parsed.stance, Stance::Yes);
        assert_eq!(parsed.position, "Go usage-based.");
        assert_eq!(parsed.confidence, 7.0);
        for (field, bad, needle) in [
            ("stance", json!("maybe"), "not yes, no or depends"),
            ("position", json!("  "), "position is empty"),
            ("key_claims", json!([]), "0 items"),
            (
                "key_claims",
                json!(["a", "b", "c", "d", "e", "f"]),
                "6 items",
            ),
            ("key_claims", json!(["a", 3]), "key_claims[1]"),
            ("risks", json!("none"), "not a list"),
            ("confidence", json!(10.5), "outside 0 to 10"),
            ("confidence", json!("high"), "not a number"),
        ] {
            let mut value = answer();
            value[field] = bad;
            let error = Answer::from_json(&value).unwrap_err();
            assert!(error.contains(needle), "{field}: {error}");
        }
        assert!(Answer::from_json(&json!([1])).is_err());
    }

    #[test]
    fn reviews_must_cover_exactly_the_labels_shown() {
        let labels = vec!["A".to_owned(), "B".to_owned()];
        let good = json!({"reviews": {"B": {"score": 3, "objection": "thin"},
                                      "A": {"score": 9.5, "objection": "none really"}}});
        let verdicts = verdicts_from_json(&good, &labels).unwrap();
        assert_eq!(verdicts[0].score, 9.5);
        assert_eq!(verdicts[1].objection, "thin");
        let missing = json!({"reviews": {"A": {"score": 3, "objection": "x"}}});
        assert!(
            verdicts_from_json(&missing, &labels)
                .unwrap_err()
                .contains("reviews.B")
        );
        let extra = json!({"reviews": {"A": {"score": 3, "objection": "x"},
            "B": {"score": 3, "objection": "x"}, "C": {"score": 3, "objection": "x"}}});
        assert!(
            verdicts_from_json(&extra, &labels)
                .unwrap_err()
                .contains("\"C\"")
        );
        let high = json!({"reviews": {"A": {"score": 11, "objection": "x"},
            "B": {"score": 3, "objection": "x"}}});
        assert!(
            verdicts_from_json(&high, &labels)
                .unwrap_err()
                .contains("reviews.A.score")
        );
    }

    #[test]
    fn synthesis_and_routed_answers() {
        let synthesis = Synthesis::from_json(
            &json!({"synthesis": "# Do it", "summary": "Do it.", "minority_report": " "}),
        )
        .unwrap();
        assert_eq!(synthesis.minority_report, None);
        assert!(Synthesis::from_json(&json!({"synthesis": "x"})).is_err());
        let routed = Routed::from_json(&json!({"answer": "a", "summary": "s", "confidence": 9}));
        assert_eq!(routed.unwrap().confidence, 9.0);
    }

    #[test]
    fn split_is_the_largest_bloc_below_the_threshold() {
        use Stance::*;
        assert_eq!(largest_bloc_share(&[]), 0.0);
        assert_eq!(largest_bloc_share(&[Yes, Yes, No, Yes, Depends]), 0.6);
        assert!(!is_split(&[Yes, Yes, Yes, Yes, Yes], 0.8));
        // 4 of 5 is exactly the default threshold: not split.
        assert!(!is_split(&[Yes, Yes, Yes, Yes, No], 0.8));
        assert!(is_split(&[Yes, Yes, Yes, No, No], 0.8));
        assert!(is_split(&[No, Depends, Yes], 0.8));
        // Of three answering, two agreeing is a split at 0.8 but not at 0.6.
        assert!(is_split(&[No, No, Yes], 0.8));
        assert!(!is_split(&[No, No, Yes], 0.6));
        assert_eq!(tally([Yes, No, Yes])[&Yes], 2);
    }
}
