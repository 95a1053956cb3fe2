//! What each answer does: the status matrix, the 10 s limit, `410 Gone`,
//! auto-disable at exactly 20 consecutive failures with nothing lost while disabled,
//! a worker that dies mid-delivery, and the address guard at delivery time.

use pilot_domain::Environment;
use pilot_domain::webhook::{DeliveryState, DisabledReason, EndpointState};
use pilot_store::EndpointRecord;
use pilot_testkit::backends;
use pilot_testkit::webhook_receiver::{Reply, WebhookReceiver};
use tokio_util::sync::CancellationToken;

use super::{submit, wait_delivery, wait_state, webhook_config, workspace};
use crate::harness::{TestApp, spawn_node, spawn_with};

async fn endpoint(app: &TestApp, url: &str) -> EndpointRecord {
    app.db
        .store
        .list_endpoints(workspace(app).await, Environment::Test)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.url == url)
        .expect("the endpoint exists")
}

#[tokio::test]
async fn each_status_gets_its_verdict() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        for (status, expected) in [
            (200, DeliveryState::Succeeded),
            (204, DeliveryState::Succeeded),
            (301, DeliveryState::Failed),
            (302, DeliveryState::Failed),
            (400, DeliveryState::Failed),
            (404, DeliveryState::Failed),
            (422, DeliveryState::Failed),
            (408, DeliveryState::Pending),
            (429, DeliveryState::Pending),
            (500, DeliveryState::Pending),
            (503, DeliveryState::Pending),
            (410, DeliveryState::Failed),
        ] {
            let mut reply = Reply::status(status);
            if (300..400).contains(&status) {
                reply = reply.body("moved").retry_after("0");
            }
            receiver.push(reply);
            let url = format!("{}/{status}", receiver.url());
            let id = submit(&app, &url, &format!("Status {status}?")).await;
            let done = wait_delivery(&app, |d| {
                d.payload["deliberation_id"] == id.as_str() && d.attempts == 1
            })
            .await;
            assert_eq!(done.state, expected, "{status}");
            assert_eq!(done.last_status, Some(i64::from(status)), "{status}");
            let state = endpoint(&app, &url).await;
            if status == 410 {
                assert_eq!(state.state, EndpointState::Disabled);
                assert_eq!(state.disabled_reason, Some(DisabledReason::Gone));
            } else {
                assert_eq!(state.state, EndpointState::Enabled, "{status}");
            }
        }
        // A redirect is answered, never followed: one request per 3xx.
        let paths: Vec<_> = receiver.received().into_iter().map(|r| r.path).collect();
        assert_eq!(paths.iter().filter(|p| p.ends_with("/301")).count(), 1);
        assert_eq!(paths.len(), 12, "{paths:?}");
    }
}

#[tokio::test]
async fn an_attempt_without_an_answer_in_time_is_a_retried_failure() {
    for backend in backends() {
        let mut config = webhook_config();
        config.webhooks.timeout_ms = 300;
        let app = spawn_with(backend, config).await;
        let receiver = WebhookReceiver::start().await;
        receiver.push(Reply::hang());
        let id = submit(&app, &receiver.url(), "Anyone there?").await;
        receiver.wait_for(1).await;
        let failed = wait_delivery(&app, |d| {
            d.payload["deliberation_id"] == id.as_str() && d.attempts == 1
        })
        .await;
        assert_eq!(failed.state, DeliveryState::Pending);
        assert_eq!(failed.last_status, None);
        let error = failed.last_error.unwrap();
        assert!(error.contains("within 300 ms"), "{error}");
    }
}

#[tokio::test]
async fn twenty_consecutive_failures_disable_the_endpoint_and_nothing_is_lost() {
    for backend in backends() {
        let app = spawn_with(backend, webhook_config()).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        receiver.set_fallback(Reply::status(400));
        let url = receiver.url();
        for n in 1..=19 {
            let id = submit(&app, &url, &format!("Failure {n}")).await;
            wait_state(&app, &id, DeliveryState::Failed).await;
        }
        let before = endpoint(&app, &url).await;
        assert_eq!(
            (before.state, before.consecutive_failures),
            (EndpointState::Enabled, 19)
        );
        let id = submit(&app, &url, "Failure 20").await;
        wait_state(&app, &id, DeliveryState::Failed).await;
        let after = endpoint(&app, &url).await;
        assert_eq!(
            after.state,
            EndpointState::Disabled,
            "disabled at exactly 20"
        );
        assert_eq!(
            after.disabled_reason,
            Some(DisabledReason::ConsecutiveFailures)
        );

        // While disabled, new events wait; none is sent and none is dropped.
        receiver.set_fallback(Reply::ok());
        let waiting = [
            submit(&app, &url, "While disabled 1").await,
            submit(&app, &url, "While disabled 2").await,
        ];
        for id in &waiting {
            wait_state(&app, id, DeliveryState::Disabled).await;
        }
        assert_eq!(receiver.received().len(), 20);

        let (enabled, released) = app
            .db
            .store
            .enable_endpoint(
                workspace(&app).await,
                Environment::Test,
                &after.id,
                app.app.clock.now(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (enabled.state, enabled.consecutive_failures, released),
            (EndpointState::Enabled, 0, 2)
        );
        for id in &waiting {
            wait_state(&app, id, DeliveryState::Succeeded).await;
        }
        let sent = receiver.wait_for(22).await;
        assert!(sent[20..].iter().all(|r| r.pilot5_ok() && r.standard_ok()));
    }
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_leaves_it_to_another_with_the_same_event() {
    for backend in backends() {
        let mut config = webhook_config();
        config.queue.lease_ms = 800;
        config.queue.heartbeat_ms = 200;
        config.queue.reap_interval_ms = 100;
        let app = spawn_node(backend, config.clone(), false).await;
        let receiver = WebhookReceiver::start().await;
        receiver.set_secret(app.test_secret.clone());
        receiver.push(Reply::hang());
        let id = submit(&app, &receiver.url(), "Deliver me twice").await;

        // Node A runs the deliberation and dies inside its delivery's request: no
        // release, no settle; its lease simply stops being renewed.
        let node_a = app.node(config.clone()).await;
        let a = tokio::spawn(node_a.worker().run(CancellationToken::new()));
        let first = receiver.wait_for(1).await.remove(0);
        a.abort();
        let _ = a.await;

        let node_b = app.node(config.clone()).await;
        let b_stop = CancellationToken::new();
        let b = tokio::spawn(node_b.worker().run(b_stop.clone()));
        let again = receiver.wait_for(2).await.remove(1);
        for name in [
            "x-pilot5-event-id",
            "webhook-id",
            "x-pilot5-delivery-id",
            "x-pilot5-attempt",
        ] {
            assert_eq!(again.header(name), first.header(name), "{name}");
        }
        assert!(again.pilot5_ok() && again.standard_ok());
        let done = wait_state(&app, &id, DeliveryState::Succeeded).await;
        assert_eq!(done.attempts, 1, "the lost attempt left no record");
        b_stop.cancel();
        b.await.unwrap();
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_at_delivery_is_refused() {
    for backend in backends() {
        // At submit the name answers a public address; by delivery, loopback (a
        // DNS rebinding). The guard checks the answer at connect time.
        let mut at_submit = webhook_config();
        at_submit
            .outbound
            .hosts
            .insert("rebind.test".into(), vec!["93.184.216.34".parse().unwrap()]);
        let app = spawn_node(backend, at_submit, false).await;
        let mut at_delivery = webhook_config();
        at_delivery.outbound.allow_list.clear();
        at_delivery
            .outbound
            .hosts
            .insert("rebind.test".into(), vec!["127.0.0.1".parse().unwrap()]);
        let receiver = WebhookReceiver::start().await;
        let url = format!("https://rebind.test:{}/hook", receiver.port());
        let id = submit(&app, &url, "Where does this go?").await;
        let node = app.node(at_delivery).await;
        let stop = CancellationToken::new();
        let worker = tokio::spawn(node.worker().run(stop.clone()));
        let refused = wait_delivery(&app, |d| {
            d.payload["deliberation_id"] == id.as_str() && d.attempts == 1
        })
        .await;
        assert_eq!(
            refused.state,
            DeliveryState::Pending,
            "retried later, not sent"
        );
        let error = refused.last_error.unwrap();
        assert!(error.contains("forbidden addresses"), "{error}");
        assert!(receiver.received().is_empty());
        stop.cancel();
        worker.await.unwrap();
    }
}
