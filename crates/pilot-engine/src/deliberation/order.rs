//! Each reviewer's own order of the answers it reviews: shuffled, so no answer is
//! always first (position bias), and seeded from the deliberation id and the
//! reviewer, so a deliberation's run is reproducible.
//!
//! The generator is spelled out here (FNV-1a for the seed, SplitMix64 for the
//! stream, Fisher–Yates for the shuffle) rather than borrowed from a library whose
//! algorithm may change between releases: the same deliberation shows the same
//! order in every version.

/// FNV-1a over each part, with a separator so `("ab", "c")` and `("a", "bc")` differ.
fn seed(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by rejection so no value is favoured.
    fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let draw = self.next();
            if draw < zone {
                return draw % bound;
            }
        }
    }
}

/// `items` in the order `parts` (deliberation id, reviewer) decide.
pub fn shuffled<T>(mut items: Vec<T>, parts: &[&str]) -> Vec<T> {
    let mut rng = SplitMix64(seed(parts));
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
    items
}

/// `A`, `B`, … `Z`, then `AA`, `AB`, …: how a reviewer sees the answers.
pub fn label(index: usize) -> String {
    let letter = |n: usize| char::from(b'A' + (n % 26) as u8);
    if index < 26 {
        letter(index).to_string()
    } else {
        format!("{}{}", letter(index / 26 - 1), letter(index))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn reproducible_per_seed_and_different_across_reviewers() {
        let items: Vec<u32> = (0..4).collect();
        let once = shuffled(items.clone(), &["del_1", "cfo"]);
        assert_eq!(once, shuffled(items.clone(), &["del_1", "cfo"]));
        let mut sorted = once.clone();
        sorted.sort();
        assert_eq!(sorted, items);
        // Across reviewers and deliberations, more than one order appears.
        let orders: BTreeSet<Vec<u32>> = ["cfo", "growth", "skeptic", "customer", "competitor"]
            .iter()
            .flat_map(|who| ["del_1", "del_2"].map(|id| shuffled(items.clone(), &[id, who])))
            .collect();
        assert!(orders.len() > 3, "{orders:?}");
        assert_ne!(seed(&["ab", "c"]), seed(&["a", "bc"]));
        assert!(shuffled(Vec::<u32>::new(), &["x"]).is_empty());
    }

    #[test]
    fn labels() {
        assert_eq!(label(0), "A");
        assert_eq!(label(3), "D");
        assert_eq!(label(26), "AA");
        assert_eq!(label(27), "AB");
    }
}
