//! Pilot's domain: the types every other layer speaks, validated once at the edge.
//!
//! This crate does no I/O: no sockets, no files, no database, no async runtime. It
//! holds what an API key *is* (and how one is generated, parsed and digested), what a
//! scope allows, which environment a request lives in, what a job looks like and how
//! its retries back off, and how secrets are sealed under the master key. Storage,
//! the engine and HTTP depend on it; it depends on none of them.

pub mod api_key;
pub mod crypto;
pub mod environment;
pub mod ids;
pub mod job;
pub mod principal;
pub mod scope;
pub mod time;
pub mod workspace;

pub use api_key::{ApiKeyToken, KeyFormatError, WebhookSecret};
pub use crypto::{CryptoError, MasterKey};
pub use environment::Environment;
pub use ids::{ApiKeyId, JobId, WorkspaceId};
pub use job::{Backoff, JobState, NewJob};
pub use principal::Principal;
pub use scope::{Scope, Scopes};
pub use time::UnixMillis;
pub use workspace::WorkspaceName;
