//! `deliberation2` through the operations every interface calls, with the server's
//! own worker running the panel on the scripted model (test mode): the three
//! checkpoints in order, the person's changes reaching the panel, a stale or
//! malformed answer refused, an unanswered checkpoint expiring with a full refund,
//! and another tenant unable to see or answer a checkpoint. On SQLite, and on
//! PostgreSQL when `PILOT_TEST_POSTGRES_URL` is set. (MCP, its elicitation and the
//! dashboard drive the same operations in `.ci/mcp` and `.ci/browser`.)

use std::time::Duration;

use pilot_domain::deliberation::SubmissionBody;
use pilot_domain::{Channel, Credits, Difficulty, Environment, Mode, Principal, WorkspaceName};
use pilot_operations::deliberations::{CheckpointReply, DeliberationQuery};
use pilot_operations::views::{CheckpointView, DeliberationView, TerminalView};
use pilot_operations::{ErrorCode, Operations, Operator};
use pilot_testkit::backends;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, spawn_with, test_config};

const QUESTION: &str = "Should we move our support team to a four-day week this spring?";
/// The hang guard: only a broken panel takes this long.
const GUARD: Duration = Duration::from_secs(60);

fn ops(app: &TestApp) -> Operations {
    app.app.operations(app.url.clone())
}

async fn principal(ops: &Operations, key: &str) -> Principal {
    let header = format!("Bearer {key}");
    ops.authenticate(Some(Ok(header.as_str()))).await.unwrap()
}

async fn submit(ops: &Operations, who: &Principal) -> String {
    let body: SubmissionBody =
        serde_json::from_value(json!({"question": QUESTION, "mode": "deliberation2"})).unwrap();
    let accepted = ops
        .submit_deliberation(who, Ok(body), None, Channel::Interactive)
        .await
        .result
        .expect("an interactive submission takes deliberation2")
        .to_json();
    accepted["deliberation_id"].as_str().unwrap().to_owned()
}

async fn view(ops: &Operations, who: &Principal, id: &str) -> DeliberationView {
    ops.get_deliberation(who, id, &DeliberationQuery::default())
        .await
        .result
        .unwrap()
}

/// Waits until the deliberation waits at checkpoint `seq`.
async fn checkpoint(ops: &Operations, who: &Principal, id: &str, seq: i32) -> CheckpointView {
    let waited = tokio::time::timeout(GUARD, async {
        loop {
            let now = view(ops, who, id).await;
            if let Some(open) = now.checkpoint().filter(|c| c.seq == seq) {
                return open.clone();
            }
            assert!(!now.is_terminal(), "ended before checkpoint {seq}: {now:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    waited.await.expect("the checkpoint opens")
}

async fn ended(ops: &Operations, who: &Principal, id: &str) -> TerminalView {
    let waited = tokio::time::timeout(GUARD, async {
        loop {
            if let DeliberationView::Terminal(done) = view(ops, who, id).await {
                return done;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    waited.await.expect("the deliberation ends")
}

async fn answer(
    ops: &Operations,
    who: &Principal,
    id: &str,
    checkpoint: &str,
    value: Value,
) -> Result<DeliberationView, pilot_operations::OpError> {
    ops.respond_checkpoint(who, id, checkpoint, CheckpointReply::Answer(value))
        .await
        .result
}

async fn balance(app: &TestApp, env: Environment) -> Credits {
    let store = &app.db.store;
    let default = store.find_workspace("default").await.unwrap().unwrap();
    store.balance(default.id, env).await.unwrap()
}

#[tokio::test]
async fn a_person_steers_the_panel_through_its_three_checkpoints() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let ops = ops(&app);
        let who = principal(&ops, &app.test_key).await;
        let before = balance(&app, Environment::Test).await;
        let id = submit(&ops, &who).await;

        // 1. The first answers: five regulars and two specialists.
        let first = checkpoint(&ops, &who, &id, 1).await;
        assert_eq!(first.kind, "answers");
        assert_eq!(first.positions.len(), 7, "{first:?}");
        assert_eq!(first.min_panel, 3);
        assert!(!first.addable.is_empty());
        assert_eq!(first.form["properties"]["keep_skeptic"]["default"], true);
        let dropped = first.positions[0].persona.clone();
        let added = first.addable[0].name.clone();
        // Too few personas left, and a stranger, are refused with nothing written.
        let everyone: Vec<&str> = first.positions.iter().map(|p| p.persona.as_str()).collect();
        let refused = answer(&ops, &who, &id, &first.id, json!({"drop": everyone}))
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationError, "{refused:?}");
        let stranger = answer(&ops, &who, &id, &first.id, json!({"add": ["nobody"]}))
            .await
            .unwrap_err();
        assert_eq!(stranger.code, ErrorCode::ValidationError);
        let resumed = answer(
            &ops,
            &who,
            &id,
            &first.id,
            json!({"drop": [dropped], "add": [added], "constraint": "Keep the budget flat."}),
        )
        .await
        .expect("the answer is taken");
        assert!(resumed.checkpoint().is_none(), "{resumed:?}");
        let again = answer(&ops, &who, &id, &first.id, json!({}))
            .await
            .unwrap_err();
        assert_eq!(again.code, ErrorCode::Conflict, "a stale form: {again:?}");

        // 2. The reviews, over the panel as the person left it.
        let reviews = checkpoint(&ops, &who, &id, 2).await;
        assert_eq!(reviews.kind, "reviews");
        let names: Vec<&str> = reviews
            .positions
            .iter()
            .map(|p| p.persona.as_str())
            .collect();
        assert!(names.contains(&added.as_str()) && !names.contains(&dropped.as_str()));
        assert!(reviews.positions.iter().all(|p| p.peer_score.is_some()));
        let revise = reviews.positions[1].persona.clone();
        answer(&ops, &who, &id, &reviews.id, json!({"revise": [revise]}))
            .await
            .unwrap();

        // 3. The draft: sent back once with a note, then approved.
        let draft = checkpoint(&ops, &who, &id, 3).await;
        assert_eq!(draft.kind, "synthesis");
        assert!(draft.can_send_back);
        let revised: Vec<&str> = draft
            .positions
            .iter()
            .filter(|p| p.revised)
            .map(|p| p.persona.as_str())
            .collect();
        assert_eq!(revised, [revise.as_str()]);
        let first_draft = draft.draft.clone().expect("a draft").synthesis;
        let no_note = answer(&ops, &who, &id, &draft.id, json!({"decision": "send_back"}))
            .await
            .unwrap_err();
        assert_eq!(no_note.code, ErrorCode::ValidationError);
        answer(
            &ops,
            &who,
            &id,
            &draft.id,
            json!({"decision": "send_back", "note": "Say what it costs."}),
        )
        .await
        .unwrap();
        let redraft = checkpoint(&ops, &who, &id, 4).await;
        assert_eq!(redraft.kind, "synthesis");
        assert_ne!(redraft.draft.as_ref().unwrap().synthesis, first_draft);
        answer(&ops, &who, &id, &redraft.id, json!({"decision": "approve"}))
            .await
            .unwrap();

        let done = ended(&ops, &who, &id).await;
        assert_eq!(done.status, "completed", "{done:?}");
        assert_eq!(
            done.synthesis.as_deref(),
            Some(redraft.draft.as_ref().unwrap().synthesis.as_str())
        );
        assert_eq!(done.degraded, Some(false));
        let charged = done.credits_charged;
        assert!(
            charged > Credits::ZERO,
            "test credits are charged: {done:?}"
        );
        let estimate = app.app.config.deliberations.estimates.deliberation2[1];
        assert!(charged <= estimate);
        assert_eq!(
            balance(&app, Environment::Test).await.micros(),
            before.micros() - charged.micros()
        );

        // The panel's record holds the router's choice and every answer given.
        let query = DeliberationQuery {
            include: Some("panel".into()),
        };
        let DeliberationView::Terminal(full) = ops
            .get_deliberation(&who, &id, &query)
            .await
            .result
            .unwrap()
        else {
            panic!("terminal");
        };
        let panel = full.panel.unwrap();
        let stage = |s: &str| panel.iter().filter(|e| e.stage == s).count();
        assert_eq!(stage("specialists"), 1);
        assert_eq!(stage("checkpoint"), 4);
        assert_eq!(stage("synthesis"), 2);
        assert_eq!(stage("revision"), 1);
        app.shut_down().await.unwrap();
    }
}

#[tokio::test]
async fn an_unanswered_checkpoint_expires_and_everything_is_refunded() {
    for backend in backends() {
        let mut config = test_config();
        config.deliberations.checkpoint_ttl_secs = 1;
        let app = spawn_with(backend, config).await;
        let ops = ops(&app);
        let who = principal(&ops, &app.test_key).await;
        let before = balance(&app, Environment::Test).await;
        let id = submit(&ops, &who).await;
        let open = checkpoint(&ops, &who, &id, 1).await;
        // It reserved what the pricing table says deliberation2 reserves.
        let pricing = ops.pricing(&who).unwrap();
        let row = pricing
            .estimates
            .iter()
            .find(|e| e.mode == Mode::Deliberation2 && e.difficulty == Difficulty::Medium)
            .expect("deliberation2 has its own row");
        assert_eq!(
            balance(&app, Environment::Test).await.micros(),
            before.micros() - row.estimated_credits.micros(),
            "reserved"
        );

        let done = ended(&ops, &who, &id).await;
        assert_eq!(done.status, "failed");
        let error = done.error.expect("a failure says why");
        assert_eq!(error.code, "checkpoint_expired");
        assert_eq!(done.credits_charged, Credits::ZERO);
        assert_eq!(balance(&app, Environment::Test).await, before);
        let late = answer(&ops, &who, &id, &open.id, json!({}))
            .await
            .unwrap_err();
        assert_eq!(late.code, ErrorCode::Conflict);
        app.shut_down().await.unwrap();
    }
}

#[tokio::test]
async fn another_tenant_neither_sees_nor_answers_a_checkpoint() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let ops = ops(&app);
        let who = principal(&ops, &app.test_key).await;
        let id = submit(&ops, &who).await;
        let open = checkpoint(&ops, &who, &id, 1).await;

        // The same workspace's live key is another tenant (environment), and so is
        // a test key of another workspace.
        let acme = ops
            .create_workspace(&Operator::console(), &WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap();
        let live = principal(&ops, &app.live_key).await;
        let outsider = principal(&ops, acme.test.token.expose()).await;
        for stranger in [&live, &outsider] {
            let seen = ops
                .get_deliberation(stranger, &id, &DeliberationQuery::default())
                .await
                .result;
            assert_eq!(seen.unwrap_err().code, ErrorCode::NotFound);
            let answered = answer(&ops, stranger, &id, &open.id, json!({}))
                .await
                .unwrap_err();
            assert_eq!(answered.code, ErrorCode::NotFound);
        }
        // Still waiting, for its own tenant.
        let still = view(&ops, &who, &id).await;
        assert_eq!(
            still.checkpoint().map(|c| c.id.as_str()),
            Some(open.id.as_str())
        );
        app.shut_down().await.unwrap();
    }
}
