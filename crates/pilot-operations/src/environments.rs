//! `[environments]`: which keys this server accepts, and where the other
//! environment's server is (for the OpenAPI document's `servers`).
//!
//! The Deliberations document runs production (`pk_live_…` keys) and staging
//! (`pk_test_…`) as two servers, each answering the other's keys with `401
//! invalid_api_key`. `accept` makes one Pilot either, or both (the default): a server
//! accepting only `live` refuses a `test` key exactly as it refuses an unknown one,
//! on every surface that authenticates by key (both REST surfaces and MCP).
//!
//! ```toml
//! [environments]
//! accept = ["live", "test"]
//! staging_url = ""            # e.g. https://staging-api.example.com
//! ```

use pilot_domain::Environment;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentsConfig {
    /// The environments whose keys authenticate here.
    pub accept: Vec<Environment>,
    /// The staging server's base URL, listed after `public_url` in the OpenAPI
    /// document's `servers`; empty: none.
    pub staging_url: String,
}

impl Default for EnvironmentsConfig {
    fn default() -> Self {
        EnvironmentsConfig {
            accept: Environment::ALL.to_vec(),
            staging_url: String::new(),
        }
    }
}

impl EnvironmentsConfig {
    pub fn accepts(&self, environment: Environment) -> bool {
        self.accept.contains(&environment)
    }

    /// The staging server's base URL, when one is configured.
    pub fn staging_url(&self) -> Option<&str> {
        let url = self.staging_url.trim_end_matches('/');
        (!url.is_empty()).then_some(url)
    }

    /// What serde cannot check, in `[environments]`' words.
    pub fn validate(&self) -> Result<(), String> {
        if self.accept.is_empty() {
            return Err("environments.accept is empty: list \"live\", \"test\" or both".to_owned());
        }
        if let Some(url) = self.staging_url()
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!(
                "environments.staging_url {url:?} is not an http(s) URL"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_by_default_and_checks_what_it_is_given() {
        let config = EnvironmentsConfig::default();
        assert!(config.accepts(Environment::Live) && config.accepts(Environment::Test));
        assert_eq!(config.staging_url(), None);
        assert!(config.validate().is_ok());

        let live_only: EnvironmentsConfig = serde_json::from_value(serde_json::json!({
            "accept": ["live"], "staging_url": "https://staging.example.com/"
        }))
        .unwrap();
        assert!(!live_only.accepts(Environment::Test));
        assert_eq!(live_only.staging_url(), Some("https://staging.example.com"));

        let none = EnvironmentsConfig {
            accept: Vec::new(),
            ..EnvironmentsConfig::default()
        };
        assert!(none.validate().is_err());
        let ftp = EnvironmentsConfig {
            staging_url: "ftp://x".to_owned(),
            ..EnvironmentsConfig::default()
        };
        assert!(ftp.validate().is_err());
        assert!(
            serde_json::from_value::<EnvironmentsConfig>(serde_json::json!({"accept": ["prod"]}))
                .is_err()
        );
    }
}
