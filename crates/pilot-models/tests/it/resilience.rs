//! Retries and their limits, `Retry-After`, final 4xx, connection failures and
//! timeouts. Waits between attempts are recorded by the harness's sleeper, not slept.

use std::time::{Duration, SystemTime};

use pilot_models::{ChatRequest, ModelError, ProviderKind, Role};
use pilot_testkit::fake_llm::{FakeReply, refused_url};

use crate::harness::{build, config, harness, harness_with, live};

fn hi() -> ChatRequest {
    ChatRequest::prompt("hi")
}

#[tokio::test]
async fn rate_limits_and_5xx_are_retried_honouring_retry_after() {
    for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
        let h = harness(kind, false).await;
        h.fake
            .push(FakeReply::status(429, "slow down").retry_after("2"))
            .push(FakeReply::status(503, "overloaded"))
            .push(FakeReply::text("finally").usage(3, 1));
        let done = h
            .models
            .complete(&live(), &Role::Step, &hi())
            .await
            .unwrap();
        assert_eq!(done.text, "finally");
        assert_eq!(h.fake.requests().len(), 3);
        let waits = h.sleeper.waits();
        assert_eq!(waits.len(), 2, "{kind:?}");
        // Retry-After: 2 beats the first backoff (50–100 ms).
        assert_eq!(waits[0], Duration::from_secs(2));
        // The second retry's backoff: between half and all of 200 ms.
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&waits[1]),
            "{waits:?}"
        );
        // One answer, one record: failed attempts consumed nothing.
        assert_eq!(h.sink.records().len(), 1);
    }
}

#[tokio::test]
async fn an_http_date_retry_after_is_honoured() {
    let h = harness(ProviderKind::OpenAi, false).await;
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    h.fake
        .push(FakeReply::status(429, "later").retry_after(when))
        .push(FakeReply::text("ok"));
    h.models
        .complete(&live(), &Role::Step, &hi())
        .await
        .unwrap();
    let waits = h.sleeper.waits();
    assert_eq!(waits.len(), 1);
    // HTTP dates have whole seconds: 4 to 5 s from now.
    assert!(
        (Duration::from_secs(3)..=Duration::from_secs(5)).contains(&waits[0]),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_goes_back_to_the_caller() {
    let h = harness(ProviderKind::OpenAi, false).await;
    h.fake
        .push(FakeReply::status(429, "come back in an hour").retry_after("3600"));
    let error = h
        .models
        .complete(&live(), &Role::Step, &hi())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
            message: "come back in an hour".into(),
        }
    );
    assert_eq!(h.fake.requests().len(), 1);
    assert!(h.sleeper.waits().is_empty());
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let h = harness(ProviderKind::Anthropic, true).await;
    h.fake.set_fallback(FakeReply::status(500, "still broken"));
    let error = h
        .models
        .complete(&live(), &Role::Step, &hi())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ModelError::Unavailable { status: 500, .. }),
        "{error}"
    );
    // One attempt and three retries, with growing backoff ceilings (100, 200, 400 ms).
    assert_eq!(h.fake.requests().len(), 4);
    let waits = h.sleeper.waits();
    assert_eq!(waits.len(), 3);
    for (wait, ceiling) in waits.iter().zip([100u64, 200, 400]) {
        let ceiling = Duration::from_millis(ceiling);
        assert!(*wait >= ceiling / 2 && *wait <= ceiling, "{waits:?}");
    }
    assert!(h.sink.records().is_empty());
}

#[tokio::test]
async fn other_client_errors_are_final() {
    for status in [400, 401, 403, 404, 422] {
        let h = harness(ProviderKind::OpenAi, false).await;
        h.fake.set_fallback(FakeReply::status(status, "no"));
        let error = h
            .models
            .complete(&live(), &Role::Step, &hi())
            .await
            .unwrap_err();
        let expected = match status {
            401 | 403 => matches!(error, ModelError::Auth { status: s, .. } if s == status),
            _ => matches!(error, ModelError::Provider { status: s, .. } if s == status),
        };
        assert!(expected, "{status}: {error}");
        assert_eq!(h.fake.requests().len(), 1, "{status} must not be retried");
        assert!(h.sleeper.waits().is_empty());
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let url = refused_url().await;
    let (models, sink, sleeper) = build(config(ProviderKind::OpenAi, &url, false));
    let error = models
        .complete(&live(), &Role::Step, &hi())
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Transport(_)), "{error}");
    assert_eq!(sleeper.waits().len(), 3);
    assert!(sink.records().is_empty());
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_not_retried() {
    for stream in [false, true] {
        let h = harness_with(ProviderKind::OpenAi, stream, |c| c.timeout_ms = 200).await;
        h.fake
            .push(FakeReply::text("too late").latency(Duration::from_secs(30)));
        let error = h
            .models
            .complete(&live(), &Role::Step, &hi())
            .await
            .unwrap_err();
        assert_eq!(error, ModelError::Timeout(Duration::from_millis(200)));
        assert_eq!(h.fake.requests().len(), 1);
        assert!(h.sleeper.waits().is_empty());
        assert!(h.sink.records().is_empty());
    }
}
