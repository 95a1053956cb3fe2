//! The step engine and the triggers through the real server: `llm` on the scripted
//! and a fake live provider, `email` over real SMTP, durable `delay`, schedules that
//! fire once across nodes, the email trigger, a run whose worker dies mid-step
//! finished by another node, and what a run has recorded when its `http` step goes out.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::UnixMillis;
use pilot_engine::{Clock, ManualClock};
use pilot_models::ProviderConfig;
use pilot_smtp::{CollectingHandler, SmtpListenConfig, spawn_local};
use pilot_testkit::backends;
use pilot_testkit::fake_llm::{FakeLlm, FakeReply};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::harness::{spawn_app, spawn_node, spawn_with, test_config};
use crate::pilots::{create, finished_run, fire, three_steps};
use crate::sink::Sink;

#[tokio::test]
async fn llm_steps_answer_from_the_scripted_model_in_test_mode() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.test_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Sum", "steps": [
                {"id": "summary", "type": "llm", "prompt": "Summarize order {{ trigger.id }}"},
                {"id": "facts", "type": "llm", "prompt": "Facts as JSON", "output": "json"}
            ]}),
        )
        .await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({"id": 7})).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");
        let text = run["steps"][0]["output"].as_str().unwrap();
        assert!(text.starts_with("[scripted] "), "{text}");
        assert!(run["steps"][1]["output"].is_object() || run["steps"][1]["output"].is_array());

        // A failing model fails the step with the model's reason.
        let failing = create(
            &app,
            &key,
            json!({"title": "Fail", "steps": [
                {"id": "x", "type": "llm", "prompt": "[[scripted:fail]]"}
            ]}),
        )
        .await;
        let run = fire(&app, &key, failing["id"].as_i64().unwrap(), json!({})).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed");
        assert!(run["steps"][0]["error"].as_str().unwrap().len() > 5);
    }
}

#[tokio::test]
async fn llm_steps_call_the_live_provider_and_are_metered_to_the_workspace() {
    for backend in backends() {
        let llm = FakeLlm::start().await;
        llm.set_fallback(FakeReply::text("A crisp summary.").usage(120, 30));
        let mut config = test_config();
        config.models.live_provider = "fake".to_owned();
        config.models.providers.insert(
            "fake".to_owned(),
            ProviderConfig {
                base_url: llm.openai_base_url(),
                ..ProviderConfig::default()
            },
        );
        config.models.roles.step = "fake-model".to_owned();
        let app = spawn_with(backend, config).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Live", "steps": [
                {"id": "s", "type": "llm", "prompt": "Summarize {{ trigger.text }}"}
            ]}),
        )
        .await;
        let run = fire(
            &app,
            &key,
            pilot["id"].as_i64().unwrap(),
            json!({"text": "the order"}),
        )
        .await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");
        assert_eq!(run["steps"][0]["output"], "A crisp summary.");
        let sent = llm.requests();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].body.to_string().contains("Summarize the order"));

        let summary = app
            .db
            .store
            .usage_summary(&pilot_store::UsageQuery::since(UnixMillis(0)))
            .await
            .unwrap();
        let row = summary
            .iter()
            .find(|r| r.model == "fake-model")
            .expect("the call is metered");
        assert_eq!((row.input_tokens, row.output_tokens), (120, 30));
    }
}

#[tokio::test]
async fn email_steps_send_over_smtp() {
    for backend in backends() {
        let inbox = Arc::new(CollectingHandler::new(["ops"]));
        let (addr, stop) = spawn_local(inbox.clone(), SmtpListenConfig::default())
            .await
            .unwrap();
        let mut config = test_config();
        config.smtp.host = addr.ip().to_string();
        config.smtp.port = addr.port();
        config.smtp.security = pilot_engine::steps::email::SmtpSecurity::None;
        config.smtp.from = "Pilot <pilot@example.com>".to_owned();
        let app = spawn_with(backend, config).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Mail", "steps": [{"id": "mail", "type": "email",
                "to": "ops@localhost", "subject": "Order {{ trigger.id }}",
                "body": "Total: {{ trigger.total }}"}]}),
        )
        .await;
        let run = fire(
            &app,
            &key,
            pilot["id"].as_i64().unwrap(),
            json!({"id": "A1", "total": 12}),
        )
        .await;
        let mail = inbox.next_mail().await;
        assert_eq!(mail.subject.as_deref(), Some("Order A1"));
        assert_eq!(mail.text.trim(), "Total: 12");
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");
        assert_eq!(run["steps"][0]["output"]["to"][0], "ops@localhost");
        assert_eq!(run["steps"][0]["output"]["subject"], "Order A1");

        // A subject rendered from a secret is sent, and not kept in the output.
        let put = app
            .client
            .put(format!("{}/api/v1/secrets/KEY_ID", app.url))
            .bearer_auth(&key)
            .json(&json!({"value": "key-abcdef"}))
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success());
        let keyed = create(
            &app,
            &key,
            json!({"title": "Keyed", "steps": [{"id": "mail", "type": "email",
                "to": "ops@localhost", "subject": "Rotate {{ secrets.KEY_ID | upper }}",
                "body": "Due."}]}),
        )
        .await;
        let run = fire(&app, &key, keyed["id"].as_i64().unwrap(), json!({})).await;
        let mail = inbox.next_mail().await;
        assert_eq!(mail.subject.as_deref(), Some("Rotate KEY-ABCDEF"));
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "success", "{run}");
        assert_eq!(
            run["steps"][0]["output"]["subject"],
            pilot_engine::steps::SENT_NOT_KEPT
        );
        assert!(!run.to_string().contains("KEY-ABCDEF"), "{run}");

        // A refused recipient fails the step with the server's reason.
        let bad = create(
            &app,
            &key,
            json!({"title": "Bad", "steps": [{"id": "mail", "type": "email",
                "to": "nobody@localhost", "subject": "s", "body": "b"}]}),
        )
        .await;
        let run = fire(&app, &key, bad["id"].as_i64().unwrap(), json!({})).await;
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["status"], "failed");
        assert!(
            run["steps"][0]["error"].as_str().unwrap().contains("SMTP"),
            "{run}"
        );
        stop.cancel();
    }
}

#[tokio::test]
async fn a_delay_waits_durably_without_holding_a_worker() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Later", "steps": [
                {"id": "wait", "type": "delay", "seconds": 1},
                {"id": "after", "type": "transform", "values": {"done": true}}
            ]}),
        )
        .await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;
        // While it waits the run says so, and its job is queued, not running: the
        // worker snoozes the job just after writing `waiting`, so look until both hold
        // (which cannot happen if a worker held the job through the wait).
        let waiting = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let body: Value = app.get_json(&format!("/api/v1/runs/{run}"), &key).await;
                let counts = app.db.store.queue_counts().await.unwrap();
                if body["status"] == "waiting" && counts.running == 0 {
                    return body;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the run waits with no worker held");
        assert_eq!(waiting["steps"][0]["output"]["waited_seconds"], 1);
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "success");
        assert_eq!(done["steps"][1]["output"], json!({"done": true}));
    }
}

#[tokio::test]
async fn a_schedule_tick_fires_once_across_nodes() {
    for backend in backends() {
        let app = spawn_node(backend, test_config(), false).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Tick", "triggerType": "schedule",
                   "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"},
                   "steps": [{"id": "t", "type": "transform", "values": {"at": "{{ trigger.scheduledAt }}"}}]}),
        )
        .await;
        let next = pilot["schedule"]["nextRunAt"].as_i64().unwrap();
        let clock = Arc::new(ManualClock::new(UnixMillis(next * 1000 + 1)));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let node_a = app.operations_at(dyn_clock.clone());
        let other = app.node(test_config()).await;
        let node_b = app.operations_on(other.store.clone(), dyn_clock);
        let (a, b) = tokio::join!(node_a.fire_due_schedules(), node_b.fire_due_schedules());
        assert_eq!(a.unwrap() + b.unwrap(), 1, "one tick, one run");
        assert_eq!(
            node_a.fire_due_schedules().await.unwrap(),
            0,
            "the tick is spent"
        );

        let shown: Value = app
            .get_json(&format!("/api/v1/pilots/{}", pilot["id"]), &key)
            .await;
        assert_eq!(shown["runCount"], 1);
        assert_eq!(
            shown["schedule"]["nextRunAt"],
            next + 300,
            "the next tick, 5 minutes on"
        );
        let runs: Value = app
            .get_json(&format!("/api/v1/pilots/{}/runs", pilot["id"]), &key)
            .await;
        assert_eq!(runs["runs"][0]["triggerType"], "schedule");
        other.store.close().await;
    }
}

/// A schedule stored before the minimum interval existed fires no more often than it.
#[tokio::test]
async fn a_stored_every_second_schedule_is_spaced_by_the_minimum_interval() {
    for backend in backends() {
        let app = spawn_node(backend, test_config(), false).await;
        let workspace = app
            .db
            .store
            .find_workspace("default")
            .await
            .unwrap()
            .unwrap();
        let start = UnixMillis(1_768_435_200_000);
        let stored = app
            .db
            .store
            .create_pilot(
                workspace.id,
                pilot_domain::Environment::Live,
                &pilot_store::NewPilot {
                    title: "Busy".into(),
                    description: String::new(),
                    status: pilot_domain::PilotStatus::Active,
                    trigger: pilot_store::PilotTrigger {
                        trigger_type: Some(pilot_domain::TriggerType::Schedule),
                        schedule_cron: Some("* * * * * *".into()),
                        schedule_timezone: Some("UTC".into()),
                        next_fire_at: Some(start),
                        ..pilot_store::PilotTrigger::default()
                    },
                    steps: json!([{"id": "wait", "type": "delay", "seconds": 1}]),
                    steps_key_id: None,
                    notify_url: None,
                    webhook_verification: None,
                },
                start,
            )
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(start));
        // The server's policy spaces ticks by `pilots.min_schedule_interval_secs`.
        assert_eq!(app.app.config.pilots.min_schedule_interval_secs, 60);
        let scheduler = app.operations_at(clock.clone());
        assert_eq!(scheduler.fire_due_schedules().await.unwrap(), 1);
        let pilot = app
            .db
            .store
            .get_pilot(workspace.id, pilot_domain::Environment::Live, stored.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            pilot.next_fire_at,
            Some(start.plus_ms(60_000)),
            "not a second later"
        );
        clock.advance_ms(30_000);
        assert_eq!(
            scheduler.fire_due_schedules().await.unwrap(),
            0,
            "nothing due within the minute"
        );
    }
}

#[tokio::test]
async fn mail_to_a_pilot_address_fires_a_run() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let pilot = create(
            &app,
            &key,
            json!({"title": "Inbox", "triggerType": "email",
                   "steps": [{"id": "t", "type": "transform", "values": {
                       "subject": "{{ trigger.subject }}",
                       "cc": "{{ trigger.cc | join(',') }}",
                       "date": "{{ trigger.date }}",
                       "file": "{{ trigger.attachments[0].name }} {{ trigger.attachments[0].contentType }} {{ trigger.attachments[0].size }} {{ trigger.attachments[0].content }}"}}]}),
        )
        .await;
        let address = pilot["emailAddress"]
            .as_str()
            .expect("emailAddress")
            .to_owned();
        assert!(address.starts_with("pilot-") && address.ends_with("@localhost"));
        let handler = Arc::new(pilot::triggers::email::EmailTrigger::new(
            app.app.operations(app.url.clone()),
        ));
        let (addr, stop) = spawn_local(handler, SmtpListenConfig::default())
            .await
            .unwrap();
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .build();
        let attachment = lettre::message::Attachment::new("order.txt".to_owned()).body(
            b"42".to_vec(),
            lettre::message::header::ContentType::parse("text/plain").unwrap(),
        );
        let message = Message::builder()
            .from("Customer <c@example.com>".parse().unwrap())
            .to(address.parse().unwrap())
            .cc("Support <support@example.com>".parse().unwrap())
            .date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            // The pilot alone is a recipient: the Cc address lives elsewhere.
            .envelope(
                lettre::address::Envelope::new(
                    Some("c@example.com".parse().unwrap()),
                    vec![address.parse().unwrap()],
                )
                .unwrap(),
            )
            .subject("Refund please")
            .multipart(
                lettre::message::MultiPart::mixed()
                    .singlepart(lettre::message::SinglePart::plain("Order 42".to_owned()))
                    .singlepart(attachment),
            )
            .unwrap();
        mailer
            .send(message)
            .await
            .expect("250: the run is committed");
        let unknown = Message::builder()
            .from("c@example.com".parse().unwrap())
            .to("pilot-nobody@localhost".parse().unwrap())
            .subject("x")
            .body("x".to_owned())
            .unwrap();
        assert!(
            mailer.send(unknown).await.is_err(),
            "unknown mailboxes are refused"
        );

        let runs: Value = app
            .get_json(&format!("/api/v1/pilots/{}/runs", pilot["id"]), &key)
            .await;
        let run = runs["runs"][0]["id"].as_i64().expect("a run");
        let run = finished_run(&app, &key, run).await;
        assert_eq!(run["triggerType"], "email");
        assert_eq!(
            run["steps"][0]["output"],
            json!({
                "subject": "Refund please",
                "cc": "support@example.com",
                "date": "2023-11-14T22:13:20Z",
                // "42" in base64.
                "file": "order.txt text/plain 2 NDI=",
            })
        );
        stop.cancel();
    }
}

/// `[environments] accept = ["live"]`: a test pilot's address is refused at `RCPT TO`
/// by a live-only server's listener over the same store, and accepted by one that
/// takes both.
#[tokio::test]
async fn a_live_only_server_refuses_mail_to_test_pilots() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    for backend in backends() {
        let app = spawn_app(backend).await;
        let pilot = create(
            &app,
            &app.test_key,
            json!({"title": "Test inbox", "triggerType": "email",
                   "steps": [{"id": "t", "type": "transform", "values": {"s": "{{ trigger.subject }}"}}]}),
        )
        .await;
        let address = pilot["emailAddress"]
            .as_str()
            .expect("emailAddress")
            .to_owned();
        let mut live_only = test_config();
        live_only.environments.accept = vec![pilot_domain::Environment::Live];
        let listeners = [
            (app.node(live_only).await.operations(app.url.clone()), false),
            (app.app.operations(app.url.clone()), true),
        ];
        for (ops, accepted) in listeners {
            let handler = Arc::new(pilot::triggers::email::EmailTrigger::new(ops));
            let (addr, stop) = spawn_local(handler, SmtpListenConfig::default())
                .await
                .unwrap();
            let mailer =
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
                    .port(addr.port())
                    .build();
            let message = Message::builder()
                .from("c@example.com".parse().unwrap())
                .to(address.parse().unwrap())
                .subject("Hello")
                .body("x".to_owned())
                .unwrap();
            let sent = mailer.send(message).await;
            assert_eq!(sent.is_ok(), accepted, "{sent:?} on {backend:?}");
            stop.cancel();
        }
    }
}

#[tokio::test]
async fn a_run_whose_worker_dies_mid_step_is_finished_by_another_node() {
    for backend in backends() {
        let mut config = test_config();
        config.queue.lease_ms = 800;
        config.queue.heartbeat_ms = 200;
        config.queue.reap_interval_ms = 100;
        let app = spawn_node(backend, config.clone(), false).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        sink.hold("/second");
        let pilot = create(
            &app,
            &key,
            json!({"title": "Two calls", "steps": [
                {"id": "first", "type": "http", "url": format!("{}/first", sink.url), "body": {"n": 1}},
                {"id": "second", "type": "http", "url": format!("{}/second", sink.url), "body": {"n": 2}}
            ]}),
        )
        .await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;

        // Node A runs the first step, then dies inside the second: no release, no
        // settle — its lease simply stops being renewed.
        let node_a = app.node(config.clone()).await;
        let a_stop = CancellationToken::new();
        let a = tokio::spawn(node_a.worker().run(a_stop.clone()));
        assert_eq!(sink.next().await.path, "/first");
        let first_try = sink.next().await;
        assert_eq!(first_try.path, "/second");
        // While its request is out, the step reads running, in its first execution.
        let during = app.get_json(&format!("/api/v1/runs/{run}"), &key).await;
        assert_eq!(during["steps"][1]["status"], "running", "{during}");
        assert_eq!(during["steps"][1]["attempts"], 1, "{during}");
        a.abort();
        let _ = a.await;
        sink.release();

        // Node B reaps the expired lease and resumes at the second step.
        let node_b = app.node(config.clone()).await;
        let b_stop = CancellationToken::new();
        let b = tokio::spawn(node_b.worker().run(b_stop.clone()));
        let resumed = sink.next().await;
        assert_eq!(resumed.path, "/second", "the first step is not run again");
        // The re-execution carries the first execution's key, so the receiver can
        // drop it; the run's other step has its own.
        let key_of = |received: &crate::sink::Received| {
            received.headers["idempotency-key"]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(key_of(&resumed), key_of(&first_try));
        assert!(
            key_of(&resumed).starts_with("pilot-"),
            "{}",
            key_of(&resumed)
        );
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "success", "{done}");
        assert_eq!(done["steps"][0]["attempts"], 1);
        assert_eq!(
            done["steps"][1]["attempts"], 2,
            "the second step ran twice: {done}"
        );
        assert!(sink.drain().is_empty());
        b_stop.cancel();
        b.await.unwrap();
        a_stop.cancel();
    }
}

/// An `http` step's `Idempotency-Key`: the same across the step's own retries, new
/// for a retried run, and the step's own header when it sets one.
#[tokio::test]
async fn http_steps_send_an_idempotency_key_stable_within_a_run_and_new_for_a_retry() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        sink.answer_with(500);
        let pilot = create(
            &app,
            &key,
            json!({"title": "Retries", "steps": [{"id": "call", "type": "http",
                "url": format!("{}/hook", sink.url), "body": {"n": 1},
                "retry": {"max_attempts": 3, "backoff_ms": 1}}]}),
        )
        .await;
        let run = fire(&app, &key, pilot["id"].as_i64().unwrap(), json!({})).await;
        let failed = finished_run(&app, &key, run).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert_eq!(failed["steps"][0]["attempts"], 3, "every retry counted");
        let keys: Vec<String> = sink
            .drain()
            .iter()
            .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");

        // A retried run is a new run: a new key.
        sink.answer_with(200);
        let retried: Value = app
            .post(&format!("/api/v1/runs/{run}/retry"))
            .bearer_auth(&key)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let again = finished_run(&app, &key, retried["jobId"].as_i64().unwrap()).await;
        assert_eq!(again["status"], "success", "{again}");
        let fresh = sink.next().await;
        assert_ne!(fresh.headers["idempotency-key"], keys[0].as_str());

        // A step that sets the header (in any case) sends its own, and only it.
        let own = create(
            &app,
            &key,
            json!({"title": "Own key", "steps": [{"id": "call", "type": "http",
                "url": format!("{}/own", sink.url),
                "headers": {"IDEMPOTENCY-key": "order-{{ trigger.id }}"}}]}),
        )
        .await;
        let run = fire(&app, &key, own["id"].as_i64().unwrap(), json!({"id": 42})).await;
        let received = sink.next().await;
        let sent: Vec<_> = received.headers.get_all("idempotency-key").iter().collect();
        assert_eq!(sent, ["order-42"]);
        assert_eq!(finished_run(&app, &key, run).await["status"], "success");
    }
}

/// Results of pure steps (`transform`, `condition`) are written together, but always
/// before a step that does I/O starts: while the `http` step's request is held, the
/// run reads `running` with both earlier results.
#[tokio::test]
async fn steps_before_an_http_step_are_recorded_before_its_request_goes_out() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let key = app.live_key.clone();
        let mut sink = Sink::start().await;
        sink.hold("/hook");
        let pilot = create(
            &app,
            &key,
            json!({"title": "Held", "steps": three_steps(&sink.url)}),
        )
        .await;
        let pilot = pilot["id"].as_i64().unwrap();
        let run = fire(&app, &key, pilot, json!({"orderId": "A-1", "total": 12})).await;

        assert_eq!(sink.next().await.path, "/hook");
        let during = app.get_json(&format!("/api/v1/runs/{run}"), &key).await;
        assert_eq!(during["status"], "running", "{backend:?}: {during}");
        let recorded: Vec<(&str, &str)> = during["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
            .collect();
        // The http step itself reads running: it has started, its attempt counted.
        assert_eq!(
            recorded,
            [
                ("shape", "success"),
                ("gate", "success"),
                ("notify", "running")
            ]
        );
        assert_eq!(during["steps"][2]["attempts"], 1);
        assert_eq!(during["steps"][0]["output"]["order"], "A-1");

        sink.release();
        let done = finished_run(&app, &key, run).await;
        assert_eq!(done["status"], "success", "{done}");
        assert_eq!(done["steps"][2]["status"], "success");
        assert!(done["finishedAt"].is_number(), "{done}");
    }
}
