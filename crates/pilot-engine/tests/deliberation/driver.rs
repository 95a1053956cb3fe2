//! The `deliberate` job's driver against a real store (SQLite, and PostgreSQL when
//! `PILOT_TEST_POSTGRES_URL` is set), on the scripted model.

use std::sync::Arc;

use pilot_domain::{
    ApiKeyId, ApiKeyToken, Credits, DeliberationId, DeliberationStatus, Difficulty, Environment,
    FailureCode, Mode, Scopes, UseCase, WorkspaceId, WorkspaceName,
};
use pilot_engine::deliberation::{DeliberationDeps, DeliberationsConfig, drive_deliberation};
use pilot_engine::{JobOutcome, ManualClock};
use pilot_store::{CreateDeliberation, NewApiKey, NewDeliberation, Store};
use pilot_testkit::{TestDb, backends};

use crate::harness::{NOW, QUESTION, scripted};

const ENV: Environment = Environment::Test;

/// A workspace with 10 test credits and a test key.
async fn workspace(store: &Arc<dyn Store>) -> (WorkspaceId, ApiKeyId) {
    let token = ApiKeyToken::generate(ENV);
    let key = NewApiKey {
        environment: ENV,
        name: "test key".into(),
        prefix: token.display_prefix(),
        digest: token.digest(),
        scopes: Scopes::all(),
        webhook_secret_sealed: "sealed".into(),
    };
    let name = WorkspaceName::parse("acme").unwrap();
    let (workspace, keys) = store.create_workspace(&name, &[key], NOW).await.unwrap();
    store
        .grant_credits(workspace.id, ENV, Credits::from_credits(10), "test", NOW)
        .await
        .unwrap();
    (workspace.id, keys[0].id)
}

async fn submit(
    store: &Arc<dyn Store>,
    (workspace, key): (WorkspaceId, ApiKeyId),
    ulid: &str,
    question: &str,
) -> DeliberationId {
    let new = NewDeliberation {
        id: DeliberationId::from_ulid_text(ulid),
        key_id: Some(key),
        mode: Mode::Deliberation1,
        use_case: UseCase::Code,
        difficulty: Difficulty::Medium,
        question: question.to_owned(),
        webhook_url: None,
        metadata: None,
        estimate: Credits::from_micros(4_200_000),
    };
    match store
        .create_deliberation(workspace, ENV, &new, NOW)
        .await
        .unwrap()
    {
        CreateDeliberation::Created(record) => record.id,
        other => panic!("not created: {other:?}"),
    }
}

#[tokio::test]
async fn drives_deliberations_to_completed_and_failed() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.store.clone();
        let tenant = workspace(&store).await;
        let deps = DeliberationDeps {
            store: store.clone(),
            clock: Arc::new(ManualClock::new(NOW)),
            pipeline: Arc::new(scripted(DeliberationsConfig::default()).pipeline),
        };

        let good = submit(&store, tenant, "01HXYZABCDEFGHJKMNPQRSTVW0", QUESTION).await;
        assert_eq!(drive_deliberation(&deps, &good).await, Ok(JobOutcome::Done));
        let done = store.load_deliberation(&good).await.unwrap().unwrap();
        assert_eq!(done.status, DeliberationStatus::Completed, "{backend:?}");
        let result = done
            .result
            .expect("a completed deliberation has its result");
        assert!((0.0..=10.0).contains(&result.confidence_index));
        // Scripted calls are charged like live ones (here at the default price): more
        // than nothing, and within the reservation, the rest refunded.
        let charged = done
            .credits_charged
            .expect("a completed deliberation is charged");
        assert!(charged > Credits::ZERO, "{charged}");
        assert!(charged <= done.estimate, "{charged}");
        let entries = store.panel_entries(&good).await.unwrap();
        assert!(entries.len() >= 11, "{}", entries.len());
        assert_eq!(entries.iter().filter(|e| e.stage == "answer").count(), 5);
        let events = store.deliberation_events(&good).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "deliberation.completed");

        // Terminal: a second delivery of the job changes nothing.
        assert_eq!(drive_deliberation(&deps, &good).await, Ok(JobOutcome::Done));
        assert_eq!(
            store.panel_entries(&good).await.unwrap().len(),
            entries.len()
        );
        assert_eq!(store.deliberation_events(&good).await.unwrap().len(), 1);

        let question = format!("{QUESTION} [[scripted:timeout]]");
        let bad = submit(&store, tenant, "01HXYZABCDEFGHJKMNPQRSTVW1", &question).await;
        assert_eq!(drive_deliberation(&deps, &bad).await, Ok(JobOutcome::Done));
        let failed = store.load_deliberation(&bad).await.unwrap().unwrap();
        assert_eq!(failed.status, DeliberationStatus::Failed);
        assert_eq!(failed.failure, Some(FailureCode::ProcessingTimeout));
        assert_eq!(failed.credits_charged, Some(Credits::ZERO));
        let events = store.deliberation_events(&bad).await.unwrap();
        assert_eq!(events[0].event, "deliberation.failed");

        // Every reservation came back but the completed one's charge.
        assert_eq!(
            store.balance(tenant.0, ENV).await.unwrap(),
            Credits::from_credits(10).checked_sub(charged).unwrap(),
            "{backend:?}"
        );

        let unknown = DeliberationId::from_ulid_text("01HXYZABCDEFGHJKMNPQRSTVW9");
        assert_eq!(
            drive_deliberation(&deps, &unknown).await,
            Ok(JobOutcome::Done)
        );
    }
}
