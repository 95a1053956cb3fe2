//! Determinism: a seed from a SHA-256 of the input, a tiny generator over it, and
//! the words of a prompt to build answers from.
//!
//! The generator is SplitMix64, written out here rather than borrowed from `rand`,
//! whose standard generator may change between versions: the same input must give
//! the same answer in every release.

use sha2::{Digest, Sha256};

pub(crate) struct Dice {
    state: u64,
}

impl Dice {
    /// Seeded from the SHA-256 of `parts`, each length-prefixed so that moving text
    /// between parts changes the seed.
    pub(crate) fn from_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> (Dice, [u8; 32]) {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        (
            Dice {
                state: u64::from_le_bytes(seed),
            },
            digest,
        )
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n`; 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// In [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Lowercase words of `text`: runs of letters and digits.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_parts_same_numbers_and_boundaries_matter() {
        let draw = |parts: &[&str]| {
            let (mut dice, _) = Dice::from_parts(parts.iter().copied());
            (0..4).map(|_| dice.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(&["a", "bc"]), draw(&["a", "bc"]));
        assert_ne!(draw(&["a", "bc"]), draw(&["ab", "c"]));
        let (mut dice, _) = Dice::from_parts(["x"]);
        for _ in 0..100 {
            assert!(dice.below(7) < 7);
            assert!((0.0..1.0).contains(&dice.unit()));
        }
        assert_eq!(dice.below(0), 0);
    }

    #[test]
    fn splits_words() {
        assert_eq!(
            words("Post to #Slack, then e-mail!"),
            ["post", "to", "slack", "then", "e", "mail"]
        );
    }
}
