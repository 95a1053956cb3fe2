//! Credits: what model calls cost and what workspaces spend.
//!
//! A [`Credits`] amount is an integer count of micro-credits (1 credit = 1,000,000
//! micros), so sums and ledgers are exact; only the edges convert. It shows as a
//! decimal with up to six places and no trailing zeros (`4.2`, `3.87`, `0.000125`) and
//! travels in JSON as a number with the same digits. A [`Price`] is what a model
//! charges per million input and output tokens; [`Price::cost`] rounds up to the micro,
//! so a call is never free by rounding.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-credits in one credit.
pub const MICROS_PER_CREDIT: i64 = 1_000_000;

/// An amount of credits, held as micro-credits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Credits(i64);

impl Credits {
    pub const ZERO: Credits = Credits(0);

    pub const fn from_micros(micros: i64) -> Credits {
        Credits(micros)
    }

    /// Whole credits (`Credits::from_credits(5)` is 5.0).
    pub const fn from_credits(credits: i64) -> Credits {
        Credits(credits.saturating_mul(MICROS_PER_CREDIT))
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        self.0.checked_add(other.0).map(Credits)
    }

    pub fn checked_sub(self, other: Credits) -> Option<Credits> {
        self.0.checked_sub(other.0).map(Credits)
    }

    /// The nearest amount to a decimal number of credits (JSON and TOML carry them as
    /// floating point). `None` for NaN, infinities and amounts out of range.
    pub fn from_f64(credits: f64) -> Option<Credits> {
        let micros = (credits * MICROS_PER_CREDIT as f64).round();
        // i64::MAX as f64 rounds up to 2^63, which is itself out of range.
        (micros.is_finite() && micros >= i64::MIN as f64 && micros < i64::MAX as f64)
            .then_some(Credits(micros as i64))
    }

    /// The amount as a floating-point number of credits: exact to the micro below
    /// 2^53 micro-credits (about nine billion credits).
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_CREDIT as f64
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let micros = self.0.unsigned_abs();
        let whole = micros / MICROS_PER_CREDIT as u64;
        let fraction = micros % MICROS_PER_CREDIT as u64;
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{fraction:06}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Credits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Credits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let credits = f64::deserialize(deserializer)?;
        Credits::from_f64(credits).ok_or_else(|| {
            serde::de::Error::custom(format!("{credits} is not a valid amount of credits"))
        })
    }
}

/// What a model charges, in credits per million tokens each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_million: Credits,
    pub output_per_million: Credits,
}

impl Price {
    pub const FREE: Price = Price {
        input_per_million: Credits::ZERO,
        output_per_million: Credits::ZERO,
    };

    /// The cost of a call, rounded up to the micro-credit. Negative token counts
    /// count as zero; a cost past the range saturates.
    pub fn cost(&self, input_tokens: i64, output_tokens: i64) -> Credits {
        let per_million = |tokens: i64, price: Credits| {
            i128::from(tokens.max(0)) * i128::from(price.micros().max(0))
        };
        let scaled = per_million(input_tokens, self.input_per_million)
            + per_million(output_tokens, self.output_per_million);
        let micros = (scaled + 999_999) / 1_000_000;
        Credits(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_a_trimmed_decimal() {
        assert_eq!(Credits::from_micros(4_200_000).to_string(), "4.2");
        assert_eq!(Credits::from_micros(3_870_000).to_string(), "3.87");
        assert_eq!(Credits::from_micros(125).to_string(), "0.000125");
        assert_eq!(Credits::from_credits(7).to_string(), "7");
        assert_eq!(Credits::ZERO.to_string(), "0");
        assert_eq!(Credits::from_micros(-1_500_000).to_string(), "-1.5");
        assert_eq!(
            Credits::from_micros(i64::MIN).to_string(),
            "-9223372036854.775808"
        );
    }

    #[test]
    fn travels_as_a_json_number() {
        let amount = Credits::from_micros(3_870_000);
        assert_eq!(serde_json::to_string(&amount).unwrap(), "3.87");
        assert_eq!(serde_json::from_str::<Credits>("3.87").unwrap(), amount);
        assert_eq!(
            serde_json::from_str::<Credits>("5").unwrap(),
            Credits::from_credits(5)
        );
        assert_eq!(
            serde_json::from_str::<Credits>("0.0000004").unwrap(),
            Credits::ZERO
        );
        assert!(serde_json::from_str::<Credits>("1e300").is_err());
        assert!(serde_json::from_str::<Credits>("\"3\"").is_err());
    }

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        let one = Credits::from_credits(1);
        assert_eq!(one.checked_add(one), Some(Credits::from_credits(2)));
        assert_eq!(one.checked_sub(one), Some(Credits::ZERO));
        assert_eq!(Credits::from_micros(i64::MAX).checked_add(one), None);
        assert_eq!(Credits::from_micros(i64::MIN).checked_sub(one), None);
    }

    #[test]
    fn cost_rounds_up_to_the_micro() {
        let price = Price {
            input_per_million: Credits::from_micros(150_000),
            output_per_million: Credits::from_micros(600_000),
        };
        // 1000 × 0.15 / 1e6 + 500 × 0.6 / 1e6 = 0.00015 + 0.0003
        assert_eq!(price.cost(1_000, 500), Credits::from_micros(450));
        // One token at 0.15/M is 0.15 micros: rounds up to 1.
        assert_eq!(price.cost(1, 0), Credits::from_micros(1));
        assert_eq!(price.cost(0, 0), Credits::ZERO);
        assert_eq!(price.cost(-5, -5), Credits::ZERO);
        assert_eq!(Price::FREE.cost(1_000_000, 1_000_000), Credits::ZERO);
        let dear = Price {
            input_per_million: Credits::from_micros(i64::MAX),
            output_per_million: Credits::from_micros(i64::MAX),
        };
        assert_eq!(
            dear.cost(i64::MAX, i64::MAX),
            Credits::from_micros(i64::MAX)
        );
    }

    #[test]
    fn price_reads_from_config_numbers() {
        let price: Price =
            serde_json::from_str(r#"{"input_per_million": 3, "output_per_million": 15.5}"#)
                .unwrap();
        assert_eq!(price.input_per_million, Credits::from_credits(3));
        assert_eq!(price.output_per_million, Credits::from_micros(15_500_000));
    }
}
