//! [`operations`]: an [`Operations`] over a fresh store, with a hand-driven clock.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{ManualClock, MasterKey, UnixMillis};
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_engine::drafting::Drafter;
use pilot_models::{MemorySink, Models, ModelsConfig};
use pilot_operations::{Operations, Policy, Services};
use pilot_outbound::{OutboundClient, OutboundPolicy};
use pilot_store::{Backend, RateLimit};
use pilot_testkit::TestDb;

pub const START: UnixMillis = UnixMillis(1_768_435_200_000);

pub struct Harness {
    pub ops: Operations,
    pub clock: Arc<ManualClock>,
    pub master_key: MasterKey,
    pub db: TestDb,
}

/// The operations over a fresh `backend` store, its clock at [`START`].
pub async fn operations(backend: Backend) -> Harness {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(ManualClock::new(START));
    let (master_key, _) = MasterKey::generate();
    let models = Arc::new(Models::new(
        ModelsConfig::default(),
        Arc::new(MemorySink::new()),
    ));
    let ops = Operations::new(
        Services {
            store: db.store.clone(),
            clock: clock.clone(),
            master_key: master_key.clone(),
            models: models.clone(),
            drafter: Drafter::new(models, 2),
            webhook_guard: OutboundClient::new(OutboundPolicy {
                require_https: true,
                ..OutboundPolicy::default()
            })
            .expect("the webhook guard"),
        },
        Policy {
            public_url: "http://127.0.0.1:8080".into(),
            mail_domain: "localhost".into(),
            pilot_creates: RateLimit {
                limit: 60,
                window_ms: 60_000,
            },
            min_schedule_interval: Duration::from_secs(60),
            deliberation_posts: RateLimit {
                limit: 60,
                window_ms: 3_600_000,
            },
            deliberation_reads: RateLimit {
                limit: 600,
                window_ms: 60_000,
            },
            idempotency_ttl_ms: 24 * 3_600_000,
            deliberations: DeliberationsConfig::default(),
            webhooks: pilot_operations::WebhooksConfig::default(),
            dashboard: pilot_operations::DashboardPolicy::default(),
            environments: pilot_operations::EnvironmentsConfig::default(),
        },
    );
    Harness {
        ops,
        clock,
        master_key,
        db,
    }
}
