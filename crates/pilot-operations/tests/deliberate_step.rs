//! A pilot's `deliberate` step submits through the operations' implementation of the
//! engine's `DeliberationSubmitter` port: the same path as the API, so it is refused
//! whenever a request with the run's key would be — a revoked key, a key without
//! `deliberations:write`, a blocked question, a short balance — with nothing
//! charged; it shares the key's rate limit (and waits on it rather than failing);
//! and submitting one derived id twice creates one deliberation. Called directly,
//! with no runner and no HTTP. On SQLite, and on PostgreSQL when
//! `PILOT_TEST_POSTGRES_URL` is set.

mod common;

use common::{Limits, QUESTION, body, question, setup};
use pilot_domain::{ApiKeyId, DeliberationId, Difficulty, Environment, Mode, UseCase, WorkspaceId};
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_engine::steps::deliberate::{DeliberationSubmitter, StepDeliberation, Submitted};
use pilot_operations::{ErrorCode, ErrorKind, REVOKED};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

fn step(
    workspace: WorkspaceId,
    environment: Environment,
    key: Option<ApiKeyId>,
    seed: &str,
    question: &str,
) -> StepDeliberation {
    StepDeliberation {
        workspace_id: workspace,
        environment,
        key_id: key,
        id: DeliberationId::derived(1_700_000_000_000, seed),
        question: question.to_owned(),
        mode: Mode::Smartroute1,
        use_case: UseCase::Pricing,
        difficulty: Difficulty::Medium,
        metadata: json!({"pilot_id": 1, "run_id": 2, "step_id": "ask"}),
        caller: "run:2:ask".to_owned(),
    }
}

fn refused(submitted: Submitted) -> String {
    match submitted {
        Submitted::Refused(message) => message,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn the_step_is_refused_where_the_api_refuses_its_key_and_nothing_is_charged() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits::default(),
            DeliberationsConfig::default(),
        )
        .await;
        let ws = s.workspace;
        let test = Environment::Test;

        // Revoked: the API answers 401, the step fails naming the key.
        let revoked = s.key(test, "deliberations:write").await;
        assert!(
            s.store
                .revoke_api_key(ws, revoked.principal.key_id, common::NOW)
                .await
                .unwrap()
        );
        let api = s.authenticate(&revoked.token).await.unwrap_err();
        assert_eq!(
            (api.kind, api.message.as_str()),
            (ErrorKind::Unauthenticated, REVOKED)
        );
        let id = Some(revoked.principal.key_id);
        let message = refused(
            s.ops
                .submit(&step(ws, test, id, "r", QUESTION))
                .await
                .unwrap(),
        );
        assert!(
            message.contains("has been revoked"),
            "{backend:?}: {message}"
        );
        assert!(message.contains(&revoked.principal.key_prefix), "{message}");
        assert!(message.contains("nothing was charged"), "{message}");

        // Without deliberations:write: the API answers 403, and so does the step.
        let narrow = s.key(test, "pilots:write deliberations:read").await;
        let api = s
            .ops
            .submit_deliberation(
                &narrow.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(api.result.unwrap_err().code, ErrorCode::InsufficientScope);
        let id = Some(narrow.principal.key_id);
        let message = refused(
            s.ops
                .submit(&step(ws, test, id, "n", QUESTION))
                .await
                .unwrap(),
        );
        assert!(
            message.contains("lacks the deliberations:write scope"),
            "{backend:?}: {message}"
        );

        // A key of another environment (or none at all) is no key of this run's.
        let live = s.key(Environment::Live, "deliberations:write").await;
        let id = Some(live.principal.key_id);
        let message = refused(
            s.ops
                .submit(&step(ws, test, id, "l", QUESTION))
                .await
                .unwrap(),
        );
        assert!(message.contains("no longer exists"), "{message}");
        let message = refused(
            s.ops
                .submit(&step(ws, test, None, "0", QUESTION))
                .await
                .unwrap(),
        );
        assert!(message.contains("has no authorising API key"), "{message}");

        // A blocked question: content_blocked both ways.
        let writer = s.key(test, "deliberations:write").await;
        let blocked = format!("{QUESTION} [[scripted:block]]");
        let api = s
            .ops
            .submit_deliberation(
                &writer.principal,
                Ok(body(json!({"question": blocked}))),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(api.result.unwrap_err().code, ErrorCode::ContentBlocked);
        let id = Some(writer.principal.key_id);
        let message = refused(
            s.ops
                .submit(&step(ws, test, id, "b", &blocked))
                .await
                .unwrap(),
        );
        assert!(
            message.starts_with("content_blocked: the question failed the safety guardrails"),
            "{backend:?}: {message}"
        );

        // A question outside the bounds, by the rule a body is held to.
        let message = refused(
            s.ops
                .submit(&step(ws, test, id, "s", "Why?"))
                .await
                .unwrap(),
        );
        assert_eq!(message, "question must be 10 to 2000 characters (got 4)");

        // A short balance: 402 from the API, the step's own words for it.
        let poor = s.key(Environment::Live, "deliberations:write").await;
        let api = s
            .ops
            .submit_deliberation(
                &poor.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(api.result.unwrap_err().kind, ErrorKind::PaymentRequired);
        let id = Some(poor.principal.key_id);
        let live = Environment::Live;
        let message = refused(
            s.ops
                .submit(&step(ws, live, id, "p", QUESTION))
                .await
                .unwrap(),
        );
        assert_eq!(message, "insufficient credits: balance 0 < estimated 0.5");

        for seed in ["r", "n", "l", "0", "b", "s", "p"] {
            let id = DeliberationId::derived(1_700_000_000_000, seed);
            assert_eq!(s.store.load_deliberation(&id).await.unwrap(), None);
        }
        assert_eq!(s.reserves(test).await, 0, "{backend:?}");
        assert_eq!(s.reserves(live).await, 0);
    }
}

#[tokio::test]
async fn a_submission_is_made_once_per_id_under_the_runs_key() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits::default(),
            DeliberationsConfig::default(),
        )
        .await;
        let key = s.key(Environment::Test, "deliberations:write").await;
        let asked = step(
            s.workspace,
            Environment::Test,
            Some(key.principal.key_id),
            "once",
            &format!("  {QUESTION}  "),
        );
        assert_eq!(s.ops.submit(&asked).await.unwrap(), Submitted::Created);
        assert_eq!(
            s.ops.submit(&asked).await.unwrap(),
            Submitted::AlreadySubmitted,
            "{backend:?}"
        );
        let record = s.store.load_deliberation(&asked.id).await.unwrap().unwrap();
        assert_eq!(record.key_id, Some(key.principal.key_id));
        assert_eq!(record.question, QUESTION, "trimmed, as a body's is");
        assert_eq!(record.metadata, Some(asked.metadata.clone()));
        assert_eq!(
            (record.mode, record.use_case),
            (Mode::Smartroute1, UseCase::Pricing)
        );
        assert_eq!(s.reserves(Environment::Test).await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn the_step_spends_its_keys_rate_limit_and_is_told_when_to_come_back() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits { posts_per_hour: 2 },
            DeliberationsConfig::default(),
        )
        .await;
        let key = s.key(Environment::Test, "deliberations:write").await;
        let id = Some(key.principal.key_id);
        let (ws, test) = (s.workspace, Environment::Test);

        // One submission through the API, one by the step: the key's two.
        let api = s
            .ops
            .submit_deliberation(
                &key.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(api.rate_limit.map(|s| s.remaining), Some(1), "{backend:?}");
        let first = step(ws, test, id, "first", QUESTION);
        assert_eq!(s.ops.submit(&first).await.unwrap(), Submitted::Created);
        let api = s
            .ops
            .submit_deliberation(
                &key.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(api.result.unwrap_err().code, ErrorCode::RateLimited);

        // The step is not failed: it is told when one more submission is let through.
        let second = step(ws, test, id, "second", QUESTION);
        let Submitted::RateLimited { retry_at } = s.ops.submit(&second).await.unwrap() else {
            panic!("{backend:?}: not rate limited")
        };
        assert_eq!(
            retry_at,
            common::NOW.plus_ms(1_800_000),
            "one request every 30 min"
        );
        assert_eq!(s.store.load_deliberation(&second.id).await.unwrap(), None);
        s.clock.advance_ms(1_800_000);
        assert_eq!(s.ops.submit(&second).await.unwrap(), Submitted::Created);
        assert_eq!(s.reserves(test).await, 3, "{backend:?}");
    }
}
