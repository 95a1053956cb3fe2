//! The checkpoints of a `deliberation2`: where the panel stops for a person.
//!
//! A checkpoint is an [`CheckpointOffer`] — what the panel has done so far and what
//! the person may choose — and, once answered, a [`CheckpointAnswer`] checked
//! against that offer. There are three kinds, in order:
//!
//! 1. [`CheckpointKind::Answers`], after the first answers: drop personas, add
//!    others from the offer's `addable`, add a constraint every later prompt carries;
//! 2. [`CheckpointKind::Reviews`], after the peer reviews: pick the positions worth
//!    revising (none is a choice: the panel goes straight to the synthesis);
//! 3. [`CheckpointKind::Synthesis`], on the arbiter's draft: approve it — the
//!    deliberation completes with it — or send it back with a note for a rewrite
//!    (at most the offer's remaining send-backs).
//!
//! An answer has two spellings. The structured one ([`CheckpointAnswer::parse`]),
//! for tools: `{"drop": […], "add": […], "constraint": "…"}`, `{"revise": […]}`,
//! `{"decision": "approve" | "send_back", "note": "…"}`. And a flat form of
//! booleans and strings ([`CheckpointOffer::form_schema`],
//! [`CheckpointAnswer::from_form`]) — `keep_<persona>`, `add_<persona>`,
//! `constraint`; `revise_<persona>`; `decision`, `note` — which is what an MCP
//! elicitation asks and what the dashboard's form posts, so both read one shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::deliberation::named_enum;
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// Where a `deliberation2` waits.
    CheckpointKind {
        Answers => "answers",
        Reviews => "reviews",
        Synthesis => "synthesis",
    } "checkpoint kind"
);

/// The longest constraint a person may add, in characters.
pub const CONSTRAINT_CHARS: usize = 500;
/// The longest note a draft is sent back with, in characters.
pub const NOTE_CHARS: usize = 1000;
/// How many personas one answer may add.
pub const MAX_ADDED: usize = 3;

/// A persona the person may add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonaChoice {
    pub name: String,
    pub role: String,
}

/// One persona's position, as a checkpoint shows it (fields in alphabetical order,
/// as every view's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PositionBrief {
    pub confidence: f64,
    /// The mean of its peers' scores, once reviewed.
    pub peer_score: Option<f64>,
    pub persona: String,
    pub position: String,
    pub revised: bool,
    pub role: String,
    /// `yes`, `no` or `depends`.
    pub stance: String,
}

/// The arbiter's draft, as the synthesis checkpoint shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DraftBrief {
    pub minority_report: Option<String>,
    pub summary: String,
    pub synthesis: String,
}

/// What a checkpoint shows and lets the person choose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointOffer {
    pub kind: CheckpointKind,
    /// What is asked, in a sentence.
    pub prompt: String,
    /// The panel's positions so far.
    pub positions: Vec<PositionBrief>,
    /// `answers`: personas that may be added.
    #[serde(default)]
    pub addable: Vec<PersonaChoice>,
    /// `answers`: the fewest personas the panel may go on with (the quorum).
    #[serde(default)]
    pub min_panel: usize,
    /// `reviews`: the positions the panel would revise on its own (the ones its
    /// peers scored lowest, or all of a split panel).
    #[serde(default)]
    pub suggested: Vec<String>,
    /// `synthesis`: the arbiter's draft.
    #[serde(default)]
    pub draft: Option<DraftBrief>,
    /// `synthesis`: whether the draft may still be sent back.
    #[serde(default)]
    pub can_send_back: bool,
}

/// A person's answer, checked against its offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckpointAnswer {
    Answers {
        drop: Vec<String>,
        add: Vec<String>,
        constraint: Option<String>,
    },
    Reviews {
        revise: Vec<String>,
    },
    Synthesis {
        approve: bool,
        note: Option<String>,
    },
}

impl CheckpointOffer {
    fn personas(&self) -> impl Iterator<Item = &str> {
        self.positions.iter().map(|p| p.persona.as_str())
    }

    /// The flat form of this checkpoint as a JSON schema of primitive properties —
    /// what MCP elicitation takes (`requestedSchema`).
    pub fn form_schema(&self) -> Value {
        let mut properties = Map::new();
        let flag = |title: String, default: bool| json!({"type": "boolean", "title": title, "default": default});
        match self.kind {
            CheckpointKind::Answers => {
                for p in &self.positions {
                    properties.insert(
                        format!("keep_{}", p.persona),
                        flag(format!("Keep {} ({})", p.persona, p.role), true),
                    );
                }
                for p in &self.addable {
                    properties.insert(
                        format!("add_{}", p.name),
                        flag(format!("Add {} ({})", p.name, p.role), false),
                    );
                }
                properties.insert(
                    "constraint".to_owned(),
                    json!({"type": "string", "title": "A constraint for the panel (optional)",
                           "maxLength": CONSTRAINT_CHARS}),
                );
            }
            CheckpointKind::Reviews => {
                for p in &self.positions {
                    let suggested = self.suggested.contains(&p.persona);
                    properties.insert(
                        format!("revise_{}", p.persona),
                        flag(format!("Revise {}'s position", p.persona), suggested),
                    );
                }
            }
            CheckpointKind::Synthesis => {
                let decisions: &[&str] = if self.can_send_back {
                    &["approve", "send_back"]
                } else {
                    &["approve"]
                };
                properties.insert(
                    "decision".to_owned(),
                    json!({"type": "string", "title": "Approve the draft, or send it back",
                           "enum": decisions, "default": "approve"}),
                );
                if self.can_send_back {
                    properties.insert(
                        "note".to_owned(),
                        json!({"type": "string", "title": "What to change (to send it back)",
                               "maxLength": NOTE_CHARS}),
                    );
                }
            }
        }
        let required: Vec<&str> = match self.kind {
            CheckpointKind::Synthesis => vec!["decision"],
            _ => Vec::new(),
        };
        json!({"type": "object", "properties": properties, "required": required})
    }
}

impl CheckpointAnswer {
    /// The structured answer `value` (see the module), checked against `offer`.
    pub fn parse(offer: &CheckpointOffer, value: &Value) -> Result<CheckpointAnswer, String> {
        let Value::Object(fields) = value else {
            return Err("answer must be a JSON object".to_owned());
        };
        let allowed: &[&str] = match offer.kind {
            CheckpointKind::Answers => &["drop", "add", "constraint"],
            CheckpointKind::Reviews => &["revise"],
            CheckpointKind::Synthesis => &["decision", "note"],
        };
        if let Some(name) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "answer.{name} is not a field of a {} checkpoint (its fields: {})",
                offer.kind,
                allowed.join(", ")
            ));
        }
        let answer = match offer.kind {
            CheckpointKind::Answers => CheckpointAnswer::Answers {
                drop: names(fields, "drop")?.unwrap_or_default(),
                add: names(fields, "add")?.unwrap_or_default(),
                constraint: text(fields, "constraint")?,
            },
            CheckpointKind::Reviews => CheckpointAnswer::Reviews {
                revise: names(fields, "revise")?.unwrap_or_else(|| offer.suggested.clone()),
            },
            CheckpointKind::Synthesis => {
                let approve = match text(fields, "decision")?.as_deref() {
                    Some("approve") => true,
                    Some("send_back") => false,
                    Some(_) => return Err("answer.decision must be approve or send_back".into()),
                    None => return Err("answer.decision is required".to_owned()),
                };
                CheckpointAnswer::Synthesis {
                    approve,
                    note: text(fields, "note")?,
                }
            }
        };
        answer.check(offer)?;
        Ok(answer)
    }

    /// The flat form's fields (see [`CheckpointOffer::form_schema`]), checked
    /// against `offer`. Booleans may be JSON booleans or the text an HTML form
    /// posts (`on`, `true`); a box left out is unticked, except that an MCP client
    /// leaving out a field takes its default, which `defaults` says to use.
    pub fn from_form(
        offer: &CheckpointOffer,
        form: &Map<String, Value>,
        defaults: bool,
    ) -> Result<CheckpointAnswer, String> {
        let flag = |name: String, default: bool| match form.get(&name) {
            None | Some(Value::Null) => Ok(defaults && default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if matches!(s.as_str(), "on" | "true") => Ok(true),
            Some(Value::String(s)) if matches!(s.as_str(), "off" | "false" | "") => Ok(false),
            Some(_) => Err(format!("{name} must be a boolean")),
        };
        let answer = match offer.kind {
            CheckpointKind::Answers => {
                let mut drop = Vec::new();
                for p in &offer.positions {
                    if !flag(format!("keep_{}", p.persona), true)? {
                        drop.push(p.persona.clone());
                    }
                }
                let mut add = Vec::new();
                for p in &offer.addable {
                    if flag(format!("add_{}", p.name), false)? {
                        add.push(p.name.clone());
                    }
                }
                CheckpointAnswer::Answers {
                    drop,
                    add,
                    constraint: text(form, "constraint")?,
                }
            }
            CheckpointKind::Reviews => {
                let mut revise = Vec::new();
                for p in &offer.positions {
                    let suggested = offer.suggested.contains(&p.persona);
                    if flag(format!("revise_{}", p.persona), suggested)? {
                        revise.push(p.persona.clone());
                    }
                }
                CheckpointAnswer::Reviews { revise }
            }
            CheckpointKind::Synthesis => {
                let decision = text(form, "decision")?;
                let approve = match decision.as_deref() {
                    None if defaults => true,
                    Some("approve") => true,
                    Some("send_back") => false,
                    None => return Err("decision is required".to_owned()),
                    Some(_) => return Err("decision must be approve or send_back".to_owned()),
                };
                CheckpointAnswer::Synthesis {
                    approve,
                    note: text(form, "note")?,
                }
            }
        };
        answer.check(offer)?;
        Ok(answer)
    }

    /// The text the person adds to later prompts: a constraint or a note.
    pub fn guidance(&self) -> Option<&str> {
        match self {
            CheckpointAnswer::Answers { constraint, .. } => constraint.as_deref(),
            CheckpointAnswer::Synthesis { note, .. } => note.as_deref(),
            CheckpointAnswer::Reviews { .. } => None,
        }
    }

    /// The rules every answer keeps, whichever way it was spelled.
    fn check(&self, offer: &CheckpointOffer) -> Result<(), String> {
        let on_panel = |name: &String| offer.personas().any(|p| p == name);
        match self {
            CheckpointAnswer::Answers {
                drop,
                add,
                constraint,
            } => {
                if let Some(name) = drop.iter().find(|n| !on_panel(n)) {
                    return Err(format!("drop: {name:?} is not on the panel"));
                }
                if let Some(name) = add
                    .iter()
                    .find(|n| !offer.addable.iter().any(|a| &a.name == *n))
                {
                    return Err(format!("add: {name:?} is not a persona that may be added"));
                }
                if add.len() > MAX_ADDED {
                    return Err(format!("add: at most {MAX_ADDED} personas"));
                }
                let stay = offer.positions.len() - distinct(drop) + distinct(add);
                if stay < offer.min_panel {
                    return Err(format!(
                        "the panel must keep at least {} personas (this answer leaves {stay})",
                        offer.min_panel
                    ));
                }
                check_chars("constraint", constraint.as_deref(), CONSTRAINT_CHARS)
            }
            CheckpointAnswer::Reviews { revise } => match revise.iter().find(|n| !on_panel(n)) {
                Some(name) => Err(format!("revise: {name:?} is not on the panel")),
                None => Ok(()),
            },
            CheckpointAnswer::Synthesis { approve, note } => {
                check_chars("note", note.as_deref(), NOTE_CHARS)?;
                if *approve {
                    return Ok(());
                }
                if !offer.can_send_back {
                    return Err("this draft can no longer be sent back: approve it".to_owned());
                }
                if note.is_none() {
                    return Err("a draft sent back needs a note saying what to change".to_owned());
                }
                Ok(())
            }
        }
    }
}

fn distinct(names: &[String]) -> usize {
    let mut seen: Vec<&String> = names.iter().collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

fn check_chars(name: &str, text: Option<&str>, max: usize) -> Result<(), String> {
    match text {
        Some(t) if t.chars().count() > max => {
            Err(format!("{name} must be at most {max} characters"))
        }
        _ => Ok(()),
    }
}

/// `fields[name]`, a list of persona names.
fn names(fields: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(format!("answer.{name} must be a list of persona names")),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(format!("answer.{name} must be a list of persona names")),
    }
}

/// `fields[name]`, trimmed text; empty is none.
fn text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(name: &str) -> PositionBrief {
        PositionBrief {
            persona: name.to_owned(),
            role: "r".to_owned(),
            stance: "yes".to_owned(),
            position: "p".to_owned(),
            confidence: 7.0,
            peer_score: None,
            revised: false,
        }
    }

    fn offer(kind: CheckpointKind) -> CheckpointOffer {
        CheckpointOffer {
            kind,
            prompt: "?".to_owned(),
            positions: ["a", "b", "c", "d"].map(position).to_vec(),
            addable: vec![PersonaChoice {
                name: "x".to_owned(),
                role: "r".to_owned(),
            }],
            min_panel: 3,
            suggested: vec!["b".to_owned()],
            draft: None,
            can_send_back: true,
        }
    }

    #[test]
    fn answers_keep_the_quorum_and_name_only_offered_personas() {
        let o = offer(CheckpointKind::Answers);
        let ok = CheckpointAnswer::parse(
            &o,
            &json!({"drop": ["a"], "add": ["x"], "constraint": " EU only "}),
        );
        assert_eq!(
            ok,
            Ok(CheckpointAnswer::Answers {
                drop: vec!["a".into()],
                add: vec!["x".into()],
                constraint: Some("EU only".into())
            })
        );
        let short = CheckpointAnswer::parse(&o, &json!({"drop": ["a", "b"]})).unwrap_err();
        assert!(short.contains("at least 3"), "{short}");
        let stranger = CheckpointAnswer::parse(&o, &json!({"add": ["y"]})).unwrap_err();
        assert!(stranger.contains("\"y\""), "{stranger}");
        let extra = CheckpointAnswer::parse(&o, &json!({"revise": []})).unwrap_err();
        assert!(extra.contains("answer.revise"), "{extra}");
        let long = json!({"constraint": "c".repeat(CONSTRAINT_CHARS + 1)});
        assert!(CheckpointAnswer::parse(&o, &long).is_err());
    }

    #[test]
    fn the_flat_form_reads_as_the_structured_answer() {
        let o = offer(CheckpointKind::Answers);
        let form = json!({"keep_a": false, "keep_b": "on", "add_x": "on", "constraint": ""});
        let from_form = CheckpointAnswer::from_form(&o, form.as_object().unwrap(), true).unwrap();
        assert_eq!(
            from_form,
            CheckpointAnswer::parse(&o, &json!({"drop": ["a"], "add": ["x"]})).unwrap()
        );
        // An HTML form leaves unticked boxes out: every persona dropped.
        let empty = Map::new();
        assert!(CheckpointAnswer::from_form(&o, &empty, false).is_err());
        let schema = o.form_schema();
        assert_eq!(schema["properties"]["keep_a"]["default"], json!(true));
        assert_eq!(schema["properties"]["add_x"]["default"], json!(false));
    }

    #[test]
    fn reviews_default_to_the_suggestion_and_synthesis_needs_a_note_to_go_back() {
        let r = offer(CheckpointKind::Reviews);
        assert_eq!(
            CheckpointAnswer::parse(&r, &json!({})),
            Ok(CheckpointAnswer::Reviews {
                revise: vec!["b".into()]
            })
        );
        assert_eq!(
            CheckpointAnswer::from_form(&r, &Map::new(), true),
            Ok(CheckpointAnswer::Reviews {
                revise: vec!["b".into()]
            })
        );
        let mut s = offer(CheckpointKind::Synthesis);
        assert!(CheckpointAnswer::parse(&s, &json!({"decision": "send_back"})).is_err());
        assert!(
            CheckpointAnswer::parse(&s, &json!({"decision": "send_back", "note": "shorter"}))
                .is_ok()
        );
        s.can_send_back = false;
        assert!(
            CheckpointAnswer::parse(&s, &json!({"decision": "send_back", "note": "x"})).is_err()
        );
        assert_eq!(
            s.form_schema()["properties"]["decision"]["enum"],
            json!(["approve"])
        );
        assert!(CheckpointAnswer::parse(&s, &json!({"decision": "approve"})).is_ok());
    }
}
