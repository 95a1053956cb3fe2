//! `pilot bench queue`: enqueue + claim + complete of no-op jobs through the real
//! worker, on a scratch store, for each worker count asked for.
//!
//! Each run starts on an empty scratch store (a SQLite file in a temporary directory,
//! or a scratch PostgreSQL database), starts the workers, then enqueues the jobs in
//! batches while they work, and stops the clock when the queue is empty. Each worker
//! has its own connection pool, as separate processes would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use pilot_domain::MasterKey;
use pilot_engine::{Clock, SystemClock, new_job};
use pilot_store::{Store, StoreOptions};
use tokio_util::sync::CancellationToken;

use super::scratch::Scratch;
use crate::app::App;
use crate::cli::QueueBenchArgs;
use crate::config::Config;
use crate::jobs::Noop;

pub async fn run(config: Config, args: QueueBenchArgs) -> anyhow::Result<()> {
    let backend = super::backend_name(args.postgres.as_deref());
    println!(
        "queue bench: {} no-op jobs, {backend}, concurrency {} per worker, \
         {} producer(s), enqueue batch {}",
        args.jobs, args.concurrency, args.producers, args.enqueue_batch
    );
    println!(
        "{:>8} {:>12} {:>12} {:>10}",
        "workers", "jobs/s", "enqueue/s", "seconds"
    );
    for &workers in &args.workers {
        let scratch = Scratch::create(args.postgres.as_deref()).await?;
        let result = run_once(&config, &args, workers.max(1), &scratch.url).await;
        scratch.remove().await;
        let measured = result?;
        println!(
            "{:>8} {:>12.0} {:>12.0} {:>10.3}",
            workers,
            f64::from(args.jobs) / measured.total.as_secs_f64(),
            f64::from(args.jobs) / measured.enqueue.as_secs_f64(),
            measured.total.as_secs_f64()
        );
    }
    Ok(())
}

struct Measured {
    /// From the first enqueue until the queue is empty.
    total: Duration,
    /// Time spent enqueuing.
    enqueue: Duration,
}

async fn run_once(
    config: &Config,
    args: &QueueBenchArgs,
    workers: u32,
    url: &str,
) -> anyhow::Result<Measured> {
    let options = StoreOptions {
        max_connections: 8,
        ..config.store_options()
    };
    let producer = pilot_store::open(url, &options).await?;
    producer.migrate().await?;
    let mut queue = config.queue.clone();
    queue.concurrency = args.concurrency;
    queue.poll_interval_ms = 50;

    let shutdown = CancellationToken::new();
    let mut running = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..workers {
        let store = pilot_store::open(url, &options).await?;
        let mut worker_config = config.clone();
        worker_config.queue = queue.clone();
        let app = App::from_parts(
            worker_config,
            store.clone(),
            MasterKey::generate().0,
            Arc::new(SystemClock),
        )?;
        running.push(tokio::spawn(app.worker().run(shutdown.clone())));
        stores.push(store);
    }

    let started = Instant::now();
    let producers = args.producers.max(1);
    let batch = args.enqueue_batch.max(1) as usize;
    let mut enqueuing = Vec::new();
    for p in 0..producers {
        // Spread the jobs over the producers; the first takes the remainder.
        let share = args.jobs / producers + if p == 0 { args.jobs % producers } else { 0 };
        enqueuing.push(tokio::spawn(produce(
            producer.clone(),
            share as usize,
            batch,
        )));
    }
    for task in enqueuing {
        task.await.context("producer task")??;
    }
    let enqueue = started.elapsed();
    wait_until_empty(producer.as_ref()).await?;
    let total = started.elapsed();

    shutdown.cancel();
    for worker in running {
        worker.await.context("worker task")?;
    }
    for store in stores {
        store.close().await;
    }
    producer.close().await;
    Ok(Measured { total, enqueue })
}

/// Enqueues `count` no-op jobs, `batch` per statement.
async fn produce(store: Arc<dyn Store>, mut count: usize, batch: usize) -> anyhow::Result<()> {
    let clock = SystemClock;
    while count > 0 {
        let n = count.min(batch);
        let now = clock.now();
        let jobs: Vec<_> = (0..n).map(|_| new_job(&Noop {}, now)).collect();
        if n == 1 {
            store.enqueue(&jobs[0], now).await?;
        } else {
            store.enqueue_many(&jobs, now).await?;
        }
        count -= n;
    }
    Ok(())
}

/// Polls the queue's counts (a benchmark may poll; tests never do).
async fn wait_until_empty(store: &dyn Store) -> anyhow::Result<()> {
    loop {
        let counts = store.queue_counts().await?;
        if counts.queued == 0 && counts.running == 0 {
            anyhow::ensure!(counts.dead == 0, "{} no-op jobs died", counts.dead);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
