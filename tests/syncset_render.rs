//! syncset-render end to end: mtcli's own renderings of its test add-ons
//! (every case and variant in ../shared/reference/golden/sss) equal ours as
//! data, and our fixtures (tests/fixtures/sss) render to their golden files.

use std::path::Path;

use e2e::check::items_where;
use e2e::{require_reference, tool, RunExt};
use serde_json::Value;

fn parse_yaml(text: &str) -> Value {
    common::text::yaml::parse_one(text)
        .expect("valid YAML")
        .value
}

fn render_selector(addon_yaml: &Path) -> Value {
    let output = tool("syncset-render")
        .arg(addon_yaml)
        .args(["--selector", "-o", "json"])
        .run()
        .success();
    output.json()
}

/// The migration step whose golden file name ends in `slug`
/// (`step 2 - orphan SSS objects` is `step-2-orphan-SSS-objects`).
fn migration_step(slug: &str) -> Option<&'static str> {
    common::model::addon::SyncsetMigration::ALL
        .into_iter()
        .find(|step| step.replace(" - ", "-").replace(' ', "-") == slug)
}

/// Applies a golden variant (see the golden README) to the fixture metadata.
fn mutate(metadata: &mut serde_json::Map<String, Value>, variant: &str) {
    match variant {
        "imageset-1.0.1" => {
            metadata.insert("addonImageSetVersion".into(), "1.0.1".into());
        }
        "imageset-1.0.2" => {
            metadata.insert("addonImageSetVersion".into(), "1.0.2".into());
        }
        "imageset-latest" => {
            metadata.insert("addonImageSetVersion".into(), "latest".into());
        }
        "imageset-1.0.2-no-config" => {
            metadata.insert("addonImageSetVersion".into(), "1.0.2".into());
            metadata.remove("config");
        }
        "no-config" => {
            metadata.remove("config");
        }
        "no-additionalCatalogSources" => {
            metadata.remove("additionalCatalogSources");
        }
        "indeximage-instead-of-imageset" => {
            metadata.remove("addonImageSetVersion");
            metadata.insert(
                "indexImage".into(),
                "quay.io/osd-addons/mock-operator-index@sha256:...".into(),
            );
        }
        other => {
            let step = other
                .strip_prefix("migration-")
                .and_then(migration_step)
                .unwrap_or_else(|| panic!("unknown golden variant {other:?}"));
            metadata.insert("syncsetMigration".into(), step.into());
        }
    }
}

#[test]
fn every_golden_rendering_of_mtcli_is_reproduced() {
    let Some(reference) = require_reference("golden SelectorSyncSets") else {
        return;
    };
    let golden_dir = reference.join("golden/sss");
    let addons = reference.join("managed-tenants-cli/tests/testdata/addons");
    let cases = e2e::golden_case_names(&golden_dir, ".yaml");
    let work = tempfile::tempdir().unwrap();
    for case in &cases {
        let golden = golden_dir.join(format!("{case}.yaml"));
        let mut parts = case.split("__");
        let (addon, env) = (parts.next().unwrap(), parts.next().unwrap());
        let variant = parts.next();
        let addon_yaml = match variant {
            None => addons
                .join(addon)
                .join("metadata")
                .join(env)
                .join("addon.yaml"),
            Some(variant) => {
                let tree = work.path().join(case).join(addon);
                e2e::copy_tree(&addons.join(addon), &tree);
                let path = tree.join("metadata").join(env).join("addon.yaml");
                let mut value = parse_yaml(&std::fs::read_to_string(&path).unwrap());
                mutate(value.as_object_mut().unwrap(), variant);
                std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
                path
            }
        };
        let expected = parse_yaml(&std::fs::read_to_string(golden).unwrap());
        let ours = render_selector(&addon_yaml);
        assert_eq!(
            ours,
            expected,
            "{case}: ours differs from mtcli's rendering\nours:\n{}",
            serde_json::to_string_pretty(&ours).unwrap()
        );
    }
    eprintln!("{} golden renderings reproduced", cases.len());
}

/// Our own fixtures: (case, add-on, arguments). Set UPDATE_GOLDEN=1 to
/// rewrite tests/fixtures/sss/expected/ on purpose.
const OWN_CASES: &[(&str, &str, &[&str])] = &[
    ("own-namespace-selector", "full-addon", &["--selector"]),
    ("all-namespaces-selector", "plain-addon", &["--selector"]),
    (
        "migration-step-3-selector",
        "migrating-addon",
        &["--selector"],
    ),
    (
        "several-clusters",
        "full-addon",
        &[
            "--cluster-deployment",
            "cd-east/cluster-2",
            "--cluster-deployment",
            "cd-west/cluster-9",
            "--cluster-deployment",
            "cd-east/cluster-1",
        ],
    ),
    (
        "manual-approval-one-cluster",
        "plain-addon",
        &[
            "--cluster-deployment",
            "uhc-prod-abc/my-cluster",
            "--install-plan-approval",
            "Manual",
        ],
    ),
];

#[test]
fn own_fixtures_render_to_their_golden_files() {
    let fixtures = e2e::repo_root().join("tests/fixtures/sss");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (case, addon, args) in OWN_CASES {
        let input = fixtures
            .join("addons")
            .join(addon)
            .join("metadata/stage/addon.yaml");
        let output = tool("syncset-render")
            .arg(&input)
            .args(*args)
            .run()
            .success();
        let text = output.stdout();
        let golden = fixtures.join("expected").join(format!("{case}.yaml"));
        if update {
            std::fs::write(&golden, &text).unwrap();
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", golden.display()));
        assert_eq!(
            text,
            expected,
            "{case}: output differs from {}",
            golden.display()
        );
    }
}

#[test]
fn output_is_identical_across_runs_and_formats_agree() {
    let input =
        e2e::repo_root().join("tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml");
    let run = |format: &str| {
        tool("syncset-render")
            .arg(&input)
            .args(["--cluster-deployment", "a/b", "-o", format])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run("yaml"), run("yaml"));
    let json: Value = serde_json::from_slice(&run("json")).unwrap();
    let yaml = parse_yaml(&String::from_utf8(run("yaml")).unwrap());
    assert_eq!(json, yaml);
}

/// Many namespaces are held as one set and YAML is written in chunks (issue
/// 14): the Namespaces still come out one per name, in order, with the shared
/// labels, and `-o yaml` and `-o json` say the same, also for a stream of
/// add-ons rendered into one List.
#[test]
fn many_namespaces_render_one_by_one_and_yaml_agrees_with_json_in_a_stream() {
    let input =
        e2e::repo_root().join("tests/fixtures/sss/addons/plain-addon/metadata/stage/addon.yaml");
    let text = std::fs::read_to_string(&input).unwrap();
    let names: String = (0..1500).map(|i| format!("  - ns-{i:04}\n")).collect();
    let many = text
        .replace(
            "namespaces:\n  - openshift-operators-plain\n",
            &format!("namespaces:\n  - openshift-operators-plain\n{names}"),
        )
        .replace("namespaceLabels: {}", "namespaceLabels: {team: plain}");
    assert_ne!(
        many, text,
        "the plain-addon fixture changed: update this test"
    );
    let stream = format!("{many}\n---\n{many}");
    let run = |format: &str| {
        tool("syncset-render")
            .args(["--selector", "-o", format])
            .write_stdin(stream.clone())
            .run()
            .success()
            .stdout()
    };
    let yaml_text = run("yaml");
    assert!(yaml_text.len() > 300_000, "{} bytes", yaml_text.len());
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(parse_yaml(&yaml_text), json);
    let install_sets: Vec<&Value> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["metadata"]["name"] == "addon-plain-addon")
        .collect();
    assert_eq!(install_sets.len(), 2);
    for sync_set in install_sets {
        let namespaces = items_where(&sync_set["spec"]["resources"], "kind", "Namespace");
        assert_eq!(namespaces.len(), 1501);
        assert_eq!(
            namespaces[0]["metadata"]["name"],
            "openshift-operators-plain"
        );
        assert_eq!(namespaces[1500]["metadata"]["name"], "ns-1499");
        assert_eq!(namespaces[1500]["metadata"]["labels"]["team"], "plain");
        assert_eq!(namespaces[1500]["apiVersion"], "v1");
    }
}

#[test]
fn stdin_document_and_errors() {
    let input =
        e2e::repo_root().join("tests/fixtures/sss/addons/plain-addon/metadata/stage/addon.yaml");
    let text = std::fs::read_to_string(&input).unwrap();
    // A document on stdin renders like the file.
    let piped = tool("syncset-render")
        .args(["--selector", "-o", "json"])
        .write_stdin(text.clone())
        .run()
        .success();
    assert_eq!(piped.json(), render_selector(&input));
    // No target: usage error.
    let none = tool("syncset-render").arg(&input).run().exit(2);
    assert!(none.stderr().contains("--selector"));
    // A malformed cluster reference: usage error naming it.
    let bad = tool("syncset-render")
        .arg(&input)
        .args(["--cluster-deployment", "Bad_NS"])
        .run()
        .exit(2);
    assert!(bad.stderr().contains("Bad_NS"));
    // An invalid add-on: exit 1, the field named, nothing on stdout.
    let broken = text.replace("installMode: AllNamespaces", "installMode: Sometimes");
    let out = tool("syncset-render")
        .arg("--selector")
        .write_stdin(broken)
        .run()
        .exit(1);
    assert!(out.stdout().is_empty());
    assert!(out.stderr().contains("installMode"), "{}", out.stderr());
}

#[test]
fn jinja_statements_in_an_extra_resource_render_and_broken_ones_are_refused_at_their_line() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("full-addon");
    e2e::copy_tree(
        &e2e::repo_root().join("tests/fixtures/sss/addons/full-addon"),
        &tree,
    );
    let template = tree.join("metadata/stage/alerts-configmap.yaml.j2");
    std::fs::write(
        &template,
        "apiVersion: v1\nkind: ConfigMap\n{% if ADDON.metadata['id'] %}\nmetadata: {name: x}\n{% endif %}\n",
    )
    .unwrap();
    let out = tool("syncset-render")
        .arg(tree.join("metadata/stage/addon.yaml"))
        .args(["--selector", "-o", "json"])
        .run()
        .success();
    let list: Value = out.json();
    let rendered = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["kind"] == "ConfigMap" && item["metadata"]["name"] == "x");
    assert!(rendered.is_some(), "{list:#}");

    std::fs::write(
        &template,
        "apiVersion: v1\nkind: ConfigMap\n{% if ADDON.metadata['id'] %}\nmetadata: {name: x}\n",
    )
    .unwrap();
    tool("syncset-render")
        .arg(tree.join("metadata/stage/addon.yaml"))
        .arg("--selector")
        .run()
        .exit(1)
        .stderr_has("alerts-configmap.yaml.j2:")
        .stderr_has("error MT0004");
}

#[test]
fn a_findings_report_or_nothing_on_stdin_is_named_not_schema_checked() {
    let report = r#"{"valid": false, "errors": 2, "warnings": 0, "findings": [
        {"code": "SC0001", "severity": "error", "file": "addon.yaml", "message": "x"},
        {"code": "AM0004", "severity": "error", "file": "addon.yaml", "message": "y"}]}"#;
    let out = tool("syncset-render")
        .arg("--selector")
        .write_stdin(report)
        .run()
        .exit(1);
    let text = out.stderr();
    assert!(out.stdout().is_empty());
    assert!(text.contains("found 2 problem(s)"), "{text}");
    assert!(!text.contains("required field"), "{text}");
    let empty = tool("syncset-render")
        .arg("--selector")
        .write_stdin("")
        .run()
        .exit(1);
    let text = empty.stderr();
    assert!(text.contains("the previous stage wrote nothing"), "{text}");
}
