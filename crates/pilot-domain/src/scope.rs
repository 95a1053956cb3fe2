//! What a key may do. A `write` scope implies the matching `read`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    PilotsRead,
    PilotsWrite,
    DeliberationsRead,
    DeliberationsWrite,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::PilotsRead,
        Scope::PilotsWrite,
        Scope::DeliberationsRead,
        Scope::DeliberationsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PilotsRead => "pilots:read",
            Scope::PilotsWrite => "pilots:write",
            Scope::DeliberationsRead => "deliberations:read",
            Scope::DeliberationsWrite => "deliberations:write",
        }
    }

    /// The scope that grants this one besides itself (`write` grants `read`).
    fn implied_by(self) -> Option<Scope> {
        match self {
            Scope::PilotsRead => Some(Scope::PilotsWrite),
            Scope::DeliberationsRead => Some(Scope::DeliberationsWrite),
            Scope::PilotsWrite | Scope::DeliberationsWrite => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown scope {0:?}: expected one of pilots:read, pilots:write, deliberations:read, deliberations:write"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A key's set of scopes, stored as a space-separated list.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Every scope: what a key gets unless it is created with fewer.
    pub fn all() -> Self {
        Scopes(Scope::ALL.to_vec())
    }

    pub fn new(mut scopes: Vec<Scope>) -> Self {
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }

    /// Parses a list separated by spaces or commas; an empty list is refused.
    pub fn parse(raw: &str) -> Result<Self, UnknownScope> {
        let scopes = raw
            .split([' ', ','])
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(UnknownScope(raw.to_owned()));
        }
        Ok(Scopes::new(scopes))
    }

    pub fn allows(&self, wanted: Scope) -> bool {
        self.0
            .iter()
            .any(|&held| held == wanted || Some(held) == wanted.implied_by())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_implies_read_but_not_the_reverse() {
        let writer = Scopes::parse("pilots:write").unwrap();
        assert!(writer.allows(Scope::PilotsRead));
        assert!(writer.allows(Scope::PilotsWrite));
        assert!(!writer.allows(Scope::DeliberationsRead));

        let reader = Scopes::parse("deliberations:read").unwrap();
        assert!(reader.allows(Scope::DeliberationsRead));
        assert!(!reader.allows(Scope::DeliberationsWrite));
    }

    #[test]
    fn parses_and_prints_a_list() {
        let scopes = Scopes::parse("deliberations:read, pilots:write pilots:write").unwrap();
        assert_eq!(scopes.to_string(), "pilots:write deliberations:read");
        assert_eq!(Scopes::parse(&scopes.to_string()).unwrap(), scopes);
        assert!(Scopes::parse("").is_err());
        assert!(Scopes::parse("pilots:admin").is_err());
    }
}
