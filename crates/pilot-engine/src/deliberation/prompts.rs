//! What each stage says to its model. Prompts are built from the deliberation and
//! the panel's earlier work only — no clocks, no randomness — so the same
//! deliberation sends the same prompts (and the scripted model answers the same).
//!
//! Reviews and revisions show other answers without their authors: a persona judges
//! an argument, not a title.

use std::fmt::Write;

use pilot_models::{ChatRequest, JsonSchema, Message};
use pilot_store::DeliberationRecord;

use super::answers::{Answer, Stance};
use super::config::PersonaConfig;
use super::schemas;

/// The question, as every stage sees it.
fn question(record: &DeliberationRecord) -> String {
    format!(
        "Use case: {}\nDifficulty: {}\n\nQuestion:\n{}",
        record.use_case, record.difficulty, record.question
    )
}

fn persona_system(persona: &PersonaConfig, task: &str) -> String {
    format!(
        "{}\n\nYou are \"{}\" ({}), one of the advisers on a deliberation panel. {task}",
        persona.system_prompt.trim(),
        persona.name,
        persona.role
    )
}

const ANSWER_TASK: &str = "Answer the question independently, from your perspective. \
Reply in JSON: stance — \"yes\", \"no\" or \"depends\", your answer to the question's main \
proposal (for an either/or question, \"yes\" favours the first option); position — your \
recommendation and its reasoning, in a few sentences; key_claims — one to five claims \
your position rests on; risks — up to five risks of following it; confidence — 0 to 10, \
how sure you are.";

const REVIEW_TASK: &str = "Other advisers have answered; you see their answers without \
their names. Review each one on its merits: score it 0 to 10 for soundness and \
usefulness, and name the strongest objection to it. Reply in JSON with a review for \
every label shown, and no other.";

const REVISION_TASK: &str = "The panel disagrees, or the question is hard. You see your \
first answer, the objections your peers raised against it, and the others' answers \
without their names. Revise your answer if the objections or the other answers \
persuade you; keep it if they do not. Reply in JSON in the same shape as before.";

const ARBITER_SYSTEM: &str = "You are the arbiter of a deliberation panel. \
The advisers answered independently, reviewed each other anonymously, and some may have \
revised. Weigh the arguments, not the headcount. Reply in JSON: synthesis — the \
deliberated answer in Markdown: the recommendation, the reasoning that survived review, \
the conditions under which it holds, and the main risks; summary — one paragraph \
stating the answer in brief; minority_report — the strongest dissenting view and why it \
was not adopted, or an empty string if the panel was unanimous. Do not rate your \
confidence: it is computed from the panel's work.";

const ROUTER_SYSTEM: &str = "You are a careful expert adviser. Answer the question \
directly and usefully. Reply in JSON: answer — the answer in Markdown, with its \
reasoning, conditions and main risks; summary — one paragraph stating the answer in \
brief; confidence — 0 to 10, how sure you are.";

/// An answer as other personas and the arbiter read it.
pub fn render_answer(answer: &Answer) -> String {
    let mut out = format!(
        "Stance: {}\nPosition: {}\nKey claims:\n",
        answer.stance, answer.position
    );
    for claim in &answer.key_claims {
        let _ = writeln!(out, "- {claim}");
    }
    if answer.risks.is_empty() {
        out.push_str("Risks: none named\n");
    } else {
        out.push_str("Risks:\n");
        for risk in &answer.risks {
            let _ = writeln!(out, "- {risk}");
        }
    }
    out
}

fn persona_request(
    persona: &PersonaConfig,
    task: &str,
    user: String,
    schema: JsonSchema,
) -> ChatRequest {
    let request = ChatRequest::new(vec![
        Message::system(persona_system(persona, task)),
        Message::user(user),
    ])
    .with_schema(schema);
    match persona.model.as_deref().filter(|m| !m.is_empty()) {
        Some(model) => request.with_model(model),
        None => request,
    }
}

/// Stage 1: a persona's independent answer.
pub fn answer(persona: &PersonaConfig, record: &DeliberationRecord) -> ChatRequest {
    persona_request(
        persona,
        ANSWER_TASK,
        question(record),
        JsonSchema::new("persona_answer", schemas::answer()),
    )
}

/// Stage 2: a persona's review of the answers `shown` as `(label, answer)`.
pub fn review(
    persona: &PersonaConfig,
    record: &DeliberationRecord,
    shown: &[(String, &Answer)],
) -> ChatRequest {
    let mut user = question(record);
    user.push_str("\n\nThe other advisers' answers:\n");
    for (label, answer) in shown {
        let _ = write!(user, "\n[{label}]\n{}", render_answer(answer));
    }
    let labels: Vec<String> = shown.iter().map(|(label, _)| label.clone()).collect();
    persona_request(
        persona,
        REVIEW_TASK,
        user,
        JsonSchema::new("peer_review", schemas::review(&labels)),
    )
}

/// Stage 3: a persona's revision, given the objections to its answer and the others.
pub fn revision(
    persona: &PersonaConfig,
    record: &DeliberationRecord,
    own: &Answer,
    objections: &[&str],
    others: &[&Answer],
) -> ChatRequest {
    let mut user = question(record);
    let _ = write!(user, "\n\nYour first answer:\n{}", render_answer(own));
    user.push_str("\nObjections your peers raised against it:\n");
    if objections.is_empty() {
        user.push_str("- none were raised\n");
    }
    for objection in objections {
        let _ = writeln!(user, "- {objection}");
    }
    user.push_str("\nThe other advisers' answers:\n");
    for (n, answer) in others.iter().enumerate() {
        let _ = write!(user, "\n[{}]\n{}", n + 1, render_answer(answer));
    }
    persona_request(
        persona,
        REVISION_TASK,
        user,
        JsonSchema::new("persona_answer", schemas::answer()),
    )
}

/// What the arbiter is told about one panel member.
pub struct MemberBrief<'a> {
    pub persona: &'a PersonaConfig,
    pub answer: &'a Answer,
    pub revised: bool,
    pub peer_score: Option<f64>,
    pub objections: Vec<&'a str>,
}

/// Stage 4: the arbiter's synthesis of the panel's final answers.
pub fn arbiter(
    record: &DeliberationRecord,
    members: &[MemberBrief<'_>],
    panel_size: usize,
    tally: &[(Stance, usize)],
) -> ChatRequest {
    let mut user = question(record);
    let stances: Vec<String> = tally.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    let _ = write!(
        user,
        "\n\n{} of {panel_size} advisers answered. Stances: {}.\n",
        members.len(),
        stances.join(", ")
    );
    for member in members {
        let _ = write!(
            user,
            "\n## {} — {}{}\n{}",
            member.persona.name,
            member.persona.role,
            if member.revised { " (revised)" } else { "" },
            render_answer(member.answer)
        );
        let _ = writeln!(user, "Self-rated confidence: {}", member.answer.confidence);
        match member.peer_score {
            Some(score) => {
                let _ = writeln!(user, "Mean peer score: {score:.1}");
            }
            None => user.push_str("Mean peer score: not reviewed\n"),
        }
        if !member.objections.is_empty() {
            user.push_str("Objections raised by peers:\n");
            for objection in &member.objections {
                let _ = writeln!(user, "- {objection}");
            }
        }
    }
    ChatRequest::new(vec![Message::system(ARBITER_SYSTEM), Message::user(user)])
        .with_schema(JsonSchema::new("arbiter_synthesis", schemas::synthesis()))
}

/// `smartroute1`: the one routed call.
pub fn routed(record: &DeliberationRecord) -> ChatRequest {
    ChatRequest::new(vec![
        Message::system(ROUTER_SYSTEM),
        Message::user(question(record)),
    ])
    .with_schema(JsonSchema::new("routed_answer", schemas::routed()))
}

const SPECIALISTS_SYSTEM: &str = "You staff a deliberation panel. It has its five regular \
advisers; pick the specialists, from the list you are given, whose perspective the question \
needs most and the regulars lack. Reply in JSON: specialists — their names, exactly as \
listed; reason — why, in a sentence.";

/// `deliberation2`: the router picks `n` specialists from `pool` for the question.
pub fn specialists(
    record: &DeliberationRecord,
    panel: &[PersonaConfig],
    pool: &[PersonaConfig],
    n: usize,
) -> ChatRequest {
    let mut user = question(record);
    user.push_str("\n\nThe regular advisers:\n");
    for persona in panel {
        let _ = writeln!(user, "- {} — {}", persona.name, persona.role);
    }
    let _ = writeln!(user, "\nPick {n} specialists from:");
    for persona in pool {
        let _ = writeln!(user, "- {} — {}", persona.name, persona.role);
    }
    let names: Vec<&str> = pool.iter().map(|p| p.name.as_str()).collect();
    ChatRequest::new(vec![
        Message::system(SPECIALISTS_SYSTEM),
        Message::user(user),
    ])
    .with_schema(JsonSchema::new(
        "specialists",
        schemas::specialists(&names, n),
    ))
}

/// The deliberation as later stages see it once a person has spoken: `addition`
/// (a constraint, a note on a draft) follows the question in every prompt.
pub fn with_guidance(record: &DeliberationRecord, addition: &str) -> DeliberationRecord {
    let mut guided = record.clone();
    let _ = write!(
        guided.question,
        "\n\nFrom the person overseeing this panel: {addition}"
    );
    guided
}
