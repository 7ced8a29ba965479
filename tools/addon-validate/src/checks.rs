//! Which checks a run enables. The checks themselves (code, name, severity,
//! what they need) are the one table in `common::check::finding_codes`.

use common::check::finding_codes::ALL;
use common::{Error, Result};

/// Which checks are on: `--enable` (only these) and `--disable` (not
/// these). An entry is a code (`AM0004`) or a family prefix (`AM`, `SC`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    enable: Vec<String>,
    disable: Vec<String>,
}

impl Selection {
    /// Builds a selection from the comma lists of the flags; an entry that
    /// names no check is a usage error.
    pub fn new(enable: &[String], disable: &[String]) -> Result<Selection> {
        let split = |lists: &[String]| -> Result<Vec<String>> {
            let mut out = Vec::new();
            for entry in lists
                .iter()
                .flat_map(|l| l.split(','))
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                let entry = entry.to_ascii_uppercase();
                if !ALL.iter().any(|c| c.code.as_str().starts_with(&entry)) {
                    return Err(Error::usage(format!(
                        "{entry:?} names no check (see --list-checks)"
                    )));
                }
                out.push(entry);
            }
            Ok(out)
        };
        Ok(Selection {
            enable: split(enable)?,
            disable: split(disable)?,
        })
    }

    pub fn is_on(&self, code: &str) -> bool {
        let matches = |list: &[String]| list.iter().any(|entry| code.starts_with(entry.as_str()));
        (self.enable.is_empty() || matches(&self.enable)) && !matches(&self.disable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use common::check::finding_codes::Needs;

    /// The sources that emit findings, without their test modules. Every
    /// emitter names its code as `codes::<CONSTANT>` (a family module of
    /// `common::check::finding_codes`, or a re-export of one) or, for the DF codes, by
    /// the imported constant.
    const EMITTING_SOURCES: &[(&str, &str)] = &[
        (
            "common/src/check/finding.rs",
            include_str!("../../../common/src/check/finding.rs"),
        ),
        (
            "common/src/model/bundle/tree.rs",
            include_str!("../../../common/src/model/bundle/tree.rs"),
        ),
        (
            "common/src/model/document.rs",
            include_str!("../../../common/src/model/document.rs"),
        ),
        (
            "common/src/check/load_rules.rs",
            include_str!("../../../common/src/check/load_rules.rs"),
        ),
        // The DF codes of OCM payloads, which ocm-post warns.
        (
            "common/src/remote/ocm.rs",
            include_str!("../../../common/src/remote/ocm.rs"),
        ),
        ("rules.rs", include_str!("rules.rs")),
        ("differences.rs", include_str!("differences.rs")),
        ("validate.rs", include_str!("validate.rs")),
        ("loader.rs", include_str!("loader.rs")),
        ("tree.rs", include_str!("tree.rs")),
        ("png.rs", include_str!("png.rs")),
    ];

    /// `source` outside its test module.
    fn code_part(source: &str) -> &str {
        source.split("#[cfg(test)]").next().unwrap_or(source)
    }

    /// Whether `word` occurs in `text` as a whole identifier.
    fn mentions(text: &str, word: &str) -> bool {
        let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
    }

    /// `Finding::error`/`warning` take a `Code`, which only the table makes,
    /// so "emitted but not listed" cannot compile; this guards the other way:
    /// every listed check that runs offline is emitted somewhere, and no
    /// emitter spells a code as a string.
    #[test]
    fn list_checks_table_matches_the_codes_the_rules_emit() {
        for (file, source) in EMITTING_SOURCES {
            let code = code_part(source).as_bytes();
            for start in 0..code.len().saturating_sub(7) {
                let quoted = &code[start..start + 8];
                assert!(
                    !(quoted[0] == b'"'
                        && quoted[7] == b'"'
                        && quoted[1..3].iter().all(u8::is_ascii_uppercase)
                        && quoted[3..7].iter().all(u8::is_ascii_digit)),
                    "{file} spells a finding code as a string; use its constant"
                );
            }
        }
        for listed in ALL.iter().filter(|c| c.needs != Needs::Network) {
            assert!(
                EMITTING_SOURCES.iter().any(|(_, source)| {
                    let code = code_part(source);
                    mentions(code, &format!("codes::{}", listed.constant))
                        || (listed.code.as_str().starts_with("DF")
                            && mentions(code, listed.constant))
                }),
                "--list-checks lists {} ({}), which no rule emits",
                listed.code,
                listed.check
            );
        }
    }

    #[test]
    fn enable_and_disable_take_codes_and_families() {
        let all = Selection::new(&[], &[]).unwrap();
        assert!(all.is_on("AM0004"));
        let no_am = Selection::new(&[], &["am".into()]).unwrap();
        assert!(!no_am.is_on("AM0004") && no_am.is_on("SC0001"));
        let mtcli = Selection::new(
            &["SC,MT".into(), "AM0016,AM0017".into()],
            &["SC0006".into()],
        )
        .unwrap();
        assert!(
            mtcli.is_on("SC0001")
                && mtcli.is_on("AM0017")
                && !mtcli.is_on("AM0004")
                && !mtcli.is_on("SC0006")
        );
        assert!(Selection::new(&["XY0001".into()], &[]).is_err());
    }
}
