//! The MCP server at `/mcp` over raw streamable HTTP (JSON-RPC over `POST`, answers
//! as JSON or server-sent events): keys, Origin, the tool list by scope, tool results
//! and errors, waiting, resources, and both protocol generations. The real clients
//! (the python `mcp` package, the MCP Inspector) run in CI from `.ci/mcp.sh`.

use pilot_domain::{Environment, Scopes};
use pilot_testkit::backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, issue_key, spawn_app};

/// A client session: the key, and the session id the server gave at `initialize`.
struct Session<'a> {
    app: &'a TestApp,
    key: String,
    session: Option<String>,
    next_id: u64,
}

impl<'a> Session<'a> {
    /// Initialises with the 2025-11-25 handshake.
    async fn open(app: &'a TestApp, key: &str) -> Session<'a> {
        Session::open_with(app, key, json!({})).await.0
    }

    /// [`Session::open`] declaring `capabilities`; also the `initialize` result.
    async fn open_with(app: &'a TestApp, key: &str, capabilities: Value) -> (Session<'a>, Value) {
        let mut session = Session {
            app,
            key: key.to_owned(),
            session: None,
            next_id: 1,
        };
        let (status, headers, messages) = session
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": capabilities,
                "clientInfo": {"name": "pilot-tests", "version": "1"}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{messages:?}");
        assert_eq!(messages[0]["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(messages[0]["result"]["serverInfo"]["name"], "pilot");
        session.session = headers
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, _, _) = session
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        (session, messages[0]["result"].clone())
    }

    async fn post(&self, message: &Value) -> (StatusCode, reqwest::header::HeaderMap, Vec<Value>) {
        let mut request = self
            .app
            .client
            .post(format!("{}/mcp", self.app.url))
            .bearer_auth(&self.key)
            .header("accept", "application/json, text/event-stream")
            .json(message);
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        (status, headers, messages(&text))
    }

    /// Sends a request; its result (or panics with the error).
    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (status, _, messages) = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(status, StatusCode::OK, "{messages:?}");
        let answer = messages
            .into_iter()
            .find(|m| m["id"] == id)
            .expect("the request's answer");
        assert!(answer.get("error").is_none(), "{answer}");
        answer["result"].clone()
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    async fn tool_names(&mut self) -> Vec<String> {
        let listed = self.request("tools/list", json!({})).await;
        listed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The client capabilities that declare the tasks extension.
fn tasks_capability() -> Value {
    json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
}

/// The JSON-RPC messages of a body: one JSON document, or SSE `data:` events.
pub(crate) fn messages(body: &str) -> Vec<Value> {
    if let Ok(one) = serde_json::from_str::<Value>(body) {
        return vec![one];
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| !data.is_empty())
        .map(|data| serde_json::from_str(data).expect("an SSE event is one JSON-RPC message"))
        .collect()
}

fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

const ALL_TOOLS: [&str; 15] = [
    "list_pilots",
    "get_pilot",
    "create_pilot",
    "update_pilot",
    "run_pilot",
    "get_runs",
    "get_run",
    "retry_run",
    "submit_deliberation",
    "respond_checkpoint",
    "get_deliberation",
    "get_balance",
    "get_pricing",
    "list_deliveries",
    "replay_delivery",
];

#[tokio::test]
async fn keys_and_origins_are_checked_before_anything_else() {
    let app = spawn_app(pilot_store::Backend::Sqlite).await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    for key in [None, Some("pk_test_nope"), Some("not-a-key")] {
        let mut request = app
            .client
            .post(format!("{}/mcp", app.url))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(response.headers()["connection"], "close");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
    }
    let foreign = app
        .client
        .post(format!("{}/mcp", app.url))
        .bearer_auth(&app.test_key)
        .header("accept", "application/json, text/event-stream")
        .header("origin", "https://evil.example")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let own = app
        .client
        .post(format!("{}/mcp", app.url))
        .bearer_auth(&app.test_key)
        .header("accept", "application/json, text/event-stream")
        .header("origin", app.url.as_str())
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn tools_are_listed_in_order_by_scope_with_their_schemas() {
    let app = spawn_app(pilot_store::Backend::Sqlite).await;
    let mut full = Session::open(&app, &app.test_key).await;
    let listed = full.request("tools/list", json!({})).await;
    let tools = listed["tools"].as_array().unwrap();
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ALL_TOOLS);
    for tool in tools {
        let input = &tool["inputSchema"];
        assert_eq!(input["type"], "object", "{}", tool["name"]);
        assert!(input.get("oneOf").is_none() && input.get("anyOf").is_none());
        assert_eq!(tool["outputSchema"]["type"], "object", "{}", tool["name"]);
        assert!(!tool["description"].as_str().unwrap().is_empty());
        assert!(tool["annotations"]["readOnlyHint"].is_boolean());
    }
    let reader = issue_key(
        &app,
        Environment::Test,
        Scopes::parse("pilots:read deliberations:read").unwrap(),
    )
    .await;
    let mut reading = Session::open(&app, &reader).await;
    assert_eq!(
        reading.tool_names().await,
        [
            "list_pilots",
            "get_pilot",
            "get_runs",
            "get_run",
            "get_deliberation",
            "get_balance",
            "get_pricing",
            "list_deliveries"
        ]
    );
    // An unlisted tool cannot be called either.
    reading.next_id += 1;
    let (_, _, answer) = reading
        .post(&json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
                       "params": {"name": "create_pilot", "arguments": {"title": "x"}}}))
        .await;
    assert!(answer[0]["error"].is_object(), "{answer:?}");
}

#[tokio::test]
async fn tools_call_the_operations_and_errors_name_the_surface_codes() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let mut mcp = Session::open(&app, &app.test_key).await;

        let created = mcp
            .call(
                "create_pilot",
                json!({"title": "Echo orders", "steps": [
                    {"id": "shape", "type": "transform", "values": {"order": "{{ trigger.orderId }}"}}
                ]}),
            )
            .await;
        assert_eq!(created["isError"], false, "{created}");
        let pilot = created["structuredContent"]["id"].as_i64().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(created["content"][0]["text"].as_str().unwrap()).unwrap(),
            created["structuredContent"]
        );
        let ran = mcp
            .call(
                "run_pilot",
                json!({"id": pilot, "payload": {"orderId": "1234"}, "wait_seconds": 20}),
            )
            .await;
        let run = &ran["structuredContent"];
        assert_eq!(run["status"], "success", "{ran}");
        assert_eq!(run["steps"][0]["output"], json!({"order": "1234"}));
        let link = &ran["content"][1];
        assert_eq!(link["type"], "resource_link");
        assert_eq!(link["uri"], format!("pilot://runs/{}", run["id"]));
        let runs = mcp.call("get_runs", json!({"id": pilot})).await;
        assert_eq!(runs["structuredContent"]["runs"][0]["id"], run["id"]);
        let read = mcp
            .request(
                "resources/read",
                json!({"uri": format!("pilot://runs/{}", run["id"])}),
            )
            .await;
        let text: Value =
            serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text["id"], run["id"]);

        let asked = mcp
            .call(
                "submit_deliberation",
                json!({"question": "Should we price per seat or by usage for mid-market?",
                       "mode": "smartroute1", "wait_seconds": 20}),
            )
            .await;
        assert_eq!(asked["structuredContent"]["status"], "completed", "{asked}");
        let blocked = mcp
            .call(
                "submit_deliberation",
                json!({"question": "Tell me how to do it [[scripted:block]] right now"}),
            )
            .await;
        assert!(
            error_text(&blocked).starts_with("content_blocked: "),
            "{blocked}"
        );
        let invalid = mcp
            .call(
                "submit_deliberation",
                json!({"question": "short", "mode": "turbo"}),
            )
            .await;
        let text = error_text(&invalid);
        assert!(text.starts_with("validation_error: "), "{text}");
        let missing = mcp.call("get_run", json!({"id": 999_999})).await;
        assert!(error_text(&missing).starts_with("not_found: "));

        // Another workspace's key sees nothing of this one.
        let other = app
            .app
            .operations(app.url.clone())
            .create_workspace(
                &pilot_operations::Operator::console(),
                &pilot_domain::WorkspaceName::parse("other").unwrap(),
            )
            .await
            .unwrap();
        let mut outsider = Session::open(&app, other.test.token.expose()).await;
        let foreign = outsider.call("get_run", json!({"id": run["id"]})).await;
        assert!(error_text(&foreign).starts_with("not_found: "));
        let balance = outsider.call("get_balance", json!({})).await;
        assert_eq!(balance["isError"], false);
    }
}

/// A 2026-07-28 request: no session and no `initialize`; each request carries the
/// version, client and capabilities in `_meta` and names its method in headers.
async fn stateless(app: &TestApp, method: &str, name: Option<&str>, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "pilot-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let mut request = app
        .client
        .post(format!("{}/mcp", app.url))
        .bearer_auth(&app.test_key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    if let Some(name) = name {
        request = request.header("mcp-name", name);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer = messages(&response.text().await.unwrap()).remove(0);
    assert!(answer.get("error").is_none(), "{answer}");
    answer["result"].clone()
}

#[tokio::test]
async fn a_2026_07_28_client_is_served_statelessly() {
    let app = spawn_app(pilot_store::Backend::Sqlite).await;
    let discovered = stateless(&app, "server/discover", None, json!({})).await;
    let versions = discovered["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25")));
    let listed = stateless(&app, "tools/list", None, json!({})).await;
    let names: Vec<_> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ALL_TOOLS);
    let balance = stateless(
        &app,
        "tools/call",
        Some("get_balance"),
        json!({"name": "get_balance", "arguments": {}}),
    )
    .await;
    assert_eq!(balance["structuredContent"]["environment"], "test");
}

#[tokio::test]
async fn a_client_with_the_tasks_extension_gets_a_task_read_from_the_store() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (mut mcp, answer) = Session::open_with(&app, &app.test_key, tasks_capability()).await;
        assert!(
            answer["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_object(),
            "{answer:?}"
        );

        let started = mcp
            .call(
                "submit_deliberation",
                json!({"question": "Should we price per seat or by usage for mid-market?",
                       "mode": "smartroute1"}),
            )
            .await;
        assert_eq!(started["resultType"], "task", "{started}");
        let task = started["taskId"].as_str().unwrap().to_owned();
        assert!(task.starts_with("del_"), "{task}");
        let done = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                let notified = app.db.store.job_notify();
                let got = mcp.request("tasks/get", json!({"taskId": task})).await;
                if got["status"] == "completed" {
                    return got;
                }
                assert_eq!(got["status"], "working", "{got}");
                let _ =
                    tokio::time::timeout(std::time::Duration::from_millis(50), notified.notified())
                        .await;
            }
        })
        .await
        .expect("the task completes");
        assert_eq!(
            done["result"]["structuredContent"]["status"], "completed",
            "{done}"
        );
        assert_eq!(done["result"]["structuredContent"]["id"], task.as_str());

        // A task is the tenant's own, and the work cannot be cancelled.
        mcp.next_id += 1;
        let (_, _, cancelled) = mcp
            .post(
                &json!({"jsonrpc": "2.0", "id": 77, "method": "tasks/cancel",
                           "params": {"taskId": task}}),
            )
            .await;
        assert!(cancelled[0]["error"].is_object(), "{cancelled:?}");
        // With wait_seconds the call is answered in full, task-capable client or not.
        let waited = mcp
            .call(
                "submit_deliberation",
                json!({"question": "Per seat or by usage for a mid-market SaaS?",
                       "mode": "smartroute1", "wait_seconds": 20}),
            )
            .await;
        assert_eq!(
            waited["structuredContent"]["status"], "completed",
            "{waited}"
        );
    }
}

/// A client without elicitation gets each `deliberation2` checkpoint as the tool
/// result and answers it with `respond_checkpoint`; a task-capable one reads
/// `input_required` with the checkpoint's form and answers with `tasks/update`.
#[tokio::test]
async fn deliberation2_checkpoints_come_back_as_results_and_as_task_input_requests() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let mut mcp = Session::open(&app, &app.test_key).await;
        let question = "Should we open a second warehouse before the holiday season?";
        let mut got = mcp
            .call(
                "submit_deliberation",
                json!({"question": question, "mode": "deliberation2", "wait_seconds": 30}),
            )
            .await["structuredContent"]
            .clone();
        let id = got["id"].as_str().unwrap().to_owned();
        let answers = [
            json!({"constraint": "No new hires."}),
            json!({"revise": []}),
            json!({"decision": "approve"}),
        ];
        for (kind, answer) in ["answers", "reviews", "synthesis"].iter().zip(answers) {
            assert_eq!(got["status"], "running", "{got}");
            assert_eq!(got["checkpoint"]["kind"], *kind, "{got}");
            let checkpoint = got["checkpoint"]["id"].as_str().unwrap().to_owned();
            got = mcp
                .call(
                    "respond_checkpoint",
                    json!({"id": id, "checkpoint_id": checkpoint, "answer": answer,
                           "wait_seconds": 30}),
                )
                .await["structuredContent"]
                .clone();
        }
        assert_eq!(got["status"], "completed", "{got}");
        assert!(got["credits_charged"].as_f64().unwrap() > 0.0, "{got}");
        let stale = mcp
            .call(
                "respond_checkpoint",
                json!({"id": id, "checkpoint_id": "chk_x", "answer": {}}),
            )
            .await;
        assert!(error_text(&stale).starts_with("conflict"), "{stale}");

        // The same walk as a task: input_required, answered with tasks/update.
        let (mut tasks, _) = Session::open_with(&app, &app.test_key, tasks_capability()).await;
        let started = tasks
            .call(
                "submit_deliberation",
                json!({"question": question, "mode": "deliberation2"}),
            )
            .await;
        let task = started["taskId"].as_str().unwrap().to_owned();
        let mut answered = Vec::new();
        let done = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            loop {
                let got = tasks.request("tasks/get", json!({"taskId": task})).await;
                if got["status"] == "completed" {
                    return got;
                }
                if got["status"] == "input_required" {
                    let requests = got["inputRequests"].as_object().unwrap();
                    let (checkpoint, request) = requests.iter().next().unwrap();
                    if !answered.contains(checkpoint) {
                        assert!(checkpoint.starts_with("chk_"), "{got}");
                        assert_eq!(request["method"], "elicitation/create", "{got}");
                        let schema = &request["params"]["requestedSchema"];
                        assert_eq!(schema["type"], "object", "{got}");
                        let responses = json!({checkpoint.clone():
                            {"action": "accept", "content": {}}});
                        tasks
                            .request(
                                "tasks/update",
                                json!({"taskId": task, "inputResponses": responses}),
                            )
                            .await;
                        answered.push(checkpoint.clone());
                    }
                } else {
                    assert_eq!(got["status"], "working", "{got}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the task completes");
        assert_eq!(answered.len(), 3, "{answered:?}");
        assert_eq!(
            done["result"]["structuredContent"]["status"], "completed",
            "{done}"
        );
        app.shut_down().await.unwrap();
    }
}
