//! What a delivery carries, and that outside verifiers accept it.

use pilot_domain::webhook::DeliveryState;
use pilot_domain::{Environment, UnixMillis, WebhookSecret};
use pilot_store::PilotPatch;
use pilot_testkit::backends;
use pilot_testkit::webhook_receiver::{Reply, WebhookReceiver};
use serde_json::{Value, json};

use super::{submit, wait_state, webhook_config, workspace};
use crate::harness::spawn_with;

#[tokio::test]
async fn a_finished_deliberation_is_delivered_signed_both_ways() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        let id = submit(&app, &receiver.url(), "Per seat or usage-based?").await;
        let got = receiver.wait_for(1).await.remove(0);

        assert!(got.pilot5_ok(), "{:?}", got.pilot5);
        assert!(got.standard_ok(), "{:?}", got.standard);
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.header("user-agent"), Some("Pilot5-Webhook/1.0"));
        assert_eq!(got.header("x-pilot5-event"), Some("deliberation.completed"));
        assert_eq!(got.header("x-pilot5-attempt"), Some("1"));
        let event_id = got.header("x-pilot5-event-id").unwrap().to_owned();
        assert!(event_id.starts_with("evt_"), "{event_id}");
        assert_eq!(got.header("webhook-id"), Some(event_id.as_str()));
        assert!(
            got.header("x-pilot5-delivery-id")
                .unwrap()
                .starts_with("dlv_")
        );
        let ts = got.header("x-pilot5-timestamp").unwrap();
        assert_eq!(got.header("webhook-timestamp"), Some(ts));
        assert_eq!(
            got.header("x-pilot5-signature").unwrap(),
            format!(
                "t={ts},{}",
                got.header("x-pilot5-signature")
                    .unwrap()
                    .split_once(',')
                    .unwrap()
                    .1
            )
        );

        // The body, key for key and in the document's order, metadata verbatim.
        let text = String::from_utf8(got.body.clone()).unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&body), ["id", "event", "created_at", "data"]);
        assert_eq!(
            keys(&body["data"]),
            [
                "deliberation_id",
                "status",
                "mode",
                "use_case",
                "result_url",
                "completed_at",
                "credits_charged",
                "metadata"
            ]
        );
        assert_eq!(body["id"], event_id.as_str());
        assert_eq!(body["data"]["deliberation_id"], id.as_str());
        assert_eq!(body["data"]["status"], "completed");
        assert_eq!(body["data"]["mode"], "smartroute1");
        assert!(
            text.contains(r#""metadata":{"zeta":1,"order_id":"ord_123","alpha":[true,null]}"#),
            "{text}"
        );
        assert!(
            !text.contains("synthesis") && !text.contains("summary"),
            "{text}"
        );
        let result_url = body["data"]["result_url"].as_str().unwrap();
        assert_eq!(
            result_url,
            format!("{}/v1/api/deliberations/{id}/result", app.url)
        );
        let result = app
            .client
            .get(result_url)
            .bearer_auth(&app.test_key)
            .send()
            .await
            .unwrap();
        assert_eq!(result.status(), 200);

        let done = wait_state(&app, &id, DeliveryState::Succeeded).await;
        assert_eq!(done.attempts, 1);
        assert_eq!(done.event_id.as_str(), event_id);
    }
}

#[tokio::test]
async fn a_failed_deliberation_is_delivered_without_detail() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        let id = submit(&app, &receiver.url(), "Will this fail? [[scripted:fail]]").await;
        let got = receiver.wait_for(1).await.remove(0);
        assert!(got.pilot5_ok() && got.standard_ok());
        assert_eq!(got.header("x-pilot5-event"), Some("deliberation.failed"));
        let body = got.json();
        assert_eq!(body["data"]["deliberation_id"], id.as_str());
        assert_eq!(body["data"]["status"], "failed");
        assert_eq!(body["data"]["credits_charged"], 0.0);
        let text = String::from_utf8(got.body).unwrap();
        assert!(!text.contains("processing_"), "no error detail: {text}");
    }
}

/// What CI's Python step verifies with the document's `verify()` and the
/// `standardwebhooks` package: a completed and a failed deliberation, a retried
/// attempt (signed afresh) and a run event, captured to `PILOT_TEST_CAPTURE_DIR`.
#[tokio::test]
async fn deliveries_are_captured_for_outside_verifiers() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        receiver.push(Reply::ok());
        receiver.push(Reply::ok());
        submit(&app, &receiver.url(), "Per seat? [[scripted:slow=1]]").await;
        receiver.wait_for(1).await;
        submit(&app, &receiver.url(), "Fail please [[scripted:fail]]").await;
        let both = receiver.wait_for(2).await;
        let events: Vec<_> = both
            .iter()
            .filter_map(|r| r.header("x-pilot5-event"))
            .collect();
        assert!(
            events.contains(&"deliberation.completed") && events.contains(&"deliberation.failed")
        );
        assert!(both.iter().all(|r| r.pilot5_ok() && r.standard_ok()));
    }
}

#[tokio::test]
async fn a_pilots_runs_are_delivered_signed_with_the_tenants_secret() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        let store = &app.db.store;
        let ws = workspace(&app).await;
        let candidate = app.app.master_key.seal(WebhookSecret::generate().expose());
        let sealed = store
            .ensure_signing_secret(ws, Environment::Live, &candidate, UnixMillis(1))
            .await
            .unwrap();
        receiver.set_secret(app.app.master_key.open(&sealed).unwrap());
        let created = app
            .post("/api/v1/pilots")
            .bearer_auth(&app.live_key)
            .json(&json!({"title": "Echo", "steps": [
                {"id": "shape", "type": "transform", "values": {"order": "{{ trigger.orderId }}"}}
            ]}))
            .send()
            .await
            .unwrap();
        let pilot: Value = created.json().await.unwrap();
        let pilot_id = pilot_domain::PilotId(pilot["id"].as_i64().unwrap());
        let patch = PilotPatch {
            notify_url: Some(Some(receiver.url())),
            ..PilotPatch::default()
        };
        store
            .update_pilot(ws, Environment::Live, pilot_id, &patch, UnixMillis(1))
            .await
            .unwrap();
        let fired = app
            .post(&format!("/api/v1/pilots/{}/run", pilot_id.0))
            .bearer_auth(&app.live_key)
            .json(&json!({"orderId": "1234"}))
            .send()
            .await
            .unwrap();
        assert_eq!(fired.status(), 202);
        let got = receiver.wait_for(1).await.remove(0);
        assert!(
            got.pilot5_ok() && got.standard_ok(),
            "{:?} {:?}",
            got.pilot5,
            got.standard
        );
        assert_eq!(
            got.header("x-pilot5-event"),
            Some("run.completed"),
            "{}",
            got.json()
        );
        let body = got.json();
        assert_eq!(body["event"], "run.completed");
        assert_eq!(body["data"]["pilotId"], pilot_id.0);
        assert_eq!(body["data"]["status"], "success");
        assert!(body["data"]["durationMs"].is_i64(), "{body}");
        assert!(body["data"]["finishedAt"].is_i64(), "{body}");
        assert_eq!(body["data"]["error"], Value::Null);
    }
}
