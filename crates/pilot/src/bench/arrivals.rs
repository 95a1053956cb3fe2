//! When each request a bench's local receiver took first arrived, by the key the
//! bench tells them apart with, and a wait for how many did.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Notify;

pub struct Arrivals<K> {
    arrived: Mutex<HashMap<K, Instant>>,
    notify: Notify,
}

impl<K: Eq + Hash> Arrivals<K> {
    pub fn new() -> Arrivals<K> {
        Arrivals {
            arrived: Mutex::new(HashMap::new()),
            notify: Notify::new(),
        }
    }

    /// `key` arrived `at`; a repeat keeps the first instant.
    pub fn record(&self, key: K, at: Instant) {
        if let Ok(mut arrived) = self.arrived.lock() {
            arrived.entry(key).or_insert(at);
        }
        self.notify.notify_waiters();
    }

    pub fn count(&self) -> usize {
        self.arrived.lock().map_or(0, |a| a.len())
    }

    /// When the latest arrival so far came.
    pub fn last(&self) -> Option<Instant> {
        self.arrived
            .lock()
            .ok()
            .and_then(|a| a.values().max().copied())
    }

    /// Waits until `count` keys arrived, at most `limit`; `what` names them in the
    /// error.
    pub async fn wait_for(&self, count: usize, limit: Duration, what: &str) -> anyhow::Result<()> {
        tokio::time::timeout(limit, async {
            while self.count() < count {
                let _ =
                    tokio::time::timeout(Duration::from_millis(50), self.notify.notified()).await;
            }
        })
        .await
        .with_context(|| format!("only {} of {count} {what} in time", self.count()))
    }

    /// Milliseconds from each `(key, start)` to its key's arrival, for those that
    /// arrived.
    pub fn latencies_ms<'a>(&self, started: impl IntoIterator<Item = (&'a K, Instant)>) -> Vec<f64>
    where
        K: 'a,
    {
        let arrived = self.arrived.lock().expect("arrivals lock");
        started
            .into_iter()
            .filter_map(|(key, at)| {
                arrived
                    .get(key)
                    .map(|got| got.saturating_duration_since(at).as_secs_f64() * 1000.0)
            })
            .collect()
    }
}
