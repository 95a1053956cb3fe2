//! [`Operator`]: the caller of the operations that manage tenants — workspaces, their
//! keys, their credits — as opposed to a tenant's API key ([`Principal`]).
//!
//! A [`Principal`] is what a key resolves to: one workspace, one environment, some
//! scopes, and the operations it may call check those scopes. Managing keys and
//! credits is above any one key: the person doing it may create the workspace the
//! key will belong to, or revoke the key itself. So these operations take an
//! `&Operator` instead, and that parameter is their check: nothing turns a key into
//! an operator (authentication makes a `Principal` only, and no conversion exists),
//! so no request that authenticated with an API key can reach them, and an
//! interface that offers them must say which operator is calling.
//!
//! Today the one operator is the console ([`Operator::console`]): whoever runs
//! `pilot` on the server with its configuration. That person can already read the
//! store and the master key, so they may manage every workspace. An interface that
//! serves remote people (the dashboard, with its signed-in users) brings its own
//! kind of operator, with what that person may reach, rather than borrowing this one.
//!
//! [`Principal`]: pilot_domain::Principal

use std::fmt;

/// Who is managing tenants (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// Where the operator acts from, for the logs.
    seat: &'static str,
}

impl Operator {
    /// The person at the server's console: the CLI (`pilot workspaces`, `pilot keys`,
    /// `pilot credits`) and `pilot serve`'s first start. Construct it only in code
    /// that runs with the server's own configuration, never for a remote caller.
    pub fn console() -> Operator {
        Operator { seat: "console" }
    }

    /// Where the operator acts from (`console`), as logs name it.
    pub fn seat(&self) -> &'static str {
        self.seat
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.seat)
    }
}
