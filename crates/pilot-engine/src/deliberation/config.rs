//! `[deliberations]`: everything the Deliberations half is configured by — the
//! credit estimates, the pipeline's budgets, quorum and thresholds, the guardrails,
//! and panel overrides per use case. (Its rate limits and the idempotency TTL are
//! `[limits]`, which the operations enforce on every interface.)
//!
//! ```toml
//! [deliberations]
//! quorum = 3
//! call_timeout_ms = 120000
//!
//! [deliberations.estimates]
//! deliberation1 = [3.0, 4.2, 6.5]   # EASY, MEDIUM, HARD
//! smartroute1 = [0.3, 0.5, 0.9]
//!
//! [[deliberations.personas.pricing]]  # replaces the built-in pricing panel
//! name = "cfo"
//! role = "Chief financial officer"
//! system_prompt = "You are a CFO …"
//! model = "gpt-4o"                    # optional: else models.roles.personas.cfo, …
//! ```
//!
//! Every field has a default (`Default` is what `config.default.toml` says), so a
//! file only names what it changes. [`DeliberationsConfig::validate`] catches what
//! serde cannot: a quorum larger than a panel, a threshold outside `(0, 1]`, a panel
//! override that is not five personas with distinct lowercase names.

use std::collections::{BTreeMap, BTreeSet};

use pilot_domain::{EstimateTable, UseCase};
use serde::{Deserialize, Serialize};

use super::personas::{PANEL_SIZE, builtin_panel};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeliberationsConfig {
    /// Credits reserved at submit, by mode, for `EASY`, `MEDIUM`, `HARD`.
    pub estimates: EstimateTable,
    /// The whole pipeline, all stages: past it, `processing_timeout`.
    pub processing_budget_ms: u64,
    /// One model call of one stage (a persona that exceeds it drops out).
    pub call_timeout_ms: u64,
    /// Valid first answers needed; fewer is `processing_failed`, fewer than the panel
    /// but at least this many is a `degraded` result.
    pub quorum: usize,
    /// The panel is split — and revises once — when its largest stance bloc holds
    /// less than this share of the answering personas. `HARD` always revises.
    pub revision_split_threshold: f64,
    /// The highest `confidence_index` a `smartroute1` answer can have.
    pub smartroute_confidence_cap: f64,
    /// Case-insensitive substrings: a question containing one is `403
    /// content_blocked`, before anything is charged or queued.
    pub guardrail_patterns: Vec<String>,
    /// Also screen each question with a `moderation` role call.
    pub moderation: bool,
    /// Panels replacing the built-in ones, by use case (`general`, `pricing`, …).
    pub personas: BTreeMap<String, Vec<PersonaConfig>>,
    /// `deliberation2`: how long a checkpoint waits for its answer; past it the
    /// deliberation fails `checkpoint_expired`, refunded.
    pub checkpoint_ttl_secs: u64,
    /// `deliberation2`: specialists the router adds to the use case's five, chosen
    /// from the other panels' personas.
    pub specialists: usize,
    /// `deliberation2`: how many times a person may send the arbiter's draft back.
    pub max_send_backs: u32,
}

impl Default for DeliberationsConfig {
    fn default() -> Self {
        DeliberationsConfig {
            estimates: EstimateTable::default(),
            processing_budget_ms: 600_000,
            call_timeout_ms: 120_000,
            quorum: 3,
            revision_split_threshold: 0.8,
            smartroute_confidence_cap: 6.0,
            guardrail_patterns: Vec::new(),
            moderation: false,
            personas: BTreeMap::new(),
            checkpoint_ttl_secs: 86_400,
            specialists: 2,
            max_send_backs: 2,
        }
    }
}

/// One panel member.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PersonaConfig {
    /// A lowercase id (`cfo`, `skeptic`): the role `persona:<name>` in
    /// `models.roles.personas`, and the author of its panel entries.
    pub name: String,
    /// One line: who this persona is.
    pub role: String,
    pub system_prompt: String,
    /// A model for this persona alone, over `models.roles`.
    #[serde(default)]
    pub model: Option<String>,
}

/// A `[deliberations]` mistake found at start.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid [deliberations] configuration: {0}")]
pub struct DeliberationsConfigError(pub String);

impl DeliberationsConfig {
    /// The panel that answers `use_case`: the configured override, else the built-in.
    pub fn panel(&self, use_case: UseCase) -> Vec<PersonaConfig> {
        self.personas
            .get(use_case.as_str())
            .cloned()
            .unwrap_or_else(|| builtin_panel(use_case))
    }

    /// The first guardrail pattern `question` contains, ignoring case.
    pub fn guardrail_match(&self, question: &str) -> Option<&str> {
        let question = question.to_lowercase();
        self.guardrail_patterns
            .iter()
            .map(String::as_str)
            .find(|pattern| !pattern.is_empty() && question.contains(&pattern.to_lowercase()))
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), DeliberationsConfigError> {
        let fail = |message: String| Err(DeliberationsConfigError(message));
        if !(1..=PANEL_SIZE).contains(&self.quorum) {
            return fail(format!(
                "quorum must be 1 to {PANEL_SIZE} (got {})",
                self.quorum
            ));
        }
        let threshold = self.revision_split_threshold;
        if !(threshold > 0.0 && threshold <= 1.0) {
            return fail(format!(
                "revision_split_threshold must be in (0, 1] (got {threshold})"
            ));
        }
        let cap = self.smartroute_confidence_cap;
        if !(0.0..=10.0).contains(&cap) {
            return fail(format!(
                "smartroute_confidence_cap must be 0 to 10 (got {cap})"
            ));
        }
        if self.specialists > PANEL_SIZE {
            return fail(format!(
                "specialists must be 0 to {PANEL_SIZE} (got {})",
                self.specialists
            ));
        }
        if self.checkpoint_ttl_secs == 0 {
            return fail("checkpoint_ttl_secs must be at least 1".into());
        }
        if self.call_timeout_ms == 0 || self.processing_budget_ms == 0 {
            return fail("call_timeout_ms and processing_budget_ms must be at least 1".into());
        }
        for (use_case, panel) in &self.personas {
            if use_case.parse::<UseCase>().is_err() {
                return fail(format!(
                    "personas.{use_case}: not a use case (general, pricing, code, strategy, \
                     marketing, logistics)"
                ));
            }
            if panel.len() != PANEL_SIZE {
                return fail(format!(
                    "personas.{use_case} must list {PANEL_SIZE} personas (got {})",
                    panel.len()
                ));
            }
            let mut names = BTreeSet::new();
            for persona in panel {
                let id_like = !persona.name.is_empty()
                    && persona.name.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                    });
                if !id_like {
                    return fail(format!(
                        "personas.{use_case}: name {:?} must be lowercase letters, digits, _ or -",
                        persona.name
                    ));
                }
                if !names.insert(persona.name.as_str()) {
                    return fail(format!(
                        "personas.{use_case}: {:?} appears twice",
                        persona.name
                    ));
                }
                if persona.system_prompt.trim().is_empty() {
                    return fail(format!(
                        "personas.{use_case}.{}: system_prompt is empty",
                        persona.name
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use pilot_domain::{Credits, Difficulty, Mode};
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> Result<DeliberationsConfig, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn panel(names: &[&str]) -> serde_json::Value {
        names
            .iter()
            .map(|name| json!({"name": name, "role": "r", "system_prompt": "p"}))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_overrides_replace_a_panel() {
        let defaults = DeliberationsConfig::default();
        assert_eq!(defaults.validate(), Ok(()));
        assert_eq!(
            defaults.panel(UseCase::Pricing),
            builtin_panel(UseCase::Pricing)
        );

        let config = parse(json!({
            "estimates": {"deliberation1": [1, 2.5, 3], "smartroute1": [0.1, 0.2, 0.3]},
            "personas": {"code": panel(&["a", "b", "c", "d", "e"])}
        }))
        .unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.panel(UseCase::Code)[1].name, "b");
        assert_eq!(config.panel(UseCase::Code)[1].model, None);
        assert_eq!(
            config
                .estimates
                .estimate(Mode::Deliberation1, Difficulty::Medium),
            Credits::from_micros(2_500_000)
        );
    }

    #[test]
    fn validation_names_the_mistake() {
        for (value, needle) in [
            (json!({"quorum": 0}), "quorum"),
            (json!({"quorum": 6}), "quorum"),
            (
                json!({"revision_split_threshold": 0.0}),
                "revision_split_threshold",
            ),
            (
                json!({"smartroute_confidence_cap": 11}),
                "smartroute_confidence_cap",
            ),
            (
                json!({"personas": {"legal": panel(&["a", "b", "c", "d", "e"])}}),
                "not a use case",
            ),
            (
                json!({"personas": {"code": panel(&["a", "b"])}}),
                "must list 5",
            ),
            (
                json!({"personas": {"code": panel(&["a", "a", "c", "d", "e"])}}),
                "twice",
            ),
            (
                json!({"personas": {"code": panel(&["A", "b", "c", "d", "e"])}}),
                "lowercase",
            ),
        ] {
            let error = parse(value).unwrap().validate().unwrap_err();
            assert!(error.0.contains(needle), "{error}");
        }
        assert!(parse(json!({"quorom": 3})).is_err());
        assert!(parse(json!({"personas": {"code": [{"name": "a", "role": "r"}]}})).is_err());
    }

    #[test]
    fn guardrails_match_substrings_ignoring_case() {
        let config = DeliberationsConfig {
            guardrail_patterns: vec!["".into(), "Build a Bomb".into()],
            ..DeliberationsConfig::default()
        };
        assert_eq!(
            config.guardrail_match("how do I BUILD A BOMB quickly"),
            Some("Build a Bomb")
        );
        assert_eq!(config.guardrail_match("how do I build a business"), None);
        // (The idempotency TTL's default moved with it: pilot-operations' `limits.rs`.)
    }
}
