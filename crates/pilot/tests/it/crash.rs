//! Recovery after `kill -9` (issue 10 §6) with a real `pilot serve` child process on
//! SQLite: runs are mid-step (their `http` requests held by a local sink) and others
//! wait behind the workspace cap when the server is killed outright; a server
//! restarted on the same data directory takes the dead one's jobs back as it starts
//! and every run finishes. Leases and the process lapse are an hour, far longer than
//! the test may take, so only the start-up release (the dead process's free lock)
//! can make it pass. While it recovers, no more runs read `running` than the cap
//! lets run.
//!
//! Nothing here waits on a timer: the test waits on what it can observe (the sink's
//! requests, the runs' statuses), under a generous outer bound that only guards
//! against a hang.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{get_json_at, start_child};
use crate::sink::Sink;

const CAP: usize = 2;
const RUNS: usize = 6;
/// Longer than any run of this test: only the process registry frees the jobs.
const HOUR_MS: u64 = 3_600_000;
/// The hang guard.
const GUARD: Duration = Duration::from_secs(90);

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("pilot.toml");
    let config = format!(
        "bind = \"127.0.0.1:0\"\n\
         data_dir = \"{}\"\n\
         [queue]\n\
         workspace_cap = {CAP}\n\
         lease_ms = {HOUR_MS}\n\
         process_lapse_ms = {HOUR_MS}\n\
         poll_interval_ms = 100\n\
         [outbound]\n\
         allow_list = [\"127.0.0.1/32\"]\n",
        dir.join("data").display()
    );
    std::fs::write(&path, config).unwrap();
    path
}

/// Every run of the pilot, by run id: its status.
async fn statuses(client: &reqwest::Client, url: &str, key: &str, pilot: i64) -> Vec<String> {
    let path = format!("{url}/api/v1/pilots/{pilot}/runs?limit=100");
    let runs = get_json_at(client, &path, key).await;
    runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["status"].as_str().unwrap().to_owned())
        .collect()
}

/// The run number a request to the sink carries.
fn n_of(received: &crate::sink::Received) -> String {
    let n = &received.body["n"];
    n.as_str().map_or_else(|| n.to_string(), str::to_owned)
}

fn count(statuses: &[String], wanted: &str) -> usize {
    statuses.iter().filter(|s| *s == wanted).count()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarted_on_its_data_directory_resumes_the_workspace_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let mut sink = Sink::start().await;
    sink.hold("/step");
    let client = reqwest::Client::new();

    let mut first = start_child(&config, dir.path().join("first.log")).await;
    let (key, _) = first.keys.clone().expect("a first start shows its keys");
    let created: Value = client
        .post(format!("{}/api/v1/pilots", first.url))
        .bearer_auth(&key)
        .json(&json!({"title": "Held", "steps": [
            {"id": "call", "type": "http", "url": format!("{}/step", sink.url),
             "body": {"n": "{{ trigger.n }}"}}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pilot = created["id"].as_i64().expect("a pilot");
    for n in 0..RUNS {
        let fired = client
            .post(format!("{}/api/v1/pilots/{pilot}/run", first.url))
            .bearer_auth(&key)
            .json(&json!({ "n": n }))
            .send()
            .await
            .unwrap();
        assert_eq!(fired.status(), 202);
    }

    // The cap's worth of runs are mid-step, their jobs leased; the rest wait.
    let mut arrived = BTreeSet::new();
    for _ in 0..CAP {
        arrived.insert(n_of(&sink.next().await));
    }
    let before = statuses(&client, &first.url, &key, pilot).await;
    assert_eq!(count(&before, "running"), CAP, "{before:?}");
    assert_eq!(count(&before, "queued"), RUNS - CAP, "{before:?}");

    // kill -9: nothing is handed back, nothing deregistered.
    first.kill().unwrap();
    sink.release();

    let second = start_child(&config, dir.path().join("second.log")).await;
    assert!(
        second.keys.is_none(),
        "the same data directory: no new keys"
    );
    let finished = tokio::time::timeout(GUARD, async {
        loop {
            let now = statuses(&client, &second.url, &key, pilot).await;
            assert!(
                count(&now, "running") <= CAP,
                "no more runs read running than may run: {now:?}"
            );
            if count(&now, "success") == RUNS {
                return now;
            }
            for received in sink.drain() {
                arrived.insert(n_of(&received));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let finished = finished.unwrap_or_else(|_| {
        panic!(
            "the runs did not all finish within {GUARD:?}; the restarted server's log:\n{}",
            second.log_tail()
        )
    });
    assert_eq!(finished.len(), RUNS);
    for received in sink.drain() {
        arrived.insert(n_of(&received));
    }
    let every: BTreeSet<String> = (0..RUNS).map(|n| n.to_string()).collect();
    assert_eq!(arrived, every, "every run's step reached the sink");
}
