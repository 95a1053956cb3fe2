//! Workspace names, validated once.

use std::fmt;

/// A workspace's unique, human-chosen name: 1–64 characters of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkspaceName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkspaceNameError {
    #[error("workspace name must be 1 to 64 characters")]
    Length,
    #[error(
        "workspace name may hold only a-z, 0-9, '-' and '_', and must start with a letter or digit"
    )]
    Characters,
}

impl WorkspaceName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, WorkspaceNameError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(WorkspaceNameError::Length);
        }
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        let first_ok = raw
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_ok || !raw.chars().all(valid_char) {
            return Err(WorkspaceNameError::Characters);
        }
        Ok(WorkspaceName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names_and_refuses_the_rest() {
        assert!(WorkspaceName::parse("default").is_ok());
        assert!(WorkspaceName::parse("acme-2_prod").is_ok());
        assert_eq!(WorkspaceName::parse(""), Err(WorkspaceNameError::Length));
        assert_eq!(
            WorkspaceName::parse(&"a".repeat(65)),
            Err(WorkspaceNameError::Length)
        );
        assert_eq!(
            WorkspaceName::parse("Acme"),
            Err(WorkspaceNameError::Characters)
        );
        assert_eq!(
            WorkspaceName::parse("-acme"),
            Err(WorkspaceNameError::Characters)
        );
        assert_eq!(
            WorkspaceName::parse("a b"),
            Err(WorkspaceNameError::Characters)
        );
    }
}
