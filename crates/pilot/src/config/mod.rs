//! The typed configuration: defaults from `config.default.toml` (embedded in the
//! binary, so the commented file and the defaults cannot drift), then an optional
//! `--config` file, then `PILOT_*` environment variables, then command-line flags.
//! Settings that moved to another section are still read where they were
//! ([`moved_keys`]), with a notice ([`Config::deprecations`]).

mod dashboard;
mod moved_keys;

pub use dashboard::DashboardConfig;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use pilot_engine::WorkerConfig;
use pilot_engine::deliberation::config::DeliberationsConfig;
use pilot_engine::steps::email::SmtpConfig;
use pilot_http::HttpConfig;
use pilot_models::ModelsConfig;
use pilot_operations::{EnvironmentsConfig, LimitsConfig, WebhooksConfig};
use pilot_outbound::OutboundPolicy;
use pilot_smtp::SmtpListenConfig;
use pilot_store::StoreOptions;
use serde::{Deserialize, Serialize};

/// The commented default configuration, as `pilot default-config` prints it.
pub const DEFAULT_TOML: &str = include_str!("../../config.default.toml");

/// Top-level keys, so unrelated `PILOT_*` variables are not mistaken for settings.
const TOP_LEVEL_KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "master_key",
    "public_url",
    "http",
    "store",
    "queue",
    "log",
    "models",
    "pilots",
    "outbound",
    "smtp",
    "email_trigger",
    "deliberations",
    "limits",
    "webhooks",
    "dashboard",
    "environments",
];

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key: String,
    pub public_url: String,
    pub http: HttpConfig,
    pub store: StoreConfig,
    pub queue: WorkerConfig,
    pub log: LogConfig,
    pub models: ModelsConfig,
    pub pilots: PilotsConfig,
    pub outbound: OutboundPolicy,
    pub smtp: SmtpConfig,
    pub email_trigger: SmtpListenConfig,
    #[serde(deserialize_with = "moved_keys::deliberations_without_moved_keys")]
    pub deliberations: DeliberationsConfig,
    pub limits: LimitsConfig,
    pub webhooks: WebhooksConfig,
    #[serde(default)]
    pub dashboard: DashboardConfig,
    #[serde(default)]
    pub environments: EnvironmentsConfig,
    /// What the sources set that is deprecated, and what became of it.
    #[serde(skip)]
    deprecations: Vec<String>,
}

/// The Pilots half's own settings; see `config.default.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PilotsConfig {
    pub creates_per_minute: u32,
    pub draft_repairs: u32,
    pub scheduler_interval_ms: u64,
    /// How often a run waiting on a `deliberate` step looks at its deliberation.
    pub deliberate_poll_ms: u64,
    /// The shortest time a schedule's ticks may be apart: a cron expression that can
    /// fire more often is refused, and the scheduler never fires sooner.
    pub min_schedule_interval_secs: u64,
}

impl PilotsConfig {
    pub fn min_schedule_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.min_schedule_interval_secs)
    }
}

impl Default for PilotsConfig {
    fn default() -> Self {
        PilotsConfig {
            creates_per_minute: 60,
            draft_repairs: 2,
            scheduler_interval_ms: 1_000,
            deliberate_poll_ms: 2_000,
            min_schedule_interval_secs: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub filter: String,
}

/// Settings given on the command line, applied last.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

impl Config {
    /// Loads the configuration from every source, in order of precedence.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        // What the operator set, apart from the defaults: moved keys look here to see
        // whether their new key was set.
        let mut set_by_user = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            set_by_user = set_by_user.merge(Toml::file(file));
        }
        set_by_user = set_by_user
            .merge(Env::prefixed("PILOT_").split("__").filter(|key| {
                let top = key.as_str().split('.').next().unwrap_or("");
                TOP_LEVEL_KEYS
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(top))
            }))
            .merge(Serialized::defaults(overrides));
        let figment = Figment::from(Toml::string(DEFAULT_TOML)).merge(set_by_user.clone());
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        config.deprecations = moved_keys::apply(&figment, &set_by_user, &mut config.limits)
            .map_err(ConfigError::Invalid)?;
        Ok(config)
    }

    /// A notice per deprecated setting the sources set (a moved key: whether its
    /// value applied), for the binary to log once logging is up.
    pub fn deprecations(&self) -> &[String] {
        &self.deprecations
    }

    /// Logs each of [`Config::deprecations`] as a warning.
    pub fn warn_deprecations(&self) {
        for notice in &self.deprecations {
            tracing::warn!("{notice}");
        }
    }

    /// Checks `[http]`, `[webhooks]` and `[environments]`, and warns when
    /// `http.request_timeout_ms` would cut off `POST /api/v1/pilots` while it waits
    /// for the drafting model: one attempt per draft and repair, each up to
    /// `models.timeout_ms`, before any retries.
    pub fn validate_http(&self) -> anyhow::Result<()> {
        self.http.validate().map_err(|e| anyhow::anyhow!(e))?;
        self.webhooks.validate().map_err(|e| anyhow::anyhow!(e))?;
        self.environments
            .validate()
            .map_err(|e| anyhow::anyhow!(e))?;
        let drafting_ms =
            u64::from(self.pilots.draft_repairs + 1).saturating_mul(self.models.timeout_ms);
        if self.http.request_timeout_ms < drafting_ms {
            tracing::warn!(
                request_timeout_ms = self.http.request_timeout_ms,
                drafting_ms,
                "http.request_timeout_ms is shorter than drafting a pilot may take \
                 ((pilots.draft_repairs + 1) x models.timeout_ms): slow drafts will be answered 503"
            );
        }
        Ok(())
    }

    /// The embedded defaults alone (tests and tools).
    pub fn defaults() -> Config {
        Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .expect("the embedded default configuration is valid")
    }

    /// The store URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("pilot.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn uses_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.store.max_connections,
            busy_timeout_ms: self.store.busy_timeout_ms,
        }
    }

    /// The base URL for links, given the address actually bound.
    /// `public_url`, or `http://<bind>` for a process that serves no HTTP itself
    /// (`pilot worker`): what links made in the background start with.
    pub fn configured_public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.bind)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    pub fn public_url(&self, bound: SocketAddr) -> String {
        if self.public_url.is_empty() {
            format!("http://{bound}")
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "master_key",
                &if self.master_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("public_url", &self.public_url)
            .field("http", &self.http)
            .field("store", &self.store)
            .field("queue", &self.queue)
            .field("log", &self.log)
            .field("models", &self.models)
            .field("limits", &self.limits)
            .field("webhooks", &self.webhooks)
            .field("dashboard", &self.dashboard)
            .finish()
    }
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_match_each_layers_own_defaults() {
        let config = Config::defaults();
        assert_eq!(config.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.queue, WorkerConfig::default());
        assert_eq!(config.http, HttpConfig::default());
        assert_eq!(config.models, ModelsConfig::default());
        assert_eq!(config.pilots, PilotsConfig::default());
        assert_eq!(config.outbound, OutboundPolicy::default());
        assert_eq!(config.smtp, SmtpConfig::default());
        assert_eq!(config.email_trigger, SmtpListenConfig::default());
        assert_eq!(config.deliberations, DeliberationsConfig::default());
        assert_eq!(config.limits, LimitsConfig::default());
        assert_eq!(config.webhooks, WebhooksConfig::default());
        assert_eq!(config.dashboard, DashboardConfig::default());
        assert!(config.deprecations().is_empty());
        let store = StoreOptions::default();
        assert_eq!(config.store.max_connections, store.max_connections);
        assert_eq!(config.store.busy_timeout_ms, store.busy_timeout_ms);
        assert_eq!(config.database_url(), "sqlite://./pilot-data/pilot.db");
    }

    #[test]
    fn file_then_environment_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "pilot.toml",
                "bind = \"0.0.0.0:9000\"\n[queue]\nconcurrency = 3\nlease_ms = 5",
            )?;
            jail.set_env("PILOT_QUEUE__LEASE_MS", "7000");
            jail.set_env("PILOT_DATABASE_URL", "postgres://u:secret@db/pilot");
            jail.set_env("PILOT_TEST_POSTGRES_URL", "ignored: not a setting");
            let overrides = Overrides {
                bind: Some("127.0.0.1:0".into()),
                ..Overrides::default()
            };
            let config = Config::load(Some(Path::new("pilot.toml")), &overrides).unwrap();
            assert_eq!(config.bind.port(), 0);
            assert_eq!(config.queue.concurrency, 3);
            assert_eq!(config.queue.lease_ms, 7000);
            assert!(config.uses_postgres());
            assert!(!format!("{config:?}").contains("secret"));
            Ok(())
        });
    }

    #[test]
    fn the_email_trigger_tls_and_attachment_settings_come_through() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "pilot.toml",
                "[email_trigger]\nenabled = true\ntls_cert_path = \"/etc/pilot/cert.pem\"\n\
                 max_attachment_bytes = 0",
            )?;
            jail.set_env("PILOT_EMAIL_TRIGGER__TLS_KEY_PATH", "/etc/pilot/key.pem");
            jail.set_env("PILOT_EMAIL_TRIGGER__REQUIRE_TLS", "true");
            let config =
                Config::load(Some(Path::new("pilot.toml")), &Overrides::default()).unwrap();
            let smtp = &config.email_trigger;
            assert_eq!(smtp.tls_cert_path, Some("/etc/pilot/cert.pem".into()));
            assert_eq!(smtp.tls_key_path, Some("/etc/pilot/key.pem".into()));
            assert!(smtp.require_tls);
            assert_eq!(smtp.max_attachment_bytes, 0);
            assert_eq!(smtp.validate(), Ok(()));
            Ok(())
        });
    }

    #[test]
    fn dashboard_comes_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("dash.toml", "[dashboard]\nsession_idle_hours = 2")?;
            jail.set_env("PILOT_DASHBOARD__SIGN_IN_PER_ACCOUNT_PER_MINUTE", "3");
            let config = Config::load(Some(Path::new("dash.toml")), &Overrides::default()).unwrap();
            let policy = config.dashboard.policy();
            assert_eq!(policy.session_idle, std::time::Duration::from_secs(7200));
            assert_eq!(policy.sign_in_per_account.limit, 3);
            assert_eq!(policy.sign_in_per_address.limit, 20);
            jail.create_file("typo.toml", "[dashboard]\nsession_idle = 2")?;
            assert!(Config::load(Some(Path::new("typo.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn webhooks_come_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hooks.toml",
                "[webhooks]\nattempt_retention_days = 7\ntimeout_ms = 2500",
            )?;
            jail.set_env("PILOT_WEBHOOKS__ALLOW_HTTP", "true");
            jail.set_env("PILOT_WEBHOOKS__RETRY_DELAYS_SECS", "[1, 2, 3]");
            let config =
                Config::load(Some(Path::new("hooks.toml")), &Overrides::default()).unwrap();
            assert_eq!(
                config.webhooks,
                WebhooksConfig {
                    allow_http: true,
                    attempt_retention_days: 7,
                    timeout_ms: 2500,
                    retry_delays_secs: vec![1, 2, 3],
                }
            );
            jail.create_file("typo.toml", "[webhooks]\nallow_htp = true")?;
            assert!(Config::load(Some(Path::new("typo.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn environments_come_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            let defaults = Config::defaults().environments;
            assert_eq!(defaults, EnvironmentsConfig::default());
            jail.create_file(
                "staging.toml",
                "[environments]\nstaging_url = \"https://staging.example.com\"",
            )?;
            jail.set_env("PILOT_ENVIRONMENTS__ACCEPT", r#"["live"]"#);
            let config =
                Config::load(Some(Path::new("staging.toml")), &Overrides::default()).unwrap();
            assert_eq!(
                config.environments.accept,
                [pilot_domain::Environment::Live]
            );
            assert_eq!(
                config.environments.staging_url(),
                Some("https://staging.example.com")
            );
            jail.set_env("PILOT_ENVIRONMENTS__ACCEPT", r#"["prod"]"#);
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn unknown_settings_and_bad_values_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[queue]\nconcurency = 3")?;
            assert!(Config::load(Some(Path::new("bad.toml")), &Overrides::default()).is_err());
            jail.create_file("bad2.toml", "bind = \"nowhere\"")?;
            assert!(Config::load(Some(Path::new("bad2.toml")), &Overrides::default()).is_err());
            assert!(matches!(
                Config::load(Some(Path::new("absent.toml")), &Overrides::default()),
                Err(ConfigError::MissingFile(_))
            ));
            Ok(())
        });
    }

    #[test]
    fn models_come_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "models.toml",
                "[models]\nlive_provider = \"ollama\"\n\
                 [models.providers.ollama]\nbase_url = \"http://127.0.0.1:11434/v1\"\n\
                 [models.roles]\ndefault = \"llama3.2\"\n\
                 [models.prices.\"llama3.2\"]\ninput_per_million = 0.5\noutput_per_million = 1",
            )?;
            jail.set_env("PILOT_MODELS__ROLES__ARBITER", "qwen2.5");
            let config =
                Config::load(Some(Path::new("models.toml")), &Overrides::default()).unwrap();
            config.models.validate().unwrap();
            assert_eq!(config.models.live_provider, "ollama");
            assert_eq!(config.models.roles.default, "llama3.2");
            assert_eq!(config.models.roles.arbiter, "qwen2.5");
            assert_eq!(
                config.models.prices["llama3.2"].input_per_million,
                pilot_domain::Credits::from_micros(500_000)
            );
            jail.create_file("typo.toml", "[models]\nlive_provder = \"x\"")?;
            assert!(Config::load(Some(Path::new("typo.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn old_deliberations_limits_still_take_effect_with_a_notice() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "old.toml",
                "[deliberations]\npost_per_hour = 20\nget_per_minute = 5\n\
                 idempotency_ttl_hours = 2\nquorum = 4",
            )?;
            let config = Config::load(Some(Path::new("old.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.limits.deliberation_submissions_per_hour, 20);
            assert_eq!(config.limits.deliberation_reads_per_minute, 5);
            assert_eq!(config.limits.idempotency_ttl_hours, 2);
            assert_eq!(
                config.deliberations.quorum, 4,
                "the rest of the section is read"
            );
            let notices = config.deprecations();
            assert_eq!(notices.len(), 3, "{notices:?}");
            assert!(notices[0].starts_with("deliberations.post_per_hour (from TOML file"));
            assert!(notices[0].contains("old.toml"), "{}", notices[0]);
            assert!(notices[0].ends_with(
                "is deprecated: set limits.deliberation_submissions_per_hour instead (applied)"
            ));

            // The environment's old forms, too.
            jail.set_env("PILOT_DELIBERATIONS__GET_PER_MINUTE", "7");
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.limits.deliberation_reads_per_minute, 7);
            assert_eq!(config.limits.deliberation_submissions_per_hour, 60);
            assert_eq!(config.deprecations().len(), 1);
            assert!(
                config.deprecations()[0].contains("PILOT_"),
                "{:?}",
                config.deprecations()
            );
            Ok(())
        });
    }

    #[test]
    fn the_new_limits_keys_win_over_the_old_ones() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "both.toml",
                "[deliberations]\npost_per_hour = 20\n\
                 [limits]\ndeliberation_submissions_per_hour = 10\nidempotency_ttl_hours = 3",
            )?;
            // An old key from a higher layer still loses to a new one from a lower.
            jail.set_env("PILOT_DELIBERATIONS__IDEMPOTENCY_TTL_HOURS", "9");
            let config = Config::load(Some(Path::new("both.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.limits.deliberation_submissions_per_hour, 10);
            assert_eq!(config.limits.idempotency_ttl_hours, 3);
            assert_eq!(config.limits.deliberation_reads_per_minute, 600);
            assert_eq!(config.deprecations().len(), 2);
            assert!(
                config
                    .deprecations()
                    .iter()
                    .all(|n| n.ends_with("(ignored: that is set too)"))
            );

            // The new keys from the environment, over an old one in the file.
            jail.create_file("old.toml", "[deliberations]\nget_per_minute = 5")?;
            jail.set_env("PILOT_LIMITS__DELIBERATION_READS_PER_MINUTE", "50");
            let config = Config::load(Some(Path::new("old.toml")), &Overrides::default()).unwrap();
            assert_eq!(config.limits.deliberation_reads_per_minute, 50);
            Ok(())
        });
    }

    #[test]
    fn moved_keys_are_still_checked_and_other_unknown_keys_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "[deliberations]\nquorom = 3")?;
            let typo = Config::load(Some(Path::new("typo.toml")), &Overrides::default());
            assert!(format!("{}", typo.err().unwrap()).contains("quorom"));
            jail.create_file("bad.toml", "[deliberations]\npost_per_hour = \"many\"")?;
            assert!(Config::load(Some(Path::new("bad.toml")), &Overrides::default()).is_err());
            jail.create_file("bad2.toml", "[limits]\nidempotency_ttl = 3")?;
            assert!(Config::load(Some(Path::new("bad2.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn deprecations_are_logged_as_warnings() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("old.toml", "[deliberations]\npost_per_hour = 20")?;
            let config = Config::load(Some(Path::new("old.toml")), &Overrides::default()).unwrap();
            let (traces, _capturing) = pilot_testkit::traces::capture();
            config.warn_deprecations();
            let warned = traces.events();
            assert_eq!(warned.len(), 1);
            assert_eq!(warned[0].level, tracing::Level::WARN);
            assert_eq!(warned[0].message, config.deprecations()[0]);
            Ok(())
        });
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
