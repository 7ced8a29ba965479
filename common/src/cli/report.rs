//! CI-native reports of a run, for `--report` (every tool):
//!
//! - `junit=FILE`: JUnit XML, which GitLab shows in the merge request's test
//!   widget (`artifacts:reports:junit`) and GitHub through common actions;
//! - `codequality=FILE`: GitLab Code Quality JSON (`artifacts:reports:codequality`),
//!   findings inline on the merge request's diff, by file and line;
//! - `github`: GitHub workflow commands (`::error file=F,line=L,title=CODE::message`),
//!   annotations on the pull request.
//!
//! Tools do not write reports themselves, so a report cannot drift from what
//! the tool printed: findings arrive through [`findings`] (where addon-validate
//! prints them), per-add-on outcomes through `stream::Outcomes` (every stage
//! of a stream), and [`crate::cli::tool_main`] starts the recording from the
//! command line and writes the reports when the run ends, with its result.
//!
//! GitHub annotations go to stderr, not stdout: stdout is the data a pipe
//! carries to the next stage (`addon-validate --documents | catalog-build`),
//! and the Actions runner reads workflow commands from both streams of a step
//! (actions/runner's `ScriptHandler` gives stdout and stderr each an
//! `OutputManager` over the same command manager).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::finding::{Finding, Severity};
use crate::cli::error::{Error, ExitStatus, Result};
use crate::text::escape::{escape_with, markup_entity};

/// One `--report` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `junit=FILE`
    Junit(PathBuf),
    /// `codequality=FILE`
    CodeQuality(PathBuf),
    /// `github`: annotations on stderr.
    Github,
}

/// What `--report` accepts, for its help and its error.
pub const KINDS: &str = "junit=FILE, codequality=FILE or github";

impl Request {
    /// Parses `junit=FILE`, `codequality=FILE` or `github` (clap's value parser).
    pub fn parse(text: &str) -> Result<Request, String> {
        let (kind, file) = match text.split_once('=') {
            Some((kind, file)) => (kind, Some(file)),
            None => (text, None),
        };
        let path = || match file {
            Some(file) if !file.is_empty() => Ok(PathBuf::from(file)),
            _ => Err(format!("{kind} needs a file: --report {kind}=FILE")),
        };
        match kind {
            "junit" => path().map(Request::Junit),
            "codequality" => path().map(Request::CodeQuality),
            "github" if file.is_none() => Ok(Request::Github),
            "github" => Err(
                "github takes no file: its annotations go to stderr, where the \
                 Actions runner reads them"
                    .into(),
            ),
            other => Err(format!("{other:?} is not a report: expected {KINDS}")),
        }
    }
}

/// How an entry came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// A warning finding: reported, not failed.
    Warning,
    /// The input is at fault (a finding, an invalid document, a failed add-on).
    Failed,
    /// Something else went wrong (a remote refused, a wait timed out).
    Error,
}

/// A file and line an entry points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Relative to the working directory where it lies under it, as CI
    /// annotations want paths relative to the checkout.
    pub file: String,
    pub line: Option<usize>,
}

impl Place {
    /// None for stdin and other non-files: nothing to point at in a checkout.
    fn of(origin: &str, line: Option<usize>) -> Option<Place> {
        if origin.is_empty() || origin.starts_with('<') {
            return None;
        }
        Some(Place {
            file: relative_to_cwd(origin),
            line,
        })
    }
}

/// `./a/b` as `a/b`, and an absolute path under the working directory
/// relative to it.
fn relative_to_cwd(path: &str) -> String {
    let as_path = Path::new(path);
    let relative = if as_path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| as_path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| as_path.to_path_buf())
    } else {
        as_path.to_path_buf()
    };
    let text = relative.display().to_string();
    let mut rest = text.as_str();
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped;
    }
    rest.to_string()
}

/// One line of a report: a finding, or one add-on's (or object's, or the
/// run's) outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The test case: `file:line CODE` for a finding, the add-on's name for an outcome.
    pub name: String,
    /// The check: a finding's code, or an outcome's exit status in words.
    pub check: String,
    pub verdict: Verdict,
    pub message: String,
    pub place: Option<Place>,
    /// `findings`, `add-ons` or `run`: the test case's class in JUnit.
    pub group: &'static str,
}

impl Entry {
    fn of_finding(finding: &Finding) -> Entry {
        let place = Place::of(&finding.file, finding.line);
        let at = match &place {
            Some(Place {
                file,
                line: Some(line),
            }) => format!("{file}:{line}"),
            Some(Place { file, line: None }) => file.clone(),
            None => finding.file.clone(),
        };
        let mut message = format!("{}: {}", finding.path, finding.message);
        match (&finding.expected, &finding.found) {
            (Some(expected), Some(found)) => {
                let _ = write!(message, " (expected {expected}, found {found})");
            }
            (Some(expected), None) => {
                let _ = write!(message, " (expected {expected})");
            }
            (None, Some(found)) => {
                let _ = write!(message, " (found {found})");
            }
            (None, None) => {}
        }
        Entry {
            name: format!("{at} {}", finding.code),
            check: finding.code.to_string(),
            verdict: match finding.severity {
                Severity::Error => Verdict::Failed,
                Severity::Warning => Verdict::Warning,
            },
            message,
            place,
            group: "findings",
        }
    }

    fn of_result(name: &str, result: Result<(), &Error>, group: &'static str) -> Entry {
        match result {
            Ok(()) => Entry {
                name: name.to_string(),
                check: "ok".into(),
                verdict: Verdict::Passed,
                message: String::new(),
                place: None,
                group,
            },
            Err(err) => {
                let status = err.exit_status();
                let place = match err {
                    Error::Input { at, .. } => Place::of(&at.origin, at.line),
                    _ => None,
                };
                Entry {
                    name: name.to_string(),
                    check: status_words(status).to_string(),
                    verdict: match status {
                        ExitStatus::Invalid | ExitStatus::AddonFailed => Verdict::Failed,
                        _ => Verdict::Error,
                    },
                    message: err.to_string(),
                    place,
                    group,
                }
            }
        }
    }

    fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Failed | Verdict::Error)
    }
}

/// An exit status in the words of the man pages' EXIT STATUS.
fn status_words(status: ExitStatus) -> &'static str {
    match status {
        ExitStatus::Success => "success",
        ExitStatus::Invalid => "invalid input",
        ExitStatus::Usage => "usage error",
        ExitStatus::Remote => "remote error",
        ExitStatus::TimedOut => "timed out",
        ExitStatus::AddonFailed => "add-on failed",
    }
}

/// What one run recorded, and the reports it was asked for.
#[derive(Debug)]
pub struct Recorder {
    tool: String,
    requests: Vec<Request>,
    entries: Vec<Entry>,
    started: Instant,
}

impl Recorder {
    pub fn new(tool: &str, requests: Vec<Request>) -> Recorder {
        Recorder {
            tool: tool.to_string(),
            requests,
            entries: Vec::new(),
            started: Instant::now(),
        }
    }

    pub fn add_findings(&mut self, findings: &[Finding]) {
        self.entries.extend(findings.iter().map(Entry::of_finding));
    }

    /// One add-on's (or object's) outcome. A later verdict on the same
    /// add-on replaces the earlier one: csv-wait records a document as read
    /// (`my-addon (document 2)`), then its verdict (`my-addon`) once watched.
    pub fn add_outcome(&mut self, name: &str, result: Result<(), &Error>) {
        let entry = Entry::of_result(name, result, "add-ons");
        let read_as = format!("{name} (document ");
        let earlier = self
            .entries
            .iter()
            .position(|e| e.group == "add-ons" && (e.name == name || e.name.starts_with(&read_as)));
        match earlier {
            Some(index) => self.entries[index] = entry,
            None => self.entries.push(entry),
        }
    }

    /// The entries, with one for the run as a whole when nothing recorded
    /// says how it went: a run that failed before (or after) its add-ons, or
    /// one with nothing to record.
    fn closed(&self, result: Result<(), &Error>) -> Vec<Entry> {
        let mut entries = self.entries.clone();
        let explained = match result {
            Ok(()) => !entries.is_empty(),
            Err(_) => entries.iter().any(Entry::failed),
        };
        if !explained {
            entries.push(Entry::of_result(&self.tool, result, "run"));
        }
        entries
    }

    /// Writes every report asked for; a report that cannot be written is an
    /// error naming its file.
    pub fn write(&self, result: Result<(), &Error>) -> Result<()> {
        let entries = self.closed(result);
        let elapsed = self.started.elapsed();
        for request in &self.requests {
            match request {
                Request::Junit(path) => crate::cli::io::atomic_write(
                    path,
                    junit(&self.tool, &entries, elapsed).as_bytes(),
                )?,
                Request::CodeQuality(path) => crate::cli::io::atomic_write(
                    path,
                    code_quality(&self.tool, &entries)?.as_bytes(),
                )?,
                Request::Github => {
                    use std::io::Write;
                    // A closed stderr is no reason to fail the run.
                    let _ = std::io::stderr()
                        .lock()
                        .write_all(github(&self.tool, &entries).as_bytes());
                }
            }
        }
        Ok(())
    }
}

static RECORDER: Mutex<Option<Recorder>> = Mutex::new(None);

fn with_recorder(work: impl FnOnce(&mut Recorder)) {
    let mut guard = RECORDER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(recorder) = guard.as_mut() {
        work(recorder);
    }
}

/// Starts recording for `--report`; without requests nothing is recorded.
pub fn start(tool: &str, requests: Vec<Request>) {
    if requests.is_empty() {
        return;
    }
    let mut guard = RECORDER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *guard = Some(Recorder::new(tool, requests));
}

/// Findings as the tool reports them (addon-validate's printer calls this).
pub fn findings(findings: &[Finding]) {
    with_recorder(|recorder| recorder.add_findings(findings));
}

/// One add-on's (or object's) outcome: `stream::Outcomes` calls this for
/// every document, hive-apply for every object that failed.
pub fn outcome(name: &str, result: Result<(), &Error>) {
    with_recorder(|recorder| recorder.add_outcome(name, result));
}

/// Ends the recording: writes the reports with the run's result, and gives
/// the result back. When the run succeeded but a report cannot be written,
/// that is the error; when both failed, the run's error wins and the
/// report's is said on stderr.
pub fn finish(result: Result<()>) -> Result<()> {
    let recorder = RECORDER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let Some(recorder) = recorder else {
        return result;
    };
    match (recorder.write(result.as_ref().map(|_| ())), result) {
        (Ok(()), result) => result,
        (Err(report), Ok(())) => Err(report),
        (Err(report), Err(run)) => {
            crate::cli::progress::eprint_line(&format!("{}: error: {report}", recorder.tool));
            Err(run)
        }
    }
}

/// The JUnit XML report: one suite for the run, one test case per entry.
/// Valid against the JUnit schema Jenkins and pytest use (junit-10.xsd).
pub fn junit(tool: &str, entries: &[Entry], elapsed: Duration) -> String {
    let failures = entries
        .iter()
        .filter(|e| e.verdict == Verdict::Failed)
        .count();
    let errors = entries
        .iter()
        .filter(|e| e.verdict == Verdict::Error)
        .count();
    let time = format!("{:.3}", elapsed.as_secs_f64());
    let tool = xml(tool);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\"",
        entries.len()
    );
    let _ = writeln!(
        out,
        "<testsuites name=\"{tool}\" {counts} time=\"{time}\">\n  <testsuite name=\"{tool}\" {counts} skipped=\"0\" time=\"{time}\">"
    );
    for entry in entries {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{tool}.{}\" time=\"0\"",
            xml(&entry.name),
            entry.group
        );
        let element = match entry.verdict {
            Verdict::Passed => {
                out.push_str("/>\n");
                continue;
            }
            Verdict::Warning => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>warning {}: {}</system-out>\n    </testcase>",
                    xml(&entry.check),
                    xml(&entry.message)
                );
                continue;
            }
            Verdict::Failed => "failure",
            Verdict::Error => "error",
        };
        let place = entry
            .place
            .as_ref()
            .map_or(String::new(), |p| match p.line {
                Some(line) => format!("{}:{line}: ", p.file),
                None => format!("{}: ", p.file),
            });
        let _ = writeln!(
            out,
            ">\n      <{element} type=\"{}\" message=\"{}\">{}{}</{element}>\n    </testcase>",
            xml(&entry.check),
            xml(first_line(&entry.message)),
            xml(&place),
            xml(&entry.message)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Text for XML content and attribute values: the five entities, and the
/// characters XML 1.0 cannot hold (most controls) as U+FFFD.
fn xml(text: &str) -> String {
    escape_with(text, |c| match c {
        '&' | '<' | '>' => markup_entity(c),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        '\n' => Some("&#10;"),
        '\t' => Some("&#9;"),
        '\r' => Some("&#13;"),
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => Some("\u{FFFD}"),
        _ => None,
    })
}

/// One issue of GitLab's Code Quality report (its documented fields).
#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// The Code Quality report: every entry that failed or warned and points at
/// a file (what can be shown on a diff); a remote failure is not about a
/// line of code and stays in the JUnit report.
pub fn code_quality(tool: &str, entries: &[Entry]) -> Result<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut issues = Vec::new();
    for entry in entries {
        let Some(place) = &entry.place else { continue };
        let severity = match entry.verdict {
            Verdict::Passed => continue,
            Verdict::Warning => "minor",
            Verdict::Failed => "major",
            Verdict::Error => "critical",
        };
        // Stable across runs and line moves (the line is not in it); the same
        // issue twice in one file still gets two fingerprints.
        let key = format!(
            "{tool}\u{0}{}\u{0}{}\u{0}{}",
            entry.check, place.file, entry.message
        );
        let repeat = seen.iter().filter(|k| **k == key).count();
        seen.push(key.clone());
        issues.push(Issue {
            description: entry.message.clone(),
            check_name: &entry.check,
            fingerprint: fingerprint(&format!("{key}\u{0}{repeat}")),
            severity,
            location: Location {
                path: &place.file,
                lines: Lines {
                    begin: place.line.unwrap_or(1),
                },
            },
        });
    }
    let mut text = serde_json::to_string_pretty(&issues).map_err(Error::internal)?;
    text.push('\n');
    Ok(text)
}

/// 128 bits of FNV-1a, as hex: a fingerprint, not a secret.
fn fingerprint(text: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let hash = text.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(byte)).wrapping_mul(PRIME)
    });
    format!("{hash:032x}")
}

/// GitHub workflow commands, one line per entry that failed or warned:
/// `::error file=F,line=L,title=CODE::message`, or without a file
/// `::error title=TOOL::name: message`.
pub fn github(tool: &str, entries: &[Entry]) -> String {
    let mut out = String::new();
    for entry in entries {
        let command = match entry.verdict {
            Verdict::Passed => continue,
            Verdict::Warning => "warning",
            Verdict::Failed | Verdict::Error => "error",
        };
        let mut properties = Vec::new();
        let message = match &entry.place {
            Some(place) => {
                properties.push(format!("file={}", github_property(&place.file)));
                if let Some(line) = place.line {
                    properties.push(format!("line={line}"));
                }
                properties.push(format!("title={}", github_property(&entry.check)));
                entry.message.clone()
            }
            None => {
                properties.push(format!("title={}", github_property(tool)));
                format!("{}: {}", entry.name, entry.message)
            }
        };
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            github_data(&message)
        );
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped (actions/toolkit's
/// `escapeData`).
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,` (`escapeProperty`).
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding_codes::am::ICON_BASE64;
    use crate::cli::error::Location as At;
    use crate::FieldPath;

    fn icon_finding() -> Finding {
        Finding::error(
            ICON_BASE64,
            "./addons/a/metadata/stage/addon.yaml",
            "not a PNG",
        )
        .at(&FieldPath::root().key("icon"))
        .line(5)
        .expected("a base64 PNG")
    }

    #[test]
    fn xml_text_has_its_five_entities_line_breaks_as_references_and_no_controls() {
        assert_eq!(
            xml("&<>\"'\n\t\r\u{1}\u{FFFE}é"),
            "&amp;&lt;&gt;&quot;&apos;&#10;&#9;&#13;\u{FFFD}\u{FFFD}é"
        );
    }
    #[test]
    fn requests_parse_as_the_help_says() {
        assert_eq!(
            Request::parse("junit=out/report.xml"),
            Ok(Request::Junit("out/report.xml".into()))
        );
        assert_eq!(
            Request::parse("codequality=cq.json"),
            Ok(Request::CodeQuality("cq.json".into()))
        );
        assert_eq!(Request::parse("github"), Ok(Request::Github));
        assert!(Request::parse("junit").unwrap_err().contains("junit=FILE"));
        assert!(Request::parse("junit=").is_err());
        assert!(Request::parse("github=x").unwrap_err().contains("stderr"));
        assert!(Request::parse("sarif=x")
            .unwrap_err()
            .contains("junit=FILE"));
    }

    #[test]
    fn a_finding_is_a_failed_case_at_its_file_and_line() {
        let mut recorder = Recorder::new("addon-validate", vec![]);
        recorder.add_findings(&[icon_finding()]);
        let entries = recorder.closed(Err(&Error::Invalid("1 error(s)".into())));
        assert_eq!(entries.len(), 1, "the finding explains the failure");
        let entry = &entries[0];
        assert_eq!(entry.verdict, Verdict::Failed);
        assert_eq!(entry.check, "AM0004");
        assert_eq!(entry.name, "addons/a/metadata/stage/addon.yaml:5 AM0004");
        assert_eq!(entry.message, "icon: not a PNG (expected a base64 PNG)");
        assert_eq!(
            entry.place,
            Some(Place {
                file: "addons/a/metadata/stage/addon.yaml".into(),
                line: Some(5)
            })
        );
    }

    #[test]
    fn a_later_verdict_on_an_addon_replaces_its_reading() {
        let mut recorder = Recorder::new("csv-wait", vec![]);
        recorder.add_outcome("alpha (document 1)", Ok(()));
        recorder.add_outcome("beta (document 2)", Ok(()));
        recorder.add_outcome("alpha", Err(&Error::AddonFailed("failed on c1".into())));
        let entries = recorder.closed(Err(&Error::AddonFailed("1 of 2".into())));
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta (document 2)"]);
        assert_eq!(entries[0].verdict, Verdict::Failed);
        assert_eq!(entries[0].check, "add-on failed");
    }

    #[test]
    fn the_run_is_a_case_when_nothing_else_says_how_it_went() {
        let recorder = Recorder::new("hive-apply", vec![]);
        let passed = recorder.closed(Ok(()));
        assert_eq!(passed.len(), 1);
        assert_eq!(
            (passed[0].name.as_str(), passed[0].verdict),
            ("hive-apply", Verdict::Passed)
        );

        let refused = Error::input(At::new("objects.yaml").line(3), "not a List");
        let failed = recorder.closed(Err(&refused));
        assert_eq!(failed[0].verdict, Verdict::Failed);
        assert_eq!(failed[0].place.as_ref().unwrap().line, Some(3));

        let mut recorder = Recorder::new("ocm-post", vec![]);
        recorder.add_outcome("a (document 1)", Ok(()));
        let remote = Error::remote("https://api.example", "503");
        let entries = recorder.closed(Err(&remote));
        assert_eq!(entries.len(), 2, "a failure after the add-ons is the run's");
        assert_eq!(entries[1].verdict, Verdict::Error);
        assert_eq!(entries[1].group, "run");
    }

    #[test]
    fn junit_counts_failures_and_errors_and_escapes_text() {
        let mut recorder = Recorder::new("syncset-render", vec![]);
        recorder.add_outcome("good (document 1)", Ok(()));
        recorder.add_outcome(
            "bad (document 2)",
            Err(&Error::input(
                At::new("<stdin>").line(2),
                "a <tag> & \"quotes\"\u{1}",
            )),
        );
        recorder.add_outcome("far (document 3)", Err(&Error::remote("r", "down")));
        let text = junit(
            "syncset-render",
            &recorder.closed(Ok(())),
            Duration::from_millis(1500),
        );
        assert!(
            text.contains("<testsuite name=\"syncset-render\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" time=\"1.500\">"),
            "{text}"
        );
        assert!(
            text.contains("a &lt;tag&gt; &amp; &quot;quotes&quot;\u{FFFD}"),
            "{text}"
        );
        assert!(text.contains("<testcase name=\"good (document 1)\" classname=\"syncset-render.add-ons\" time=\"0\"/>"));
        assert!(text.contains("<error type=\"remote error\""), "{text}");
    }

    #[test]
    fn code_quality_holds_what_points_at_a_file() {
        let mut recorder = Recorder::new("addon-validate", vec![]);
        let warning = Finding::warning(
            crate::check::finding_codes::df::RETYPED_SCALAR,
            "addons/a/metadata/stage/addon.yaml",
            "read as a number by mtcli",
        )
        .line(9);
        recorder.add_findings(&[icon_finding(), icon_finding(), warning]);
        recorder.add_outcome("x", Err(&Error::remote("r", "down")));
        let text = code_quality("addon-validate", &recorder.closed(Ok(()))).unwrap();
        let issues: serde_json::Value = serde_json::from_str(&text).unwrap();
        let issues = issues.as_array().unwrap();
        assert_eq!(issues.len(), 3, "the remote failure has no file: {text}");
        assert_eq!(issues[0]["check_name"], "AM0004");
        assert_eq!(issues[0]["severity"], "major");
        assert_eq!(
            issues[0]["location"]["path"],
            "addons/a/metadata/stage/addon.yaml"
        );
        assert_eq!(issues[0]["location"]["lines"]["begin"], 5);
        assert_eq!(issues[2]["severity"], "minor");
        assert_ne!(
            issues[0]["fingerprint"], issues[1]["fingerprint"],
            "the same issue twice is two issues"
        );
        let again = code_quality("addon-validate", &recorder.closed(Ok(()))).unwrap();
        assert_eq!(text, again, "fingerprints are stable");
    }

    #[test]
    fn github_annotations_escape_as_the_toolkit_does() {
        let mut recorder = Recorder::new("addon-validate", vec![]);
        let finding = Finding::error(ICON_BASE64, "a,b:c.yaml", "100% wrong\nsecond line").line(2);
        recorder.add_findings(&[finding]);
        recorder.add_outcome("far", Err(&Error::remote("r", "down")));
        recorder.add_outcome("fine", Ok(()));
        let text = github("addon-validate", &recorder.closed(Ok(())));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "::error file=a%2Cb%3Ac.yaml,line=2,title=AM0004::(document): 100%25 wrong%0Asecond line",
                "::error title=addon-validate::far: r: down",
            ]
        );
    }

    #[test]
    fn paths_are_relative_to_the_checkout() {
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("addons/x/addon.yaml");
        assert_eq!(
            relative_to_cwd(inside.to_str().unwrap()),
            "addons/x/addon.yaml"
        );
        assert_eq!(relative_to_cwd("././a.yaml"), "a.yaml");
        assert_eq!(relative_to_cwd("/elsewhere/a.yaml"), "/elsewhere/a.yaml");
        assert_eq!(Place::of("<stdin>", Some(1)), None);
    }
}
