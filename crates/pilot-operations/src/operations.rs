//! [`Operations`]: the one handle every interface holds, with what the use cases
//! reach (the store, the clock, the master key, models, the outbound guard) and the
//! policy they enforce (limits, the idempotency TTL, the deliberation settings).
//!
//! Cheap to clone (one `Arc`): an operation that must outlive its caller — the work
//! behind a claimed idempotency key — runs on a task with its own clone.

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{Environment, MasterKey, UnixMillis, WorkspaceId};
use pilot_engine::Clock;
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_engine::drafting::Drafter;
use pilot_models::Models;
use pilot_outbound::OutboundClient;
use pilot_store::{RateLimit, Store};

use crate::dashboard::DashboardPolicy;
use crate::environments::EnvironmentsConfig;
use crate::views::pilot::Links;
use crate::webhooks::WebhooksConfig;

/// What the operations reach.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Seals secrets and webhook tokens at rest.
    pub master_key: MasterKey,
    /// For the guardrails' moderation call.
    pub models: Arc<Models>,
    /// Drafts a pilot's steps from its description.
    pub drafter: Drafter,
    /// Checks `webhook_url`s and pilots' `notifyUrl`s: no private or special
    /// addresses, and HTTPS only unless `[webhooks] allow_http`.
    pub webhook_guard: OutboundClient,
}

/// What the operations enforce, from configuration.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The base URL clients reach this server at, for links in views.
    pub public_url: String,
    /// The domain of email-trigger addresses (`pilot-…@<mail_domain>`).
    pub mail_domain: String,
    /// Pilot creations per workspace (the seed: 60 per minute).
    pub pilot_creates: RateLimit,
    /// The shortest time a schedule's ticks may be apart.
    pub min_schedule_interval: Duration,
    /// Deliberation submissions per key (`[limits]`; the seed: 60 per hour).
    pub deliberation_posts: RateLimit,
    /// Deliberation reads per key (`[limits]`; the seed: 600 per minute).
    pub deliberation_reads: RateLimit,
    /// How long an idempotency key replays its first answer (`[limits]`).
    pub idempotency_ttl_ms: i64,
    /// Estimates, guardrails, the processing budget.
    pub deliberations: DeliberationsConfig,
    /// `[webhooks]`: how long attempts are kept (housekeeping purges older ones).
    pub webhooks: WebhooksConfig,
    /// `[dashboard]`: sessions, sign-in limits, links.
    pub dashboard: DashboardPolicy,
    /// `[environments]`: whose keys authenticate here; the staging server's URL.
    pub environments: EnvironmentsConfig,
}

/// Every use case, once (see the crate docs).
#[derive(Clone)]
pub struct Operations {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    policy: Policy,
}

impl Operations {
    pub fn new(services: Services, policy: Policy) -> Operations {
        Operations {
            inner: Arc::new(Inner { services, policy }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.services.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.services.clock
    }

    pub fn now(&self) -> UnixMillis {
        self.inner.services.clock.now()
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    pub(crate) fn services(&self) -> &Services {
        &self.inner.services
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.inner.services.master_key
    }

    pub(crate) fn idempotency_ttl_ms(&self) -> i64 {
        self.inner.policy.idempotency_ttl_ms
    }

    /// What a pilot's links (webhook URL, email address) are made from.
    pub(crate) fn links(&self) -> Links<'_> {
        Links {
            master_key: &self.inner.services.master_key,
            public_url: &self.inner.policy.public_url,
            mail_domain: &self.inner.policy.mail_domain,
        }
    }
}

/// Names the tenant in the current operation's span, for operations that learn it
/// from their credential (a key, a webhook token, an address) rather than a
/// `Principal`: their spans declare `workspace` and `environment` empty.
pub(crate) fn record_tenant(workspace: WorkspaceId, environment: Environment) {
    let span = tracing::Span::current();
    span.record("workspace", workspace.0);
    span.record("environment", environment.as_str());
}
