//! A workspace environment's credits as operators see them: a grant, and the ledger
//! (the balance itself is [`BalanceView`](super::BalanceView), as the Deliberations
//! surface shows it).

use pilot_domain::{Credits, UnixMillis};
use pilot_store::LedgerEntry;
use serde::Serialize;
use utoipa::ToSchema;

/// Credits granted, and the balance they make.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CreditsGranted {
    #[schema(value_type = f64)]
    pub amount: Credits,
    /// The balance right after the grant.
    #[schema(value_type = f64)]
    pub balance: Credits,
    pub environment: String,
    pub workspace: String,
}

/// One ledger entry: what changed the balance, and the balance it left.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LedgerEntryView {
    /// Positive credits the balance, negative debits it.
    #[schema(value_type = f64)]
    pub amount: Credits,
    #[schema(value_type = f64)]
    pub balance_after: Credits,
    /// Unix milliseconds.
    #[schema(value_type = i64)]
    pub created_at: UnixMillis,
    /// The deliberation the entry reserves, charges or refunds for, if any.
    pub deliberation_id: Option<String>,
    pub id: i64,
    /// `grant`, `reserve`, `refund` or `charge_adjustment`.
    pub kind: String,
    pub note: String,
}

impl LedgerEntryView {
    pub fn of(entry: &LedgerEntry) -> LedgerEntryView {
        LedgerEntryView {
            amount: entry.amount,
            balance_after: entry.balance_after,
            created_at: entry.created_at,
            deliberation_id: entry.deliberation_id.as_ref().map(ToString::to_string),
            id: entry.id,
            kind: entry.kind.clone(),
            note: entry.note.clone(),
        }
    }
}

/// A workspace environment's newest ledger entries, newest first. The ledger is
/// append-only and sums to the balance.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LedgerView {
    pub entries: Vec<LedgerEntryView>,
    pub environment: String,
    pub workspace: String,
}
