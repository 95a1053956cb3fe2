//! The reads a web dashboard makes across a key's tenant (issue 15), each a page
//! with its cursor, each checking its scope first like every operation: `runs`
//! (every pilot's runs, filtered), `deliberations`, `usage` (model usage per UTC
//! day and model), `ledger` (the tenant's own credit ledger, over the operator's
//! body) and `endpoints` (the webhook endpoints in trouble).

mod deliberations;
mod endpoints;
mod ledger;
mod runs;
mod usage;

pub use deliberations::DeliberationsQuery;
pub use runs::RunsQuery;

use crate::error::OpError;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// A page's size: 50 unless given, 1 to 100.
fn page_limit(limit: Option<u32>) -> Result<u32, OpError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(OpError::validation(format!(
            "limit must be from 1 to {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// The cursor of the page after `items`: the last one's, when the page is full.
fn next_before<T>(items: &[T], limit: u32, cursor: impl Fn(&T) -> i64) -> Option<i64> {
    if items.len() as u64 == u64::from(limit) {
        items.last().map(cursor)
    } else {
        None
    }
}

/// `raw` as one of `names`' values, or a validation error naming it and them.
fn one_of<T: Copy>(
    what: &str,
    raw: Option<&str>,
    names: impl IntoIterator<Item = (T, &'static str)>,
) -> Result<Option<T>, OpError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let names: Vec<(T, &'static str)> = names.into_iter().collect();
    names
        .iter()
        .find(|(_, name)| *name == raw)
        .map(|(value, _)| Some(*value))
        .ok_or_else(|| {
            let all: Vec<&str> = names.iter().map(|(_, name)| *name).collect();
            OpError::validation(format!("{what} {raw:?} is not one of {}", all.join(", ")))
        })
}
