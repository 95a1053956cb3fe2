//! Workspace secrets: names validated here, values sealed under the master key by the
//! caller and redacted from everything Pilot stores or logs.

/// Longest secret value accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 8 * 1024;
/// Most secrets one workspace may hold in one environment. Every run unseals all of
/// its tenant's secrets and redacts each from every output it stores, so their
/// number sizes each run's work.
pub const MAX_SECRETS: usize = 100;

/// `^[A-Z][A-Z0-9_]{0,63}$`, as environment variables are named.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(raw: &str) -> Result<SecretName, String> {
        let mut chars = raw.chars();
        let ok = raw.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(SecretName(raw.to_owned()))
        } else {
            Err(
                "secret names are 1 to 64 characters of A-Z, 0-9 and '_', starting with a letter"
                    .to_owned(),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Replaces every occurrence of each secret value in `text` with `[redacted:NAME]`.
/// Values shorter than 4 bytes are left alone: redacting them would shred ordinary
/// text and reveal more than it hides.
pub fn redact(text: &str, secrets: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in secrets {
        if value.len() >= 4 && out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("[redacted:{name}]"));
        }
    }
    out
}

/// [`redact`] over every string in a JSON value, keys included.
pub fn redact_json(value: &serde_json::Value, secrets: &[(String, String)]) -> serde_json::Value {
    use serde_json::Value;
    if secrets.is_empty() {
        return value.clone();
    }
    match value {
        Value::String(s) => Value::String(redact(s, secrets)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_json(v, secrets)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (redact(k, secrets), redact_json(v, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(SecretName::parse("SLACK_WEBHOOK_URL").is_ok());
        assert!(SecretName::parse("slack").is_err());
        assert!(SecretName::parse("1ABC").is_err());
        assert!(SecretName::parse("").is_err());
    }

    #[test]
    fn values_are_redacted_everywhere() {
        let secrets = vec![("TOKEN".to_owned(), "s3cr3t-value".to_owned())];
        assert_eq!(
            redact("Bearer s3cr3t-value!", &secrets),
            "Bearer [redacted:TOKEN]!"
        );
        let value = json!({"url": "https://x/s3cr3t-value", "n": 1, "list": ["s3cr3t-value"]});
        let clean = redact_json(&value, &secrets);
        assert!(!clean.to_string().contains("s3cr3t"));
        assert_eq!(clean["n"], 1);
    }
}
