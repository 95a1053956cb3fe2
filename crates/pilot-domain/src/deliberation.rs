//! Deliberations (seed 003): what a submission is, validated once at the edge, and
//! the vocabulary of its lifecycle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::credits::Credits;

/// `question` length bounds, in characters (§3).
pub const QUESTION_CHARS: (usize, usize) = (10, 2000);
/// Largest `metadata`, serialized, in bytes (§3: ≤ 4 KB).
pub const MAX_METADATA_BYTES: usize = 4096;
/// Longest `webhook_url`.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;
/// Longest `Idempotency-Key` (§3).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// `del_` + a ULID: sortable by creation, unguessable enough to be an id, and the
/// shape the document shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliberationId(String);

impl DeliberationId {
    /// A new id from a ULID's 26-character Crockford base32 text.
    pub fn from_ulid_text(ulid: &str) -> DeliberationId {
        DeliberationId(format!("del_{ulid}"))
    }

    /// A deterministic id: a ULID whose time part is `millis` and whose 80 "random"
    /// bits are the first 80 bits of SHA-256(`seed`). The same inputs always give the
    /// same id, so a submission keyed on them (a pilot run's `deliberate` step) finds
    /// what an earlier attempt submitted instead of submitting twice.
    pub fn derived(millis: u64, seed: &str) -> DeliberationId {
        let digest = Sha256::digest(seed.as_bytes());
        let mut random = [0_u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        let value = (u128::from(millis & ((1 << 48) - 1)) << 80) | u128::from_be_bytes(random);
        const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let text: String = (0..26)
            .map(|i| char::from(CROCKFORD[((value >> (125 - 5 * i)) & 31) as usize]))
            .collect();
        DeliberationId::from_ulid_text(&text)
    }

    /// Accepts `del_` + a ULID as we write them: 26 upper-case Crockford base32
    /// characters, the first `0`–`7` (a ULID is 128 bits). Anything else — lower
    /// case, the decoding aliases `I`, `L`, `O`, `U`, a value past 128 bits — is no
    /// id of ours (answered `404`, as an unknown one is), so each id has one spelling.
    pub fn parse(raw: &str) -> Option<DeliberationId> {
        let body = raw.strip_prefix("del_")?;
        let crockford =
            |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
        let ulid = body.len() == 26
            && body.starts_with(|c: char| ('0'..='7').contains(&c))
            && body.chars().all(crockford);
        ulid.then(|| DeliberationId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliberationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? } $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(raw: &str) -> Result<Self, String> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{} must be one of {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }

        /// In the OpenAPI document: a string, one of the names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// The same string-enum shape for the webhook vocabulary.
pub(crate) use named_enum;

named_enum!(
    /// How a question is answered: the five-persona panel, one routed call, or the
    /// larger panel that stops for a person at checkpoints (`deliberation2`, over MCP
    /// and the dashboard only).
    Mode {
        Deliberation1 => "deliberation1",
        Smartroute1 => "smartroute1",
        Deliberation2 => "deliberation2",
    } "mode"
);
named_enum!(
    /// The modes `POST /v1/api/deliberations` takes (§3): all but `deliberation2`.
    ApiMode { Deliberation1 => "deliberation1", Smartroute1 => "smartroute1" } "mode"
);
named_enum!(
    /// Which panel of personas answers.
    UseCase {
        General => "general",
        Pricing => "pricing",
        Code => "code",
        Strategy => "strategy",
        Marketing => "marketing",
        Logistics => "logistics",
    } "use_case"
);
named_enum!(
    /// Sizes the credit reservation; `HARD` also always runs the revision round.
    Difficulty { Easy => "EASY", Medium => "MEDIUM", Hard => "HARD" } "difficulty"
);
named_enum!(
    DeliberationStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
    } "status"
);
named_enum!(
    /// Why a deliberation failed (§4).
    FailureCode {
        ProcessingTimeout => "processing_timeout",
        ProcessingFailed => "processing_failed",
        CheckpointExpired => "checkpoint_expired",
    } "error.code"
);

impl DeliberationStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            DeliberationStatus::Completed | DeliberationStatus::Failed
        )
    }
}

impl FailureCode {
    /// The document's message for each code.
    pub fn message(self) -> &'static str {
        match self {
            FailureCode::ProcessingTimeout => {
                "The deliberation exceeded its processing time and was halted before completing. \
                 This is usually transient — retry the request."
            }
            FailureCode::ProcessingFailed => {
                "The deliberation failed during processing. Retry, or contact support with the \
                 deliberation id."
            }
            FailureCode::CheckpointExpired => {
                "The deliberation waited at a checkpoint for an answer that did not come in \
                 time, and was ended. Nothing was charged — submit it again."
            }
        }
    }
}

/// A submission, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub question: String,
    pub mode: Mode,
    pub use_case: UseCase,
    pub difficulty: Difficulty,
    /// HTTPS; its address is checked by the outbound guard at the edge.
    pub webhook_url: Option<String>,
    /// An object, echoed in the webhook.
    pub metadata: Option<Value>,
}

/// The raw body of `POST /v1/api/deliberations`. Its fields are kept as JSON so
/// that [`Submission::parse`] names the first wrong one; the schema says what each
/// must be (for the OpenAPI document). `null` is the same as leaving a field out.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionBody {
    /// The question, 10 to 2000 characters once trimmed.
    #[schema(value_type = String, min_length = 10, pattern = r"^\s*\S[\s\S]{8,}\S\s*$")]
    pub question: Option<Value>,
    /// `deliberation1` (five personas, the default) or `smartroute1` (one routed
    /// model). `deliberation2` is not available through the API.
    #[schema(value_type = Option<ApiMode>)]
    pub mode: Option<Value>,
    /// Which panel answers; `general` by default.
    #[schema(value_type = Option<UseCase>)]
    pub use_case: Option<Value>,
    /// An `https://` URL for the signed terminal-state callback; private and
    /// loopback addresses are refused. Leave it out to poll instead. (A server
    /// with `[webhooks] allow_http`, for development, takes `http://` too.)
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^[hH][tT][tT][pP][sS]://")]
    pub webhook_url: Option<Value>,
    /// Opaque JSON, at most 4 KB serialized; echoed in the webhook.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Sizes the credit reservation: `EASY`, `MEDIUM` (the default) or `HARD`.
    #[schema(value_type = Option<Difficulty>)]
    pub difficulty: Option<Value>,
}

/// Where a submission comes from: the REST API, which cannot pause for a person
/// (§3), or an interactive surface — MCP, the dashboard — which can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Api,
    Interactive,
}

impl Submission {
    /// Validates a body from the REST API, naming the first field that is wrong.
    pub fn parse(body: &SubmissionBody) -> Result<Submission, String> {
        Submission::parse_from(body, Channel::Api)
    }

    /// Validates a body from `channel`: only an interactive one takes
    /// `deliberation2`.
    pub fn parse_from(body: &SubmissionBody, channel: Channel) -> Result<Submission, String> {
        let question = match &body.question {
            Some(Value::String(q)) => q.trim(),
            Some(_) => return Err("question must be a string".to_owned()),
            None => return Err("question is required".to_owned()),
        };
        check_question(question, None)?;
        let mode = match optional_str(&body.mode, "mode")? {
            None => Mode::Deliberation1,
            Some("deliberation2") if channel == Channel::Interactive => Mode::Deliberation2,
            Some("deliberation2") => {
                return Err(
                    "mode deliberation2 (Dream Team with HITL checkpoints) is not available via \
                     the API: it requires interactive pauses incompatible with async webhook \
                     delivery. Use deliberation1 or smartroute1."
                        .to_owned(),
                );
            }
            Some(raw) => raw.parse()?,
        };
        let use_case =
            optional_str(&body.use_case, "use_case")?.map_or(Ok(UseCase::General), str::parse)?;
        let difficulty = optional_str(&body.difficulty, "difficulty")?
            .map_or(Ok(Difficulty::Medium), str::parse)?;
        let webhook_url = optional_str(&body.webhook_url, "webhook_url")?;
        check_webhook_url(webhook_url)?;
        let metadata = match &body.metadata {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        };
        check_metadata(metadata)?;
        Ok(Submission {
            question: question.to_owned(),
            mode,
            use_case,
            difficulty,
            webhook_url: webhook_url.map(str::to_owned),
            metadata: metadata.cloned(),
        })
    }

    /// A submission from parts already typed (a pilot's `deliberate` step has parsed
    /// its mode, use case and difficulty), held to the rules a body is: the
    /// question's length ([`check_question`], after trimming), an `https://` (or
    /// `http://`) `webhook_url` of bounded length, `metadata` a JSON object of at most
    /// [`MAX_METADATA_BYTES`].
    pub fn new(
        question: &str,
        mode: Mode,
        use_case: UseCase,
        difficulty: Difficulty,
        webhook_url: Option<&str>,
        metadata: Option<Value>,
    ) -> Result<Submission, String> {
        let question = question.trim();
        check_question(question, None)?;
        check_webhook_url(webhook_url)?;
        check_metadata(metadata.as_ref())?;
        Ok(Submission {
            question: question.to_owned(),
            mode,
            use_case,
            difficulty,
            webhook_url: webhook_url.map(str::to_owned),
            metadata,
        })
    }
}

/// The one rule for a question's length (§3: [`QUESTION_CHARS`], in characters, of
/// the question as it will be asked — trimmed). Every place that takes a question
/// asks this: a submission, a `deliberate` step's question when the pilot is saved
/// and when a run renders it. `context` says when it was measured, where that helps
/// ("once rendered").
pub fn check_question(question: &str, context: Option<&str>) -> Result<(), String> {
    let chars = question.chars().count();
    if (QUESTION_CHARS.0..=QUESTION_CHARS.1).contains(&chars) {
        return Ok(());
    }
    let context = context.map(|c| format!(" {c}")).unwrap_or_default();
    Err(format!(
        "question must be {} to {} characters{context} (got {chars})",
        QUESTION_CHARS.0, QUESTION_CHARS.1
    ))
}

/// `webhook_url`: an `https://` (or, where the operator allows it, `http://`) URL of
/// at most [`MAX_WEBHOOK_URL_CHARS`]. Which scheme is allowed, and its address, are
/// the outbound guard's to judge (`[webhooks] allow_http`, resolution).
fn check_webhook_url(url: Option<&str>) -> Result<(), String> {
    let Some(url) = url else { return Ok(()) };
    if url.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(format!(
            "webhook_url must be at most {MAX_WEBHOOK_URL_CHARS} characters"
        ));
    }
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err("webhook_url must be an https:// URL".to_owned());
    }
    Ok(())
}

/// `metadata`: a JSON object of at most [`MAX_METADATA_BYTES`] serialized.
fn check_metadata(metadata: Option<&Value>) -> Result<(), String> {
    match metadata {
        None => Ok(()),
        Some(value @ Value::Object(_)) => {
            let size = value.to_string().len();
            if size > MAX_METADATA_BYTES {
                return Err(format!(
                    "metadata must be at most {MAX_METADATA_BYTES} bytes serialized (got {size})"
                ));
            }
            Ok(())
        }
        Some(_) => Err("metadata must be a JSON object".to_owned()),
    }
}

fn optional_str<'a>(value: &'a Option<Value>, name: &str) -> Result<Option<&'a str>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// What is reserved at submit for each mode and difficulty (configurable; these are
/// the defaults, after the document's "~4 cr" and "~0.5 cr").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateTable {
    pub deliberation1: [Credits; 3],
    pub smartroute1: [Credits; 3],
    /// Seven personas, a send-back or two: about twice `deliberation1`.
    #[serde(default = "deliberation2_estimates")]
    pub deliberation2: [Credits; 3],
}

fn deliberation2_estimates() -> [Credits; 3] {
    [
        Credits::from_micros(6_000_000),
        Credits::from_micros(8_500_000),
        Credits::from_micros(13_000_000),
    ]
}

impl Default for EstimateTable {
    fn default() -> Self {
        EstimateTable {
            deliberation1: [
                Credits::from_micros(3_000_000),
                Credits::from_micros(4_200_000),
                Credits::from_micros(6_500_000),
            ],
            smartroute1: [
                Credits::from_micros(300_000),
                Credits::from_micros(500_000),
                Credits::from_micros(900_000),
            ],
            deliberation2: deliberation2_estimates(),
        }
    }
}

impl EstimateTable {
    pub fn estimate(&self, mode: Mode, difficulty: Difficulty) -> Credits {
        let row = match mode {
            Mode::Deliberation1 => &self.deliberation1,
            Mode::Smartroute1 => &self.smartroute1,
            Mode::Deliberation2 => &self.deliberation2,
        };
        row[difficulty as usize]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> SubmissionBody {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_and_boundaries() {
        let ok = Submission::parse(&body(json!({"question": "x".repeat(10)}))).unwrap();
        assert_eq!(ok.mode, Mode::Deliberation1);
        assert_eq!(ok.use_case, UseCase::General);
        assert_eq!(ok.difficulty, Difficulty::Medium);
        assert!(Submission::parse(&body(json!({"question": "x".repeat(9)}))).is_err());
        assert!(Submission::parse(&body(json!({"question": "é".repeat(2000)}))).is_ok());
        assert!(Submission::parse(&body(json!({"question": "é".repeat(2001)}))).is_err());
        let meta = json!({"k": "v".repeat(MAX_METADATA_BYTES - 8)});
        assert_eq!(meta.to_string().len(), MAX_METADATA_BYTES);
        assert!(
            Submission::parse(&body(json!({"question": "x".repeat(10), "metadata": meta}))).is_ok()
        );
        let meta = json!({"k": "v".repeat(MAX_METADATA_BYTES - 7)});
        assert!(
            Submission::parse(&body(json!({"question": "x".repeat(10), "metadata": meta})))
                .is_err()
        );
    }

    #[test]
    fn one_rule_for_a_questions_length() {
        assert_eq!(check_question(&"x".repeat(10), None), Ok(()));
        assert_eq!(check_question(&"é".repeat(2000), None), Ok(()));
        assert_eq!(
            check_question("Why?", None).unwrap_err(),
            "question must be 10 to 2000 characters (got 4)"
        );
        assert_eq!(
            check_question(&"x".repeat(2001), Some("once rendered")).unwrap_err(),
            "question must be 10 to 2000 characters once rendered (got 2001)"
        );
        // A body and typed parts answer alike.
        let from_body = Submission::parse(&body(json!({"question": "  Why?  "}))).unwrap_err();
        let from_parts = Submission::new(
            "  Why?  ",
            Mode::Smartroute1,
            UseCase::Code,
            Difficulty::Easy,
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(from_body, from_parts);
        let made = Submission::new(
            " Should we ship on Friday? ",
            Mode::Smartroute1,
            UseCase::Code,
            Difficulty::Easy,
            None,
            Some(json!({"run_id": 7})),
        )
        .unwrap();
        assert_eq!(made.question, "Should we ship on Friday?");
        let big = json!({"k": "v".repeat(MAX_METADATA_BYTES)});
        let refused = Submission::new(
            "Should we ship on Friday?",
            Mode::Smartroute1,
            UseCase::Code,
            Difficulty::Easy,
            None,
            Some(big),
        );
        assert!(refused.unwrap_err().contains("metadata must be at most"));
    }

    #[test]
    fn every_field_is_checked() {
        let q = "x".repeat(20);
        for (extra, needle) in [
            (
                json!({"mode": "deliberation2"}),
                "not available via the API",
            ),
            (json!({"mode": "turbo"}), "mode must be one of"),
            (json!({"use_case": "legal"}), "use_case must be one of"),
            (json!({"difficulty": "medium"}), "difficulty must be one of"),
            (json!({"webhook_url": "ftp://example.com/h"}), "https://"),
            (json!({"metadata": [1]}), "metadata must be a JSON object"),
            (json!({"question": 5}), "question must be a string"),
        ] {
            let mut value = json!({"question": q});
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let error = Submission::parse(&body(value)).unwrap_err();
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn ids_and_estimates() {
        let id = DeliberationId::from_ulid_text("01HXYZABCDEFGHJKMNPQRSTVWX");
        assert_eq!(DeliberationId::parse(id.as_str()), Some(id));
        assert!(DeliberationId::parse("del_short").is_none());
        assert!(DeliberationId::parse("01HXYZABCDEFGHJKMNPQRSTVWX").is_none());
        // One spelling per id: no lower case, no aliases, nothing past 128 bits.
        for other in [
            "del_01hxyzabcdefghjkmnpqrstvwx",
            "del_01HXYZABCDEFGHJKMNPQRSTVWx",
            "del_01HXYZABCDEFGHJKMNPQRSTVWI",
            "del_81HXYZABCDEFGHJKMNPQRSTVWX",
            "del_ 1HXYZABCDEFGHJKMNPQRSTVWX",
            "DEL_01HXYZABCDEFGHJKMNPQRSTVWX",
        ] {
            assert!(DeliberationId::parse(other).is_none(), "{other}");
        }
        // Derived ids: the ULID spec's time example, well formed, stable, seed-bound.
        let derived = DeliberationId::derived(1_469_918_176_385, "run:1:step:0:attempt:1");
        assert!(derived.as_str().starts_with("del_01ARYZ6S41"), "{derived}");
        assert_eq!(
            DeliberationId::parse(derived.as_str()),
            Some(derived.clone())
        );
        assert_eq!(
            DeliberationId::derived(1_469_918_176_385, "run:1:step:0:attempt:1"),
            derived
        );
        assert_ne!(
            DeliberationId::derived(1_469_918_176_385, "run:1:step:0:attempt:2"),
            derived
        );
        let max = DeliberationId::derived(u64::MAX, "x");
        assert!(max.as_str().starts_with("del_7ZZZZZZZZZ"), "{max}");
        assert!(DeliberationId::parse(max.as_str()).is_some());
        let table = EstimateTable::default();
        assert_eq!(
            table
                .estimate(Mode::Deliberation1, Difficulty::Medium)
                .to_string(),
            "4.2"
        );
        assert_eq!(
            table
                .estimate(Mode::Smartroute1, Difficulty::Medium)
                .to_string(),
            "0.5"
        );
    }
}
