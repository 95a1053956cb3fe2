//! `pilot bench claims`: what one fair claim costs with many workspaces waiting.
//!
//! On a scratch store, `--workspaces` workspaces get `--jobs-per-workspace` due jobs
//! each, all queued before the clock starts. Then one claimer claims `--limit` jobs at
//! a time under the workspace cap, completing each batch before the next claim, for
//! `--claims` claims; each claim is timed on its own (the store call, from the caller's
//! side). With the defaults every claim still finds thousands of workspaces waiting.

use std::time::Instant;

use pilot_domain::{NewJob, UnixMillis, WorkspaceId};
use pilot_engine::{Clock, SystemClock};
use pilot_store::ClaimRequest;
use serde_json::json;

use super::percentile;
use super::scratch::Scratch;
use crate::cli::ClaimsBenchArgs;
use crate::config::Config;

pub async fn run(config: Config, args: ClaimsBenchArgs) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.postgres.as_deref()).await?;
    let result = bench(&config, &args, &scratch.url).await;
    scratch.remove().await;
    result
}

async fn bench(config: &Config, args: &ClaimsBenchArgs, url: &str) -> anyhow::Result<()> {
    let store = pilot_store::open(url, &config.store_options()).await?;
    store.migrate().await?;
    let clock = SystemClock;
    let queued_at = clock.now();
    let per = args.jobs_per_workspace.max(1);
    let jobs: Vec<NewJob> = (1..=i64::from(args.workspaces.max(1)))
        .flat_map(|workspace| {
            (0..per).map(move |n| {
                NewJob::new("noop", json!({ "n": n }), queued_at)
                    .for_workspace(WorkspaceId(workspace))
            })
        })
        .collect();
    for batch in jobs.chunks(1_000) {
        store.enqueue_many(batch, queued_at).await?;
    }
    let backend = super::backend_name(args.postgres.as_deref());
    println!(
        "claims bench: {backend}, {} workspaces waiting with {per} due jobs each, \
         claims of {} under a cap of {}",
        args.workspaces, args.limit, args.cap
    );

    let mut times = Vec::with_capacity(args.claims as usize);
    let mut claimed = 0usize;
    let mut workspaces = std::collections::HashSet::new();
    for _ in 0..args.claims {
        let now: UnixMillis = clock.now();
        let started = Instant::now();
        let batch = store
            .claim(&ClaimRequest {
                owner: "bench",
                limit: args.limit,
                now,
                lease_until: now.plus_ms(600_000),
                workspace_cap: Some(args.cap),
            })
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        claimed += batch.len();
        workspaces.extend(batch.iter().filter_map(|job| job.workspace_id));
        let ids: Vec<_> = batch.iter().map(|job| job.id).collect();
        store.complete("bench", &ids).await?;
    }
    let left = store.queue_counts().await?;
    println!(
        "{} claims, {claimed} jobs from {} workspaces; {} still queued",
        times.len(),
        workspaces.len(),
        left.queued
    );
    println!(
        "per claim: p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms, max {:.3} ms",
        percentile(&times, 50.0),
        percentile(&times, 99.0),
        times.iter().sum::<f64>() / times.len().max(1) as f64,
        times.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}
