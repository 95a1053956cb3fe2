//! A `deliberation2` survives `kill -9` of its server (real `pilot serve` children
//! on one SQLite data directory): killed while the panel waits at a checkpoint, the
//! restarted server shows the same checkpoint and takes its answer; killed while the
//! panel works on the next stretch (its calls slowed by a scripted marker in the
//! person's constraint), the restarted server runs that stretch again from the
//! answered checkpoint — the answer kept — and the deliberation completes, charged
//! once. Submitted and answered over MCP (the REST API refuses the mode), watched
//! over REST, which shows a pending deliberation's checkpoint.
//!
//! The test waits on what it can observe (the deliberation's checkpoint and panel),
//! under an outer bound that only guards against a hang.

use std::time::Duration;

use pilot::bench::serve_child::config_file;
use serde_json::{Value, json};

use crate::harness::{get_json_at, start_child};
use crate::mcp::messages;

const GUARD: Duration = Duration::from_secs(120);

/// One MCP tool call in a session of its own; the result's structured content.
async fn call(client: &reqwest::Client, url: &str, key: &str, tool: &str, args: Value) -> Value {
    let post = |body: Value, session: Option<String>| {
        let mut request = client
            .post(format!("{url}/mcp"))
            .bearer_auth(key)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request.send()
    };
    let opened = post(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "pilot-tests", "version": "1"}}}),
        None,
    )
    .await
    .unwrap();
    let session = opened
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        session.clone(),
    )
    .await
    .unwrap();
    let answered = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": tool, "arguments": args}}),
        session,
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let result = messages(&answered)
        .into_iter()
        .find(|m| m["id"] == 1)
        .expect("the call's answer");
    assert_ne!(result["result"]["isError"], true, "{result}");
    result["result"]["structuredContent"].clone()
}

async fn read(client: &reqwest::Client, url: &str, key: &str, id: &str) -> Value {
    let path = format!("{url}/v1/api/deliberations/{id}?include=panel");
    get_json_at(client, &path, key).await
}

/// Reads the deliberation until `done` says it is what the test waits for.
async fn until(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    tokio::time::timeout(GUARD, async {
        loop {
            let got = read(client, url, key, id).await;
            if done(&got) {
                return got;
            }
            assert!(got["status"] != "failed", "{got}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the deliberation gets there")
}

fn at_checkpoint(seq: i64) -> impl Fn(&Value) -> bool {
    move |got| got["checkpoint"]["seq"] == seq
}

fn stage_count(got: &Value, stage: &str) -> usize {
    got["panel"].as_array().map_or(0, |panel| {
        panel.iter().filter(|e| e["stage"] == stage).count()
    })
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deliberation2_killed_while_waiting_or_working_resumes_where_it_stood() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pilot.toml");
    std::fs::write(
        &config,
        config_file(dir.path(), "sqlite:", "[queue]\npoll_interval_ms = 100\n"),
    )
    .unwrap();
    let client = reqwest::Client::new();

    let mut first = start_child(&config, dir.path().join("first.log")).await;
    let (_, key) = first.keys.clone().expect("a first start shows its keys");
    let submitted = call(
        &client,
        &first.url,
        &key,
        "submit_deliberation",
        json!({"question": "Should we open a second warehouse before the holiday season?",
               "mode": "deliberation2"}),
    )
    .await;
    let id = submitted["id"].as_str().unwrap().to_owned();
    let waiting = until(&client, &first.url, &key, &id, at_checkpoint(1)).await;
    let checkpoint = waiting["checkpoint"]["id"].as_str().unwrap().to_owned();
    let added = waiting["checkpoint"]["addable"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();

    // Killed while the panel waits: the checkpoint is still there, still open.
    first.kill().unwrap();
    let mut second = start_child(&config, dir.path().join("second.log")).await;
    let still = read(&client, &second.url, &key, &id).await;
    assert_eq!(still["checkpoint"]["id"], checkpoint.as_str(), "{still}");

    // The answer slows the next stretch's calls, so it can be killed mid-stretch.
    call(
        &client,
        &second.url,
        &key,
        "respond_checkpoint",
        json!({"id": id, "checkpoint_id": checkpoint,
               "answer": {"add": [added], "constraint": "Mind the lease. [[scripted:slow=1500]]"}}),
    )
    .await;
    let working = until(&client, &second.url, &key, &id, |got| {
        stage_count(got, "checkpoint") == 1
    })
    .await;
    assert!(working["checkpoint"].is_null(), "mid-stretch: {working}");
    second.kill().unwrap();

    // The restarted server takes the job back and runs the stretch again.
    let third = start_child(&config, dir.path().join("third.log")).await;
    let reviews = until(&client, &third.url, &key, &id, at_checkpoint(2)).await;
    let personas: Vec<&str> = reviews["checkpoint"]["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["persona"].as_str().unwrap())
        .collect();
    assert!(
        personas.contains(&added.as_str()),
        "the answer was kept: {personas:?}"
    );
    let next = reviews["checkpoint"]["id"].as_str().unwrap().to_owned();
    call(
        &client,
        &third.url,
        &key,
        "respond_checkpoint",
        json!({"id": id, "checkpoint_id": next, "answer": {"revise": []}}),
    )
    .await;
    let draft = until(&client, &third.url, &key, &id, at_checkpoint(3)).await;
    let last = draft["checkpoint"]["id"].as_str().unwrap().to_owned();
    call(
        &client,
        &third.url,
        &key,
        "respond_checkpoint",
        json!({"id": id, "checkpoint_id": last, "answer": {"decision": "approve"}}),
    )
    .await;
    let done = until(&client, &third.url, &key, &id, |got| {
        got["status"] == "completed"
    })
    .await;
    assert!(done["credits_charged"].as_f64().unwrap() > 0.0, "{done}");
    assert_eq!(
        done["synthesis"], draft["checkpoint"]["draft"]["synthesis"],
        "{done}"
    );
}
