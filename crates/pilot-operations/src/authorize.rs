//! Scopes, checked by every operation itself before it reads or changes anything —
//! and before an idempotency key is looked up — so no interface can skip one.

use pilot_domain::{Principal, Scope};

use crate::error::OpError;

/// `Forbidden` (`insufficient_scope`) unless `who` holds `scope` (a write scope
/// implies its read scope).
pub fn require(who: &Principal, scope: Scope) -> Result<(), OpError> {
    if who.allows(scope) {
        Ok(())
    } else {
        Err(OpError::forbidden(format!(
            "This API key lacks the {scope} scope."
        )))
    }
}
