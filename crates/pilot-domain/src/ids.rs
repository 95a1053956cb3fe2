//! Typed integer identifiers, so a workspace id is never passed where a job id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The id a client wrote (in a path, or as a tool's argument): a plain
            /// decimal number from 1 up (see [`crate::decimal`]); anything else is
            /// no id at all, answered as an unknown one.
            pub fn parse(raw: &str) -> Option<$name> {
                crate::decimal::parse_id(raw).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// A workspace (the documents' "account").
    WorkspaceId
);
int_id!(
    /// An API key's row id (never the key itself).
    ApiKeyId
);
int_id!(
    /// A dashboard user (a person who signs in; not an API key).
    UserId
);
int_id!(
    /// A job in the durable queue.
    JobId
);
int_id!(
    /// A pilot (an automation).
    PilotId
);
int_id!(
    /// One run of a pilot. The Pilots surface calls it `jobId` when it is queued.
    RunId
);
