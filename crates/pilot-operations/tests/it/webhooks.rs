//! Managing webhooks out, below any transport: a key's entry and the operator's
//! answer alike over one body; recovering is bounded by the clock; housekeeping
//! purges attempts past `[webhooks] attempt_retention_days`; the signing secret is
//! made once, rotated, and never logged; each operation's span names its tenant.

use pilot_domain::webhook::{RECOVER_MAX_AGE_MS, Verdict};
use pilot_domain::{
    Credits, DeliberationId, Difficulty, Environment, FailureCode, Mode, Principal, UseCase,
};
use pilot_operations::webhooks::DeliveriesQuery;
use pilot_operations::{DEFAULT_WORKSPACE, ErrorKind, Operator, unknown_workspace};
use pilot_store::{AttemptOutcome, AttemptRecord, DeliveryQuery, NewDeliberation};
use pilot_testkit::backends;
use pilot_testkit::traces;

use crate::harness::{Harness, START, operations};
use crate::spans::assert_never_logged;

const DAY_MS: i64 = 24 * 3_600_000;

/// The default workspace's test key, and one failed delivery of its environment
/// (one attempt, answered `400`, made now): the key and the delivery's id.
async fn with_failed_delivery(h: &Harness) -> (Principal, String) {
    let first = h
        .ops
        .first_start(&Operator::console())
        .await
        .unwrap()
        .unwrap();
    let header = format!("Bearer {}", first.test.token.expose());
    let who = h.ops.authenticate(Some(Ok(&header))).await.unwrap();
    let store = &h.db.store;
    let id = DeliberationId::from_ulid_text("01HV4Z2X8Q9T7M3N5P6R8S0W2Y");
    let new = NewDeliberation {
        id: id.clone(),
        key_id: Some(who.key_id),
        mode: Mode::Smartroute1,
        use_case: UseCase::General,
        difficulty: Difficulty::Medium,
        question: "Should we price per seat or by usage?".into(),
        webhook_url: Some("https://hooks.example/a".into()),
        metadata: None,
        estimate: Credits::from_credits(1),
    };
    let now = h.ops.now();
    store
        .create_deliberation(who.workspace_id, who.environment, &new, now)
        .await
        .unwrap();
    store
        .fail_deliberation(&id, FailureCode::ProcessingFailed, now)
        .await
        .unwrap();
    let query = DeliveryQuery {
        limit: 1,
        ..DeliveryQuery::default()
    };
    let delivery = store
        .list_deliveries(who.workspace_id, who.environment, &query)
        .await
        .unwrap()
        .remove(0);
    let outcome = AttemptOutcome {
        attempt: AttemptRecord {
            number: 1,
            manual: false,
            started_at: now,
            status: Some(400),
            response_excerpt: Some("no".into()),
            latency_ms: 3,
            error: None,
        },
        verdict: Verdict::Fail,
        retry_at: None,
    };
    store
        .record_attempt(&delivery.id, &outcome, now)
        .await
        .unwrap()
        .unwrap();
    (who, delivery.id.to_string())
}

#[tokio::test]
async fn a_key_and_the_operator_see_the_same_deliveries_and_endpoints() {
    for backend in backends() {
        let h = operations(backend).await;
        let (who, id) = with_failed_delivery(&h).await;
        let operator = Operator::console();
        let (ops, test) = (&h.ops, Environment::Test);
        let query = DeliveriesQuery::default();

        let by_key = ops.list_deliveries(&who, &query).await.unwrap();
        assert_eq!(by_key.data.len(), 1);
        assert_eq!(by_key.data[0].id, id);
        assert_eq!(by_key.data[0].status, "failed");
        assert_eq!(
            ops.list_deliveries_as_operator(&operator, DEFAULT_WORKSPACE, test, &query)
                .await
                .unwrap(),
            by_key
        );
        assert_eq!(
            ops.get_delivery_as_operator(&operator, DEFAULT_WORKSPACE, test, &id)
                .await
                .unwrap(),
            ops.get_delivery(&who, &id).await.unwrap()
        );
        assert_eq!(
            ops.list_endpoints_as_operator(&operator, DEFAULT_WORKSPACE, test)
                .await
                .unwrap(),
            ops.list_endpoints(&who).await.unwrap()
        );
        // The other environment is another tenant, for the operator too.
        let live = ops
            .list_deliveries_as_operator(&operator, DEFAULT_WORKSPACE, Environment::Live, &query)
            .await
            .unwrap();
        assert!(live.data.is_empty());
        let missing = ops
            .get_delivery_as_operator(&operator, DEFAULT_WORKSPACE, Environment::Live, &id)
            .await
            .unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound);
        assert_eq!(
            ops.list_endpoints_as_operator(&operator, "nope", test)
                .await
                .unwrap_err(),
            unknown_workspace("nope")
        );

        let replayed = ops
            .replay_delivery_as_operator(&operator, DEFAULT_WORKSPACE, test, &id)
            .await
            .unwrap();
        assert_eq!(replayed.id, id);
        let endpoint = replayed.endpoint_id.clone();
        let enabled = ops
            .enable_endpoint_as_operator(&operator, DEFAULT_WORKSPACE, test, &endpoint)
            .await
            .unwrap();
        assert_eq!(
            (enabled.endpoint.state.as_str(), enabled.released),
            ("enabled", 0)
        );
    }
}

#[tokio::test]
async fn recovering_reaches_back_fourteen_days_by_the_clock() {
    for backend in backends() {
        let h = operations(backend).await;
        let (_, id) = with_failed_delivery(&h).await;
        let (ops, operator) = (&h.ops, &Operator::console());
        let endpoint = ops
            .get_delivery_as_operator(operator, DEFAULT_WORKSPACE, Environment::Test, &id)
            .await
            .unwrap()
            .delivery
            .endpoint_id;
        let recover = |since: pilot_domain::UnixMillis| {
            let endpoint = endpoint.clone();
            async move {
                ops.recover_endpoint_as_operator(
                    operator,
                    DEFAULT_WORKSPACE,
                    Environment::Test,
                    &endpoint,
                    &since.to_rfc3339().unwrap(),
                )
                .await
            }
        };
        assert_eq!(recover(START).await.unwrap().queued, 1);
        h.clock.advance_ms(DAY_MS);
        assert_eq!(
            recover(ops.now()).await.unwrap().queued,
            0,
            "since now: none newer"
        );
        h.clock.advance_ms(RECOVER_MAX_AGE_MS - DAY_MS);
        assert_eq!(
            recover(START).await.unwrap().queued,
            1,
            "exactly 14 days back"
        );
        h.clock.advance_ms(1_000);
        let error = recover(START).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Validation);
        assert!(error.message.contains("14 days"), "{error}");
        let error = recover(ops.now().plus_ms(1_000)).await.unwrap_err();
        assert!(error.message.contains("future"), "{error}");
    }
}

#[tokio::test]
async fn housekeeping_purges_attempts_past_their_retention() {
    for backend in backends() {
        let h = operations(backend).await;
        let (who, id) = with_failed_delivery(&h).await;
        h.clock.advance_ms(30 * DAY_MS);
        assert_eq!(h.ops.housekeeping().await.unwrap().webhook_attempts, 0);
        assert_eq!(
            h.ops
                .get_delivery(&who, &id)
                .await
                .unwrap()
                .attempts_detail
                .len(),
            1,
            "kept for 30 days"
        );
        h.clock.advance_ms(1);
        assert_eq!(h.ops.housekeeping().await.unwrap().webhook_attempts, 1);
        let detail = h.ops.get_delivery(&who, &id).await.unwrap();
        assert!(detail.attempts_detail.is_empty());
        assert_eq!(detail.delivery.attempts, 1, "the delivery keeps its count");
        assert_eq!(detail.delivery.last_response_status, Some(400));
    }
}

#[tokio::test]
async fn the_signing_secret_is_made_once_rotated_and_never_logged() {
    for backend in backends() {
        let h = operations(backend).await;
        let (who, _) = with_failed_delivery(&h).await;
        let (ops, operator) = (&h.ops, Operator::console());
        let (traces, _capturing) = traces::capture();
        let shown = ops
            .signing_secret(&operator, DEFAULT_WORKSPACE, Environment::Live)
            .await
            .unwrap();
        assert!(shown.secret.expose().starts_with("whsec_") && !shown.rotated);
        let again = ops
            .signing_secret(&operator, DEFAULT_WORKSPACE, Environment::Live)
            .await
            .unwrap();
        assert_eq!(again.secret, shown.secret);
        let rotated = ops
            .rotate_signing_secret(&operator, DEFAULT_WORKSPACE, Environment::Live)
            .await
            .unwrap();
        assert!(rotated.rotated && rotated.secret != shown.secret);
        assert_eq!(
            ops.signing_secret(&operator, DEFAULT_WORKSPACE, Environment::Live)
                .await
                .unwrap()
                .secret,
            rotated.secret
        );
        let test = ops
            .signing_secret(&operator, DEFAULT_WORKSPACE, Environment::Test)
            .await
            .unwrap();
        assert_ne!(test.secret, rotated.secret);
        assert!(!format!("{rotated:?}").contains(rotated.secret.expose()));

        ops.list_deliveries(&who, &DeliveriesQuery::default())
            .await
            .unwrap();
        for name in ["signing_secret", "rotate_signing_secret"] {
            let span = traces.span(name).unwrap_or_else(|| panic!("a {name} span"));
            assert_eq!(span.field("operator"), Some("console"));
            assert_eq!(span.field("workspace"), Some(DEFAULT_WORKSPACE));
            assert_eq!(span.field("environment"), Some("live"));
        }
        let span = traces
            .span("list_deliveries")
            .expect("a list_deliveries span");
        assert_eq!(
            span.field("workspace"),
            Some(who.workspace_id.0.to_string().as_str())
        );
        assert_eq!(span.field("environment"), Some("test"));
        for shown in [&shown, &rotated, &test] {
            assert_never_logged(&traces, shown.secret.expose());
        }
    }
}

#[tokio::test]
async fn failing_endpoints_are_those_failing_now_of_the_tenant_only() {
    for backend in backends() {
        let h = operations(backend).await;
        let (who, _) = with_failed_delivery(&h).await;
        let operator = Operator::console();
        let ops = &h.ops;

        let all = ops.list_endpoints(&who).await.unwrap();
        assert_eq!(all.data.len(), 1);
        assert_eq!(all.data[0].consecutive_failures, 1);
        let failing = ops.failing_endpoints(&who).await.unwrap();
        assert_eq!(failing, all, "the one endpoint has failed once");

        // The same workspace's other environment is another tenant.
        let mut other_env = who.clone();
        other_env.environment = Environment::Live;
        assert!(
            ops.failing_endpoints(&other_env)
                .await
                .unwrap()
                .data
                .is_empty()
        );

        ops.enable_endpoint_as_operator(
            &operator,
            DEFAULT_WORKSPACE,
            Environment::Test,
            &all.data[0].id,
        )
        .await
        .unwrap();
        assert!(
            ops.failing_endpoints(&who).await.unwrap().data.is_empty(),
            "enabled again, its failures reset: no longer failing"
        );
        assert_eq!(ops.list_endpoints(&who).await.unwrap().data.len(), 1);
    }
}
