//! `[models]` configuration: providers, which one each environment uses, the model
//! for each role, prices, and the resilience knobs.
//!
//! ```toml
//! [models]
//! live_provider = "ollama"          # "" (the default): live AI work is off
//! test_provider = "scripted"        # the built-in scripted model
//!
//! [models.providers.ollama]
//! kind = "openai"                   # or "anthropic"
//! base_url = "http://127.0.0.1:11434/v1"
//! api_key_env = ""                  # the NAME of the variable holding the key
//!
//! [models.roles]
//! default = "llama3.2"
//! arbiter = "qwen2.5:14b"
//! personas.skeptic = "mistral"
//!
//! [models.prices."llama3.2"]
//! input_per_million = 0.1
//! output_per_million = 0.4
//! ```
//!
//! Every answer is bounded by `max_answer_bytes` (1 MiB by default), whichever
//! provider gives it.
//!
//! Keys are never written in configuration: a provider names the environment
//! variable that holds its key (`api_key_env`), read once at start.

use std::collections::BTreeMap;

use pilot_domain::step_schema_limits::MAX_ANSWER_BYTES;
use pilot_domain::{Credits, Environment, Price};
use serde::Deserialize;

use crate::roles::Role;
use crate::usage::UnknownUsage;

/// The built-in provider's name.
pub const SCRIPTED: &str = "scripted";

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// The provider `live` calls go to; empty: none, and live calls fail with
    /// `NotConfigured` before anything is sent or charged.
    pub live_provider: String,
    /// The provider `test` calls go to; `scripted` by default.
    pub test_provider: String,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub roles: RolesConfig,
    /// Credits per million tokens, by model name.
    pub prices: BTreeMap<String, Price>,
    /// The price of a model missing from `prices`.
    pub default_price: Price,
    /// Per attempt: from sending the request to the answer's last byte.
    pub timeout_ms: u64,
    /// Further attempts after a rate limit, a 5xx or a connection failure.
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// The longest `Retry-After` honoured; a provider asking for more gets its error
    /// handed to the caller rather than a wait.
    pub max_retry_after_ms: u64,
    pub unknown_usage: UnknownUsage,
    /// The largest answer any provider may give, in bytes of text: a longer one fails
    /// the call (`ModelError::AnswerTooLarge`) once past the limit, before more is
    /// read; the scripted model refuses, before building anything, an answer to a
    /// schema that cannot fit. Step schemas are validated against the default.
    pub max_answer_bytes: u64,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            live_provider: String::new(),
            test_provider: SCRIPTED.to_owned(),
            providers: BTreeMap::new(),
            roles: RolesConfig::default(),
            prices: BTreeMap::new(),
            default_price: Price {
                input_per_million: Credits::from_credits(1),
                output_per_million: Credits::from_credits(4),
            },
            timeout_ms: 60_000,
            max_retries: 3,
            retry_base_ms: 500,
            retry_max_ms: 8_000,
            max_retry_after_ms: 30_000,
            unknown_usage: UnknownUsage::Estimate,
            max_answer_bytes: MAX_ANSWER_BYTES,
        }
    }
}

/// Which wire format a provider speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Chat Completions: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, …
    #[default]
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// Where the provider lives when `base_url` is empty.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
        }
    }
}

/// How an OpenAI-compatible server is asked for JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonMode {
    /// `response_format: {"type": "json_schema", …, "strict": true}`.
    #[default]
    Schema,
    /// `response_format: {"type": "json_object"}`, for servers without schema support
    /// (the schema then goes in a system message).
    Object,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Empty: the kind's public endpoint. OpenAI-compatible URLs end before
    /// `/chat/completions` (`http://127.0.0.1:11434/v1`); Anthropic's before
    /// `/v1/messages`.
    pub base_url: String,
    /// The environment variable holding the API key; empty for servers without keys.
    pub api_key_env: String,
    pub json_mode: JsonMode,
    /// Stream answers (SSE). The caller still gets the whole answer.
    pub stream: bool,
    /// OpenAI-compatible streaming only: send `stream_options.include_usage`, which
    /// some older servers refuse.
    pub include_usage: bool,
    /// Anthropic requires an answer length; this one is used when the call sets none.
    pub max_tokens: u32,
    /// Calls in flight to this provider at once, across the process; more wait their
    /// turn (waiting does not count against `timeout_ms`). Bounds open connections
    /// and memory under bursts (1,000 deliberations are 5,000 concurrent calls).
    pub max_concurrent_calls: u32,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            kind: ProviderKind::OpenAi,
            base_url: String::new(),
            api_key_env: String::new(),
            json_mode: JsonMode::Schema,
            stream: false,
            include_usage: true,
            max_tokens: 4_096,
            max_concurrent_calls: 1_024,
        }
    }
}

impl ProviderConfig {
    pub fn base_url(&self) -> &str {
        if self.base_url.is_empty() {
            self.kind.default_base_url()
        } else {
            self.base_url.trim_end_matches('/')
        }
    }
}

/// The model name for each role. An empty name falls back to `default`; a persona
/// without an entry in `personas` falls back to `persona`, then `default`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RolesConfig {
    pub default: String,
    pub drafter: String,
    pub step: String,
    pub router: String,
    pub arbiter: String,
    pub moderation: String,
    pub persona: String,
    pub personas: BTreeMap<String, String>,
}

impl RolesConfig {
    /// The configured model for `role`, if any.
    pub fn model_for(&self, role: &Role) -> Option<&str> {
        let own = match role {
            Role::Drafter => self.drafter.as_str(),
            Role::Step => self.step.as_str(),
            Role::Router => self.router.as_str(),
            Role::Arbiter => self.arbiter.as_str(),
            Role::Moderation => self.moderation.as_str(),
            Role::Persona(name) => match self.personas.get(name) {
                Some(model) if !model.is_empty() => model.as_str(),
                _ => self.persona.as_str(),
            },
        };
        [own, self.default.as_str()]
            .into_iter()
            .find(|model| !model.is_empty())
    }
}

/// A configuration mistake found at start.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid [models] configuration: {0}")]
pub struct ConfigError(pub String);

impl ModelsConfig {
    /// The provider name an environment's calls go to; `None` when it has none.
    pub fn provider_for(&self, environment: Environment) -> Option<&str> {
        let name = match environment {
            Environment::Live => &self.live_provider,
            Environment::Test => &self.test_provider,
        };
        (!name.is_empty()).then_some(name.as_str())
    }

    /// The price a call to `provider` is charged at, `model` being the one it is
    /// priced as (`Route::priced_as`): `prices.scripted` for every scripted call when
    /// it is set (a test price table of its own), else the model's own price, else
    /// `default_price`. So test calls charge, refund and run out like live ones.
    pub fn price_of(&self, provider: &str, model: &str) -> Price {
        let scripted = (provider == SCRIPTED)
            .then(|| self.prices.get(SCRIPTED))
            .flatten();
        scripted
            .or_else(|| self.prices.get(model))
            .copied()
            .unwrap_or(self.default_price)
    }

    /// Checks what can be checked without the network or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.providers.contains_key(SCRIPTED) {
            return Err(ConfigError(format!(
                "\"{SCRIPTED}\" is the built-in provider's name; give yours another"
            )));
        }
        for (key, name) in [
            ("live_provider", &self.live_provider),
            ("test_provider", &self.test_provider),
        ] {
            if !name.is_empty() && name != SCRIPTED && !self.providers.contains_key(name) {
                return Err(ConfigError(format!(
                    "{key} = {name:?}, but there is no [models.providers.{name}]"
                )));
            }
        }
        for (name, provider) in &self.providers {
            let url = provider.base_url();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "providers.{name}.base_url must start with http:// or https:// (got {url:?})"
                )));
            }
            if provider.max_tokens == 0 {
                return Err(ConfigError(format!(
                    "providers.{name}.max_tokens must be at least 1"
                )));
            }
        }
        if self.timeout_ms == 0 {
            return Err(ConfigError("timeout_ms must be at least 1".into()));
        }
        if self.max_answer_bytes < 1024 {
            return Err(ConfigError("max_answer_bytes must be at least 1024".into()));
        }
        if self.retry_base_ms > self.retry_max_ms {
            return Err(ConfigError(
                "retry_base_ms must not exceed retry_max_ms".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<ModelsConfig, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn roles_fall_back_to_persona_then_default() {
        let config = parse(serde_json::json!({
            "roles": {
                "default": "small",
                "arbiter": "large",
                "persona": "panel",
                "personas": {"skeptic": "sharp", "quiet": ""}
            }
        }))
        .unwrap();
        let roles = &config.roles;
        assert_eq!(roles.model_for(&Role::Arbiter), Some("large"));
        assert_eq!(roles.model_for(&Role::Drafter), Some("small"));
        assert_eq!(
            roles.model_for(&Role::Persona("skeptic".into())),
            Some("sharp")
        );
        assert_eq!(
            roles.model_for(&Role::Persona("quiet".into())),
            Some("panel")
        );
        assert_eq!(
            roles.model_for(&Role::Persona("other".into())),
            Some("panel")
        );
        assert_eq!(RolesConfig::default().model_for(&Role::Step), None);
    }

    #[test]
    fn validation_catches_dangling_names_and_bad_urls() {
        assert_eq!(ModelsConfig::default().validate(), Ok(()));
        assert_eq!(
            ModelsConfig::default().provider_for(Environment::Test),
            Some(SCRIPTED)
        );
        assert_eq!(
            ModelsConfig::default().provider_for(Environment::Live),
            None
        );

        let dangling = parse(serde_json::json!({"live_provider": "openai"})).unwrap();
        assert!(
            dangling
                .validate()
                .unwrap_err()
                .0
                .contains("no [models.providers.openai]")
        );

        let reserved = parse(serde_json::json!({"providers": {"scripted": {}}})).unwrap();
        assert!(reserved.validate().is_err());

        let bad_url = parse(serde_json::json!({
            "providers": {"local": {"base_url": "127.0.0.1:11434"}}
        }))
        .unwrap();
        assert!(bad_url.validate().unwrap_err().0.contains("base_url"));

        assert!(parse(serde_json::json!({"providers": {"x": {"kind": "gemini"}}})).is_err());
        assert!(parse(serde_json::json!({"timeout": 5})).is_err());
    }

    #[test]
    fn prices_fall_back_to_the_default_and_scripted_calls_are_priced_like_live() {
        let config = parse(serde_json::json!({
            "prices": {"big": {"input_per_million": 3, "output_per_million": 15}},
            "default_price": {"input_per_million": 1, "output_per_million": 2}
        }))
        .unwrap();
        assert_eq!(
            config.price_of("openai", "big").output_per_million,
            Credits::from_credits(15)
        );
        assert_eq!(
            config.price_of("openai", "other").output_per_million,
            Credits::from_credits(2)
        );
        // A scripted call is priced as its role's model, or the default.
        assert_eq!(
            config.price_of(SCRIPTED, "big").output_per_million,
            Credits::from_credits(15)
        );
        assert_eq!(
            config.price_of(SCRIPTED, SCRIPTED).output_per_million,
            Credits::from_credits(2)
        );
        // prices.scripted, when set, prices every scripted call.
        let table = parse(serde_json::json!({
            "prices": {"big": {"input_per_million": 3, "output_per_million": 15},
                       "scripted": {"input_per_million": 0, "output_per_million": 0}}
        }))
        .unwrap();
        assert_eq!(table.price_of(SCRIPTED, "big"), Price::FREE);
        assert_eq!(
            table.price_of("openai", "big").output_per_million,
            Credits::from_credits(15)
        );
    }

    #[test]
    fn base_url_defaults_per_kind_and_loses_trailing_slashes() {
        let anthropic = ProviderConfig {
            kind: ProviderKind::Anthropic,
            ..ProviderConfig::default()
        };
        assert_eq!(anthropic.base_url(), "https://api.anthropic.com");
        let local = ProviderConfig {
            base_url: "http://127.0.0.1:11434/v1/".into(),
            ..ProviderConfig::default()
        };
        assert_eq!(local.base_url(), "http://127.0.0.1:11434/v1");
    }
}
