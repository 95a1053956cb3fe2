//! What goes over the wire and what comes back: usage parsing in both formats,
//! streamed and not; estimates when usage is absent; structured-output request
//! shapes; malformed, cut-off and filtered answers.

use pilot_models::{ChatRequest, JsonMode, JsonSchema, ModelError, ProviderKind, Role, Usage};
use pilot_testkit::fake_llm::FakeReply;
use serde_json::json;

use crate::harness::{FORMATS, KEY, MODEL, harness, harness_with, live};

#[tokio::test]
async fn openai_usage_is_parsed_streamed_and_not() {
    for stream in [false, true] {
        let h = harness(ProviderKind::OpenAi, stream).await;
        h.fake
            .push(FakeReply::text("Hello there, how are you?").usage(21, 4));
        let done = h
            .models
            .complete(&live(), &Role::Step, &ChatRequest::prompt("greet me"))
            .await
            .unwrap();
        assert_eq!(done.text, "Hello there, how are you?");
        assert_eq!(done.usage, Usage::reported(21, 4), "stream={stream}");
        assert!(!done.scripted);
        assert_eq!(
            (done.provider.as_str(), done.model.as_str()),
            ("fake", MODEL)
        );

        let sent = &h.fake.requests()[0];
        assert_eq!(sent.path, "/v1/chat/completions");
        assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(sent.body["model"], MODEL);
        assert_eq!(
            sent.body["messages"],
            json!([{"role": "user", "content": "greet me"}])
        );
        if stream {
            assert_eq!(sent.body["stream"], true);
            assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
        } else {
            assert!(sent.body.get("stream").is_none());
            assert!(sent.body.get("stream_options").is_none());
        }
    }
}

#[tokio::test]
async fn anthropic_usage_is_parsed_streamed_and_not_taking_the_last_cumulative_delta() {
    for stream in [false, true] {
        let h = harness(ProviderKind::Anthropic, stream).await;
        // Streamed, the fake sends message_delta output_tokens 4 then 9: summing
        // would give 13.
        h.fake
            .push(FakeReply::text("Hello there, friend of mine").usage(30, 9));
        let request = ChatRequest::prompt("greet me").with_system("be kind");
        let done = h
            .models
            .complete(&live(), &Role::Step, &request)
            .await
            .unwrap();
        assert_eq!(done.text, "Hello there, friend of mine");
        assert_eq!(done.usage, Usage::reported(30, 9), "stream={stream}");

        let sent = &h.fake.requests()[0];
        assert_eq!(sent.path, "/v1/messages");
        assert_eq!(sent.header("x-api-key"), Some(KEY));
        assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        assert!(sent.header("authorization").is_none());
        assert_eq!(sent.body["system"], "be kind");
        assert_eq!(sent.body["max_tokens"], 4_096);
        assert_eq!(sent.body.get("stream").is_some(), stream);
    }
}

#[tokio::test]
async fn absent_usage_is_estimated_marked_unknown_and_still_charged() {
    for (kind, stream) in FORMATS {
        let h = harness(kind, stream).await;
        h.fake.push(FakeReply::text("abcdefghij").without_usage());
        // 8 prompt characters → 2 tokens; 10 answer characters → 3.
        let done = h
            .models
            .complete(&live(), &Role::Step, &ChatRequest::prompt("12345678"))
            .await
            .unwrap();
        let case = format!("{kind:?} stream={stream}");
        assert_eq!(done.usage, Usage::estimated(8, 10), "{case}");
        assert_eq!((done.usage.input_tokens, done.usage.output_tokens), (2, 3));
        assert!(!done.usage.known);
        let records = h.sink.records();
        assert_eq!(records.len(), 1, "{case}");
        assert!(!records[0].usage_known);
        assert_eq!((records[0].input_tokens, records[0].output_tokens), (2, 3));
        // Default price: 1 credit/M in, 4 credits/M out → 2 + 12 micros.
        assert_eq!(records[0].cost.micros(), 14, "{case}");
    }
}

#[tokio::test]
async fn a_stream_without_include_usage_is_estimated() {
    let h = harness_with(ProviderKind::OpenAi, true, |c| {
        c.providers.get_mut("fake").unwrap().include_usage = false;
    })
    .await;
    h.fake.push(FakeReply::text("four").usage(99, 99));
    let done = h
        .models
        .complete(&live(), &Role::Step, &ChatRequest::prompt("abcd"))
        .await
        .unwrap();
    assert!(h.fake.requests()[0].body.get("stream_options").is_none());
    assert_eq!(done.usage, Usage::estimated(4, 4));
}

fn verdict_schema() -> JsonSchema {
    JsonSchema::new(
        "verdict",
        json!({"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}),
    )
}

#[tokio::test]
async fn structured_output_asks_each_format_its_way_and_parses_the_json() {
    for (kind, stream) in FORMATS {
        let h = harness(kind, stream).await;
        h.fake.push(FakeReply::text(r#"{"ok": true}"#));
        let request = ChatRequest::prompt("is it fine?").with_schema(verdict_schema());
        let done = h
            .models
            .complete_json(&live(), &Role::Arbiter, &request)
            .await
            .unwrap();
        assert_eq!(done.value, json!({"ok": true}), "{kind:?} stream={stream}");

        let body = &h.fake.requests()[0].body;
        match kind {
            ProviderKind::OpenAi => {
                assert_eq!(body["response_format"]["type"], "json_schema");
                assert_eq!(body["response_format"]["json_schema"]["name"], "verdict");
                assert_eq!(body["response_format"]["json_schema"]["strict"], true);
                assert_eq!(
                    body["response_format"]["json_schema"]["schema"],
                    verdict_schema().schema
                );
            }
            ProviderKind::Anthropic => {
                assert_eq!(
                    body["tool_choice"],
                    json!({"type": "tool", "name": "verdict"})
                );
                assert_eq!(body["tools"][0]["input_schema"], verdict_schema().schema);
            }
        }
    }
}

#[tokio::test]
async fn json_object_mode_sends_the_schema_as_instructions() {
    let h = harness_with(ProviderKind::OpenAi, false, |c| {
        c.providers.get_mut("fake").unwrap().json_mode = JsonMode::Object;
    })
    .await;
    h.fake.push(FakeReply::text(r#"{"ok": false}"#));
    let request = ChatRequest::prompt("is it fine?").with_schema(verdict_schema());
    let done = h
        .models
        .complete_json(&live(), &Role::Step, &request)
        .await
        .unwrap();
    assert_eq!(done.value["ok"], false);
    let body = &h.fake.requests()[0].body;
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("\"ok\"")
    );
}

#[tokio::test]
async fn malformed_bodies_are_bad_responses_and_not_retried() {
    for (kind, stream) in FORMATS {
        let h = harness(kind, stream).await;
        h.fake.push(FakeReply::malformed());
        let error = h
            .models
            .complete(&live(), &Role::Step, &ChatRequest::prompt("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, ModelError::BadResponse(_)),
            "{kind:?} {stream}: {error}"
        );
        assert_eq!(h.fake.requests().len(), 1);
        assert!(h.sleeper.waits().is_empty());
        assert!(h.sink.records().is_empty());
    }
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_bad_response_but_metered() {
    let h = harness(ProviderKind::OpenAi, false).await;
    h.fake
        .push(FakeReply::text("Sure! Here you go: {ok}").usage(5, 6));
    let request = ChatRequest::prompt("json please").with_schema(verdict_schema());
    let error = h
        .models
        .complete_json(&live(), &Role::Step, &request)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::BadResponse(m) if m.contains("not JSON")),
        "{error}"
    );
    let records = h.sink.records();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].input_tokens, records[0].output_tokens), (5, 6));
}

#[tokio::test]
async fn cut_off_answers_fail_and_streams_are_metered_at_the_estimate() {
    for (kind, stream) in FORMATS {
        let h = harness(kind, stream).await;
        h.fake
            .push(FakeReply::text("a long answer that will be cut").truncated());
        let error = h
            .models
            .complete(&live(), &Role::Step, &ChatRequest::prompt("hi"))
            .await
            .unwrap_err();
        let case = format!("{kind:?} stream={stream}");
        assert!(
            matches!(error, ModelError::BadResponse(_)),
            "{case}: {error}"
        );
        let records = h.sink.records();
        if stream {
            // The stream delivered part of an answer: metered, as an estimate.
            assert!(
                error.to_string().contains("ended before"),
                "{case}: {error}"
            );
            assert_eq!(records.len(), 1, "{case}");
            assert!(!records[0].usage_known);
            assert!(records[0].output_tokens > 0);
        } else {
            assert!(error.to_string().contains("not JSON"), "{case}: {error}");
            assert!(records.is_empty(), "{case}");
        }
    }
}

#[tokio::test]
async fn filtered_answers_are_content_filtered_and_metered() {
    for (kind, stream) in FORMATS {
        let h = harness(kind, stream).await;
        h.fake.push(FakeReply::text("").filtered().usage(8, 0));
        let error = h
            .models
            .complete(
                &live(),
                &Role::Step,
                &ChatRequest::prompt("something awful"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, ModelError::ContentFiltered(_)),
            "{kind:?} stream={stream}: {error}"
        );
        let records = h.sink.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].input_tokens, 8);
    }
}
