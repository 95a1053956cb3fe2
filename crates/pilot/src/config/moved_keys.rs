//! Settings that moved to another section, still read where they were.
//!
//! `[deliberations]`' `post_per_hour`, `get_per_minute` and `idempotency_ttl_hours`
//! became `[limits]`' `deliberation_submissions_per_hour`,
//! `deliberation_reads_per_minute` and `idempotency_ttl_hours` when every interface
//! came to enforce them through the operations. A file or environment
//! (`PILOT_DELIBERATIONS__POST_PER_HOUR`) that still sets an old key keeps working:
//! the old value applies unless the new key is set too (in a file, the environment
//! or a flag — anything but the defaults), in which case the new one wins. Either
//! way the configuration carries a notice, which the binary logs as a warning once
//! logging is up.

use figment::Figment;
use figment::value::Value;
use pilot_engine::deliberation::DeliberationsConfig;
use pilot_operations::LimitsConfig;
use serde::{Deserialize, Deserializer};

/// One moved setting: where it was, where it is, and the field it fills.
struct Moved {
    old: &'static str,
    new: &'static str,
    field: fn(&mut LimitsConfig) -> &mut u32,
}

const MOVED: [Moved; 3] = [
    Moved {
        old: "deliberations.post_per_hour",
        new: "limits.deliberation_submissions_per_hour",
        field: |limits| &mut limits.deliberation_submissions_per_hour,
    },
    Moved {
        old: "deliberations.get_per_minute",
        new: "limits.deliberation_reads_per_minute",
        field: |limits| &mut limits.deliberation_reads_per_minute,
    },
    Moved {
        old: "deliberations.idempotency_ttl_hours",
        new: "limits.idempotency_ttl_hours",
        field: |limits| &mut limits.idempotency_ttl_hours,
    },
];

/// `[deliberations]` without the keys that moved (read separately by [`apply`]), so
/// that every other unknown key is still refused.
pub(super) fn deliberations_without_moved_keys<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DeliberationsConfig, D::Error> {
    let mut section = <Value as Deserialize>::deserialize(deserializer)?;
    if let Value::Dict(_, keys) = &mut section {
        for moved in &MOVED {
            if let Some(key) = moved.old.strip_prefix("deliberations.") {
                keys.remove(key);
            }
        }
    }
    section.deserialize().map_err(|error: figment::Error| {
        // Say which key inside the section: the message is all that crosses back.
        let message = if error.path.is_empty() {
            error.kind.to_string()
        } else {
            format!("{} (key `{}`)", error.kind, error.path.join("."))
        };
        serde::de::Error::custom(message)
    })
}

/// Applies every old key `merged` holds to `limits`, unless `set_by_user` (the
/// configuration without the embedded defaults) sets its new key; returns a notice
/// per old key used.
pub(super) fn apply(
    merged: &Figment,
    set_by_user: &Figment,
    limits: &mut LimitsConfig,
) -> Result<Vec<String>, Box<figment::Error>> {
    let mut notices = Vec::new();
    for moved in &MOVED {
        if merged.find_value(moved.old).is_err() {
            continue;
        }
        let from = merged
            .find_metadata(moved.old)
            .map(|metadata| match &metadata.source {
                Some(source) => format!("{} {source}", metadata.name),
                None => metadata.name.to_string(),
            })
            .unwrap_or_default();
        let effect = if set_by_user.find_value(moved.new).is_ok() {
            "ignored: that is set too"
        } else {
            *(moved.field)(limits) = merged.extract_inner(moved.old).map_err(Box::new)?;
            "applied"
        };
        notices.push(format!(
            "{} (from {from}) is deprecated: set {} instead ({effect})",
            moved.old, moved.new
        ));
    }
    Ok(notices)
}
