//! Roles: what a call is for, which decides the model it goes to.
//!
//! Configuration maps each role to a model name (`models.roles.*`); the scripted
//! model also shapes its answer by role (the drafter returns a step list).

use std::fmt;
use std::str::FromStr;

/// What a model call is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Drafts a pilot's steps from its description.
    Drafter,
    /// Runs an `llm` step of a pilot.
    Step,
    /// Picks the model for a `smartroute1` deliberation.
    Router,
    /// Writes a deliberation's synthesis.
    Arbiter,
    /// One persona of a deliberation's panel, by name (`skeptic`, `cfo`, …).
    Persona(String),
    /// Screens input for the guardrails.
    Moderation,
}

impl Role {
    /// The role's name as configuration and the command line write it:
    /// `drafter`, `step`, …, `persona:<name>`.
    pub fn label(&self) -> String {
        match self {
            Role::Persona(name) => format!("persona:{name}"),
            other => other.kind().to_owned(),
        }
    }

    /// The role without a persona's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Role::Drafter => "drafter",
            Role::Step => "step",
            Role::Router => "router",
            Role::Arbiter => "arbiter",
            Role::Persona(_) => "persona",
            Role::Moderation => "moderation",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected drafter, step, router, arbiter, moderation, persona or persona:<name>"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(match raw {
            "drafter" => Role::Drafter,
            "step" => Role::Step,
            "router" => Role::Router,
            "arbiter" => Role::Arbiter,
            "moderation" => Role::Moderation,
            "persona" => Role::Persona(String::new()),
            other => match other.strip_prefix("persona:") {
                Some(name) if !name.is_empty() => Role::Persona(name.to_owned()),
                _ => return Err(UnknownRole(other.to_owned())),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_label() {
        let roles = [
            Role::Drafter,
            Role::Step,
            Role::Router,
            Role::Arbiter,
            Role::Moderation,
            Role::Persona("skeptic".into()),
        ];
        for role in roles {
            assert_eq!(role.label().parse::<Role>().unwrap(), role);
        }
        assert_eq!(
            "persona".parse::<Role>().unwrap(),
            Role::Persona(String::new())
        );
        assert!("persona:".parse::<Role>().is_err());
        assert!("judge".parse::<Role>().is_err());
    }
}
