//! Every operation runs in a span named for it, holding the caller's tenant and
//! nothing that would leak (keys, tokens, secret values, bodies). Captured on the
//! test's thread (a current-thread runtime).

use pilot_domain::{Environment, Principal, Scopes};
use pilot_operations::pilots::CreatePilot;
use pilot_operations::secrets::PutSecret;
use pilot_operations::{DEFAULT_WORKSPACE, NewKey, Operator};
use pilot_testkit::backends;
use pilot_testkit::traces::{self, Traces};
use serde_json::json;

use crate::harness::operations;

/// Nothing captured — span fields, event fields, messages — contains `needle`.
pub(crate) fn assert_never_logged(traces: &Traces, needle: &str) {
    for span in traces.spans() {
        assert!(
            !span.fields.values().any(|v| v.contains(needle)),
            "span {span:?} holds {needle}"
        );
    }
    for event in traces.events() {
        assert!(
            !event.message.contains(needle) && !event.fields.values().any(|v| v.contains(needle)),
            "event {event:?} holds {needle}"
        );
    }
}

#[tokio::test]
async fn key_holding_operations_name_the_tenant_and_never_the_key_or_the_secret() {
    for backend in backends() {
        let h = operations(backend).await;
        let first = h
            .ops
            .first_start(&Operator::console())
            .await
            .unwrap()
            .unwrap();
        let (traces, _capturing) = traces::capture();
        let header = format!("Bearer {}", first.live.token.expose());
        let who: Principal = h.ops.authenticate(Some(Ok(&header))).await.unwrap();
        let value = "s3cr3t-value-never-logged";
        h.ops
            .put_secret(
                &who,
                "SLACK_TOKEN",
                Ok(PutSecret {
                    value: value.into(),
                }),
            )
            .await
            .unwrap();
        h.ops.list_secrets(&who).await.unwrap();

        let tenant = |name: &str| {
            let span = traces.span(name).unwrap_or_else(|| panic!("a {name} span"));
            (
                span.field("workspace").map(str::to_owned),
                span.field("environment").map(str::to_owned),
            )
        };
        let expected = (
            Some(who.workspace_id.0.to_string()),
            Some("live".to_owned()),
        );
        for name in ["authenticate", "put_secret", "list_secrets"] {
            assert_eq!(tenant(name), expected, "{name} on {backend:?}");
        }
        assert_never_logged(&traces, first.live.token.expose());
        assert_never_logged(&traces, value);
        assert_never_logged(&traces, "SLACK_TOKEN");
    }
}

#[tokio::test]
async fn a_webhook_firing_names_the_pilots_tenant_never_its_token_or_payload() {
    for backend in backends() {
        let h = operations(backend).await;
        let first = h
            .ops
            .first_start(&Operator::console())
            .await
            .unwrap()
            .unwrap();
        let header = format!("Bearer {}", first.test.token.expose());
        let who = h.ops.authenticate(Some(Ok(&header))).await.unwrap();
        let created = h
            .ops
            .create_pilot(
                &who,
                Ok(CreatePilot {
                    title: "Hook".into(),
                    description: String::new(),
                    trigger_type: Some("webhook".into()),
                    status: None,
                    steps: Some(json!([{"id": "t", "type": "transform", "values": {"a": 1}}])),
                    schedule: None,
                    sample_payload: None,
                    notify_url: None,
                    webhook_verification: None,
                }),
                None,
            )
            .await
            .result
            .unwrap();
        let url = created.to_json()["webhookUrl"].as_str().unwrap().to_owned();
        let token = url.rsplit('/').next().unwrap().to_owned();

        let (traces, _capturing) = traces::capture();
        let payload = json!({"order": "payload-never-logged"});
        let request = pilot_operations::triggers::WebhookRequest {
            method: "POST".into(),
            body: serde_json::to_vec(&payload).unwrap(),
            ..Default::default()
        };
        h.ops.fire_webhook(&token, &request).await.unwrap();
        let span = traces.span("fire_webhook").expect("a fire_webhook span");
        assert_eq!(
            span.field("workspace"),
            Some(who.workspace_id.0.to_string().as_str())
        );
        assert_eq!(span.field("environment"), Some("test"));
        assert_never_logged(&traces, &token);
        assert_never_logged(&traces, "payload-never-logged");
    }
}

#[tokio::test]
async fn operator_operations_name_the_operator_and_workspace_never_the_new_key() {
    for backend in backends() {
        let h = operations(backend).await;
        let operator = Operator::console();
        h.ops.first_start(&operator).await.unwrap();
        let (traces, _capturing) = traces::capture();
        let issued = h
            .ops
            .issue_key(
                &operator,
                DEFAULT_WORKSPACE,
                NewKey {
                    environment: Environment::Test,
                    name: "ci".into(),
                    scopes: Scopes::all(),
                },
            )
            .await
            .unwrap();
        let span = traces.span("issue_key").expect("an issue_key span");
        assert_eq!(span.field("operator"), Some("console"));
        assert_eq!(span.field("workspace"), Some(DEFAULT_WORKSPACE));
        assert_eq!(span.field("environment"), Some("test"));
        let logged = traces.events_saying("key issued");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].within("issue_key"), Some(&span));
        assert_never_logged(&traces, issued.token.expose());
        assert_never_logged(&traces, issued.webhook_secret.expose());
    }
}
