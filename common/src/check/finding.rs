//! Findings: what a check found wrong, where, and what was expected. Every
//! check of every tool reports through this one type, so stderr lines and the
//! JSON for CI look the same everywhere.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::check::field_path::FieldPath;
use crate::check::finding_codes::Code;
use crate::check::schema::{Violation, ViolationKind};
use crate::text::yaml::SourceMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails validation.
    Error,
    /// Worth knowing; does not fail validation.
    Warning,
}

/// One problem found in one file.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable code such as `SC0003` or `AM0004`, for `--disable`.
    pub code: &'static str,
    pub severity: Severity,
    pub file: String,
    pub line: Option<usize>,
    /// The YAML path of the field, `(document)` for the whole file.
    pub path: String,
    pub message: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    #[serde(skip)]
    field: Option<FieldPath>,
}

impl Finding {
    pub fn error(code: Code, file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Finding {
            code: code.as_str(),
            severity: Severity::Error,
            file: file.as_ref().to_string_lossy().into_owned(),
            line: None,
            path: FieldPath::root().to_string(),
            message: message.into(),
            expected: None,
            found: None,
            field: None,
        }
    }

    pub fn warning(code: Code, file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, file, message)
        }
    }

    /// Places the finding at a field; its line is filled in by [`locate`].
    pub fn at(mut self, path: &FieldPath) -> Self {
        self.path = path.to_string();
        self.field = Some(path.clone());
        self
    }

    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn found(mut self, found: impl Into<String>) -> Self {
        self.found = Some(found.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The field path this finding points at, if any.
    pub fn field(&self) -> Option<&FieldPath> {
        self.field.as_ref()
    }

    /// A schema violation as a finding of the matching `SC` code.
    pub fn from_violation(file: impl AsRef<Path>, violation: Violation) -> Self {
        Finding::error(schema_code(violation.kind), file, violation.message)
            .at(&violation.path)
            .expected(violation.expected)
            .found(violation.found)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            ": {level} {}: {}: {}",
            self.code, self.path, self.message
        )?;
        match (&self.expected, &self.found) {
            (Some(expected), Some(found)) => write!(f, " (expected {expected}, found {found})"),
            (Some(expected), None) => write!(f, " (expected {expected})"),
            (None, Some(found)) => write!(f, " (found {found})"),
            (None, None) => Ok(()),
        }
    }
}

/// Fills in the line of every finding of `file` that has a field path and no
/// line yet, building the file's source map only if one is needed.
pub fn locate(findings: &mut [Finding], file: &str, text: &str) {
    locate_with(findings, file, || text.into());
}

/// [`locate`] in a file held as bytes: they are turned into text only when
/// a finding needs a line (a bundle's files are checked UTF-8 but held as
/// bytes, and most bundles have nothing to place).
pub fn locate_in_bytes(findings: &mut [Finding], file: &str, bytes: &[u8]) {
    locate_with(findings, file, || String::from_utf8_lossy(bytes));
}

fn locate_with<'a>(
    findings: &mut [Finding],
    file: &str,
    text: impl FnOnce() -> std::borrow::Cow<'a, str>,
) {
    let unplaced = |f: &&mut Finding| f.file == file && f.line.is_none() && f.field.is_some();
    if !findings.iter_mut().any(|f| unplaced(&f)) {
        return;
    }
    // Only the fields reported are mapped: one pass, no path per key.
    let map = SourceMap::of_fields(
        &text(),
        findings
            .iter()
            .filter(|f| f.file == file && f.line.is_none())
            .filter_map(|f| f.field.as_ref()),
    );
    for finding in findings.iter_mut().filter(unplaced) {
        if let Some(field) = &finding.field {
            finding.line = map.line_of(field);
        }
    }
}

/// The codes of the managed-tenants loading rules, shared by every tool that
/// reads an add-on (addon-validate adds its own families on top).
/// The codes of the schema and loader checks (`SC`, `MT`), from the one table
/// in `finding_codes`.
pub mod codes {
    pub use crate::check::finding_codes::mt::{
        EXTRA_RESOURCE, IMAGE_SET, IMAGE_SET_DUPLICATE_VERSION, IMAGE_SET_SKIPPED,
    };
    pub use crate::check::finding_codes::sc::*;
}

fn schema_code(kind: ViolationKind) -> Code {
    match kind {
        ViolationKind::Required => codes::REQUIRED,
        ViolationKind::Type => codes::TYPE,
        ViolationKind::Pattern => codes::PATTERN,
        ViolationKind::Enum => codes::ENUM,
        ViolationKind::UnknownField => codes::UNKNOWN_FIELD,
        ViolationKind::Minimum => codes::MINIMUM,
        ViolationKind::MinItems => codes::MIN_ITEMS,
        ViolationKind::Format => codes::FORMAT,
        ViolationKind::Dependency | ViolationKind::AnyOf => codes::DEPENDENCY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_code_path_and_expectation() {
        let finding = Finding::error(
            crate::check::finding_codes::am::ICON_BASE64,
            "a/addon.yaml",
            "icon is not a base64 PNG",
        )
        .at(&FieldPath::root().key("icon"))
        .line(5)
        .expected("a base64-encoded PNG")
        .found("\"mock\"");
        assert_eq!(
            finding.to_string(),
            "a/addon.yaml:5: error AM0004: icon: icon is not a base64 PNG (expected a base64-encoded PNG, found \"mock\")"
        );
    }

    #[test]
    fn locate_fills_lines_from_the_text() {
        let mut findings =
            vec![Finding::error(codes::PATTERN, "f.yaml", "bad").at(&FieldPath::parse("b.c"))];
        locate(&mut findings, "f.yaml", "a: 1\nb:\n  c: 2\n");
        assert_eq!(findings[0].line, Some(3));
    }
}
