//! Webhook delivery end to end: deliberations and runs reaching a real receiver
//! (`pilot_testkit::WebhookReceiver`) signed both ways; the schedule on a manual
//! clock; the response policy; timeouts; auto-disable; a worker dying mid-delivery;
//! the address guard at delivery time.

mod delivery;
mod policy;
mod schedule;

use std::time::Duration;

use pilot::config::Config;
use pilot_domain::webhook::DeliveryState;
use pilot_domain::{Environment, WorkspaceId};
use pilot_store::{DeliveryQuery, DeliveryRecord};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, test_config};

/// Test configuration plus plain-http receivers on loopback.
pub fn webhook_config() -> Config {
    let mut config = test_config();
    config.webhooks.allow_http = true;
    config
}

pub async fn workspace(app: &TestApp) -> WorkspaceId {
    app.db
        .store
        .find_workspace("default")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Submits a one-call (`smartroute1`) test-mode deliberation reporting to `url`;
/// returns its id.
pub async fn submit(app: &TestApp, url: &str, question: &str) -> String {
    let response = app
        .post("/v1/api/deliberations")
        .bearer_auth(&app.test_key)
        .json(&json!({
            "question": format!("{question}: should we price per seat or by usage?"),
            "mode": "smartroute1",
            "use_case": "pricing",
            "webhook_url": url,
            "metadata": {"zeta": 1, "order_id": "ord_123", "alpha": [true, null]},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    body["deliberation_id"].as_str().unwrap().to_owned()
}

/// The test tenant's deliveries, newest first.
pub async fn deliveries(app: &TestApp) -> Vec<DeliveryRecord> {
    let query = DeliveryQuery {
        limit: 100,
        ..DeliveryQuery::default()
    };
    app.db
        .store
        .list_deliveries(workspace(app).await, Environment::Test, &query)
        .await
        .unwrap()
}

/// Waits until some delivery satisfies `wanted`; woken by the queue's notifications
/// (every write that queues or settles a job), with a bound that fails the test.
pub async fn wait_delivery(
    app: &TestApp,
    wanted: impl Fn(&DeliveryRecord) -> bool,
) -> DeliveryRecord {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let notified = app.db.store.job_notify();
            if let Some(found) = deliveries(app).await.into_iter().find(|d| wanted(d)) {
                return found;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified.notified()).await;
        }
    })
    .await
    .expect("the delivery reaches the wanted state in time")
}

/// Waits for the delivery of the deliberation `id` to be in `state`.
pub async fn wait_state(app: &TestApp, id: &str, state: DeliveryState) -> DeliveryRecord {
    wait_delivery(app, |d| {
        d.payload["deliberation_id"] == id && d.state == state
    })
    .await
}
