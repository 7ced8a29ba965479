//! Unicode character classes as CPython 3.9.18 (Unicode 13.0.0) sees them, the
//! interpreter managed-tenants-cli's reference outputs came from. Generated,
//! not written: each table in `tables/` is the sorted, inclusive ranges of the
//! code points `0..=0x10FFFF` for which the predicate in its comment is true
//! under python3.9, consecutive code points folded into one range. Rust's own
//! tables follow a newer Unicode and other definitions
//! (`char::is_alphanumeric` counts combining marks).
//!
//! The tables are data, kept as Unicode's own files write them (`0378..0379`
//! a line, or one code point `00AD`), compiled in and parsed once on first
//! use; a lookup is a binary search.

use std::cmp::Ordering;
use std::sync::OnceLock;

/// A set of code points: the sorted, inclusive ranges of one table file.
pub(super) struct CodePoints {
    text: &'static str,
    ranges: OnceLock<Vec<(u32, u32)>>,
}

impl CodePoints {
    const fn new(text: &'static str) -> Self {
        Self {
            text,
            ranges: OnceLock::new(),
        }
    }

    /// The ranges, in order.
    pub(super) fn ranges(&self) -> &[(u32, u32)] {
        self.ranges.get_or_init(|| parse_ranges(self.text))
    }

    /// Whether `c` is in one of the ranges.
    pub(super) fn contains(&self, c: char) -> bool {
        let code = c as u32;
        self.ranges()
            .binary_search_by(|&(low, high)| {
                if high < code {
                    Ordering::Less
                } else if low > code {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            })
            .is_ok()
    }
}

/// `not chr(c).isprintable()`: the characters `repr()` escapes.
pub(super) static NON_PRINTABLE: CodePoints =
    CodePoints::new(include_str!("tables/non_printable.txt"));

/// `re.match(r"\w", chr(c))`: the same as `chr(c).isalnum() or chr(c) == "_"`.
pub(super) static WORD: CodePoints = CodePoints::new(include_str!("tables/word.txt"));

/// `re.match(r"\d", chr(c))`: the same as `chr(c).isdecimal()`.
pub(super) static DECIMAL: CodePoints = CodePoints::new(include_str!("tables/decimal.txt"));

/// The lines of a table file that hold data: not blank, not a `#` comment.
pub(super) fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// A code point written in hex (`00AD`).
pub(super) fn parse_code_point(hex: &str) -> Option<u32> {
    u32::from_str_radix(hex, 16)
        .ok()
        .filter(|&code| code <= 0x10FFFF)
}

/// `0378..0379` or `00AD`.
fn parse_range(line: &str) -> Option<(u32, u32)> {
    let (low, high) = line.split_once("..").unwrap_or((line, line));
    Some((parse_code_point(low)?, parse_code_point(high)?))
}

/// Every range of a table file. The files are compiled in, and a unit test
/// reads each one whole, so a line that does not parse is a bug of ours.
fn parse_ranges(text: &str) -> Vec<(u32, u32)> {
    data_lines(text)
        .map(|line| parse_range(line).unwrap_or_else(|| panic!("a code point range, not {line:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses_sorted_and_disjoint() {
        for (table, count) in [(&NON_PRINTABLE, 679), (&WORD, 707), (&DECIMAL, 61)] {
            let ranges = table.ranges();
            assert_eq!(ranges.len(), count);
            assert!(ranges.iter().all(|(low, high)| low <= high));
            assert!(ranges.windows(2).all(|pair| pair[0].1 + 1 < pair[1].0));
        }
    }

    #[test]
    fn lookups_find_the_ends_of_ranges_and_nothing_between() {
        assert!(DECIMAL.contains('0') && DECIMAL.contains('9'));
        assert!(!DECIMAL.contains('/') && !DECIMAL.contains(':'));
        assert!(DECIMAL.contains('\u{1fbf9}') && !DECIMAL.contains('\u{1fbfa}'));
        assert!(NON_PRINTABLE.contains('\u{0}') && NON_PRINTABLE.contains('\u{10ffff}'));
        assert!(WORD.contains('_') && !WORD.contains('-'));
    }

    #[test]
    fn a_range_or_one_code_point_a_line() {
        assert_eq!(parse_range("0378..0379"), Some((0x378, 0x379)));
        assert_eq!(parse_range("00AD"), Some((0xad, 0xad)));
        assert_eq!(parse_range("110000"), None);
        assert_eq!(parse_range("00AD.."), None);
    }
}
