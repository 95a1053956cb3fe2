//! [`Models`]: the one door to every model. It resolves a call's environment to a
//! provider and its role to a model, makes the call with a timeout and retries,
//! meters it, and hands back the answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_domain::{Backoff, Clock, Environment, SystemClock, UsageRecord};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::answer::{Answer, Ending};
use crate::config::{ModelsConfig, SCRIPTED};
use crate::error::ModelError;
use crate::metering::{CallContext, UsageSink};
use crate::provider::Provider;
use crate::request::ChatRequest;
use crate::response::{Completion, JsonCompletion};
use crate::retry::{RetryPolicy, Sleeper, TokioSleeper};
use crate::roles::Role;
use crate::scripted::Scripted;
use crate::transport::{ApiKey, shorten};
use crate::usage::{UnknownUsage, Usage, estimate_tokens};

/// Reads an environment variable by name (the API keys). Swappable for tests.
pub type SecretsFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where a call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The configured provider's name, or `scripted`.
    pub provider: String,
    pub model: String,
    /// The model whose price the call is charged at: `model` itself, except that the
    /// scripted model's calls are priced as the model their role is configured with
    /// (so test mode charges what live would; `scripted` when the role has none).
    pub priced_as: String,
}

/// The model layer. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Models {
    config: ModelsConfig,
    providers: BTreeMap<String, Provider>,
    /// Each provider's `max_concurrent_calls`.
    in_flight: BTreeMap<String, Arc<Semaphore>>,
    scripted: Scripted,
    sink: Arc<dyn UsageSink>,
    /// Stamps usage records' `created_at`.
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("config", &self.config)
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Models`]; see [`Models::builder`].
pub struct ModelsBuilder {
    config: ModelsConfig,
    sink: Arc<dyn UsageSink>,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    secrets: SecretsFn,
}

impl ModelsBuilder {
    /// The clock stamping records (the system clock by default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How waits between retries happen (the tokio timer by default).
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Where API keys are read from by variable name (the process environment by
    /// default).
    pub fn secrets(mut self, secrets: SecretsFn) -> Self {
        self.secrets = secrets;
        self
    }

    /// Builds every configured provider. Never fails: a provider that cannot be used
    /// (no key in the environment, no HTTP client) answers each call with
    /// `NotConfigured` and its reason, and [`Models::describe`] says why. Check the
    /// configuration itself first with [`ModelsConfig::validate`].
    pub fn build(self) -> Models {
        let config = self.config;
        let timeout = Duration::from_millis(config.timeout_ms.max(1));
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|error| format!("cannot build an HTTP client: {error}"));
        let providers = config
            .providers
            .iter()
            .map(|(name, provider)| {
                let key = api_key(name, &provider.api_key_env, &self.secrets);
                (name.clone(), Provider::build(provider, key, &http))
            })
            .collect();
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            backoff: Backoff {
                base_ms: i64::try_from(config.retry_base_ms).unwrap_or(i64::MAX),
                max_ms: i64::try_from(config.retry_max_ms).unwrap_or(i64::MAX),
            },
            max_retry_after: Duration::from_millis(config.max_retry_after_ms),
        };
        let in_flight = config
            .providers
            .iter()
            .map(|(name, provider)| {
                let permits = provider.max_concurrent_calls.max(1) as usize;
                (name.clone(), Arc::new(Semaphore::new(permits)))
            })
            .collect();
        Models {
            config,
            providers,
            in_flight,
            scripted: Scripted,
            sink: self.sink,
            clock: self.clock,
            sleeper: self.sleeper,
            retry,
            timeout,
        }
    }
}

/// The key provider `name` reads from the variable `var`: none when `var` is empty,
/// an error (the provider's unavailability) when `var` is unset or blank.
fn api_key(name: &str, var: &str, secrets: &SecretsFn) -> Result<Option<ApiKey>, String> {
    if var.is_empty() {
        return Ok(None);
    }
    match secrets(var) {
        Some(key) if !key.trim().is_empty() => Ok(Some(ApiKey::new(key.trim().to_owned()))),
        _ => Err(format!(
            "provider {name:?} reads its API key from ${var} \
             (models.providers.{name}.api_key_env), which is not set"
        )),
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Models {
    pub fn builder(config: ModelsConfig, sink: Arc<dyn UsageSink>) -> ModelsBuilder {
        ModelsBuilder {
            config,
            sink,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            secrets: Arc::new(|name| std::env::var(name).ok()),
        }
    }

    /// With every default: system clock, real sleeps, keys from the environment.
    pub fn new(config: ModelsConfig, sink: Arc<dyn UsageSink>) -> Models {
        Models::builder(config, sink).build()
    }

    pub fn config(&self) -> &ModelsConfig {
        &self.config
    }

    /// The provider and model a call would go to, or why it cannot be made.
    pub fn route(
        &self,
        environment: Environment,
        role: &Role,
        model: Option<&str>,
    ) -> Result<Route, ModelError> {
        let provider = self.config.provider_for(environment).ok_or_else(|| {
            ModelError::NotConfigured(match environment {
                Environment::Live => "live AI work is off: set models.live_provider (and \
                     [models.providers.<name>]) in the configuration"
                    .to_owned(),
                Environment::Test => {
                    "test AI work is off: models.test_provider is empty".to_owned()
                }
            })
        })?;
        // The model asked for, else the role's: a live call goes to it, and a
        // scripted one is priced as it.
        let model = model
            .filter(|m| !m.is_empty())
            .or_else(|| self.config.roles.model_for(role));
        if provider == SCRIPTED {
            let priced_as = model.unwrap_or(SCRIPTED);
            return Ok(Route {
                provider: SCRIPTED.to_owned(),
                model: SCRIPTED.to_owned(),
                priced_as: priced_as.to_owned(),
            });
        }
        match self.providers.get(provider) {
            Some(Provider::Unavailable(reason)) => {
                return Err(ModelError::NotConfigured(reason.clone()));
            }
            Some(_) => {}
            None => {
                return Err(ModelError::NotConfigured(format!(
                    "models.{environment}_provider names {provider:?}, which is not in [models.providers]"
                )));
            }
        }
        let model = model.ok_or_else(|| {
            ModelError::NotConfigured(format!(
                "no model for the {role} role: set models.roles.{} or models.roles.default",
                role.kind()
            ))
        })?;
        Ok(Route {
            provider: provider.to_owned(),
            model: model.to_owned(),
            priced_as: model.to_owned(),
        })
    }

    /// One line on where an environment's calls go, for start-up banners.
    pub fn describe(&self, environment: Environment) -> String {
        match self.config.provider_for(environment) {
            None => {
                "off (no provider configured: calls fail at once and nothing is charged)".to_owned()
            }
            Some(SCRIPTED) => {
                "scripted model (built in: no network, deterministic, priced like live)".to_owned()
            }
            Some(name) => match (self.providers.get(name), self.config.providers.get(name)) {
                (Some(Provider::Unavailable(reason)), _) => format!("unavailable: {reason}"),
                (Some(_), Some(config)) => {
                    format!("{name} ({} at {})", config.kind.as_str(), config.base_url())
                }
                _ => format!("unavailable: no provider named {name:?}"),
            },
        }
    }

    /// Sends `request` as `role` on behalf of `ctx`, and meters it.
    ///
    /// The answer's usage is the provider's count, or the `unknown_usage` estimate
    /// marked as such. Calls that got an answer are recorded even when they then
    /// fail (filtered content, a cut-off stream); calls that got none (refused,
    /// timed out, unreachable, not configured) are not.
    pub async fn complete(
        &self,
        ctx: &CallContext,
        role: &Role,
        request: &ChatRequest,
    ) -> Result<Completion, ModelError> {
        let route = self.route(ctx.environment, role, request.model.as_deref())?;
        let started = Instant::now();
        let answer = if route.provider == SCRIPTED {
            tokio::time::timeout(
                self.timeout,
                self.scripted
                    .complete(role, request, self.timeout, self.config.max_answer_bytes),
            )
            .await
            .unwrap_or(Err(ModelError::Timeout(self.timeout)))?
        } else {
            let provider = self
                .providers
                .get(&route.provider)
                .ok_or_else(|| ModelError::NotConfigured(route.provider.clone()))?;
            let in_flight = self
                .in_flight
                .get(&route.provider)
                .ok_or_else(|| ModelError::NotConfigured(route.provider.clone()))?;
            self.with_retries(provider, in_flight, &route.model, request)
                .await?
        };
        let latency = started.elapsed();
        self.meter(ctx, &route, request, answer, latency).await
    }

    /// [`Models::complete`], then the answer parsed as JSON (a Markdown code fence
    /// around it is tolerated). Not JSON → `ModelError::BadResponse`. Whether the
    /// JSON means anything is the caller's to check.
    pub async fn complete_json(
        &self,
        ctx: &CallContext,
        role: &Role,
        request: &ChatRequest,
    ) -> Result<JsonCompletion, ModelError> {
        let completion = self.complete(ctx, role, request).await?;
        let value = parse_json_answer(&completion.text)?;
        Ok(JsonCompletion { value, completion })
    }

    async fn with_retries(
        &self,
        provider: &Provider,
        in_flight: &Semaphore,
        model: &str,
        request: &ChatRequest,
    ) -> Result<Answer, ModelError> {
        let mut retry = 0;
        loop {
            // Wait for a turn outside the call's timeout; hold it for this attempt only
            // (not across a backoff).
            let permit = in_flight
                .acquire()
                .await
                .map_err(|_| ModelError::Transport("the model layer is shutting down".into()))?;
            let attempt = tokio::time::timeout(
                self.timeout,
                provider.complete(model, request, self.config.max_answer_bytes),
            )
            .await
            .unwrap_or(Err(ModelError::Timeout(self.timeout)));
            drop(permit);
            let error = match attempt {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            retry += 1;
            match self.retry.wait_before(retry, &error, rand::random::<f64>()) {
                Some(wait) => {
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(%error, model, retry, wait_ms, "model call failed; retrying");
                    self.sleeper.sleep(wait).await;
                }
                None => return Err(error),
            }
        }
    }

    async fn meter(
        &self,
        ctx: &CallContext,
        route: &Route,
        request: &ChatRequest,
        answer: Answer,
        latency: Duration,
    ) -> Result<Completion, ModelError> {
        let estimate = Usage::estimated(request.prompt_chars(), answer.text.chars().count());
        let usage = match (answer.reported, &answer.ending) {
            // A cut-off stream's counts are partial: keep what is known to have been
            // spent, and say the total is not known.
            (reported, Ending::Cut) => Usage {
                input_tokens: reported.map_or(estimate.input_tokens, |r| r.input_tokens),
                output_tokens: reported
                    .map_or(0, |r| r.output_tokens)
                    .max(estimate.output_tokens),
                known: false,
            },
            // Cut off at the answer limit: at least what arrived was spent.
            (reported, Ending::TooLarge { received }) => Usage {
                input_tokens: reported.map_or(estimate.input_tokens, |r| r.input_tokens),
                output_tokens: reported.map_or(0, |r| r.output_tokens).max(estimate_tokens(
                    usize::try_from(*received).unwrap_or(usize::MAX),
                )),
                known: false,
            },
            (Some(reported), _) => reported,
            (None, _) => estimate,
        };
        let (input, output) = (
            saturating_i64(usage.input_tokens),
            saturating_i64(usage.output_tokens),
        );
        let cost = self
            .config
            .price_of(&route.provider, &route.priced_as)
            .cost(input, output);
        let record = UsageRecord {
            workspace_id: ctx.workspace_id,
            environment: Some(ctx.environment),
            owner_kind: ctx.owner_kind.clone(),
            owner_id: ctx.owner_id.clone(),
            provider: route.provider.clone(),
            model: route.model.clone(),
            input_tokens: input,
            output_tokens: output,
            usage_known: usage.known,
            latency_ms: i64::try_from(latency.as_millis()).unwrap_or(i64::MAX),
            cost,
            created_at: self.clock.now(),
        };
        self.sink
            .record(record)
            .await
            .map_err(|error| ModelError::Metering(error.to_string()))?;
        tracing::debug!(
            provider = route.provider,
            model = route.model,
            input,
            output,
            usage_known = usage.known,
            latency_ms = latency.as_millis() as u64,
            %cost,
            "model call"
        );
        match answer.ending {
            Ending::Filtered(reason) => return Err(ModelError::ContentFiltered(reason)),
            Ending::Cut => {
                return Err(ModelError::BadResponse(
                    "the stream ended before its end marker".into(),
                ));
            }
            Ending::TooLarge { received } => {
                return Err(ModelError::AnswerTooLarge {
                    limit: self.config.max_answer_bytes,
                    what: format!("the provider's answer ({received} bytes and more)"),
                });
            }
            Ending::Complete => {}
        }
        if !usage.known && self.config.unknown_usage == UnknownUsage::Error {
            return Err(ModelError::UnknownUsage);
        }
        Ok(Completion {
            text: answer.text,
            usage,
            model: route.model.clone(),
            provider: route.provider.clone(),
            latency,
            cost,
            scripted: route.provider == SCRIPTED,
        })
    }
}

/// The answer as JSON, tolerating a Markdown code fence around it.
pub fn parse_json_answer(text: &str) -> Result<Value, ModelError> {
    let trimmed = text.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(unfenced).map_err(|error| {
        ModelError::BadResponse(format!(
            "the answer is not JSON ({error}): {}",
            shorten(trimmed)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_answers_may_come_fenced() {
        assert_eq!(parse_json_answer(" {\"a\": 1} ").unwrap()["a"], 1);
        assert_eq!(
            parse_json_answer("```json\n{\"a\": 2}\n```").unwrap()["a"],
            2
        );
        assert_eq!(parse_json_answer("```\n[3]\n```").unwrap()[0], 3);
        let error = parse_json_answer("Sure! {\"a\": 1}").unwrap_err();
        assert!(
            matches!(error, ModelError::BadResponse(ref m) if m.contains("not JSON")),
            "{error}"
        );
    }
}
