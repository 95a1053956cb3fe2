//! The scripted drafter: a valid step list built from a pilot's description.
//!
//! Words in the description choose the steps, in this order:
//!
//! | words | step |
//! | --- | --- |
//! | if, only, above, over, exceeds, threshold | `condition` `gate`: `{{ trigger.total > N }}` (N the first number after such a word, else 100) |
//! | extract, transform, format, convert, parse | `transform` `shape` |
//! | summarize, classify, draft, reply, translate, analyze, ai, … | `llm` (always one; `summarize` when no word asks for another) |
//! | wait, later, delay, pause, tomorrow | `delay` `wait`: 60 s, or "N seconds/minutes/hours/days" |
//! | slack, post, notify, webhook, alert, discord, teams | `http` `notify` to `{{ secrets.SLACK_WEBHOOK_URL }}` |
//! | email, mail | `email` `mail` to `{{ trigger.email }}` |
//!
//! Fields are read from the payload only where the request's `Payload:` line says
//! they exist (the drafting request's, from `pilot-engine`'s `drafting`): a sample's
//! fields, or the email trigger's shape. The text a prompt reads is the first of
//! [`TEXT_FIELDS`] the payload has, else the whole payload, `{{ trigger | tojson }}`;
//! the mail goes to the sample's `email`, an email trigger's `from`, else the
//! `NOTIFY_EMAIL` secret; the threshold tests `total` unless a sample has another
//! number and no `total`, and there is no condition when the payload has no number
//! (a sample without one, an email, a schedule tick).

use serde_json::{Value, json};

/// How the drafting request's payload line starts.
pub(crate) const PAYLOAD_LINE: &str = "Payload:";

/// Fields a prompt reads as the payload's text, in order of preference.
const TEXT_FIELDS: &[&str] = &[
    "text",
    "body",
    "message",
    "content",
    "description",
    "summary",
];

/// What the drafting request says the trigger's payload is.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Payload {
    /// No shape given, or an unknown JSON object.
    #[default]
    Unknown,
    /// A sample object: these fields exist.
    Sample(serde_json::Map<String, Value>),
    /// The email trigger's payload.
    Email,
    /// The schedule trigger's payload (no text).
    Schedule,
}

impl Payload {
    /// From the `Payload:` line of the user's messages: `sample {…} …`, `exactly
    /// {"from": …}` (email), `exactly {"scheduledAt": …}` (schedule), or anything
    /// else (unknown).
    pub(crate) fn read(user_messages: &[String]) -> Payload {
        let Some(line) = user_messages
            .iter()
            .flat_map(|text| text.lines())
            .find_map(|line| line.strip_prefix(PAYLOAD_LINE))
        else {
            return Payload::Unknown;
        };
        let line = line.trim();
        if let Some(sample) = line.strip_prefix("sample ") {
            let first = serde_json::Deserializer::from_str(sample)
                .into_iter::<Value>()
                .next();
            if let Some(Ok(Value::Object(fields))) = first {
                return Payload::Sample(fields);
            }
            return Payload::Unknown;
        }
        if line.starts_with("exactly {\"from\"") {
            Payload::Email
        } else if line.starts_with("exactly {\"scheduledAt\"") {
            Payload::Schedule
        } else {
            Payload::Unknown
        }
    }

    /// The template a prompt reads the payload's text with.
    fn text(&self) -> String {
        let field = match self {
            Payload::Sample(fields) => TEXT_FIELDS
                .iter()
                .find(|name| fields.get(**name).is_some_and(Value::is_string))
                .copied(),
            Payload::Email => Some("text"),
            Payload::Unknown | Payload::Schedule => None,
        };
        match field {
            Some(field) => format!("{{{{ trigger.{field} }}}}"),
            None => "{{ trigger | tojson }}".to_owned(),
        }
    }

    /// Where a mail goes.
    fn recipient(&self) -> &'static str {
        match self {
            Payload::Sample(fields) if fields.get("email").is_some_and(Value::is_string) => {
                "{{ trigger.email }}"
            }
            Payload::Email => "{{ trigger.from }}",
            _ => "{{ secrets.NOTIFY_EMAIL }}",
        }
    }

    /// The field a threshold tests: `total` when the payload may have it (unknown,
    /// or a sample with it), else a sample's first numeric field; `None` when the
    /// payload has no number to test (a sample without one, email, schedule), and the
    /// draft has no condition.
    fn number(&self) -> Option<String> {
        match self {
            Payload::Unknown => Some("total".to_owned()),
            Payload::Sample(fields) if fields.contains_key("total") => Some("total".to_owned()),
            Payload::Sample(fields) => fields
                .iter()
                .find(|(name, value)| {
                    value.is_number() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(|(name, _)| name.clone()),
            Payload::Email | Payload::Schedule => None,
        }
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "be", "by", "each", "every", "for", "from", "in", "into", "is",
    "it", "me", "my", "of", "on", "or", "our", "the", "them", "then", "this", "that", "to", "us",
    "we", "when", "with", "you", "your",
];

/// The `llm` step for the first word that asks for one: (id, instruction).
fn llm_kind(words: &[String]) -> (&'static str, &'static str) {
    words
        .iter()
        .find_map(|word| match word.as_str() {
            "summarize" | "summarise" | "summary" | "digest" | "tldr" => {
                Some(("summarize", "Summarize"))
            }
            "classify" | "categorize" | "categorise" | "triage" | "label" | "sentiment" => {
                Some(("classify", "Classify"))
            }
            "draft" | "write" | "reply" | "respond" | "compose" | "answer" => {
                Some(("draft", "Draft a reply to"))
            }
            "translate" => Some(("translate", "Translate into English")),
            "analyze" | "analyse" | "ai" | "llm" | "review" => Some(("analyze", "Analyze")),
            _ => None,
        })
        .unwrap_or(("summarize", "Summarize"))
}

fn any(words: &[String], wanted: &[&str]) -> bool {
    words.iter().any(|word| wanted.contains(&word.as_str()))
}

const CONDITION_WORDS: &[&str] = &[
    "if",
    "only",
    "above",
    "over",
    "exceeds",
    "threshold",
    "greater",
];

/// The threshold: the first number after a condition word ("over 500"), else 100.
fn threshold(words: &[String]) -> u64 {
    let start = words
        .iter()
        .position(|word| CONDITION_WORDS.contains(&word.as_str()))
        .unwrap_or(0);
    words[start..]
        .iter()
        .find_map(|word| word.parse().ok())
        .unwrap_or(100)
}

/// Seconds from "N seconds/minutes/hours/days" in the words; 60 otherwise.
fn delay_seconds(words: &[String]) -> u64 {
    words
        .windows(2)
        .find_map(|pair| {
            let n: u64 = pair[0].parse().ok()?;
            let unit = match pair[1].trim_end_matches('s') {
                "second" | "sec" => 1,
                "minute" | "min" => 60,
                "hour" | "hr" => 3_600,
                "day" => 86_400,
                _ => return None,
            };
            Some(n.saturating_mul(unit))
        })
        .unwrap_or(60)
}

/// `{"steps": [...]}` for the description whose words these are, over this payload.
pub(crate) fn steps(words: &[String], payload: &Payload) -> Value {
    let topic: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !STOP_WORDS.contains(w) && w.parse::<u64>().is_err())
        .take(6)
        .collect();
    let topic = if topic.is_empty() {
        "the trigger".to_owned()
    } else {
        topic.join(" ")
    };
    let (llm_id, instruction) = llm_kind(words);
    let llm_output = format!("{{{{ steps.{llm_id}.output }}}}");
    let mut steps = Vec::new();

    if any(words, CONDITION_WORDS)
        && let Some(field) = payload.number()
    {
        let limit = threshold(words);
        let test = format!("{{{{ trigger.{field} > {limit} }}}}");
        steps.push(json!({"id": "gate", "type": "condition", "if": test}));
    }
    if any(
        words,
        &[
            "extract",
            "transform",
            "format",
            "convert",
            "parse",
            "reshape",
        ],
    ) {
        steps.push(json!({"id": "shape", "type": "transform", "values": {"text": payload.text()}}));
    }
    steps.push(json!({
        "id": llm_id,
        "type": "llm",
        "prompt": format!("{instruction} the following ({topic}):\n\n{}", payload.text()),
        "output": "text",
    }));
    if any(
        words,
        &["wait", "later", "delay", "pause", "tomorrow", "after"],
    ) {
        steps.push(json!({"id": "wait", "type": "delay", "seconds": delay_seconds(words)}));
    }
    if any(
        words,
        &[
            "slack", "post", "notify", "webhook", "alert", "discord", "teams", "ping",
        ],
    ) {
        steps.push(json!({
            "id": "notify",
            "type": "http",
            "method": "POST",
            "url": "{{ secrets.SLACK_WEBHOOK_URL }}",
            "body": {"text": llm_output},
        }));
    }
    if any(words, &["email", "mail", "inbox"]) {
        steps.push(json!({
            "id": "mail",
            "type": "email",
            "to": payload.recipient(),
            "subject": format!("Pilot: {topic}"),
            "body": llm_output,
        }));
    }
    json!({"steps": steps})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripted::dice::words;

    fn ids(description: &str) -> Vec<String> {
        steps(&words(description), &Payload::Unknown)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn words_choose_the_steps() {
        assert_eq!(
            ids("Summarize new support tickets and post them to Slack"),
            ["summarize", "notify"]
        );
        assert_eq!(
            ids("classify each order, wait 5 minutes, then email the customer"),
            ["classify", "wait", "mail"]
        );
        assert_eq!(
            ids("only orders over 500: extract the address"),
            ["gate", "shape", "summarize"]
        );
        assert_eq!(ids(""), ["summarize"]);
    }

    #[test]
    fn a_threshold_tests_a_number_the_payload_has_or_is_left_out() {
        let gate = |payload: &Payload| {
            let value = steps(&words("only orders over 500: summarize"), payload);
            value["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == "gate")
                .map(|s| s["if"].clone())
        };
        let sample = |v: Value| match v {
            Value::Object(fields) => Payload::Sample(fields),
            _ => unreachable!(),
        };
        assert_eq!(
            gate(&sample(json!({"orderId": "1", "amount": 9}))),
            Some(json!("{{ trigger.amount > 500 }}"))
        );
        assert_eq!(gate(&sample(json!({"orderId": "1", "note": "x"}))), None);
        assert_eq!(gate(&Payload::Email), None);
        assert_eq!(gate(&Payload::Schedule), None);
        assert_eq!(
            gate(&Payload::Unknown),
            Some(json!("{{ trigger.total > 500 }}"))
        );
    }

    #[test]
    fn steps_have_the_catalog_shapes() {
        let sample = json!({"email": "a@example.com", "total": 300, "text": "hi"});
        let Value::Object(sample) = sample else {
            unreachable!()
        };
        let value = steps(
            &words("draft a reply, wait 2 hours, notify slack and email; only above 250"),
            &Payload::Sample(sample),
        );
        let steps = value["steps"].as_array().unwrap();
        let by_id = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap().clone();
        assert_eq!(by_id("gate")["if"], "{{ trigger.total > 250 }}");
        assert_eq!(by_id("wait")["seconds"], 7_200);
        assert_eq!(by_id("notify")["body"]["text"], "{{ steps.draft.output }}");
        assert_eq!(by_id("notify")["url"], "{{ secrets.SLACK_WEBHOOK_URL }}");
        assert_eq!(by_id("mail")["to"], "{{ trigger.email }}");
        let draft = by_id("draft");
        assert_eq!(draft["type"], "llm");
        assert_eq!(draft["output"], "text");
        assert!(
            draft["prompt"]
                .as_str()
                .unwrap()
                .ends_with("{{ trigger.text }}")
        );
        for step in steps {
            let id = step["id"].as_str().unwrap();
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }

    #[test]
    fn fields_are_read_only_where_the_payload_has_them() {
        let request = |line: &str| {
            vec![format!(
                "Title: t\nTrigger: webhook\nPayload: {line}\nDescription: d"
            )]
        };
        let prompt = |payload: &Payload| {
            steps(&words("summarize it, email me"), payload)["steps"][0]["prompt"]
                .as_str()
                .unwrap()
                .rsplit("\n\n")
                .next()
                .unwrap()
                .to_owned()
        };
        let unknown = Payload::read(&request("unknown JSON object: do not guess"));
        assert_eq!(unknown, Payload::Unknown);
        assert_eq!(prompt(&unknown), "{{ trigger | tojson }}");
        let orders = Payload::read(&request(
            r#"sample {"orderId": "1234", "total": 49.0} (reference only these fields)"#,
        ));
        assert!(matches!(orders, Payload::Sample(_)), "{orders:?}");
        assert_eq!(prompt(&orders), "{{ trigger | tojson }}");
        let texts = Payload::read(&request(r#"sample {"id": 1, "message": "hi"} (…)"#));
        assert_eq!(prompt(&texts), "{{ trigger.message }}");
        let email = Payload::read(&request(r#"exactly {"from": string or null, …}"#));
        assert_eq!(email, Payload::Email);
        assert_eq!(prompt(&email), "{{ trigger.text }}");
        let mail = |payload: &Payload| {
            steps(&words("summarize it, email me"), payload)["steps"][1]["to"].clone()
        };
        assert_eq!(mail(&email), "{{ trigger.from }}");
        assert_eq!(mail(&unknown), "{{ secrets.NOTIFY_EMAIL }}");
        let scheduled = Payload::read(&request(r#"exactly {"scheduledAt": <the tick>}"#));
        assert_eq!(scheduled, Payload::Schedule);
        assert_eq!(prompt(&scheduled), "{{ trigger | tojson }}");
        let amounts = Payload::read(&request(r#"sample {"amount": 12, "note": "x"} (…)"#));
        let gate = steps(&words("only over 10"), &amounts)["steps"][0]["if"].clone();
        assert_eq!(gate, "{{ trigger.amount > 10 }}");
    }
}
