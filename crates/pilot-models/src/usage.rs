//! Token usage: what a provider reported, or — when it reported nothing — an estimate
//! that is marked as one.
//!
//! The estimate (`models.unknown_usage = "estimate"`, the default) is
//! `ceil(characters / 4)` of the prompt for input and of the answer for output: about
//! what English costs in today's tokenizers, erring high for code. A call is never
//! metered as zero tokens because a server kept quiet.

use serde::Deserialize;

/// Tokens one call consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `false` when these numbers are the estimate, not the provider's count.
    pub known: bool,
}

impl Usage {
    pub fn reported(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            output_tokens,
            known: true,
        }
    }

    /// The estimate for a call whose provider reported nothing.
    pub fn estimated(prompt_chars: usize, answer_chars: usize) -> Usage {
        Usage {
            input_tokens: estimate_tokens(prompt_chars),
            output_tokens: estimate_tokens(answer_chars),
            known: false,
        }
    }
}

/// `ceil(chars / 4)`.
pub fn estimate_tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// What to do when a provider reports no usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownUsage {
    /// Meter the estimate, marked as unknown, and answer.
    #[default]
    Estimate,
    /// Meter the estimate, marked as unknown, and fail the call with
    /// `ModelError::UnknownUsage`.
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_a_token_per_four_characters_rounding_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(4), 1);
        assert_eq!(estimate_tokens(5), 2);
        let usage = Usage::estimated(10, 3);
        assert_eq!((usage.input_tokens, usage.output_tokens), (3, 1));
        assert!(!usage.known);
        assert!(Usage::reported(0, 0).known);
    }
}
