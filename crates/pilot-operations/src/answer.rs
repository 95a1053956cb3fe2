//! What an operation answers beyond its view: whether the answer is one kept for an
//! idempotency key, and the rate limit the request was counted against.

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::OpError;
use crate::rate_limit::RateLimitState;

/// A view made now, or the JSON kept when the same request was first answered (an
/// idempotent replay hands back exactly what was kept).
#[derive(Clone, Debug, PartialEq)]
pub enum Replayable<T> {
    Fresh(T),
    Replayed(Value),
}

impl<T: Serialize> Replayable<T> {
    /// The answer as JSON, fresh or kept.
    pub fn to_json(&self) -> Value {
        match self {
            Replayable::Fresh(view) => serde_json::to_value(view).unwrap_or(Value::Null),
            Replayable::Replayed(kept) => kept.clone(),
        }
    }

    /// The fresh view, when there is one.
    pub fn fresh(&self) -> Option<&T> {
        match self {
            Replayable::Fresh(view) => Some(view),
            Replayable::Replayed(_) => None,
        }
    }
}

impl<T: Serialize> Serialize for Replayable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Replayable::Fresh(view) => view.serialize(serializer),
            Replayable::Replayed(kept) => kept.serialize(serializer),
        }
    }
}

/// An operation's answer where an idempotency key or a rate limit applies: the
/// result, and what a transport may show about how it was reached.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    pub result: Result<T, OpError>,
    /// The result (a view or an error) is the one kept for the request's
    /// idempotency key, not made now.
    pub replayed: bool,
    /// The limit this request was counted against, if it was.
    pub rate_limit: Option<RateLimitState>,
}

impl<T> Answer<T> {
    pub fn new(result: Result<T, OpError>) -> Answer<T> {
        Answer {
            result,
            replayed: false,
            rate_limit: None,
        }
    }

    pub fn err(error: OpError) -> Answer<T> {
        Answer::new(Err(error))
    }
}
