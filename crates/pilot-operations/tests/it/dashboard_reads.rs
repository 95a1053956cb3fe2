//! The dashboard's reads across a key's tenant: each filter narrows to what it
//! names, cursors page without overlap or gap, bad values are 422s naming them, and
//! neither another workspace's nor the other environment's data ever shows.

use std::collections::BTreeMap;

use pilot_domain::{
    Credits, DeliberationId, Difficulty, Environment, FailureCode, FiredBy, Mode, PilotStatus,
    Principal, RunStatus, TriggerType, UnixMillis, UsageRecord, UseCase, WorkspaceName,
};
use pilot_operations::dashboard::{DeliberationsQuery, RunsQuery};
use pilot_operations::{ErrorKind, OpError, Operator};
use pilot_store::{NewDeliberation, NewPilot, NewRun, PilotTrigger, RunProgress};
use pilot_testkit::backends;
use serde_json::json;

use crate::harness::{Harness, START, operations};

const DAY_MS: i64 = 86_400_000;

/// What one tenant's runs were made as: id, pilot index, status, fired by, trigger
/// type, created at.
#[derive(Clone, Debug)]
struct Made {
    id: i64,
    pilot: i64,
    status: RunStatus,
    fired_by: FiredBy,
    trigger: TriggerType,
    created_at: i64,
}

struct Tenants {
    acme_live: Principal,
    acme_test: Principal,
    beta_live: Principal,
}

async fn principal(h: &Harness, token: &str) -> Principal {
    let header = format!("Bearer {token}");
    h.ops.authenticate(Some(Ok(&header))).await.unwrap()
}

async fn tenants(h: &Harness) -> Tenants {
    let operator = Operator::console();
    let acme = h
        .ops
        .create_workspace(&operator, &WorkspaceName::parse("acme").unwrap())
        .await
        .unwrap();
    let beta = h
        .ops
        .create_workspace(&operator, &WorkspaceName::parse("beta").unwrap())
        .await
        .unwrap();
    Tenants {
        acme_live: principal(h, acme.live.token.expose()).await,
        acme_test: principal(h, acme.test.token.expose()).await,
        beta_live: principal(h, beta.live.token.expose()).await,
    }
}

/// `count` runs over `pilots` new pilots of `who`'s tenant, a minute apart: statuses,
/// what fired them and trigger types cycle so every filter has something to narrow.
async fn runs(h: &Harness, who: &Principal, pilots: usize, count: usize) -> Vec<Made> {
    let store = &h.db.store;
    let triggers = [TriggerType::Manual, TriggerType::Webhook];
    let mut ids = Vec::new();
    for p in 0..pilots {
        let pilot = store
            .create_pilot(
                who.workspace_id,
                who.environment,
                &NewPilot {
                    title: format!("pilot {p}"),
                    description: String::new(),
                    status: PilotStatus::Active,
                    trigger: PilotTrigger {
                        trigger_type: Some(triggers[p % 2]),
                        ..PilotTrigger::default()
                    },
                    steps: json!([]),
                    steps_key_id: None,
                    notify_url: None,
                    webhook_verification: None,
                },
                h.ops.now(),
            )
            .await
            .unwrap();
        ids.push(pilot.id);
    }
    let statuses = [
        RunStatus::Queued,
        RunStatus::Success,
        RunStatus::Failed,
        RunStatus::Success,
    ];
    let fired = [FiredBy::Api, FiredBy::Webhook, FiredBy::Schedule];
    let payload = json!({});
    let mut made = Vec::new();
    for i in 0..count {
        h.clock.advance_ms(60_000);
        let now = h.ops.now();
        let p = i % pilots;
        let created = store
            .create_run(
                who.workspace_id,
                who.environment,
                ids[p],
                &NewRun {
                    fired_by: fired[i % 3],
                    payload: &payload,
                    request: None,
                },
                now,
            )
            .await
            .unwrap();
        let pilot_store::CreateRun::Created(run) = created else {
            panic!("the run was not created: {created:?}");
        };
        let status = statuses[i % 4];
        if status != RunStatus::Queued {
            let mut progress = RunProgress {
                started_at: Some(now),
                ..RunProgress::default()
            };
            let error = (status == RunStatus::Failed).then(|| "boom".to_owned());
            progress.finish(status, error, UnixMillis(now.0 + 1_500));
            store.record_progress(run.id, &progress).await.unwrap();
        }
        made.push(Made {
            id: run.id.0,
            pilot: ids[p].0,
            status,
            fired_by: fired[i % 3],
            trigger: triggers[p % 2],
            created_at: now.0,
        });
    }
    made
}

/// Every page of `query`'s runs, `limit` at a time: the ids in order.
async fn all_pages(h: &Harness, who: &Principal, query: RunsQuery) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut before = None;
    loop {
        let page = h
            .ops
            .list_all_runs(
                who,
                RunsQuery {
                    before,
                    ..query.clone()
                },
            )
            .await
            .unwrap();
        ids.extend(page.runs.iter().map(|r| r.id));
        match page.next_before {
            Some(next) => before = Some(next),
            None => return ids,
        }
    }
}

/// `made`'s ids that `keep` keeps, newest first.
fn expected(made: &[Made], keep: impl Fn(&Made) -> bool) -> Vec<i64> {
    let mut ids: Vec<i64> = made.iter().filter(|m| keep(m)).map(|m| m.id).collect();
    ids.reverse();
    ids
}

fn assert_422_naming(result: Result<impl std::fmt::Debug, OpError>, value: &str) {
    let error = result.expect_err("a bad value is refused");
    assert_eq!(error.kind, ErrorKind::Validation, "{error:?}");
    assert!(
        error.message.contains(value),
        "{:?} names {value:?}",
        error.message
    );
}

#[tokio::test]
async fn all_runs_page_newest_first_without_overlap_or_gap_and_only_the_tenants() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let acme = runs(&h, &t.acme_live, 3, 23).await;
        let other_env = runs(&h, &t.acme_test, 1, 4).await;
        let other_ws = runs(&h, &t.beta_live, 1, 4).await;

        let paged = all_pages(
            &h,
            &t.acme_live,
            RunsQuery {
                limit: Some(5),
                ..RunsQuery::default()
            },
        )
        .await;
        assert_eq!(
            paged,
            expected(&acme, |_| true),
            "every run once, newest first"
        );

        let first = h
            .ops
            .list_all_runs(&t.acme_live, RunsQuery::default())
            .await
            .unwrap();
        assert_eq!(first.runs.len(), 23, "the default page holds them all");
        assert_eq!(first.next_before, None);
        let newest = &first.runs[0];
        let made = acme.last().unwrap();
        assert_eq!(newest.id, made.id);
        assert_eq!(newest.pilot_id, made.pilot);
        assert_eq!(newest.pilot_title, "pilot 1");
        assert_eq!(newest.created_at, made.created_at / 1000);
        let failed = first.runs.iter().find(|r| r.status == "failed").unwrap();
        assert_eq!(failed.error.as_deref(), Some("boom"));
        assert_eq!(failed.duration_ms, Some(1_500));
        assert!(failed.finished_at.is_some() && failed.started_at.is_some());

        for other in other_env.iter().chain(&other_ws) {
            assert!(
                !paged.contains(&other.id),
                "run {} is another tenant's",
                other.id
            );
        }
        let test_env = all_pages(&h, &t.acme_test, RunsQuery::default()).await;
        assert_eq!(test_env, expected(&other_env, |_| true));
        let beta = all_pages(&h, &t.beta_live, RunsQuery::default()).await;
        assert_eq!(beta, expected(&other_ws, |_| true));
    }
}

#[tokio::test]
async fn each_run_filter_narrows_to_what_it_names() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let acme = runs(&h, &t.acme_live, 3, 24).await;
        runs(&h, &t.beta_live, 1, 6).await;
        let who = &t.acme_live;
        let page = |q: RunsQuery| RunsQuery {
            limit: Some(4),
            ..q
        };

        let failed = all_pages(
            &h,
            who,
            page(RunsQuery {
                status: Some("failed".into()),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(failed, expected(&acme, |m| m.status == RunStatus::Failed));
        assert!(!failed.is_empty());

        let pilot = acme[1].pilot;
        let of_pilot = all_pages(
            &h,
            who,
            page(RunsQuery {
                pilot_id: Some(pilot),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(of_pilot, expected(&acme, |m| m.pilot == pilot));

        let by_webhook = all_pages(
            &h,
            who,
            page(RunsQuery {
                fired_by: Some("webhook".into()),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(
            by_webhook,
            expected(&acme, |m| m.fired_by == FiredBy::Webhook)
        );

        let webhook_pilots = all_pages(
            &h,
            who,
            page(RunsQuery {
                trigger_type: Some("webhook".into()),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(
            webhook_pilots,
            expected(&acme, |m| m.trigger == TriggerType::Webhook)
        );

        // Runs are a minute apart: [since, until) in seconds keeps runs 5 to 14.
        let since = acme[5].created_at / 1000;
        let until = acme[15].created_at / 1000;
        let window = all_pages(
            &h,
            who,
            page(RunsQuery {
                since: Some(since),
                until: Some(until),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(window, expected(&acme[5..15], |_| true));

        let combined = all_pages(
            &h,
            who,
            page(RunsQuery {
                status: Some("success".into()),
                pilot_id: Some(pilot),
                since: Some(since),
                ..RunsQuery::default()
            }),
        )
        .await;
        assert_eq!(
            combined,
            expected(&acme, |m| m.status == RunStatus::Success
                && m.pilot == pilot
                && m.created_at >= since * 1000)
        );

        let beta_pilot = h
            .ops
            .list_all_runs(&t.beta_live, RunsQuery::default())
            .await
            .unwrap()
            .runs[0]
            .pilot_id;
        let foreign = h
            .ops
            .list_all_runs(
                who,
                RunsQuery {
                    pilot_id: Some(beta_pilot),
                    ..RunsQuery::default()
                },
            )
            .await
            .unwrap();
        assert!(
            foreign.runs.is_empty(),
            "another workspace's pilot shows nothing"
        );
    }
}

#[tokio::test]
async fn bad_filter_values_are_422s_naming_them() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let who = &t.acme_live;
        let runs = |q: RunsQuery| h.ops.list_all_runs(who, q);
        assert_422_naming(
            runs(RunsQuery {
                status: Some("exploded".into()),
                ..RunsQuery::default()
            })
            .await,
            "exploded",
        );
        assert_422_naming(
            runs(RunsQuery {
                fired_by: Some("carrier-pigeon".into()),
                ..RunsQuery::default()
            })
            .await,
            "carrier-pigeon",
        );
        assert_422_naming(
            runs(RunsQuery {
                trigger_type: Some("telepathy".into()),
                ..RunsQuery::default()
            })
            .await,
            "telepathy",
        );
        assert_422_naming(
            runs(RunsQuery {
                limit: Some(101),
                ..RunsQuery::default()
            })
            .await,
            "101",
        );
        assert_422_naming(
            runs(RunsQuery {
                limit: Some(0),
                ..RunsQuery::default()
            })
            .await,
            "0",
        );
        assert_422_naming(
            h.ops
                .list_deliberations(
                    who,
                    DeliberationsQuery {
                        status: Some("pondering".into()),
                        ..DeliberationsQuery::default()
                    },
                )
                .await,
            "pondering",
        );
        assert_422_naming(h.ops.usage_by_day(who, 0).await, "0");
        assert_422_naming(h.ops.usage_by_day(who, 91).await, "91");
        assert_422_naming(
            h.ops.tenant_credit_ledger(who, None, Some(500)).await,
            "500",
        );
    }
}

/// `count` deliberations of `who`'s tenant, a second apart; every third failed. The
/// ids, oldest first.
async fn deliberations(h: &Harness, who: &Principal, tag: &str, count: usize) -> Vec<String> {
    let store = &h.db.store;
    let mut ids = Vec::new();
    for i in 0..count {
        h.clock.advance_ms(1_000);
        let now = h.ops.now();
        let id = DeliberationId::derived(now.0 as u64, &format!("{tag}-{i}"));
        let question = if i == 0 {
            "é".repeat(300)
        } else {
            format!("{tag} question {i}")
        };
        store
            .create_deliberation(
                who.workspace_id,
                who.environment,
                &NewDeliberation {
                    id: id.clone(),
                    key_id: Some(who.key_id),
                    mode: Mode::Smartroute1,
                    use_case: UseCase::General,
                    difficulty: Difficulty::Easy,
                    question,
                    webhook_url: None,
                    metadata: None,
                    estimate: Credits::ZERO,
                },
                now,
            )
            .await
            .unwrap();
        if i % 3 == 2 {
            store
                .fail_deliberation(&id, FailureCode::ProcessingFailed, now)
                .await
                .unwrap();
        }
        ids.push(id.as_str().to_owned());
    }
    ids
}

/// Every page of `who`'s deliberations with `status`, three at a time.
async fn deliberation_pages(
    h: &Harness,
    who: &Principal,
    status: Option<&str>,
) -> Vec<pilot_operations::views::DeliberationSummaryView> {
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = h
            .ops
            .list_deliberations(
                who,
                DeliberationsQuery {
                    status: status.map(str::to_owned),
                    before,
                    limit: Some(3),
                },
            )
            .await
            .unwrap();
        seen.extend(page.data);
        match page.next_before {
            Some(next) => before = Some(next),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn deliberations_page_newest_first_filter_by_status_and_stay_in_the_tenant() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let acme = deliberations(&h, &t.acme_live, "acme", 11).await;
        let other_env = deliberations(&h, &t.acme_test, "test", 3).await;
        let other_ws = deliberations(&h, &t.beta_live, "beta", 3).await;
        let who = &t.acme_live;

        let all = deliberation_pages(&h, who, None).await;
        let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
        let newest_first: Vec<&str> = acme.iter().rev().map(String::as_str).collect();
        assert_eq!(ids, newest_first, "every deliberation once, newest first");
        for other in other_env.iter().chain(&other_ws) {
            assert!(
                !ids.contains(&other.as_str()),
                "{other} is another tenant's"
            );
        }
        let oldest = all.last().unwrap();
        assert_eq!(
            oldest.question,
            "é".repeat(200),
            "200 characters, not bytes"
        );
        assert_eq!(oldest.mode, "smartroute1");
        assert_eq!(oldest.status, "queued");
        assert_eq!(oldest.credits_charged, None);
        assert!(oldest.id.starts_with("del_"));

        let failed = deliberation_pages(&h, who, Some("failed")).await;
        let failed_ids: Vec<&str> = failed.iter().map(|d| d.id.as_str()).collect();
        let expected: Vec<&str> = acme
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| i % 3 == 2)
            .map(|(_, id)| id.as_str())
            .collect();
        assert_eq!(failed_ids, expected);
        assert!(failed.iter().all(|d| d.status == "failed"
            && d.completed_at.is_some()
            && d.credits_charged == Some(Credits::ZERO)));
    }
}

fn usage(who: &Principal, model: &str, at: i64, tokens: (i64, i64), micros: i64) -> UsageRecord {
    UsageRecord {
        workspace_id: Some(who.workspace_id),
        environment: Some(who.environment),
        owner_kind: "run_step".into(),
        owner_id: "s1".into(),
        provider: "scripted".into(),
        model: model.into(),
        input_tokens: tokens.0,
        output_tokens: tokens.1,
        usage_known: true,
        latency_ms: 5,
        cost: Credits::from_micros(micros),
        created_at: UnixMillis(at),
    }
}

#[tokio::test]
async fn usage_by_day_sums_each_day_and_model_of_the_tenant_only() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let store = &h.db.store;
        // The clock at noon on the third day from START.
        h.clock.advance_ms(2 * DAY_MS + DAY_MS / 2);
        let day = |n: i64, ms: i64| START.0 + n * DAY_MS + ms;
        let who = &t.acme_live;
        let records = [
            usage(who, "small", day(0, 1), (10, 1), 7),
            usage(who, "small", day(0, DAY_MS - 1), (20, 2), 11),
            usage(who, "large", day(0, 5), (100, 50), 1_000_001),
            usage(who, "small", day(2, 0), (3, 4), 1),
            // Before the window of two days.
            usage(who, "small", day(-1, 0), (999, 999), 999),
            // Other tenants.
            usage(&t.acme_test, "small", day(2, 1), (500, 500), 500),
            usage(&t.beta_live, "small", day(2, 1), (600, 600), 600),
        ];
        for record in &records {
            store.record_usage(record).await.unwrap();
        }
        let three = h.ops.usage_by_day(who, 3).await.unwrap();
        assert_eq!(three.since, "2026-01-15");
        let rows: BTreeMap<(String, String), (i64, i64, i64, i64)> = three
            .days
            .iter()
            .map(|d| {
                (
                    (d.day.clone(), d.model.clone()),
                    (d.input_tokens, d.output_tokens, d.cost_micros, d.calls),
                )
            })
            .collect();
        let want: BTreeMap<(String, String), (i64, i64, i64, i64)> = [
            (("2026-01-15", "large"), (100, 50, 1_000_001, 1)),
            (("2026-01-15", "small"), (30, 3, 18, 2)),
            (("2026-01-17", "small"), (3, 4, 1, 1)),
        ]
        .into_iter()
        .map(|((d, m), v)| ((d.to_owned(), m.to_owned()), v))
        .collect();
        assert_eq!(rows, want, "day 2 had no usage and is left out");
        let large = three.days.iter().find(|d| d.model == "large").unwrap();
        assert_eq!(large.cost, Credits::from_micros(1_000_001));

        let today = h.ops.usage_by_day(who, 1).await.unwrap();
        assert_eq!(today.days.len(), 1);
        assert_eq!(today.days[0].day, "2026-01-17");
    }
}

#[tokio::test]
async fn the_tenant_ledger_pages_what_the_operator_sees_of_it() {
    for backend in backends() {
        let h = operations(backend).await;
        let t = tenants(&h).await;
        let operator = Operator::console();
        for n in 1..=5 {
            h.ops
                .grant_credits(
                    &operator,
                    "acme",
                    Environment::Live,
                    Credits::from_credits(n),
                    "top up",
                )
                .await
                .unwrap();
        }
        h.ops
            .grant_credits(
                &operator,
                "beta",
                Environment::Live,
                Credits::from_credits(9),
                "beta",
            )
            .await
            .unwrap();
        let operators = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Live, 100)
            .await
            .unwrap();
        assert_eq!(operators.entries.len(), 5);

        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page = h
                .ops
                .tenant_credit_ledger(&t.acme_live, before, Some(2))
                .await
                .unwrap();
            assert_eq!(page.workspace, "acme");
            assert_eq!(page.environment, "live");
            paged.extend(page.entries);
            match page.next_before {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        assert_eq!(
            paged, operators.entries,
            "the same entries, in the same order"
        );

        let test_env = h
            .ops
            .tenant_credit_ledger(&t.acme_test, None, None)
            .await
            .unwrap();
        let test_ops = h
            .ops
            .credit_ledger(&operator, "acme", Environment::Test, 100)
            .await
            .unwrap();
        assert_eq!(
            test_env.entries, test_ops.entries,
            "the test environment's own"
        );
        assert!(test_env.entries.iter().all(|e| e.note != "top up"));
    }
}
