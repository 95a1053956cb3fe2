//! Runs — created with their job, listed by cursor, their steps recorded, retried —
//! on SQLite and, when `PILOT_TEST_POSTGRES_URL` is set, PostgreSQL.

mod common;

use common::*;
use pilot_domain::{
    Environment, FiredBy, NewJob, PilotId, PilotStatus, RunId, RunStatus, StepStatus, TriggerType,
    WorkspaceId,
};
use pilot_store::{
    CreateRun, NewPilot, NewRun, PilotPatch, PilotTrigger, RUN_JOB_KIND, RetryFrom, RetryRun,
    RunProgress, RunRecord, RunWork,
};
use pilot_testkit::{TestDb, backends};
use serde_json::{Value, json};

#[tokio::test]
async fn a_run_is_created_with_its_job_only_for_an_active_pilot_of_the_tenant() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        // A webhook pilot: its runs have its trigger type, however they are fired.
        let hooked = NewPilot {
            trigger: PilotTrigger {
                trigger_type: Some(TriggerType::Webhook),
                webhook_token_digest: Some("d1".repeat(32)),
                webhook_token_sealed: Some("v1:sealed".into()),
                ..PilotTrigger::default()
            },
            ..new_pilot("Active")
        };
        let active = pilot(store, acme, &hooked).await;
        let paused = NewPilot {
            status: PilotStatus::Paused,
            ..new_pilot("Paused")
        };
        let paused = pilot(store, acme, &paused).await;
        let payload = json!({"text": "hi"});

        for (workspace, environment, id) in [
            (acme, LIVE, PilotId(active.id.0 + 100)),
            (other, LIVE, active.id),
            (acme, Environment::Test, active.id),
        ] {
            let refused = store
                .create_run(workspace, environment, id, &api(&payload), T0)
                .await
                .unwrap();
            assert_eq!(refused, CreateRun::PilotNotFound, "{backend:?}");
        }
        let refused = store
            .create_run(acme, LIVE, paused.id, &api(&payload), T0)
            .await
            .unwrap();
        assert_eq!(refused, CreateRun::PilotPaused, "{backend:?}");
        assert_eq!(
            store.queue_counts().await.unwrap().queued,
            0,
            "no job for a refusal"
        );

        let notify = store.job_notify();
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let at = T0.plus_ms(7);
        let created = store
            .create_run(acme, LIVE, active.id, &api(&payload), at)
            .await
            .unwrap();
        let CreateRun::Created(run) = created else {
            panic!("expected a run on {backend:?}, got {created:?}");
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), woken)
            .await
            .expect("creating a run wakes workers");
        assert_eq!(
            run,
            RunRecord {
                id: run.id,
                pilot_id: active.id,
                workspace_id: acme,
                environment: LIVE,
                status: RunStatus::Queued,
                trigger_type: TriggerType::Webhook,
                fired_by: FiredBy::Api,
                payload: payload.clone(),
                request: None,
                steps: steps(),
                error: None,
                created_at: at,
                started_at: None,
                finished_at: None,
                retry_of: None,
                authorized_key_id: None,
            }
        );

        // The job was committed with the run, in the run's workspace lane.
        let jobs = take_jobs(store).await;
        assert_eq!(jobs.len(), 1, "{backend:?}");
        assert_eq!(jobs[0].kind, RUN_JOB_KIND);
        assert_eq!(jobs[0].payload, json!({"run_id": run.id.0}));
        assert_eq!(jobs[0].workspace_id, Some(acme));
        assert_eq!(jobs[0].run_at, at);
        assert_eq!(jobs[0].max_attempts, NewJob::DEFAULT_MAX_ATTEMPTS);

        let counted = store
            .get_pilot(acme, LIVE, active.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((counted.run_count, counted.last_run_at), (1, Some(at)));
        queue_run(store, acme, active.id, at.plus_ms(1)).await;
        let counted = store
            .get_pilot(acme, LIVE, active.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (counted.run_count, counted.last_run_at),
            (2, Some(at.plus_ms(1)))
        );

        // A run keeps the steps it was fired with.
        let edit = PilotPatch {
            steps: Some(json!([{"id": "new", "type": "transform"}])),
            ..PilotPatch::default()
        };
        store
            .update_pilot(acme, LIVE, active.id, &edit, at)
            .await
            .unwrap();
        let kept = store.get_run(acme, LIVE, run.id).await.unwrap().unwrap();
        assert_eq!(kept.run.steps, steps(), "{backend:?}");
        // Fired by its hook, the same trigger type, fired by the webhook.
        let request = json!({"method": "POST", "headers": {"x-event": "order"}});
        let hooked = store
            .create_run(
                acme,
                LIVE,
                active.id,
                &NewRun {
                    fired_by: FiredBy::Webhook,
                    payload: &payload,
                    request: Some(&request),
                },
                at,
            )
            .await
            .unwrap();
        let CreateRun::Created(hooked) = hooked else {
            panic!("expected a run on {backend:?}, got {hooked:?}");
        };
        assert_eq!(
            (hooked.trigger_type, hooked.fired_by),
            (TriggerType::Webhook, FiredBy::Webhook),
            "{backend:?}"
        );
        assert_eq!(hooked.request.as_ref(), Some(&request), "{backend:?}");
        let read = store.get_run(acme, LIVE, hooked.id).await.unwrap().unwrap();
        assert_eq!(read.run.request, Some(request), "{backend:?}");
    }
}

#[tokio::test]
async fn runs_are_listed_newest_first_by_cursor_within_the_tenant() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        let listed = pilot(store, acme, &new_pilot("Listed")).await;
        let elsewhere = pilot(store, acme, &new_pilot("Elsewhere")).await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(queue_run(store, acme, listed.id, T0.plus_ms(n)).await.id);
            queue_run(store, acme, elsewhere.id, T0.plus_ms(n)).await;
        }
        let page = |before: Option<RunId>, limit| async move {
            let runs = store.list_runs(acme, LIVE, listed.id, before, limit).await;
            let runs = runs.unwrap();
            runs.into_iter()
                .map(|detail| detail.run.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(page(None, 2).await, [ids[4], ids[3]], "{backend:?}");
        assert_eq!(page(Some(ids[3]), 2).await, [ids[2], ids[1]]);
        assert_eq!(page(Some(ids[1]), 2).await, [ids[0]]);
        assert_eq!(page(Some(ids[0]), 2).await, []);
        assert_eq!(page(None, 10).await.len(), 5);

        for (workspace, environment) in [(other, LIVE), (acme, Environment::Test)] {
            let runs = store
                .list_runs(workspace, environment, listed.id, None, 10)
                .await
                .unwrap();
            assert!(runs.is_empty(), "{backend:?}");
            let run = store.get_run(workspace, environment, ids[0]).await.unwrap();
            assert_eq!(run, None);
        }

        // Deleting the pilot deletes its runs.
        assert!(store.delete_pilot(acme, LIVE, listed.id).await.unwrap());
        assert_eq!(store.load_run(ids[0]).await.unwrap(), None, "{backend:?}");
        assert_eq!(page(None, 10).await, []);
    }
}

#[tokio::test]
async fn a_run_records_its_steps_replacing_retried_attempts_and_finishes() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let pilot = pilot(store, acme, &new_pilot("Steps")).await;
        let queued = queue_run(store, acme, pilot.id, T0).await;
        let id = queued.id;

        // Results may come in any order; a write with nothing in it changes nothing.
        store
            .record_progress(id, &RunProgress::default())
            .await
            .unwrap();
        store
            .record_progress(
                id,
                &RunProgress {
                    status: Some(RunStatus::Waiting),
                    started_at: Some(T0.plus_ms(10)),
                    steps: vec![
                        step(1, StepStatus::Failed, 1),
                        step(0, StepStatus::Success, 1),
                    ],
                    ..RunProgress::default()
                },
            )
            .await
            .unwrap();
        let waiting = store.load_run(id).await.unwrap().unwrap();
        assert_eq!(waiting.run.status, RunStatus::Waiting, "{backend:?}");
        assert_eq!(
            waiting.steps,
            [
                step(0, StepStatus::Success, 1),
                step(1, StepStatus::Failed, 1)
            ]
        );

        // A resumed run starts again without losing when it first started, and the
        // step's second attempt replaces its first.
        let second_attempt = step(1, StepStatus::Success, 2);
        store
            .record_progress(
                id,
                &RunProgress {
                    status: Some(RunStatus::Running),
                    started_at: Some(T0.plus_ms(20)),
                    ..RunProgress::default()
                },
            )
            .await
            .unwrap();
        let mut last = RunProgress {
            steps: vec![second_attempt.clone()],
            ..RunProgress::default()
        };
        last.finish(RunStatus::Success, None, T0.plus_ms(30));
        store.record_progress(id, &last).await.unwrap();
        let done = store.get_run(acme, LIVE, id).await.unwrap().unwrap();
        assert_eq!(
            done.run,
            RunRecord {
                status: RunStatus::Success,
                started_at: Some(T0.plus_ms(10)),
                finished_at: Some(T0.plus_ms(30)),
                ..queued.clone()
            },
            "{backend:?}"
        );
        assert_eq!(
            done.steps,
            [step(0, StepStatus::Success, 1), second_attempt]
        );
        assert_eq!(store.load_run(id).await.unwrap(), Some(done));

        let failed = queue_run(store, acme, pilot.id, T0).await;
        let mut failing = RunProgress::default();
        failing.finish(
            RunStatus::Failed,
            Some("step post failed".into()),
            T0.plus_ms(5),
        );
        store.record_progress(failed.id, &failing).await.unwrap();
        let failed = store.load_run(failed.id).await.unwrap().unwrap().run;
        assert_eq!(failed.status, RunStatus::Failed);
        assert_eq!(failed.error.as_deref(), Some("step post failed"));
        assert_eq!(failed.finished_at, Some(T0.plus_ms(5)));
    }
}

#[tokio::test]
async fn a_finished_run_is_retried_from_the_start_or_its_failed_step() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        let pilot = pilot(store, acme, &new_pilot("Retried")).await;
        let original = queue_run(store, acme, pilot.id, T0).await;
        let id = original.id;
        let later = T0.plus_ms(1_000);

        let early = store
            .retry_run(acme, LIVE, id, RetryFrom::Start, later)
            .await;
        assert_eq!(early.unwrap(), RetryRun::NotFinished, "{backend:?}");
        let results = [
            step(0, StepStatus::Success, 1),
            step(1, StepStatus::Success, 1),
            step(2, StepStatus::Failed, 3),
            step(3, StepStatus::Skipped, 0),
        ];
        let mut ended = RunProgress {
            steps: results.to_vec(),
            ..RunProgress::default()
        };
        ended.finish(RunStatus::Failed, Some("boom".into()), T0);
        store.record_progress(id, &ended).await.unwrap();
        let jobs_before = take_jobs(store).await.len();

        for (workspace, environment) in [(other, LIVE), (acme, Environment::Test)] {
            let absent = store
                .retry_run(workspace, environment, id, RetryFrom::Start, later)
                .await;
            assert_eq!(absent.unwrap(), RetryRun::RunNotFound, "{backend:?}");
        }

        let RetryRun::Created(again) = store
            .retry_run(acme, LIVE, id, RetryFrom::Start, later)
            .await
            .unwrap()
        else {
            panic!("expected a retry on {backend:?}");
        };
        let expected = RunRecord {
            id: again.id,
            status: RunStatus::Queued,
            created_at: later,
            retry_of: Some(id),
            authorized_key_id: None,
            fired_by: FiredBy::Retry,
            ..original.clone()
        };
        assert_eq!(again, expected, "{backend:?}");
        let fresh = store.load_run(again.id).await.unwrap().unwrap();
        assert!(fresh.steps.is_empty(), "from the start keeps no results");

        let RetryRun::Created(resumed) = store
            .retry_run(acme, LIVE, id, RetryFrom::FailedStep, later)
            .await
            .unwrap()
        else {
            panic!("expected a retry on {backend:?}");
        };
        let resumed = store.load_run(resumed.id).await.unwrap().unwrap();
        assert_eq!(resumed.run.retry_of, Some(id));
        assert_eq!(resumed.run.payload, original.payload);
        assert_eq!(
            resumed.steps,
            results[..2],
            "the results before the failed step, so the engine resumes there"
        );

        // Each retry is counted on the pilot and queued with its job.
        let jobs = take_jobs(store).await;
        let run_ids: Vec<Value> = jobs
            .iter()
            .map(|job| job.payload["run_id"].clone())
            .collect();
        assert_eq!(jobs_before, 1);
        assert_eq!(
            run_ids,
            [json!(again.id.0), json!(resumed.run.id.0)],
            "{backend:?}"
        );
        let counted = store
            .get_pilot(acme, LIVE, pilot.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((counted.run_count, counted.last_run_at), (3, Some(later)));

        // A run with no failed step cannot resume at one.
        let succeeded = queue_run(store, acme, pilot.id, T0).await;
        let mut ended = RunProgress {
            steps: vec![step(0, StepStatus::Success, 1)],
            ..RunProgress::default()
        };
        ended.finish(RunStatus::Success, None, T0);
        store.record_progress(succeeded.id, &ended).await.unwrap();
        let refused = store
            .retry_run(acme, LIVE, succeeded.id, RetryFrom::FailedStep, later)
            .await
            .unwrap();
        assert_eq!(refused, RetryRun::NoFailedStep, "{backend:?}");
    }
}

#[tokio::test]
async fn a_worker_loads_a_run_with_its_results_and_its_tenants_secrets_at_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let other = workspace(store, "other").await;
        let pilot = pilot(store, acme, &new_pilot("Loaded")).await;
        let run = queue_run(store, acme, pilot.id, T0).await;
        assert_eq!(
            store.load_run_work(run.id).await.unwrap(),
            Some(RunWork {
                detail: store.load_run(run.id).await.unwrap().unwrap(),
                sealed_secrets: vec![],
            }),
            "{backend:?}"
        );

        for (workspace, environment, name, sealed) in [
            (acme, LIVE, "TOKEN", "v1:token"),
            (acme, LIVE, "API_KEY", "v1:key"),
            (acme, Environment::Test, "TOKEN", "v1:test"),
            (other, LIVE, "TOKEN", "v1:other"),
        ] {
            store
                .put_secret(workspace, environment, name, sealed, T0)
                .await
                .unwrap();
        }
        // Outputs travel as JSON inside JSON on PostgreSQL: quotes, escapes and
        // non-ASCII text come back as they went in.
        let mut tricky = step(1, StepStatus::Success, 1);
        tricky.output = Some(json!({"text": "a \"quoted\"\n\\ line ✓", "n": [1.5, null]}));
        let progress = RunProgress {
            steps: vec![tricky.clone(), step(0, StepStatus::Success, 1)],
            ..RunProgress::default()
        };
        store.record_progress(run.id, &progress).await.unwrap();

        let work = store.load_run_work(run.id).await.unwrap().unwrap();
        assert_eq!(
            work.detail,
            store.load_run(run.id).await.unwrap().unwrap(),
            "{backend:?}"
        );
        assert_eq!(work.detail.steps, [step(0, StepStatus::Success, 1), tricky]);
        assert_eq!(
            work.sealed_secrets,
            [
                ("API_KEY".to_owned(), "v1:key".to_owned()),
                ("TOKEN".to_owned(), "v1:token".to_owned())
            ],
            "only the run's tenant's, by name, on {backend:?}"
        );
        assert_eq!(
            store.load_run_work(RunId(run.id.0 + 1_000)).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn the_key_that_set_a_pilots_steps_authorises_its_runs_by_every_trigger() {
    use pilot_domain::{ApiKeyId, Scopes};
    use pilot_store::{NewApiKey, PilotTrigger};
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &*db.store;
        let acme = workspace(store, "acme").await;
        let key = |digest: &str| NewApiKey {
            environment: LIVE,
            name: digest.into(),
            prefix: "pk_live_abcd".into(),
            digest: digest.into(),
            scopes: Scopes::all(),
            webhook_secret_sealed: "v1:x".into(),
        };
        let first = store.create_api_key(acme, &key("d1"), T0).await.unwrap();
        let second = store.create_api_key(acme, &key("d2"), T0).await.unwrap();
        let looked_up = store
            .find_key_in_tenant(acme, LIVE, first.id)
            .await
            .unwrap();
        let looked_up = looked_up.expect("the key, with its workspace");
        assert_eq!(
            (looked_up.key, looked_up.workspace_name.as_str()),
            (first.clone(), "acme")
        );
        for (workspace, environment) in [
            (acme, pilot_domain::Environment::Test),
            (WorkspaceId(acme.0 + 1_000), LIVE),
        ] {
            let absent = store.find_key_in_tenant(workspace, environment, first.id);
            assert!(
                absent.await.unwrap().is_none(),
                "{backend:?}: another tenant's key"
            );
        }

        let scheduled = NewPilot {
            steps_key_id: Some(first.id),
            trigger: PilotTrigger {
                trigger_type: Some(TriggerType::Schedule),
                schedule_cron: Some("* * * * *".into()),
                schedule_timezone: Some("UTC".into()),
                next_fire_at: Some(T0),
                ..PilotTrigger::default()
            },
            ..new_pilot("Keyed")
        };
        let keyed = pilot(store, acme, &scheduled).await;
        assert_eq!(keyed.steps_key_id, Some(first.id), "{backend:?}");
        let manual = queue_run(store, acme, keyed.id, T0).await;
        assert_eq!(manual.authorized_key_id, Some(first.id), "{backend:?}");
        let fired = store
            .fire_schedule(keyed.id, T0, Some(T0.plus_ms(60_000)), &json!({}), T0)
            .await
            .unwrap()
            .expect("the tick fires");
        assert_eq!(fired.authorized_key_id, Some(first.id), "{backend:?}");

        // Patching anything but the steps keeps the key; new steps record their key.
        let retitle = PilotPatch {
            title: Some("Renamed".into()),
            steps_key_id: Some(second.id),
            ..PilotPatch::default()
        };
        let renamed = store.update_pilot(acme, LIVE, keyed.id, &retitle, T0).await;
        assert_eq!(renamed.unwrap().unwrap().steps_key_id, Some(first.id));
        let resteps = PilotPatch {
            steps: Some(steps()),
            steps_key_id: Some(second.id),
            ..PilotPatch::default()
        };
        let resaved = store.update_pilot(acme, LIVE, keyed.id, &resteps, T0).await;
        assert_eq!(resaved.unwrap().unwrap().steps_key_id, Some(second.id));
        let after = queue_run(store, acme, keyed.id, T0.plus_ms(1)).await;
        assert_eq!(after.authorized_key_id, Some(second.id), "{backend:?}");

        // A retry repeats its run's steps, so it keeps the run's key.
        let mut done = RunProgress::default();
        done.finish(RunStatus::Failed, Some("x".into()), T0);
        store.record_progress(manual.id, &done).await.unwrap();
        let retried = store
            .retry_run(acme, LIVE, manual.id, RetryFrom::Start, T0)
            .await
            .unwrap();
        let RetryRun::Created(retried) = retried else {
            panic!("{retried:?}");
        };
        assert_eq!(retried.authorized_key_id, Some(first.id), "{backend:?}");

        // A pilot stored without a key (before keys were recorded) authorises nothing.
        let legacy = pilot(store, acme, &new_pilot("Legacy")).await;
        assert_eq!(legacy.steps_key_id, None);
        let run = queue_run(store, acme, legacy.id, T0).await;
        assert_eq!(run.authorized_key_id, None::<ApiKeyId>);
    }
}
