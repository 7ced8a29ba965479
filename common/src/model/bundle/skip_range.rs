//! OLM's `olm.skipRange`: a blang/semver range.
//!
//! Ours rather than the `semver` crate's `VersionReq`: that one is Cargo's
//! syntax (comma for "and", `^` by default for a bare version, no `||`), so
//! `>=1.0.0 <1.2.0 || 2.0.0` would either be refused or mean something else
//! than OLM reads. These 60 lines follow blang/semver, which OLM uses.

/// A comparison in a semver range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

/// A semver range as OLM's `olm.skipRange` takes it (blang/semver syntax):
/// comparisons joined by spaces (and) and `||` (or), e.g. `>=1.0.0 <1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipRange {
    alternatives: Vec<Vec<(Comparison, semver::Version)>>,
}

impl SkipRange {
    pub fn parse(text: &str) -> Result<SkipRange, String> {
        let mut alternatives = Vec::new();
        for alternative in text.split("||") {
            let mut all = Vec::new();
            let mut words = alternative.split_whitespace().peekable();
            while let Some(word) = words.next() {
                let (op, rest) = split_operator(word);
                // Allow `>= 1.0.0` with a space after the operator.
                let version_text = if rest.is_empty() {
                    words
                        .next()
                        .ok_or_else(|| format!("{word:?} has no version"))?
                } else {
                    rest
                };
                let version = semver::Version::parse(version_text)
                    .map_err(|err| format!("{version_text:?}: {err}"))?;
                all.push((op, version));
            }
            if all.is_empty() {
                return Err("an empty range".to_string());
            }
            alternatives.push(all);
        }
        Ok(SkipRange { alternatives })
    }

    pub fn contains(&self, version: &semver::Version) -> bool {
        self.alternatives.iter().any(|all| {
            all.iter().all(|(op, bound)| match op {
                Comparison::Less => version < bound,
                Comparison::LessOrEqual => version <= bound,
                Comparison::Greater => version > bound,
                Comparison::GreaterOrEqual => version >= bound,
                Comparison::Equal => version == bound,
                Comparison::NotEqual => version != bound,
            })
        })
    }
}

fn split_operator(word: &str) -> (Comparison, &str) {
    for (prefix, op) in [
        (">=", Comparison::GreaterOrEqual),
        ("<=", Comparison::LessOrEqual),
        ("!=", Comparison::NotEqual),
        ("==", Comparison::Equal),
        (">", Comparison::Greater),
        ("<", Comparison::Less),
        ("=", Comparison::Equal),
    ] {
        if let Some(rest) = word.strip_prefix(prefix) {
            return (op, rest);
        }
    }
    (Comparison::Equal, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_ranges_parse_and_match() {
        let range = SkipRange::parse(">=1.0.0 <1.1.0").unwrap();
        assert!(range.contains(&semver::Version::new(1, 0, 5)));
        assert!(!range.contains(&semver::Version::new(1, 1, 0)));
        let either = SkipRange::parse("<0.5.0 || >= 2.0.0").unwrap();
        assert!(either.contains(&semver::Version::new(2, 1, 0)));
        assert!(!either.contains(&semver::Version::new(1, 0, 0)));
        assert!(SkipRange::parse(">=1.0 <2").is_err());
        assert!(SkipRange::parse("").is_err());
    }
}
