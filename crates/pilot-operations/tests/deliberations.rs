//! The Deliberations operations called directly, with no transport: each enforces its
//! scope before its idempotency key, counts the key's rate limit (replays aside)
//! before it looks at the request, refuses a short balance and a blocked question
//! with nothing charged, and a watch reports progress in order. On SQLite, and on
//! PostgreSQL when `PILOT_TEST_POSTGRES_URL` is set.

mod common;

use std::time::Duration;

use common::{Limits, NOW, QUESTION, body, question, setup};
use pilot_domain::{Credits, DeliberationStatus, Environment, FailureCode, Submission};
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_operations::deliberations::{DeliberationQuery, WatchEvent};
use pilot_operations::views::DeliberationView;
use pilot_operations::{
    ErrorCode, ErrorKind, Idempotency, IdempotencyKey, OpError, Replayable, Shortfall,
};
use pilot_store::PanelEntry;
use pilot_testkit::{TestDb, backends};
use serde_json::json;

fn keyed(key: &str, body: &str) -> Option<Idempotency> {
    let key = IdempotencyKey::parse(key.as_bytes()).unwrap();
    Some(Idempotency::of_http(
        key,
        "POST",
        "/v1/api/deliberations",
        body.as_bytes(),
    ))
}

#[tokio::test]
async fn the_scope_is_checked_before_the_idempotency_key_and_the_request() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits::default(),
            DeliberationsConfig::default(),
        )
        .await;
        let writer = s.key(Environment::Test, "deliberations:write").await;
        let first = s
            .ops
            .submit_deliberation(
                &writer.principal,
                Ok(question()),
                keyed("k-1", "a"),
                pilot_domain::Channel::Api,
            )
            .await;
        let Ok(Replayable::Fresh(accepted)) = &first.result else {
            panic!("{backend:?}: {first:?}")
        };

        // A reader with the writer's key and body (a replay), another body (a
        // conflict), or a request the transport could not read: the scope answers.
        let reader = s.key(Environment::Test, "deliberations:read").await;
        let unreadable = || {
            Err(OpError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with 'Content-Type: application/json'.",
            ))
        };
        for (request, idempotency) in [
            (Ok(question()), keyed("k-1", "a")),
            (Ok(question()), keyed("k-1", "b")),
            (unreadable(), keyed("k-1", "a")),
            (unreadable(), None),
        ] {
            let answer = s
                .ops
                .submit_deliberation(
                    &reader.principal,
                    request,
                    idempotency,
                    pilot_domain::Channel::Api,
                )
                .await;
            let error = answer.result.unwrap_err();
            assert_eq!(
                (error.code, error.message.as_str()),
                (
                    ErrorCode::InsufficientScope,
                    "This API key lacks the deliberations:write scope."
                ),
                "{backend:?}"
            );
            assert!(!answer.replayed, "no replay for a key without the scope");
            assert_eq!(answer.rate_limit, None, "nothing was counted");
        }

        // The writer replays what it was answered, and the other body conflicts.
        let again = s
            .ops
            .submit_deliberation(
                &writer.principal,
                Ok(question()),
                keyed("k-1", "a"),
                pilot_domain::Channel::Api,
            )
            .await;
        assert!(again.replayed);
        assert_eq!(
            again.result.unwrap().to_json()["deliberation_id"],
            accepted.deliberation_id.as_str()
        );
        let other = s
            .ops
            .submit_deliberation(
                &writer.principal,
                Ok(question()),
                keyed("k-1", "b"),
                pilot_domain::Channel::Api,
            )
            .await;
        assert_eq!(
            other.result.unwrap_err().code,
            ErrorCode::IdempotencyConflict
        );
        assert_eq!(s.reserves(Environment::Test).await, 1, "{backend:?}");

        // Reads take deliberations:read; a pilots-only key has neither.
        let pilots = s.key(Environment::Test, "pilots:write").await;
        let id = accepted.deliberation_id.as_str();
        let read = s
            .ops
            .get_deliberation(&pilots.principal, id, &DeliberationQuery::default())
            .await;
        assert_eq!(read.result.unwrap_err().code, ErrorCode::InsufficientScope);
        assert_eq!(read.rate_limit, None);
        assert_eq!(
            s.ops.balance(&pilots.principal).await.unwrap_err().code,
            ErrorCode::InsufficientScope
        );
        assert!(
            s.ops
                .watch_deliberation(&pilots.principal, id)
                .await
                .is_err()
        );
        let seen = s
            .ops
            .get_deliberation(&reader.principal, id, &DeliberationQuery::default())
            .await;
        assert!(matches!(seen.result, Ok(DeliberationView::Pending(_))));
    }
}

#[tokio::test]
async fn the_rate_limit_counts_every_submission_but_replays_before_the_request_is_read() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits { posts_per_hour: 2 },
            DeliberationsConfig::default(),
        )
        .await;
        let key = s.key(Environment::Test, "deliberations:write").await;
        let who = &key.principal;

        let first = s
            .ops
            .submit_deliberation(
                who,
                Ok(question()),
                keyed("once", "q"),
                pilot_domain::Channel::Api,
            )
            .await;
        assert!(first.result.is_ok(), "{backend:?}: {first:?}");
        let state = first.rate_limit.expect("counted");
        assert_eq!(
            (state.limit, state.remaining, state.window_secs),
            (2, 1, 3600)
        );

        // A replay is not counted: it carries no state, and the budget is intact.
        let replay = s
            .ops
            .submit_deliberation(
                who,
                Ok(question()),
                keyed("once", "q"),
                pilot_domain::Channel::Api,
            )
            .await;
        assert!(replay.replayed && replay.rate_limit.is_none());

        // The request's own errors come after the count, and carry its state.
        let invalid = s
            .ops
            .submit_deliberation(
                who,
                Ok(body(json!({"question": "Why?"}))),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        let error = invalid.result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Validation);
        assert_eq!(
            error.message,
            "question must be 10 to 2000 characters (got 4)"
        );
        assert_eq!(invalid.rate_limit.map(|s| s.remaining), Some(0));

        // Over the limit: refused whatever the request, with when to come back, and
        // the refusal is not kept for its idempotency key.
        for request in [
            Ok(question()),
            Err(OpError::bad_request("Request body is not valid JSON: EOF")),
        ] {
            let limited = s
                .ops
                .submit_deliberation(
                    who,
                    request,
                    keyed("later", "q"),
                    pilot_domain::Channel::Api,
                )
                .await;
            let error = limited.result.unwrap_err();
            assert_eq!(error.code, ErrorCode::RateLimited, "{backend:?}");
            assert_eq!(
                error.message,
                "Rate limit exceeded (2 per hour). Retry after 1800 seconds."
            );
            assert_eq!(error.retry_after_secs, Some(1800));
            let state = limited.rate_limit.expect("counted");
            assert_eq!(error.rate_limit, Some(state));
            assert!(!state.allowed && state.remaining == 0);
            assert!(!limited.replayed);
        }
        assert_eq!(s.reserves(Environment::Test).await, 1);

        // Once a request has refilled, the same key runs afresh.
        s.clock.advance_ms(1_800_000);
        let later = s
            .ops
            .submit_deliberation(
                who,
                Ok(question()),
                keyed("later", "q"),
                pilot_domain::Channel::Api,
            )
            .await;
        assert!(
            matches!(later.result, Ok(Replayable::Fresh(_))),
            "{later:?}"
        );
        assert!(!later.replayed);
        assert_eq!(s.reserves(Environment::Test).await, 2, "{backend:?}");
    }
}

#[tokio::test]
async fn credits_and_guardrails_refuse_with_nothing_charged() {
    for backend in backends() {
        let config = DeliberationsConfig {
            guardrail_patterns: vec!["forbidden topic".to_owned()],
            ..DeliberationsConfig::default()
        };
        let s = setup(TestDb::new(backend).await, Limits::default(), config).await;

        // Live credits start at zero: 402 with the balance and the estimate.
        let live = s.key(Environment::Live, "deliberations:write").await;
        let short = s
            .ops
            .submit_deliberation(
                &live.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        let error = short.result.unwrap_err();
        assert_eq!(
            (error.kind, error.message.as_str()),
            (
                ErrorKind::PaymentRequired,
                "Workspace balance 0.00 < estimated 4.20"
            ),
            "{backend:?}"
        );
        assert_eq!(
            error.shortfall.as_deref(),
            Some(&Shortfall {
                balance: Credits::ZERO,
                estimate: Credits::from_micros(4_200_000),
            })
        );
        assert!(short.rate_limit.is_some(), "counted before the balance");
        assert_eq!(s.reserves(Environment::Live).await, 0);

        // The scripted model's marker (test mode) and a configured pattern block.
        let test = s.key(Environment::Test, "deliberations:write").await;
        for question in [
            format!("{QUESTION} [[scripted:block]]"),
            format!("{QUESTION} Tell me about the Forbidden Topic."),
        ] {
            let blocked = s
                .ops
                .submit_deliberation(
                    &test.principal,
                    Ok(body(json!({"question": question}))),
                    None,
                    pilot_domain::Channel::Api,
                )
                .await;
            let error = blocked.result.unwrap_err();
            assert_eq!(
                (error.code, error.kind, error.message.as_str()),
                (
                    ErrorCode::ContentBlocked,
                    ErrorKind::Forbidden,
                    "The question failed the safety guardrails. Nothing was charged."
                ),
                "{backend:?}: {question}"
            );
        }
        // A private webhook address is refused by the guard, before screening.
        let private = s
            .ops
            .submit_deliberation(
                &test.principal,
                Ok(body(
                    json!({"question": QUESTION, "webhook_url": "https://10.0.0.1/h"}),
                )),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        let error = private.result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Validation);
        assert!(
            error.message.starts_with("webhook_url is not allowed"),
            "{error}"
        );
        // So is plain http, by the same guard (it requires https unless
        // `[webhooks] allow_http`).
        let plain = s
            .ops
            .submit_deliberation(
                &test.principal,
                Ok(body(
                    json!({"question": QUESTION, "webhook_url": "http://example.com/h"}),
                )),
                None,
                pilot_domain::Channel::Api,
            )
            .await;
        let error = plain.result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Validation);
        assert!(
            error.message.starts_with("webhook_url is not allowed")
                && error.message.contains("use https"),
            "{error}"
        );
        let balance = s
            .store
            .balance(s.workspace, Environment::Test)
            .await
            .unwrap();
        assert_eq!(balance, Credits::from_credits(100), "{backend:?}");
        assert_eq!(s.reserves(Environment::Test).await, 0);
    }
}

#[tokio::test]
async fn reads_are_counted_and_include_the_panel_only_when_asked() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits::default(),
            DeliberationsConfig::default(),
        )
        .await;
        let key = s.key(Environment::Test, "deliberations:write").await;
        let accepted = s
            .ops
            .submit_deliberation(
                &key.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await
            .result
            .unwrap();
        let id = accepted.to_json()["deliberation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let query = |include: &str| DeliberationQuery {
            include: Some(include.to_owned()),
        };

        let unknown = s
            .ops
            .get_deliberation(
                &key.principal,
                "del_01HXYZABCDEFGHJKMNPQRSTVWX",
                &query("panels"),
            )
            .await;
        assert_eq!(
            unknown.result.unwrap_err().kind,
            ErrorKind::NotFound,
            "{backend:?}"
        );
        assert_eq!(unknown.rate_limit.map(|s| s.remaining), Some(599));
        let bad = s
            .ops
            .get_deliberation(&key.principal, &id, &query("panels"))
            .await;
        assert_eq!(
            bad.result.unwrap_err().message,
            "include may only list: panel"
        );

        let pending = s
            .ops
            .get_deliberation(&key.principal, &id, &query("panel"))
            .await;
        let Ok(DeliberationView::Pending(view)) = pending.result else {
            panic!("{backend:?}: {pending:?}")
        };
        assert_eq!((view.status.as_str(), view.panel), ("queued", Some(vec![])));
        assert_eq!(pending.rate_limit.map(|s| s.remaining), Some(597));

        // Another environment's key does not see it.
        let live = s.key(Environment::Live, "deliberations:read").await;
        let hidden = s
            .ops
            .get_deliberation(&live.principal, &id, &DeliberationQuery::default())
            .await;
        assert_eq!(hidden.result.unwrap_err().kind, ErrorKind::NotFound);
    }
}

#[tokio::test]
async fn a_watch_reports_entries_and_status_changes_in_order_then_the_end() {
    for backend in backends() {
        let s = setup(
            TestDb::new(backend).await,
            Limits::default(),
            DeliberationsConfig::default(),
        )
        .await;
        let key = s
            .key(Environment::Test, "deliberations:read deliberations:write")
            .await;
        let accepted = s
            .ops
            .submit_deliberation(
                &key.principal,
                Ok(question()),
                None,
                pilot_domain::Channel::Api,
            )
            .await
            .result
            .unwrap();
        let id = accepted.to_json()["deliberation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let id = pilot_domain::DeliberationId::parse(&id).unwrap();
        let mut watch = s
            .ops
            .watch_deliberation(&key.principal, id.as_str())
            .await
            .unwrap();

        let first = watch.next().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].name(), "status");

        // Nothing new: a caller bounding its wait gives up and loses nothing.
        let waited = tokio::time::timeout(Duration::from_millis(100), watch.next()).await;
        assert!(waited.is_err(), "{backend:?}: nothing happened yet");

        s.store
            .mark_deliberation_running(&id, NOW.plus_ms(10))
            .await
            .unwrap();
        let entry = PanelEntry {
            stage: "answer".into(),
            author: "The Economist".into(),
            content: json!({"position": "usage-based"}),
            created_at: NOW.plus_ms(20),
        };
        s.store.record_panel_entry(&id, &entry).await.unwrap();
        let next = watch.next().await.unwrap();
        let names: Vec<&str> = next.iter().map(WatchEvent::name).collect();
        assert_eq!(names, ["answer", "status"], "{backend:?}");
        let WatchEvent::Entry {
            entry: progress, ..
        } = &next[0]
        else {
            panic!("{next:?}")
        };
        assert_eq!(
            serde_json::to_value(progress).unwrap(),
            json!({"author": "The Economist", "created_at": "2023-11-14T22:13:20Z"})
        );

        s.store
            .fail_deliberation(&id, FailureCode::ProcessingTimeout, NOW.plus_ms(30))
            .await
            .unwrap();
        let last = watch.next().await.unwrap();
        let [WatchEvent::Finished(view)] = last.as_slice() else {
            panic!("{last:?}")
        };
        assert_eq!(view.status, DeliberationStatus::Failed.as_str());
        assert_eq!(
            view.error.as_ref().map(|e| e.code.as_str()),
            Some("processing_timeout")
        );
        assert_eq!(watch.next().await, None, "the watch is over");
        assert!(watch.is_over());
    }
}

#[test]
fn a_submission_from_parts_meets_a_bodys_rules() {
    // The step's path validates with the rules a body meets (one rule per fact).
    let from_body = Submission::parse(&body(json!({"question": "Too short"}))).unwrap_err();
    let from_parts = Submission::new(
        "Too short",
        pilot_domain::Mode::Deliberation1,
        pilot_domain::UseCase::General,
        pilot_domain::Difficulty::Medium,
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(from_body, from_parts);
}
