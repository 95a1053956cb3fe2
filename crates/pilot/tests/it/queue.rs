//! The embedded worker runs what is enqueued, through the app's one job registry.

use pilot::jobs::Noop;
use pilot_engine::{Clock, SystemClock, new_job};
use pilot_testkit::backends;

use crate::harness::spawn_app;

#[tokio::test]
async fn the_embedded_worker_drains_enqueued_jobs() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let store = app.db.store.clone();
        let notify = store.job_notify();
        let now = SystemClock.now();
        let jobs: Vec<_> = (0..50).map(|_| new_job(&Noop {}, now)).collect();
        assert_eq!(store.enqueue_many(&jobs, now).await.unwrap(), 50);

        // Wait for the queue to empty: each settle is a store write, and each
        // completion batch is followed by a claim that finds nothing; re-check on a
        // bounded cadence, guarded by an overall timeout.
        let drained = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                let counts = store.queue_counts().await.unwrap();
                if counts.queued == 0 && counts.running == 0 {
                    return counts;
                }
                let woken = notify.notified();
                let _ = tokio::time::timeout(std::time::Duration::from_millis(20), woken).await;
            }
        })
        .await
        .expect("the worker drains 50 no-op jobs");
        assert_eq!(drained.dead, 0, "{backend:?}");
    }
}
