//! Numbers that clients write in paths and query strings: plain decimal, one
//! spelling for each value.
//!
//! A number is ASCII digits only: no sign, no whitespace, no fraction or exponent,
//! no `0x`, and no leading zero (`0` itself is the only number that starts with
//! one). Rust's `str::parse` would also take `+1` (and, for signed types, `-1`),
//! which would make `/api/v1/pilots/+1` and `/api/v1/pilots/01` further names for
//! `/api/v1/pilots/1`: for logs, metrics, caches and anyone comparing URLs, every
//! resource has one. A path id that is not a plain decimal number is answered `404`,
//! exactly as an unknown id is; a query number that is not one is `422`.

use std::str::FromStr;

/// `raw` as a number if it is written in plain decimal (see the module docs).
pub fn parse<T: FromStr>(raw: &str) -> Option<T> {
    let plain = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw.len() == 1 || !raw.starts_with('0'));
    plain.then(|| raw.parse().ok()).flatten()
}

/// A path id: a plain decimal number from 1 to `i64::MAX`.
pub fn parse_id(raw: &str) -> Option<i64> {
    parse::<i64>(raw).filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimal_only() {
        assert_eq!(parse_id("1"), Some(1));
        assert_eq!(parse_id("907"), Some(907));
        assert_eq!(parse_id("9223372036854775807"), Some(i64::MAX));
        for other in [
            "",
            "0",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "0x1",
            "01",
            "00",
            "１",
            "9223372036854775808",
        ] {
            assert_eq!(parse_id(other), None, "{other:?}");
        }
        assert_eq!(parse::<u32>("0"), Some(0));
        assert_eq!(parse::<u32>("+5"), None);
        assert_eq!(parse::<u32>("4294967296"), None);
    }
}
