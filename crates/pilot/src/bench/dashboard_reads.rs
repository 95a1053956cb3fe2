//! `pilot bench dashboard-reads`: the dashboard's tenant-wide reads on a full
//! scratch store, called through the operations as a key's `Principal`.
//!
//! The store gets `--runs` runs (default 10,000) over `--pilots` pilots (20) spread
//! over the last 30 days, a quarter queued and the rest finished (every fourth
//! failed), 1,000 deliberations and 3,000 model usage records — and, in another
//! workspace, a tenth as many runs, so the tenant's queries have someone to leave
//! out. Then each query is called `--calls` times in a row (200) and its latency's
//! p50 and p99 printed; then each dashboard page the same way, over real HTTP to the
//! server's router as a signed-in owner of the tenant ("(N rows)" is then the page's
//! size in bytes).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use pilot_domain::{
    Credits, DeliberationId, Difficulty, Environment, FiredBy, MasterKey, Mode, PilotId,
    PilotStatus, Principal, RunStatus, TriggerType, UnixMillis, UsageRecord, UseCase,
    WorkspaceName,
};
use pilot_engine::{Clock, SystemClock};
use pilot_operations::dashboard::{DeliberationsQuery, RunsQuery};
use pilot_operations::{Operations, Operator};
use pilot_store::{CreateRun, NewDeliberation, NewPilot, NewRun, PilotTrigger, RunProgress, Store};
use serde_json::json;
use tokio::task::JoinSet;

use super::percentile;
use super::scratch::Scratch;
use crate::app::App;
use crate::cli::DashboardReadsBenchArgs;
use crate::config::Config;

const DAY_MS: i64 = 86_400_000;
/// Writes in flight while filling.
const FILL_CONCURRENCY: usize = 64;

pub async fn run(config: Config, args: DashboardReadsBenchArgs) -> anyhow::Result<()> {
    let backend = super::backend_name(args.postgres.as_deref());
    let scratch = Scratch::create(args.postgres.as_deref()).await?;
    let result = bench(&config, &args, &scratch.url, backend).await;
    scratch.remove().await;
    result
}

async fn bench(
    config: &Config,
    args: &DashboardReadsBenchArgs,
    url: &str,
    backend: &str,
) -> anyhow::Result<()> {
    let store = pilot_store::open(url, &config.store_options()).await?;
    store.migrate().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::from_parts(
        config.clone(),
        store.clone(),
        MasterKey::generate().0,
        clock,
    )?;
    let ops = app.operations(app.config.configured_public_url());
    let operator = Operator::console();
    let first = ops
        .first_start(&operator)
        .await?
        .context("a scratch store gets the default workspace")?;
    let who = principal(&ops, first.live.token.expose()).await?;
    let other = ops
        .create_workspace(&operator, &WorkspaceName::parse("other").expect("a name"))
        .await?;
    let neighbour = principal(&ops, other.live.token.expose()).await?;

    let now = ops.now();
    let started = Instant::now();
    let pilots = fill_runs(&store, &who, args.pilots, args.runs, now).await?;
    fill_runs(&store, &neighbour, 2, args.runs / 10, now).await?;
    fill_deliberations(&store, &who, 1_000, now).await?;
    fill_usage(&store, &who, 3_000, now).await?;
    println!(
        "dashboard-reads bench: {backend}, {} runs over {} pilots (+{} in another workspace), \
         1000 deliberations, 3000 usage records; filled in {:.1}s; {} calls per query",
        args.runs,
        args.pilots,
        args.runs / 10,
        started.elapsed().as_secs_f64(),
        args.calls
    );

    let deep = ops
        .list_all_runs(
            &who,
            RunsQuery {
                limit: Some(1),
                ..RunsQuery::default()
            },
        )
        .await?
        .runs
        .first()
        .map(|r| r.id - i64::from(args.runs) * 9 / 10)
        .context("runs were made")?;
    let calls = args.calls.max(1);
    measure("list_all_runs, first page (50)", calls, || async {
        let page = ops.list_all_runs(&who, RunsQuery::default()).await?;
        Ok(page.runs.len())
    })
    .await?;
    measure("list_all_runs, status=failed", calls, || async {
        let query = RunsQuery {
            status: Some("failed".into()),
            ..RunsQuery::default()
        };
        Ok(ops.list_all_runs(&who, query).await?.runs.len())
    })
    .await?;
    measure(
        "list_all_runs, pilot + firedBy=webhook + since 7 days",
        calls,
        || async {
            let query = RunsQuery {
                pilot_id: Some(pilots[1].0),
                fired_by: Some("webhook".into()),
                since: Some((now.0 - 7 * DAY_MS) / 1000),
                ..RunsQuery::default()
            };
            Ok(ops.list_all_runs(&who, query).await?.runs.len())
        },
    )
    .await?;
    measure("list_all_runs, deep cursor (90% back)", calls, || async {
        let query = RunsQuery {
            before: Some(deep),
            ..RunsQuery::default()
        };
        Ok(ops.list_all_runs(&who, query).await?.runs.len())
    })
    .await?;
    measure("list_deliberations, first page (50)", calls, || async {
        let query = DeliberationsQuery::default();
        Ok(ops.list_deliberations(&who, query).await?.data.len())
    })
    .await?;
    measure("usage_by_day(30)", calls, || async {
        Ok(ops.usage_by_day(&who, 30).await?.days.len())
    })
    .await?;

    // The dashboard's pages, as a browser asks for them: real HTTP to `pilot serve`'s
    // router, a signed-in owner of the same tenant, each page rendered whole.
    let cookie = owner_session(&ops).await?;
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = {
        let (app, shutdown) = (app.clone(), shutdown.clone());
        tokio::spawn(async move { app.serve(listener, shutdown, false).await })
    };
    let run_id = ops
        .list_all_runs(&who, RunsQuery::default())
        .await?
        .runs
        .first()
        .map(|r| r.id)
        .context("runs were made")?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    println!("  pages over HTTP (a signed-in owner; status 200 checked):");
    let pages = [
        "/".to_owned(),
        "/pilots".to_owned(),
        format!("/pilots/{}", pilots[0].0),
        "/runs".to_owned(),
        "/runs?status=failed".to_owned(),
        format!("/runs?before={deep}"),
        format!("/runs/{run_id}"),
        "/deliberations".to_owned(),
        "/deliveries".to_owned(),
        "/usage".to_owned(),
        "/keys".to_owned(),
        "/secrets".to_owned(),
    ];
    for path in &pages {
        measure(&format!("GET {path}"), calls, || async {
            let response = http
                .get(format!("{base}{path}"))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            Ok(response.bytes().await?.len())
        })
        .await?;
    }
    shutdown.cancel();
    server.await??;
    store.close().await;
    Ok(())
}

/// A signed-in owner of the `default` workspace: the session cookie.
async fn owner_session(ops: &Operations) -> anyhow::Result<String> {
    let link = ops
        .create_user(
            &Operator::console(),
            "bench@example.com",
            "default",
            pilot_domain::Role::Owner,
        )
        .await?;
    let signed_in = ops
        .complete_reset(&link.token, "a bench password, long enough")
        .await?;
    Ok(format!("pilot_session={}", signed_in.token))
}

async fn principal(ops: &Operations, token: &str) -> anyhow::Result<Principal> {
    let header = format!("Bearer {token}");
    Ok(ops.authenticate(Some(Ok(&header))).await?)
}

/// Calls `query` `calls` times in a row; prints its p50 and p99 in milliseconds.
async fn measure<F, Fut>(name: &str, calls: u32, query: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut took = Vec::with_capacity(calls as usize);
    let mut rows = 0;
    for _ in 0..calls {
        let start = Instant::now();
        rows = query().await?;
        took.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  {name:<55} p50 {:>7.3} ms  p99 {:>7.3} ms  ({rows} rows)",
        percentile(&took, 50.0),
        percentile(&took, 99.0)
    );
    Ok(())
}

/// `count` runs over `pilots` new pilots of `who`'s tenant, evenly over the 30 days
/// before `now`, oldest first: the pilots' ids.
async fn fill_runs(
    store: &Arc<dyn Store>,
    who: &Principal,
    pilots: u32,
    count: u32,
    now: UnixMillis,
) -> anyhow::Result<Vec<PilotId>> {
    let triggers = TriggerType::ALL;
    let mut ids = Vec::new();
    for p in 0..pilots.max(1) as usize {
        let pilot = store
            .create_pilot(
                who.workspace_id,
                who.environment,
                &NewPilot {
                    title: format!("bench pilot {p}"),
                    description: String::new(),
                    status: PilotStatus::Active,
                    trigger: PilotTrigger {
                        trigger_type: Some(triggers[p % triggers.len()]),
                        ..PilotTrigger::default()
                    },
                    steps: json!([]),
                    steps_key_id: None,
                    notify_url: None,
                    webhook_verification: None,
                },
                now,
            )
            .await?;
        ids.push(pilot.id);
    }
    let span = 30 * DAY_MS / i64::from(count.max(1));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        if tasks.len() >= FILL_CONCURRENCY {
            tasks.join_next().await.context("a fill task")???;
        }
        let (store, who, pilot) = (store.clone(), who.clone(), ids[i as usize % ids.len()]);
        let at = UnixMillis(now.0 - 30 * DAY_MS + i64::from(i) * span);
        tasks.spawn(async move {
            let payload = json!({"n": i});
            let fired_by = FiredBy::ALL[i as usize % 4];
            let run = NewRun {
                fired_by,
                payload: &payload,
                request: None,
            };
            let created = store
                .create_run(who.workspace_id, who.environment, pilot, &run, at)
                .await?;
            let CreateRun::Created(run) = created else {
                anyhow::bail!("the run was not created: {created:?}");
            };
            let status = match i % 4 {
                0 => return Ok(()),
                1 => RunStatus::Failed,
                _ => RunStatus::Success,
            };
            let mut progress = RunProgress {
                started_at: Some(at),
                ..RunProgress::default()
            };
            let error = (status == RunStatus::Failed).then(|| "bench failure".to_owned());
            progress.finish(status, error, UnixMillis(at.0 + 800));
            store.record_progress(run.id, &progress).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(ids)
}

async fn fill_deliberations(
    store: &Arc<dyn Store>,
    who: &Principal,
    count: u32,
    now: UnixMillis,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for i in 0..count {
        if tasks.len() >= FILL_CONCURRENCY {
            tasks.join_next().await.context("a fill task")???;
        }
        let (store, who) = (store.clone(), who.clone());
        let at = UnixMillis(now.0 - i64::from(count - i) * 60_000);
        tasks.spawn(async move {
            let new = NewDeliberation {
                id: DeliberationId::derived(at.0 as u64, &format!("bench-{i}")),
                key_id: Some(who.key_id),
                mode: Mode::Smartroute1,
                use_case: UseCase::General,
                difficulty: Difficulty::Easy,
                question: format!("Bench question number {i}: {}", "why? ".repeat(60)),
                webhook_url: None,
                metadata: None,
                estimate: Credits::ZERO,
            };
            store
                .create_deliberation(who.workspace_id, who.environment, &new, at)
                .await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn fill_usage(
    store: &Arc<dyn Store>,
    who: &Principal,
    count: u32,
    now: UnixMillis,
) -> anyhow::Result<()> {
    let models = ["small", "medium", "large"];
    let span = 30 * DAY_MS / i64::from(count.max(1));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        if tasks.len() >= FILL_CONCURRENCY {
            tasks.join_next().await.context("a fill task")???;
        }
        let (store, who) = (store.clone(), who.clone());
        tasks.spawn(async move {
            let record = UsageRecord {
                workspace_id: Some(who.workspace_id),
                environment: Some(Environment::Live),
                owner_kind: "run_step".into(),
                owner_id: format!("s{i}"),
                provider: "scripted".into(),
                model: models[i as usize % models.len()].into(),
                input_tokens: 100 + i64::from(i % 50),
                output_tokens: 20 + i64::from(i % 7),
                usage_known: true,
                latency_ms: 12,
                cost: Credits::from_micros(1_234 + i64::from(i % 11)),
                created_at: UnixMillis(now.0 - 30 * DAY_MS + i64::from(i) * span),
            };
            store.record_usage(&record).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}
