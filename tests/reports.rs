//! `--report`: the CI reports every tool writes beside its output, checked by
//! what reads them: the JUnit XML against the JUnit schema (junit-10.xsd,
//! with xmllint), the GitLab Code Quality JSON by its documented fields, the
//! GitHub annotations by the workflow-command form the Actions runner parses.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::check::has_all;
use e2e::{ReferenceAddon, RunExt};
use serde_json::Value;

/// The JUnit schema `scripts/ci-tools.sh` fetches (pytest's copy of Jenkins'
/// junit-10.xsd), when it and xmllint are here.
fn junit_schema() -> Option<PathBuf> {
    let path = std::env::var_os("ADDON_FLOW_JUNIT_XSD")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("addon-flow/junit-10.xsd"))
        })?;
    let present = path.is_file() && e2e::program("xmllint");
    e2e::prerequisite(
        "xmllint and the JUnit schema junit-10.xsd (scripts/ci-tools.sh)",
        present,
    )
    .then_some(path)
}

/// xmllint's verdict on `report` against the JUnit schema, when both are
/// here ([`junit_schema`]).
fn check_junit(report: &Path) {
    if let Some(schema) = junit_schema() {
        assert_valid_junit(&schema, report);
    }
}

/// xmllint's verdict on `report` against the JUnit schema.
fn assert_valid_junit(schema: &Path, report: &Path) {
    let run = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(schema)
        .arg(report)
        .run();
    assert_eq!(
        run.code(),
        0,
        "{} is not valid JUnit XML:\n{}\n{}",
        report.display(),
        run.stderr(),
        std::fs::read_to_string(report).unwrap_or_default()
    );
}

fn run_code(run: &e2e::Run) -> i32 {
    run.code()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The reference add-on with a GIF for an icon (AM0004), validated from
/// inside its tree with a relative path, as CI runs it from the checkout.
fn invalid_addon_with_reports(out: &Path) -> e2e::Run {
    let addon = ReferenceAddon::new();
    addon.edit("metadata/stage/addon.yaml", "icon: iVBOR", "icon: R0lGOD");
    let root = addon.addon_dir.parent().unwrap().parent().unwrap();
    let run = Command::new(e2e::bin_path("addon-validate"))
        .current_dir(root)
        .arg("./addons/reference-addon/metadata/stage/addon.yaml")
        .arg(format!(
            "--report=junit={}",
            out.join("junit.xml").display()
        ))
        .arg(format!(
            "--report=codequality={}",
            out.join("codequality.json").display()
        ))
        .args(["--report", "github"])
        .run();
    drop(addon);
    run
}

#[test]
fn addon_validate_reports_a_finding_in_every_form() {
    let out = tempfile::tempdir().unwrap();
    let run = invalid_addon_with_reports(out.path()).exit(1);
    let file = "addons/reference-addon/metadata/stage/addon.yaml";

    let junit = read(&out.path().join("junit.xml"));
    assert!(
        junit.contains("<failure type=\"AM0004\""),
        "the finding is a failed test case:\n{junit}"
    );
    assert!(junit.contains(&format!("name=\"{file}:")), "{junit}");
    check_junit(&out.path().join("junit.xml"));

    let issues: Value = serde_json::from_str(&read(&out.path().join("codequality.json"))).unwrap();
    let issue = issues
        .as_array()
        .unwrap()
        .iter()
        .find(|issue| issue["check_name"] == "AM0004")
        .unwrap_or_else(|| panic!("AM0004 is a Code Quality issue: {issues:#}"));
    assert_eq!(issue["location"]["path"], file, "relative to the checkout");
    let line = issue["location"]["lines"]["begin"].as_u64().unwrap();
    assert!(line > 1, "the icon's line: {issue}");
    assert_eq!(issue["severity"], "major");
    assert!(issue["description"].as_str().unwrap().contains("icon"));
    assert!(issue["fingerprint"].as_str().is_some_and(|f| f.len() >= 16));

    // Annotations on stderr, where the runner reads them too; stdout keeps
    // its data.
    let annotation = format!("::error file={file},line={line},title=AM0004::icon: ");
    run.stderr_has(&annotation).stdout_lacks("::error");
}

/// The document of a valid add-on `id`, its index image
/// `quay.io/osd-addons/ID:v1`.
fn addon_document(id: &str) -> String {
    common::testing::with_fields(
        common::testing::minimal_addon_named(id),
        serde_json::json!({"indexImage": format!("quay.io/osd-addons/{id}:v1")}),
    )
    .to_string()
}

/// `syncset-render --selector` writing its JUnit report to `junit`.
fn render_reporting_to(junit: &Path) -> assert_cmd::Command {
    let mut command = e2e::tool("syncset-render");
    command
        .arg("--selector")
        .arg(format!("--report=junit={}", junit.display()));
    command
}

#[test]
fn a_stream_stage_reports_each_addon_and_names_the_one_that_failed() {
    let out = tempfile::tempdir().unwrap();
    let good = addon_document;
    let bad = good("broken").replace("\"enabled\":true", "\"enabled\":\"yes\"");
    let stream = format!("{}\n{bad}\n{}\n", good("alpha"), good("gamma"));
    let junit = out.path().join("render.xml");
    let run = render_reporting_to(&junit)
        .args(["--report", "github"])
        .write_stdin(stream)
        .run()
        .exit(1);
    let text = read(&junit);
    assert!(
        text.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
        "one case per add-on:\n{text}"
    );
    for id in ["alpha (document 1)", "gamma (document 3)"] {
        assert!(
            text.contains(&format!(
                "<testcase name=\"{id}\" classname=\"syncset-render.add-ons\" time=\"0\"/>"
            )),
            "{id} passed:\n{text}"
        );
    }
    has_all(
        "the report",
        &text,
        &["<testcase name=\"broken (document 2)\""],
    );
    run.stderr_has("::error title=syncset-render::broken (document 2): ");
    check_junit(&junit);
}

#[test]
fn a_run_that_fails_before_any_addon_is_one_failed_case() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("junit.xml");
    let run = e2e::tool("hive-apply")
        .arg("--kubeconfig")
        .arg(out.path().join("missing-kubeconfig"))
        .arg(format!("--report=junit={}", junit.display()))
        .write_stdin("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
        .run();
    assert_ne!(run_code(&run), 0, "{}", run.stderr());
    let text = read(&junit);
    has_all(
        "the report",
        &text,
        &[
            "tests=\"1\"",
            "<testcase name=\"hive-apply\" classname=\"hive-apply.run\"",
        ],
    );
    assert!(text.contains("missing-kubeconfig"), "says why:\n{text}");
    check_junit(&junit);
}

#[test]
fn a_report_that_cannot_be_written_fails_a_run_that_went_well() {
    let out = tempfile::tempdir().unwrap();
    let nowhere = out.path().join("no-such-folder/junit.xml");
    let run = render_reporting_to(&nowhere)
        .write_stdin(addon_document("alpha"))
        .run();
    assert_ne!(
        run_code(&run),
        0,
        "the report was asked for: {}",
        run.stderr()
    );
    run.stderr_has("no-such-folder");
}

#[test]
fn an_unknown_report_is_a_usage_error() {
    e2e::tool("addon-validate")
        .args(["--report", "sarif=out.json", "--list-checks"])
        .run()
        .exit(2)
        .stderr_has("junit=FILE, codequality=FILE or github");
}
