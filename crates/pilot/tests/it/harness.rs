//! `spawn_app`: a running Pilot on `127.0.0.1:<random>` over a fresh store.

use std::sync::Arc;

use pilot::app::App;
use pilot::config::Config;
use pilot_domain::{Environment, MasterKey, Scopes};
use pilot_engine::{Clock, SystemClock};
use pilot_operations::{DEFAULT_WORKSPACE, NewKey, Operations, Operator};
use pilot_store::{Backend, Store};
use pilot_testkit::TestDb;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub live_key: String,
    pub test_key: String,
    /// The webhook secret of `test_key`, as printed at creation.
    pub test_secret: String,
    pub app: Arc<App>,
    pub db: TestDb,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub fn test_config() -> Config {
    let mut config = Config::defaults();
    // The tests' local HTTP receivers live on loopback.
    config.outbound = pilot_outbound::OutboundPolicy::allowing(&["127.0.0.1/32"]).unwrap();
    config.queue.poll_interval_ms = 100;
    config.queue.heartbeat_ms = 1_000;
    config.queue.shutdown_grace_ms = 2_000;
    config.http.body_limit_bytes = 64 * 1024;
    config
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, test_config()).await
}

pub async fn spawn_with(backend: Backend, config: Config) -> TestApp {
    spawn_node(backend, config, true).await
}

/// A server whose embedded worker (and schedule timer) runs only with `worker`; without,
/// a test starts its own workers as other nodes would.
pub async fn spawn_node(backend: Backend, config: Config, worker: bool) -> TestApp {
    spawn_on_clock(backend, config, worker, Arc::new(SystemClock)).await
}

/// [`spawn_node`] with the time the server sees coming from `clock` (a test's
/// `ManualClock`, to put requests on either side of a boundary).
pub async fn spawn_on_clock(
    backend: Backend,
    config: Config,
    worker: bool,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let db = TestDb::new(backend).await;
    let (master_key, _) = MasterKey::generate();
    let app = Arc::new(
        App::from_parts(config, db.store.clone(), master_key, clock.clone()).expect("app"),
    );
    let first = app
        .operations(app.config.configured_public_url())
        .first_start(&Operator::console())
        .await
        .expect("bootstrap")
        .expect("an empty store gets the default workspace");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = {
        let (app, shutdown) = (app.clone(), shutdown.clone());
        tokio::spawn(async move { app.serve(listener, shutdown, worker).await })
    };
    TestApp {
        url,
        client: reqwest::Client::new(),
        live_key: first.live.token.expose().to_owned(),
        test_key: first.test.token.expose().to_owned(),
        test_secret: first.test.webhook_secret.expose().to_owned(),
        app,
        db,
        shutdown,
        server: Some(server),
    }
}

impl TestApp {
    /// Another node on the same store: its own connection pool, the same master key.
    pub async fn node(&self, config: Config) -> App {
        let store = pilot_store::open(&self.db.url, &pilot_store::StoreOptions::default())
            .await
            .expect("second pool");
        App::from_parts(
            config,
            store,
            self.app.master_key.clone(),
            Arc::new(SystemClock),
        )
        .expect("node")
    }

    /// The operations over this server's store, seeing time from `clock` (a test's
    /// `ManualClock`): the server as it would act at another time.
    pub fn operations_at(&self, clock: Arc<dyn Clock>) -> Operations {
        self.operations_on(self.db.store.clone(), clock)
    }

    /// The operations of another node on `store` (the same database through a pool
    /// of its own, say), seeing time from `clock`.
    pub fn operations_on(&self, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Operations {
        App::from_parts(
            self.app.config.clone(),
            store,
            self.app.master_key.clone(),
            clock,
        )
        .expect("app")
        .operations(self.url.clone())
    }

    /// `GET path` with `key`, the body as JSON (whatever the status).
    pub async fn get_json(&self, path: &str, key: &str) -> serde_json::Value {
        get_json_at(&self.client, &format!("{}{path}", self.url), key).await
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    /// Stops the server and its worker the way SIGTERM does, and waits for both.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.take().expect("running").await?
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The response's JSON body and its request id, asserting the id is present and well formed.
pub async fn json_and_request_id(response: reqwest::Response) -> (serde_json::Value, String) {
    let request_id = response
        .headers()
        .get("x-request-id")
        .expect("every response carries X-Request-Id")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        request_id.starts_with("req_") && request_id.len() == 30,
        "{request_id}"
    );
    let content_type = response.headers().get("content-type").cloned();
    let body = response.text().await.unwrap();
    assert_eq!(
        content_type.as_ref().map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "body: {body}"
    );
    (serde_json::from_str(&body).expect("JSON body"), request_id)
}

/// Issues a key with `scopes` in the default workspace; returns it in clear.
pub async fn issue_key(app: &TestApp, environment: Environment, scopes: Scopes) -> String {
    let key = NewKey {
        environment,
        name: "scoped".into(),
        scopes,
    };
    let issued = app
        .app
        .operations(app.url.clone())
        .issue_key(&Operator::console(), DEFAULT_WORKSPACE, key)
        .await
        .unwrap();
    issued.token.expose().to_owned()
}

/// `GET url` with `key`, the body as JSON (whatever the status): for servers that
/// are not a [`TestApp`] (a `pilot serve` child).
pub async fn get_json_at(client: &reqwest::Client, url: &str, key: &str) -> serde_json::Value {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A `pilot serve` child on `config`, logging to `log`, once it has printed its
/// banner.
pub async fn start_child(
    config: &std::path::Path,
    log: std::path::PathBuf,
) -> pilot::bench::serve_child::ServeChild {
    let (binary, config) = (
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_pilot")),
        config.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        pilot::bench::serve_child::ServeChild::start(&binary, &config, &log)
    })
    .await
    .unwrap()
    .expect("pilot serve starts")
}
