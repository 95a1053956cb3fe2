//! Accounts: who a key is ([`authenticate`](crate::Operations::authenticate)), what it
//! may see of itself (`me`).

mod authenticate;
mod me;

pub use authenticate::{MALFORMED, MISSING, REVOKED, UNKNOWN};
pub(crate) use authenticate::principal;
