//! Accounts: who a key is ([`authenticate`](crate::Operations::authenticate)), what it
//! may see of itself (`me`).

mod authenticate;
mod me;

pub(crate) use authenticate::principal;
pub use authenticate::{MALFORMED, MISSING, REVOKED, UNKNOWN};
