//! The workspace cap under real concurrency: eight claimer processes on one store,
//! 200 workspaces, the number of running jobs per workspace sampled throughout, and
//! every job run exactly once. On SQLite and, when `PILOT_TEST_POSTGRES_URL` is set,
//! PostgreSQL.
//!
//! The claimers are this test binary run again with [`CLAIMER_URL`] set: each opens
//! its own store (its own pool, as a worker process would), claims with the cap,
//! records each job it got in `ran` — whose primary key refuses a job run twice —
//! holds it for a moment, and completes it, until the queue is empty.

use std::process::Stdio;
use std::time::Duration;

use pilot_domain::{NewJob, UnixMillis, WorkspaceId};
use pilot_store::{ClaimRequest, StoreOptions};
use pilot_testkit::{TestDb, backends};
use serde_json::json;

/// Set in a claimer process: the store to claim from.
const CLAIMER_URL: &str = "PILOT_FAIR_CLAIM_CLAIMER_URL";
const CLAIMER_NAME: &str = "PILOT_FAIR_CLAIM_CLAIMER_NAME";
const TEST_NAME: &str = "eight_claimer_processes_never_overshoot_the_cap_and_run_every_job_once";

const WORKSPACES: i64 = 200;
/// Workspace `w`'s backlog: 2 to 38 jobs, so that as the small ones drain, claims
/// crowd into the large ones and the cap binds.
fn backlog(workspace: i64) -> usize {
    2 + (workspace % 10) as usize * 4
}
const CAP: u32 = 3;
const CLAIMERS: usize = 8;
const T0: UnixMillis = UnixMillis(1_700_000_000_000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_claimer_processes_never_overshoot_the_cap_and_run_every_job_once() {
    if let Ok(url) = std::env::var(CLAIMER_URL) {
        let name = std::env::var(CLAIMER_NAME).expect("a claimer has a name");
        return claimer(&url, &name).await;
    }
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let recorder = Recorder::open(&db.url).await;
        recorder.create().await;
        let jobs: Vec<NewJob> = (1..=WORKSPACES)
            .flat_map(|workspace| {
                (0..backlog(workspace)).map(move |n| {
                    NewJob::new("k", json!({ "n": n }), T0).for_workspace(WorkspaceId(workspace))
                })
            })
            .collect();
        let total = jobs.len() as i64;
        db.store.enqueue_many(&jobs, T0).await.unwrap();

        let claimers: Vec<tokio::process::Child> = (0..CLAIMERS)
            .map(|n| {
                tokio::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
                    .env(CLAIMER_URL, &db.url)
                    .env(CLAIMER_NAME, format!("claimer-{n}"))
                    .stdout(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .expect("a claimer process starts")
            })
            .collect();
        let waited = tokio::spawn(async move {
            let mut codes = Vec::new();
            for mut child in claimers {
                codes.push(child.wait().await.expect("a claimer ends"));
            }
            codes
        });

        // Sample the busiest workspace's running jobs, each sample one statement (one
        // snapshot: one instant), until every claimer has exited.
        let (mut samples, mut busiest, mut seen_running) = (0u32, 0i64, 0i64);
        while !waited.is_finished() {
            let (most, running) = recorder.running_now().await;
            busiest = busiest.max(most);
            seen_running = seen_running.max(running);
            samples += 1;
            tokio::task::yield_now().await;
        }
        eprintln!(
            "{backend:?}: {samples} samples, at most {busiest} of one workspace's jobs and \
             {seen_running} in all running at once"
        );
        for code in waited.await.unwrap() {
            assert!(code.success(), "{backend:?}: a claimer failed: {code}");
        }

        assert!(
            busiest <= i64::from(CAP),
            "{backend:?}: a workspace had {busiest} jobs running at once, over the cap of {CAP}"
        );
        assert!(
            seen_running > i64::from(CAP),
            "{backend:?}: the samples never saw claimers overlap ({seen_running} running)"
        );
        assert_eq!(
            busiest,
            i64::from(CAP),
            "{backend:?}: the samples never saw a workspace at its cap"
        );
        assert!(samples > 10, "{backend:?}: only {samples} samples");
        assert_eq!(
            recorder.count().await,
            total,
            "{backend:?}: every job ran once"
        );
        let left = db.store.queue_counts().await.unwrap();
        assert_eq!((left.queued, left.running), (0, 0), "{backend:?}");
    }
}

/// One claimer process: claim with the cap, record, hold, complete, until empty.
async fn claimer(url: &str, name: &str) {
    let store = pilot_store::open(url, &StoreOptions::default())
        .await
        .unwrap();
    let recorder = Recorder::open(url).await;
    loop {
        let now = UnixMillis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        );
        let jobs = store
            .claim(&ClaimRequest {
                owner: name,
                limit: 16,
                now,
                lease_until: now.plus_ms(600_000),
                workspace_cap: Some(CAP),
            })
            .await
            .unwrap();
        if jobs.is_empty() {
            let counts = store.queue_counts().await.unwrap();
            if counts.queued == 0 {
                return;
            }
            tokio::task::yield_now().await;
            continue;
        }
        let ids: Vec<_> = jobs.iter().map(|job| job.id).collect();
        for job in &jobs {
            recorder.ran(job.id.0, name).await;
        }
        // The jobs' work: long enough for other claimers to claim meanwhile.
        tokio::time::sleep(Duration::from_millis(3)).await;
        assert_eq!(
            store.complete(name, &ids).await.unwrap(),
            ids.len() as u64,
            "{name} held its leases"
        );
    }
}

/// The test's own table beside the store's, reached directly.
enum Recorder {
    Sqlite(String),
    Postgres(sqlx::PgPool),
}

const BUSIEST: &str = "SELECT COALESCE(MAX(n), 0), CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ( \
    SELECT COUNT(*) AS n FROM jobs WHERE state = 'running' GROUP BY workspace_id) per_workspace";

impl Recorder {
    async fn open(url: &str) -> Recorder {
        if url.starts_with("postgres") {
            Recorder::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .unwrap(),
            )
        } else {
            Recorder::Sqlite(url.trim_start_matches("sqlite://").to_owned())
        }
    }

    fn sqlite(path: &str) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn
    }

    async fn create(&self) {
        let sql = "CREATE TABLE ran (job_id BIGINT PRIMARY KEY, claimer TEXT NOT NULL)";
        match self {
            Recorder::Sqlite(path) => {
                Self::sqlite(path).execute(sql, []).unwrap();
            }
            Recorder::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }

    async fn ran(&self, job: i64, claimer: &str) {
        let sql = "INSERT INTO ran (job_id, claimer) VALUES ($1, $2)";
        match self {
            Recorder::Sqlite(path) => {
                Self::sqlite(path)
                    .execute(sql, rusqlite::params![job, claimer])
                    .unwrap_or_else(|error| panic!("job {job} ran twice? {error}"));
            }
            Recorder::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(job)
                    .bind(claimer)
                    .execute(pool)
                    .await
                    .unwrap_or_else(|error| panic!("job {job} ran twice? {error}"));
            }
        }
    }

    async fn count(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM ran";
        match self {
            Recorder::Sqlite(path) => Self::sqlite(path)
                .query_row(sql, [], |row| row.get(0))
                .unwrap(),
            Recorder::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    async fn running_now(&self) -> (i64, i64) {
        match self {
            Recorder::Sqlite(path) => Self::sqlite(path)
                .query_row(BUSIEST, [], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap(),
            Recorder::Postgres(pool) => sqlx::query_as(BUSIEST).fetch_one(pool).await.unwrap(),
        }
    }
}
