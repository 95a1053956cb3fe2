//! The operations over a real store (a fresh SQLite file or PostgreSQL database per
//! test, `pilot_testkit`), on a manual clock, with the scripted model in test mode:
//! no HTTP anywhere, so what these tests see the operations enforce, they enforce by
//! themselves.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::deliberation::SubmissionBody;
use pilot_domain::{
    ApiKeyToken, Credits, Environment, MasterKey, Principal, Scopes, UnixMillis, WorkspaceId,
    WorkspaceName,
};
use pilot_engine::ManualClock;
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_engine::drafting::Drafter;
use pilot_models::{MemorySink, Models, ModelsConfig};
use pilot_operations::{Operations, Policy, Services};
use pilot_outbound::{OutboundClient, OutboundPolicy};
use pilot_store::{NewApiKey, RateLimit, Store};
use pilot_testkit::TestDb;
use serde_json::{Value, json};

pub const NOW: UnixMillis = UnixMillis(1_700_000_000_000);
pub const QUESTION: &str = "Should we price our SaaS per-seat or usage-based for mid-market?";

/// The limits a test runs under: the seed's unless it says otherwise.
#[derive(Clone, Copy)]
pub struct Limits {
    pub posts_per_hour: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { posts_per_hour: 60 }
    }
}

pub struct Setup {
    pub db: TestDb,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub ops: Operations,
    pub workspace: WorkspaceId,
}

/// A key stored in the workspace: its token in clear (for authenticating as it) and
/// the principal it authenticates as.
pub struct Key {
    pub token: ApiKeyToken,
    pub principal: Principal,
}

pub async fn setup(db: TestDb, limits: Limits, config: DeliberationsConfig) -> Setup {
    let store = db.store.clone();
    let clock = Arc::new(ManualClock::new(NOW));
    let name = WorkspaceName::parse("acme").unwrap();
    let (workspace, _) = store.create_workspace(&name, &[], NOW).await.unwrap();
    // Test credits to spend; live starts at zero.
    store
        .grant_credits(
            workspace.id,
            Environment::Test,
            Credits::from_credits(100),
            "test",
            NOW,
        )
        .await
        .unwrap();
    let models = Arc::new(
        Models::builder(ModelsConfig::default(), Arc::new(MemorySink::new()))
            .clock(Arc::new(ManualClock::new(NOW)))
            .build(),
    );
    let (master_key, _) = MasterKey::generate();
    let webhook_guard = OutboundClient::new(OutboundPolicy {
        require_https: true,
        ..OutboundPolicy::default()
    })
    .unwrap();
    let ops = Operations::new(
        Services {
            store: store.clone(),
            clock: clock.clone(),
            master_key,
            models: models.clone(),
            drafter: Drafter::new(models, 0),
            webhook_guard,
        },
        Policy {
            public_url: "https://pilot.example".to_owned(),
            mail_domain: "pilot.example".to_owned(),
            pilot_creates: RateLimit {
                limit: 60,
                window_ms: 60_000,
            },
            min_schedule_interval: Duration::from_secs(60),
            deliberation_posts: RateLimit {
                limit: limits.posts_per_hour,
                window_ms: 3_600_000,
            },
            deliberation_reads: RateLimit {
                limit: 600,
                window_ms: 60_000,
            },
            idempotency_ttl_ms: 24 * 3_600_000,
            deliberations: config,
            webhooks: pilot_operations::WebhooksConfig::default(),
            dashboard: pilot_operations::DashboardPolicy::default(),
            environments: pilot_operations::EnvironmentsConfig::default(),
        },
    );
    Setup {
        db,
        store,
        clock,
        ops,
        workspace: workspace.id,
    }
}

impl Setup {
    /// Stores a key of `environment` with `scopes`.
    pub async fn key(&self, environment: Environment, scopes: &str) -> Key {
        let token = ApiKeyToken::generate(environment);
        let record = NewApiKey {
            environment,
            name: "test".into(),
            prefix: token.display_prefix(),
            digest: token.digest(),
            scopes: Scopes::parse(scopes).unwrap(),
            webhook_secret_sealed: "v1:unused".into(),
        };
        self.store
            .create_api_key(self.workspace, &record, NOW)
            .await
            .unwrap();
        let principal = self.authenticate(&token).await.unwrap();
        Key { token, principal }
    }

    /// What the operations make of `Authorization: Bearer <token>`.
    pub async fn authenticate(
        &self,
        token: &ApiKeyToken,
    ) -> Result<Principal, pilot_operations::OpError> {
        let header = format!("Bearer {}", token.expose());
        self.ops.authenticate(Some(Ok(header.as_str()))).await
    }

    pub async fn reserves(&self, environment: Environment) -> usize {
        let ledger = self
            .store
            .ledger(self.workspace, environment, 500)
            .await
            .unwrap();
        ledger.iter().filter(|e| e.kind == "reserve").count()
    }
}

/// A submission body as a client would send it.
pub fn body(value: Value) -> SubmissionBody {
    serde_json::from_value(value).unwrap()
}

pub fn question() -> SubmissionBody {
    body(json!({"question": QUESTION}))
}
