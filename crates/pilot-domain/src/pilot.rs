//! What a pilot is, apart from its steps: title, description, status, trigger.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TriggerType {
    Manual,
    Webhook,
    Schedule,
    Email,
}

impl TriggerType {
    pub const ALL: [TriggerType; 4] = [
        TriggerType::Manual,
        TriggerType::Webhook,
        TriggerType::Schedule,
        TriggerType::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerType::Manual => "manual",
            TriggerType::Webhook => "webhook",
            TriggerType::Schedule => "schedule",
            TriggerType::Email => "email",
        }
    }
}

impl fmt::Display for TriggerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TriggerType {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        TriggerType::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| "triggerType must be one of manual, webhook, schedule, email".to_owned())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PilotStatus {
    Active,
    Paused,
}

impl PilotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PilotStatus::Active => "active",
            PilotStatus::Paused => "paused",
        }
    }
}

impl FromStr for PilotStatus {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "active" => Ok(PilotStatus::Active),
            "paused" => Ok(PilotStatus::Paused),
            _ => Err("status must be active or paused".to_owned()),
        }
    }
}

/// A pilot's title: 1–200 characters, not blank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Title, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("title must not be empty".to_owned());
        }
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(format!(
                "title must be at most {MAX_TITLE_CHARS} characters"
            ));
        }
        Ok(Title(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pilot's plain-English description: at most 5,000 characters.
pub fn check_description(raw: &str) -> Result<(), String> {
    if raw.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Hi  ").unwrap().as_str(), "Hi");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn trigger_types_parse_by_name() {
        assert_eq!("webhook".parse::<TriggerType>(), Ok(TriggerType::Webhook));
        assert!("cron".parse::<TriggerType>().is_err());
        assert_eq!("paused".parse::<PilotStatus>(), Ok(PilotStatus::Paused));
    }
}
