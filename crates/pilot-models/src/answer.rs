//! What a provider hands back before metering: the text, the usage it reported (if
//! any), and how the answer ended.

use crate::usage::Usage;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Answer {
    pub text: String,
    /// The provider's own count; `None` when it sent none.
    pub reported: Option<Usage>,
    pub ending: Ending,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The model finished (or hit its length limit).
    Complete,
    /// The provider's guardrails stopped it; the reason as the provider gave it.
    Filtered(String),
    /// A stream stopped before its end marker: the text is partial.
    Cut,
    /// The answer passed `models.max_answer_bytes` after `received` bytes and was
    /// not read further: the text is empty.
    TooLarge { received: u64 },
}
