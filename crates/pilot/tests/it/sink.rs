//! A local HTTP receiver for `http` steps: records every request it gets and answers
//! with a status the test chooses. Bound on `127.0.0.1:0` before serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use tokio::sync::{Notify, mpsc};

#[derive(Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

pub struct Sink {
    pub url: String,
    status: Arc<AtomicU16>,
    hold: Arc<std::sync::Mutex<Option<String>>>,
    released: Arc<Notify>,
    received: mpsc::UnboundedReceiver<Received>,
}

#[derive(Clone)]
struct SinkState {
    status: Arc<AtomicU16>,
    /// A path whose requests are recorded and then not answered until released.
    hold: Arc<std::sync::Mutex<Option<String>>>,
    released: Arc<Notify>,
    sender: mpsc::UnboundedSender<Received>,
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, received) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let hold = Arc::new(std::sync::Mutex::new(None));
        let released = Arc::new(Notify::new());
        let state = SinkState {
            status: status.clone(),
            hold: hold.clone(),
            released: released.clone(),
            sender,
        };
        let app = Router::new()
            .route("/{*path}", any(receive))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink {
            url,
            status,
            hold,
            released,
            received,
        }
    }

    /// The status later requests are answered with.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Requests to `path` are recorded but not answered until `release`.
    pub fn hold(&self, path: &str) {
        *self.hold.lock().unwrap() = Some(path.to_owned());
    }

    /// Answers the held requests whose callers still wait, and holds no more.
    pub fn release(&self) {
        *self.hold.lock().unwrap() = None;
        self.released.notify_waiters();
    }

    /// The next request received, within a bound.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(std::time::Duration::from_secs(20), self.received.recv())
            .await
            .expect("the sink receives a request in time")
            .expect("sink open")
    }

    /// Requests received so far, without waiting.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut all = Vec::new();
        while let Ok(received) = self.received.try_recv() {
            all.push(received);
        }
        all
    }
}

async fn receive(
    State(state): State<SinkState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let echo = body.to_string();
    let _ = state.sender.send(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    loop {
        // Registered before the look, so a release in between is not missed.
        let released = state.released.notified();
        if state.hold.lock().unwrap().as_deref() != Some(uri.path()) {
            break;
        }
        released.await;
    }
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    (status, echo)
}
