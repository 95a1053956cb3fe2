//! The magic markers that make the scripted model misbehave on purpose.
//!
//! A marker is `[[scripted:NAME]]` anywhere in any message:
//!
//! | marker | effect |
//! | --- | --- |
//! | `[[scripted:timeout]]` | fails at once with `ModelError::Timeout` (no waiting) |
//! | `[[scripted:fail]]` | fails with a provider error (`ModelError::Unavailable`, HTTP 500) |
//! | `[[scripted:block]]` | fails with `ModelError::ContentFiltered`, as a guardrail would |
//! | `[[scripted:slow=MS]]` | waits MS milliseconds (at most 60000), then answers normally |
//! | `[[scripted:malformed]]` | answers text that is not JSON and fits no schema |
//!
//! When several appear: `timeout` wins; otherwise `slow` waits first, then `fail`,
//! `block` and `malformed` apply in that order. Unknown markers are plain text.

use std::time::Duration;

/// The longest `slow` wait honoured.
pub const MAX_SLOW_MS: u64 = 60_000;

const OPEN: &str = "[[scripted:";
const CLOSE: &str = "]]";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Markers {
    pub timeout: bool,
    pub fail: bool,
    pub block: bool,
    pub malformed: bool,
    pub slow: Option<Duration>,
}

impl Markers {
    pub(crate) fn scan<'a>(texts: impl IntoIterator<Item = &'a str>) -> Markers {
        let mut markers = Markers::default();
        for text in texts {
            for name in names(text) {
                match name {
                    "timeout" => markers.timeout = true,
                    "fail" => markers.fail = true,
                    "block" => markers.block = true,
                    "malformed" => markers.malformed = true,
                    other => {
                        if let Some(ms) = other
                            .strip_prefix("slow=")
                            .and_then(|ms| ms.trim().parse::<u64>().ok())
                        {
                            markers.slow = Some(Duration::from_millis(ms.min(MAX_SLOW_MS)));
                        }
                    }
                }
            }
        }
        markers
    }
}

/// The NAME of every `[[scripted:NAME]]` in `text`.
fn names(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(OPEN).filter_map(move |(at, _)| {
        let rest = &text[at + OPEN.len()..];
        rest.find(CLOSE).map(|end| rest[..end].trim())
    })
}

/// `text` without its markers, so they never leak into answers.
pub(crate) fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        match rest[at..].find(CLOSE) {
            Some(end) => rest = &rest[at + end + CLOSE.len()..],
            None => {
                rest = &rest[at..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_marker_anywhere() {
        let found = Markers::scan([
            "please [[scripted:fail]] and",
            "x[[scripted:slow=250]][[scripted:block]] [[scripted:malformed]] [[scripted:timeout]]",
        ]);
        assert_eq!(
            found,
            Markers {
                timeout: true,
                fail: true,
                block: true,
                malformed: true,
                slow: Some(Duration::from_millis(250)),
            }
        );
        assert_eq!(
            Markers::scan(["plain [[scripted:nope]] [[scripted:fail"]),
            Markers::default()
        );
        assert_eq!(
            Markers::scan(["[[scripted:slow=999999]]"]).slow,
            Some(Duration::from_millis(MAX_SLOW_MS))
        );
        assert_eq!(Markers::scan(["[[scripted:slow=soon]]"]).slow, None);
    }

    #[test]
    fn strips_markers_from_text() {
        assert_eq!(strip("a [[scripted:slow=5]]b[[scripted:x]]"), "a b");
        assert_eq!(strip("open [[scripted:fail"), "open [[scripted:fail");
    }
}
