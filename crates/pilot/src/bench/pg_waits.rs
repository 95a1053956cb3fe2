//! What PostgreSQL backends wait on while a bench runs: `pg_stat_activity` sampled
//! every few milliseconds, active backends of the bench's database counted by wait
//! event. A queue serialised on one lock shows as most samples waiting on `Lock`
//! (`advisory`, `tuple`, `transactionid`); a healthy one waits on its clients
//! (`Client`/`ClientRead`) and the WAL (`IO`/`WalSync`, `LWLock`/`WALWrite`).

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const SAMPLE: &str = "SELECT COALESCE(wait_event_type, 'CPU') || '/' || COALESCE(wait_event, 'running') \
    FROM pg_stat_activity \
    WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()";

/// The WAL written so far (the whole server's) and this database's transactions.
const COUNTERS: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, \
    (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())";

/// A sampler running until [`WaitSampler::finish`].
pub struct WaitSampler {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<Waits>>,
}

/// Backends seen per wait event, over all samples; WAL bytes and transactions meanwhile.
pub struct Waits {
    pub samples: u64,
    pub seen: BTreeMap<String, u64>,
    pub wal_bytes: i64,
    pub transactions: i64,
}

impl WaitSampler {
    pub async fn start(url: &str) -> anyhow::Result<WaitSampler> {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let (wal_before, xacts_before): (i64, i64) =
                sqlx::query_as(COUNTERS).fetch_one(&pool).await?;
            let mut waits = Waits {
                samples: 0,
                seen: BTreeMap::new(),
                wal_bytes: 0,
                transactions: 0,
            };
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            while !until.is_cancelled() {
                tick.tick().await;
                let events: Vec<String> = sqlx::query_scalar(SAMPLE).fetch_all(&pool).await?;
                waits.samples += 1;
                for event in events {
                    *waits.seen.entry(event).or_default() += 1;
                }
            }
            // Transaction counts reach `pg_stat_database` when a backend reports them
            // (at the latest a second later); the WAL position is exact.
            let (wal_after, _): (i64, i64) = sqlx::query_as(COUNTERS).fetch_one(&pool).await?;
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            let (_, xacts_after): (i64, i64) = sqlx::query_as(COUNTERS).fetch_one(&pool).await?;
            waits.wal_bytes = wal_after - wal_before;
            waits.transactions = xacts_after - xacts_before - waits.samples as i64 - 2;
            pool.close().await;
            Ok(waits)
        });
        Ok(WaitSampler { stop, task })
    }

    pub async fn finish(self) -> anyhow::Result<Waits> {
        self.stop.cancel();
        self.task.await?
    }
}

impl Waits {
    /// WAL bytes and transactions per run, for `runs` runs in the window.
    pub fn per_run(&self, runs: u32) -> String {
        let runs = f64::from(runs.max(1));
        format!(
            "{:.0} WAL bytes and {:.1} transactions per run (the sampler's own excluded)",
            self.wal_bytes as f64 / runs,
            self.transactions as f64 / runs
        )
    }

    /// One line: the share of active-backend samples per wait event, largest first.
    pub fn summary(&self) -> String {
        let total: u64 = self.seen.values().sum();
        let mut events: Vec<(&String, &u64)> = self.seen.iter().collect();
        events.sort_by(|a, b| b.1.cmp(a.1));
        let shown: Vec<String> = events
            .iter()
            .take(8)
            .map(|(event, n)| format!("{event} {:.1}%", 100.0 * **n as f64 / total.max(1) as f64))
            .collect();
        let locks: u64 = self
            .seen
            .iter()
            .filter(|(event, _)| event.starts_with("Lock/"))
            .map(|(_, n)| n)
            .sum();
        format!(
            "{} samples, {:.2} active backends on average; Lock waits {:.1}% ({}); {}",
            self.samples,
            total as f64 / self.samples.max(1) as f64,
            100.0 * locks as f64 / total.max(1) as f64,
            locks,
            shown.join(", ")
        )
    }
}
