//! `confidence_index`: how much to trust a panel's answer, computed in code from what
//! the panel did — never asked of a model.
//!
//! Five features, each from the stored panel work:
//!
//! | feature | symbol | range | from |
//! | --- | --- | --- | --- |
//! | agreement | `a` | 0–1 | share of the final answers in the largest stance bloc |
//! | peer score | `p` | 0–10 | mean of every score reviewers gave (5 when no review succeeded) |
//! | spread | `s` | 0–5 | population standard deviation of those scores |
//! | self-confidence | `c` | 0–10 | mean self-rated confidence of the final answers |
//! | quorum | `q` | 0–1 | answering personas ÷ panel size |
//!
//! ```text
//! index = clamp(10 · (0.35·a + 0.30·p/10 + 0.15·c/10 + 0.20·q) − 2 · s/5, 0, 10)
//! ```
//!
//! rounded to one decimal. The weights sum to one, so a unanimous, full panel that
//! rates itself and each other 10 with no spread scores 10. Agreement and peer review
//! weigh most: they are the panel checking itself. Self-confidence weighs least —
//! models are often sure of themselves for no reason. Reviewers who disagree about
//! the answers (a wide spread of scores) cost up to two points, and a degraded panel
//! (3 of 5) loses 0.8 by quorum alone. The index rises with agreement, scores,
//! self-confidence and quorum and falls with spread; every input is stored beside the
//! result so it can be recomputed and audited.

use serde::Serialize;

/// Formula weights (they sum to 1).
pub const W_AGREEMENT: f64 = 0.35;
pub const W_PEER: f64 = 0.30;
pub const W_SELF: f64 = 0.15;
pub const W_QUORUM: f64 = 0.20;
/// Points the widest possible spread of peer scores costs.
pub const SPREAD_PENALTY: f64 = 2.0;
/// The largest standard deviation of scores on a 0–10 scale.
pub const MAX_SPREAD: f64 = 5.0;
/// The peer score assumed when no review succeeded: the middle of the scale.
pub const NEUTRAL_PEER_SCORE: f64 = 5.0;
/// Names this formula in stored inputs, should it ever change.
pub const FORMULA: &str = "v1";

/// What the index is computed from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfidenceInputs {
    pub agreement: f64,
    /// `None` when no review succeeded.
    pub peer_score_mean: Option<f64>,
    pub peer_score_spread: f64,
    pub self_confidence_mean: f64,
    pub quorum_fraction: f64,
}

/// The index, 0–10 with one decimal.
pub fn confidence_index(inputs: &ConfidenceInputs) -> f64 {
    let unit = |x: f64, max: f64| {
        if x.is_finite() {
            (x / max).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let peer = inputs.peer_score_mean.unwrap_or(NEUTRAL_PEER_SCORE);
    let score = 10.0
        * (W_AGREEMENT * unit(inputs.agreement, 1.0)
            + W_PEER * unit(peer, 10.0)
            + W_SELF * unit(inputs.self_confidence_mean, 10.0)
            + W_QUORUM * unit(inputs.quorum_fraction, 1.0))
        - SPREAD_PENALTY * unit(inputs.peer_score_spread, MAX_SPREAD);
    round1(score.clamp(0.0, 10.0))
}

/// To one decimal place.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Population standard deviation (0 for fewer than two values).
pub fn std_dev(values: &[f64]) -> f64 {
    match mean(values) {
        Some(m) if values.len() > 1 => {
            let variance =
                values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64;
            variance.sqrt()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> ConfidenceInputs {
        ConfidenceInputs {
            agreement: 0.6,
            peer_score_mean: Some(6.0),
            peer_score_spread: 1.5,
            self_confidence_mean: 8.0,
            quorum_fraction: 1.0,
        }
    }

    #[test]
    fn the_formula_as_documented() {
        // 10·(0.35·0.6 + 0.30·0.6 + 0.15·0.8 + 0.20·1) − 2·1.5/5 = 7.1 − 0.6
        assert_eq!(confidence_index(&inputs()), 6.5);
        let perfect = ConfidenceInputs {
            agreement: 1.0,
            peer_score_mean: Some(10.0),
            peer_score_spread: 0.0,
            self_confidence_mean: 10.0,
            quorum_fraction: 1.0,
        };
        assert_eq!(confidence_index(&perfect), 10.0);
        assert!((W_AGREEMENT + W_PEER + W_SELF + W_QUORUM - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bounded_even_for_nonsense_inputs() {
        let worst = ConfidenceInputs {
            agreement: 0.0,
            peer_score_mean: Some(0.0),
            peer_score_spread: 5.0,
            self_confidence_mean: 0.0,
            quorum_fraction: 0.0,
        };
        assert_eq!(confidence_index(&worst), 0.0);
        let wild = ConfidenceInputs {
            agreement: 7.0,
            peer_score_mean: Some(f64::NAN),
            peer_score_spread: -3.0,
            self_confidence_mean: f64::INFINITY,
            quorum_fraction: 2.0,
        };
        let index = confidence_index(&wild);
        assert!((0.0..=10.0).contains(&index), "{index}");
    }

    fn with(change: impl Fn(&mut ConfidenceInputs)) -> f64 {
        let mut changed = inputs();
        change(&mut changed);
        confidence_index(&changed)
    }

    #[test]
    fn monotonic_in_agreement_scores_and_self_confidence() {
        let base = confidence_index(&inputs());
        assert!(with(|i| i.agreement = 1.0) > base);
        assert!(with(|i| i.agreement = 0.4) < base);
        assert!(with(|i| i.peer_score_mean = Some(9.0)) > base);
        assert!(with(|i| i.peer_score_mean = Some(2.0)) < base);
        assert!(with(|i| i.self_confidence_mean = 10.0) > base);
        assert!(with(|i| i.self_confidence_mean = 1.0) < base);
        let mut previous = -1.0;
        for share in [0.2, 0.4, 0.6, 0.8, 1.0] {
            let index = with(|i| i.agreement = share);
            assert!(index > previous, "{share}: {index}");
            previous = index;
        }
    }

    #[test]
    fn spread_is_penalized_and_quorum_counts() {
        let base = confidence_index(&inputs());
        assert!(with(|i| i.peer_score_spread = 0.0) > base);
        assert!(with(|i| i.peer_score_spread = 4.0) < base);
        // 3 of 5 answering costs 0.20 · 0.4 · 10 = 0.8 points; 4 of 5, 0.4.
        assert_eq!(with(|i| i.quorum_fraction = 0.6), 5.7);
        assert_eq!(with(|i| i.quorum_fraction = 0.8), 6.1);
    }

    #[test]
    fn no_reviews_count_as_a_neutral_score() {
        assert_eq!(
            with(|i| i.peer_score_mean = None),
            with(|i| i.peer_score_mean = Some(NEUTRAL_PEER_SCORE))
        );
    }

    #[test]
    fn mean_and_spread() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[2.0, 4.0]), Some(3.0));
        assert_eq!(std_dev(&[5.0]), 0.0);
        assert_eq!(std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), 2.0);
        assert_eq!(std_dev(&[0.0, 10.0]), MAX_SPREAD);
    }
}
