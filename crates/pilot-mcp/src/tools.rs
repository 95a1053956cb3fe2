//! The tool catalog: every tool's name, description, scope, schemas and hints, in
//! the fixed order `tools/list` answers with.

use std::sync::Arc;

use pilot_domain::deliberation::SubmissionBody;
use pilot_domain::{Mode, Scope};
use pilot_operations::pilots::{CreatePilot, UpdatePilot};
use pilot_operations::runs::RetryRequest;
use pilot_operations::views::{
    BalanceView, DeliveryPage, DeliveryView, PendingView, PilotDetail, PilotList, PricingView,
    RunPage, RunView, TerminalView,
};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::schema;

/// What a tool is, as listed.
pub struct Spec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The scope a key needs to see and call it.
    pub scope: Scope,
    input: fn() -> JsonObject,
    output: fn() -> JsonObject,
    /// `readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`.
    hints: (bool, bool, bool, bool),
}

impl Spec {
    pub fn tool(&self) -> Tool {
        let (read_only, destructive, idempotent, open_world) = self.hints;
        Tool::new(self.name, self.description, Arc::new((self.input)()))
            .with_title(self.title)
            .with_raw_output_schema(Arc::new((self.output)()))
            .with_annotations(
                ToolAnnotations::with_title(self.title)
                    .read_only(read_only)
                    .destructive(destructive)
                    .idempotent(idempotent)
                    .open_world(open_world),
            )
    }
}

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static Spec> {
    CATALOG.iter().find(|spec| spec.name == name)
}

const READ: (bool, bool, bool, bool) = (true, false, true, false);

pub static CATALOG: &[Spec] = &[
    Spec {
        name: "list_pilots",
        title: "List pilots",
        description: "Lists the pilots (automations) of the key's workspace and environment, newest first: id, title, status, trigger type, run count and last run.",
        scope: Scope::PilotsRead,
        input: no_arguments,
        output: schema::of::<PilotList>,
        hints: READ,
    },
    Spec {
        name: "get_pilot",
        title: "Get a pilot",
        description: "Reads one pilot by `id`: its steps, trigger (webhook URL, schedule, email address), status and counts.",
        scope: Scope::PilotsRead,
        input: pilot_id,
        output: schema::of::<PilotDetail>,
        hints: READ,
    },
    Spec {
        name: "create_pilot",
        title: "Create a pilot",
        description: "Creates a pilot from plain English: `title`, `description` (what it should do; the AI drafts the steps from it unless `steps` are given) and `triggerType` (`manual`, `webhook`, `schedule` with `schedule`, or `email`). Answers the pilot with its drafted steps.",
        scope: Scope::PilotsWrite,
        input: create_pilot,
        output: schema::of::<PilotDetail>,
        hints: (false, false, false, false),
    },
    Spec {
        name: "update_pilot",
        title: "Update a pilot",
        description: "Changes pilot `id`: any of `title`, `description`, `triggerType`, `steps`, `notifyUrl`, and `status` (`paused` to pause it, `active` to resume). Fields left out keep their value.",
        scope: Scope::PilotsWrite,
        input: update_pilot,
        output: schema::of::<PilotDetail>,
        hints: (false, true, true, false),
    },
    Spec {
        name: "run_pilot",
        title: "Run a pilot",
        description: "Fires pilot `id` with `payload` (its trigger payload, a JSON object) and answers the run at once: its id, status and steps so far, with a link to pilot://runs/{id}. With `wait_seconds` (0 to 50) it waits for the run to finish, sending progress notifications when asked; a cancelled wait never cancels the run.",
        scope: Scope::PilotsWrite,
        input: run_pilot,
        output: schema::of::<RunView>,
        hints: (false, false, false, true),
    },
    Spec {
        name: "get_runs",
        title: "Get a pilot's runs",
        description: "Lists the runs of pilot `id`, newest first: the 10 most recent by default (`limit` 1 to 100), older ones with `before` (the previous page's `nextBefore`).",
        scope: Scope::PilotsRead,
        input: get_runs,
        output: schema::of::<RunPage>,
        hints: READ,
    },
    Spec {
        name: "get_run",
        title: "Get a run",
        description: "Reads run `id` with each step's status, output and error.",
        scope: Scope::PilotsRead,
        input: run_id,
        output: schema::of::<RunView>,
        hints: READ,
    },
    Spec {
        name: "retry_run",
        title: "Retry a run",
        description: "Runs finished run `id` again as a new run, `from` its `start` (default) or its first `failed_step` (keeping the earlier steps' results); answers the new run.",
        scope: Scope::PilotsWrite,
        input: retry_run,
        output: schema::of::<RunView>,
        hints: (false, false, false, true),
    },
    Spec {
        name: "submit_deliberation",
        title: "Submit a deliberation",
        description: "Asks the five-persona panel a `question` (10 to 2,000 characters) with optional `mode` (`deliberation1`, `smartroute1`, or `deliberation2`: seven personas that stop at three checkpoints for a person), `use_case`, `difficulty`, `webhook_url` and `metadata`, reserving the estimated credits. Answers at once with the deliberation (status `queued`) and a link to pilot://deliberations/{id}; with `wait_seconds` (0 to 50) it waits for the result. At a `deliberation2` checkpoint a client that supports elicitation is asked for the answer and the wait goes on; otherwise the deliberation comes back with its `checkpoint`, to answer with `respond_checkpoint`. `idempotency_key` makes a retried call return the first one's deliberation.",
        scope: Scope::DeliberationsWrite,
        input: submit_deliberation,
        output: deliberation,
        hints: (false, false, false, true),
    },
    Spec {
        name: "respond_checkpoint",
        title: "Answer a deliberation2 checkpoint",
        description: "Answers the open `checkpoint_id` (`chk_…`) of `deliberation2` `id`, with `answer` — at `answers`: `{\"drop\": [persona…], \"add\": [persona…], \"constraint\": \"…\"}`; at `reviews`: `{\"revise\": [persona…]}`; at `synthesis`: `{\"decision\": \"approve\"}` or `{\"decision\": \"send_back\", \"note\": \"…\"}` — or with `form`, the checkpoint's form fields. The panel goes on at once; with `wait_seconds` (0 to 50) the call waits for the next checkpoint or the result, as `submit_deliberation` does.",
        scope: Scope::DeliberationsWrite,
        input: respond_checkpoint,
        output: deliberation,
        hints: (false, false, false, true),
    },
    Spec {
        name: "get_deliberation",
        title: "Get a deliberation",
        description: "Reads deliberation `id`: while pending its status (and a `deliberation2`'s open `checkpoint`, to answer with `respond_checkpoint`), once terminal the synthesis, summary, minority report, confidence index and credits charged (or the error). `include_panel` adds every persona answer and review.",
        scope: Scope::DeliberationsRead,
        input: get_deliberation,
        output: deliberation,
        hints: READ,
    },
    Spec {
        name: "get_balance",
        title: "Get the credit balance",
        description: "Reads the credit balance of the key's workspace and environment.",
        scope: Scope::DeliberationsRead,
        input: no_arguments,
        output: schema::of::<BalanceView>,
        hints: READ,
    },
    Spec {
        name: "get_pricing",
        title: "Get the pricing",
        description: "Reads what deliberations cost here: the credits each `mode` and `difficulty` reserves at submit, and the per-million-token model prices calls are charged at, for the key's environment.",
        scope: Scope::DeliberationsRead,
        input: no_arguments,
        output: schema::of::<PricingView>,
        hints: READ,
    },
    Spec {
        name: "list_deliveries",
        title: "List webhook deliveries",
        description: "Lists webhook deliveries, newest first, with their event, endpoint, status (`pending`, `succeeded`, `failed`, `dead`, `disabled`), attempts and next attempt; filtered by `status` or `endpoint` (`wep_…`), paged with `before` (`dlv_…`) and `limit` (1 to 100).",
        scope: Scope::DeliberationsRead,
        input: list_deliveries,
        output: schema::of::<DeliveryPage>,
        hints: READ,
    },
    Spec {
        name: "replay_delivery",
        title: "Replay a webhook delivery",
        description: "Queues one new attempt of delivery `id` (`dlv_…`) now, outside its retry schedule; answers the delivery.",
        scope: Scope::DeliberationsWrite,
        input: delivery_id,
        output: schema::of::<DeliveryView>,
        hints: (false, false, false, true),
    },
];

fn no_arguments() -> JsonObject {
    schema::object(Vec::new())
}

fn integer_id(what: &str) -> Value {
    json!({"type": "integer", "minimum": 1, "description": what})
}

fn pilot_id() -> JsonObject {
    schema::object(vec![("id", integer_id("The pilot's id."), true)])
}

fn run_id() -> JsonObject {
    schema::object(vec![("id", integer_id("The run's id."), true)])
}

fn wait_seconds() -> Value {
    json!({
        "type": "integer", "minimum": 0, "maximum": 50,
        "description": "Seconds to wait for a terminal state (default 0: answer at once)."
    })
}

fn create_pilot() -> JsonObject {
    schema::of::<CreatePilot>()
}

fn update_pilot() -> JsonObject {
    schema::extend(
        schema::of::<UpdatePilot>(),
        vec![("id", integer_id("The pilot's id."), true)],
    )
}

fn run_pilot() -> JsonObject {
    schema::object(vec![
        ("id", integer_id("The pilot's id."), true),
        (
            "payload",
            json!({"type": "object", "description": "The trigger payload the steps read as `trigger`."}),
            false,
        ),
        ("wait_seconds", wait_seconds(), false),
    ])
}

fn get_runs() -> JsonObject {
    schema::object(vec![
        ("id", integer_id("The pilot's id."), true),
        (
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 100}),
            false,
        ),
        (
            "before",
            integer_id("Only runs older than this run id."),
            false,
        ),
    ])
}

fn retry_run() -> JsonObject {
    schema::extend(
        schema::of::<RetryRequest>(),
        vec![("id", integer_id("The run's id."), true)],
    )
}

fn submit_deliberation() -> JsonObject {
    schema::extend(
        schema::of::<SubmissionBody>(),
        vec![
            (
                "idempotency_key",
                json!({"type": "string", "minLength": 1, "maxLength": 255,
                       "description": "Retries with the same key and arguments return the first call's deliberation."}),
                false,
            ),
            ("wait_seconds", wait_seconds(), false),
            // Over MCP, unlike REST, a deliberation may stop for a person.
            (
                "mode",
                json!({"type": "string", "enum": Mode::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                       "description": "`deliberation1` (five personas, the default), `smartroute1` (one routed model) or `deliberation2` (seven personas, three checkpoints for a person)."}),
                false,
            ),
        ],
    )
}

fn respond_checkpoint() -> JsonObject {
    schema::object(vec![
        (
            "id",
            json!({"type": "string", "description": "The deliberation's id (`del_…`)."}),
            true,
        ),
        (
            "checkpoint_id",
            json!({"type": "string", "description": "The open checkpoint's id (`chk_…`)."}),
            true,
        ),
        (
            "answer",
            json!({"type": "object", "description": "The structured answer (see the description)."}),
            false,
        ),
        (
            "form",
            json!({"type": "object", "description": "The checkpoint's form fields, as its `form` schema says."}),
            false,
        ),
        ("wait_seconds", wait_seconds(), false),
    ])
}

fn get_deliberation() -> JsonObject {
    schema::object(vec![
        (
            "id",
            json!({"type": "string", "description": "The deliberation's id (`del_…`)."}),
            true,
        ),
        (
            "include_panel",
            json!({"type": "boolean", "description": "Add the panel's work."}),
            false,
        ),
    ])
}

fn list_deliveries() -> JsonObject {
    schema::object(vec![
        (
            "status",
            json!({"type": "string", "enum": ["pending", "succeeded", "failed", "dead", "disabled"]}),
            false,
        ),
        (
            "endpoint",
            json!({"type": "string", "description": "An endpoint id (`wep_…`)."}),
            false,
        ),
        (
            "before",
            json!({"type": "string", "description": "A delivery id (`dlv_…`)."}),
            false,
        ),
        (
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 100}),
            false,
        ),
    ])
}

fn delivery_id() -> JsonObject {
    schema::object(vec![(
        "id",
        json!({"type": "string", "description": "The delivery's id (`dlv_…`)."}),
        true,
    )])
}

/// A deliberation as `GET /v1/api/deliberations/{id}` reads it: pending or terminal
/// (`anyOf`: a terminal view also has every field a pending one requires).
fn deliberation() -> JsonObject {
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert(
        "anyOf".into(),
        Value::Array(vec![
            Value::Object(schema::of::<PendingView>()),
            Value::Object(schema::of::<TerminalView>()),
        ]),
    );
    out
}
