//! What the Deliberations-half scenarios share: a submission, a result, credits, and
//! the ledger invariant every scenario ends by checking.

use pilot_domain::{
    ApiKeyId, Credits, DeliberationId, Difficulty, Environment, Mode, UnixMillis, UseCase,
    WorkspaceId,
};
use pilot_store::{
    CreateDeliberation, DeliberationRecord, DeliberationResult, NewDeliberation, Store,
};
use serde_json::json;

use super::T0;

pub const KEY: ApiKeyId = ApiKeyId(7);
pub const HOOK: &str = "https://example.com/hooks/pilot5";

pub fn credits(micros: i64) -> Credits {
    Credits::from_micros(micros)
}

pub fn new_id() -> DeliberationId {
    DeliberationId::from_ulid_text(&ulid::Ulid::new().to_string())
}

/// A `deliberation1` pricing question that reserves `estimate`, with a webhook and
/// metadata.
pub fn submission(estimate: Credits) -> NewDeliberation {
    NewDeliberation {
        id: new_id(),
        key_id: Some(KEY),
        mode: Mode::Deliberation1,
        use_case: UseCase::Pricing,
        difficulty: Difficulty::Medium,
        question: "Should we price our SaaS per-seat or usage-based for mid-market?".into(),
        webhook_url: Some(HOOK.into()),
        metadata: Some(json!({"order_id": "ord_123"})),
        estimate,
    }
}

pub fn result() -> DeliberationResult {
    DeliberationResult {
        synthesis: "# Usage-based\n\nWith a seat floor.".into(),
        summary: "Usage-based pricing with a per-seat floor.".into(),
        minority_report: Some("Per-seat is simpler to forecast.".into()),
        confidence_index: 7.2,
        confidence_inputs: json!({"agreement": 0.8, "quorum": 5, "spread": 1.1}),
        degraded: false,
    }
}

pub async fn grant(store: &dyn Store, workspace: WorkspaceId, env: Environment, micros: i64) {
    store
        .grant_credits(workspace, env, credits(micros), "test grant", T0)
        .await
        .unwrap();
}

/// Submits and expects it to be accepted.
pub async fn create(
    store: &dyn Store,
    workspace: WorkspaceId,
    new: &NewDeliberation,
    at: UnixMillis,
) -> DeliberationRecord {
    match store
        .create_deliberation(workspace, Environment::Live, new, at)
        .await
        .unwrap()
    {
        CreateDeliberation::Created(record) => record,
        other => panic!("expected a deliberation, got {other:?}"),
    }
}

/// The ledger explains the balance: its entries sum to it, and each entry's
/// `balance_after` is the running sum up to it.
pub async fn assert_ledger_explains_balance(
    store: &dyn Store,
    workspace: WorkspaceId,
    env: Environment,
) {
    let balance = store.balance(workspace, env).await.unwrap();
    let mut entries = store.ledger(workspace, env, u32::MAX).await.unwrap();
    entries.reverse();
    let mut running = Credits::ZERO;
    for entry in &entries {
        running = running.checked_add(entry.amount).unwrap();
        assert_eq!(entry.balance_after, running, "entry {entry:?}");
    }
    assert_eq!(running, balance, "the ledger sums to the balance");
}
