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

use serde_json::{Value, json};

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

/// `{"steps": [...]}` for the description whose words these are.
pub(crate) fn steps(words: &[String]) -> Value {
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

    if any(words, CONDITION_WORDS) {
        let limit = threshold(words);
        let test = format!("{{{{ trigger.total > {limit} }}}}");
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
        steps.push(
            json!({"id": "shape", "type": "transform", "values": {"text": "{{ trigger.text }}"}}),
        );
    }
    steps.push(json!({
        "id": llm_id,
        "type": "llm",
        "prompt": format!("{instruction} the following ({topic}):\n\n{{{{ trigger.text }}}}"),
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
            "to": "{{ trigger.email }}",
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
        steps(&words(description))["steps"]
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
    fn steps_have_the_catalog_shapes() {
        let value = steps(&words(
            "draft a reply, wait 2 hours, notify slack and email; only above 250",
        ));
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
}
