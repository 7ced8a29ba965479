//! End-to-end tests of addon-validate: the real binary on our example tree,
//! one broken add-on per rule, hostile input, and (when ../shared is there)
//! agreement with managed-tenants-cli's own verdicts.

use std::path::PathBuf;

use e2e::{repo_root, require_reference, tool, Run, RunExt};
use serde_json::Value;

const EXAMPLE: &str = "examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml";
const EXAMPLE_BUNDLES: &str = "examples/managed-tenants-bundles/addons/reference-addon";

#[test]
fn every_example_addon_is_valid_with_its_bundles() {
    for addon in ["reference-addon", "logging-addon"] {
        for env in ["stage", "production"] {
            let path = format!("examples/managed-tenants/addons/{addon}/metadata/{env}/addon.yaml");
            let bundles = format!("examples/managed-tenants-bundles/addons/{addon}");
            let document = tool("addon-validate")
                .args([&path, "--bundles", &bundles, "-o", "json"])
                .run_json();
            assert_eq!(document["id"], addon);
        }
    }
}

#[test]
fn the_normalised_document_carries_the_image_set_and_extra_resources() {
    let document = tool("addon-validate")
        .args([EXAMPLE, "-o", "json"])
        .run_json();
    // addonImageSetVersion: latest picks the highest semver of stage.
    assert_eq!(document["imageSet"]["name"], "reference-addon.v0.3.0");
    assert_eq!(document["addonImageSetVersion"], "latest");

    let logging = "examples/managed-tenants/addons/logging-addon/metadata/stage/addon.yaml";
    let output = tool("addon-validate").args([logging, "-o", "json"]).run();
    let document = output.json();
    let template = document["extraResourceTemplates"]["logging-dashboard.yaml.j2"]
        .as_str()
        .unwrap();
    assert!(template.contains("kind: ConfigMap"));
}

#[test]
fn a_document_fed_back_through_stdin_is_still_valid_and_unchanged() {
    let first = tool("addon-validate")
        .args([EXAMPLE, "-o", "json"])
        .run()
        .success();
    let second = validate_stdin_json(first.output.stdout.clone())
        .run()
        .success();
    assert_eq!(first.json(), second.json());
    // YAML out, YAML back in.
    let yaml = tool("addon-validate").args([EXAMPLE, "-o", "yaml"]).run();
    let third = tool("addon-validate")
        .args(["-o", "json"])
        .write_stdin(yaml.output.stdout)
        .run()
        .success();
    assert_eq!(first.json(), third.json());
}

/// Copies the example trees into a temporary folder we may break.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        e2e::copy_tree(&repo_root().join("examples"), dir.path());
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn run(&self, extra: &[&str]) -> Run {
        let addon = self.path("managed-tenants/addons/reference-addon/metadata/stage/addon.yaml");
        let bundles = self.path("managed-tenants-bundles/addons/reference-addon");
        tool("addon-validate")
            .arg(&addon)
            .arg("--bundles")
            .arg(&bundles)
            .args(extra)
            .args(["-o", "json"])
            .run()
    }
}

const STAGE: &str = "managed-tenants/addons/reference-addon/metadata/stage/addon.yaml";
const HEAD_CSV: &str = "managed-tenants-bundles/addons/reference-addon/main/0.3.0/manifests/reference-addon.clusterserviceversion.yaml";
const HEAD_ANNOTATIONS: &str =
    "managed-tenants-bundles/addons/reference-addon/main/0.3.0/metadata/annotations.yaml";

/// One broken add-on per rule: (code, file, text to replace, replacement,
/// the field path the finding must name).
const BROKEN: &[(&str, &str, &str, &str, &str)] = &[
    ("SC0001", STAGE, "ocmQuotaCost: 1\n", "", "(document)"),
    ("SC0002", STAGE, "enabled: true", "enabled: \"true\"", "enabled"),
    ("SC0003", STAGE, "quayRepo: quay.io/osd-addons/reference-addon", "quayRepo: docker.io/reference-addon", "quayRepo"),
    ("SC0004", STAGE, "installMode: OwnNamespace", "installMode: SingleNamespace", "installMode"),
    ("SC0005", STAGE, "targetNamespace:", "targetNamspace: x\ntargetNamespace:", "targetNamspace"),
    ("SC0006", STAGE, "ocmQuotaCost: 1", "ocmQuotaCost: 1\nocmQuotaCost: 2", "ocmQuotaCost"),
    ("SC0007", STAGE, "ocmQuotaCost: 1", "ocmQuotaCost: -1", "ocmQuotaCost"),
    ("SC0009", STAGE, "name: Reference Addon", "name: \"Reference\\u0007Addon\"", "name"),
    ("SC0010", STAGE, "    required: true\n", "    required: true\n    editable_direction: up\n", "addOnParameters[0]"),
    ("MT0001", STAGE, "addonImageSetVersion: latest", "addonImageSetVersion: 9.9.9", "addonImageSetVersion"),
    ("MT0003", STAGE, "addonImageSetVersion: latest", "addonImageSetVersion: latest\nextraResources: [missing.yaml]", "extraResources[0]"),
    ("AM0001", STAGE, "defaultChannel: alpha", "defaultChannel: stable", "defaultChannel"),
    ("AM0002", STAGE, "label: api.openshift.com/addon-reference-addon", "label: api.openshift.com/addon-other", "label"),
    ("AM0003", HEAD_CSV, "name: reference-addon.v0.3.0", "name: other.v0.3.0", "operatorName"),
    ("AM0004", STAGE, "icon: iVBOR", "icon: R0lGOD", "icon"),
    ("AM0005", STAGE, "testHarness: quay.io/osd-addons", "testHarness: quay.io//", "testHarness"),
    ("AM0006", STAGE, "deadmanssnitch:\n", "deadmanssnitch:\n  snitchNamePostFix: hive-x\n", "deadmanssnitch.snitchNamePostFix"),
    ("AM0007", HEAD_CSV, "- type: OwnNamespace\n      supported: true", "- type: OwnNamespace\n      supported: false", "installMode"),
    ("AM0008", STAGE, "  - redhat-reference-addon\nnamespaceLabels", "  - redhat-reference-addon\n  - reference-extra\nnamespaceLabels", "namespaces[1]"),
    ("AM0009", STAGE, "default_value: \"1\"", "default_value: \"10\"", "addOnParameters[0].default_value"),
    ("AM0010", STAGE, "monitoring-key: reference", "-monitoring-key: reference", "namespaceLabels[\"-monitoring-key\"]"),
    ("AM0010", STAGE, "  - redhat-reference-addon\nnamespaceLabels", "  - redhat-reference-addon\n  - Not_A_Name\nnamespaceLabels", "namespaces[1]"),
    ("AM0012", HEAD_CSV, "resources: [namespaces]", "resources: [secrets]", "operatorName"),
    ("AM0013", STAGE, "    data:\n      compute.cpu: 4\n", "    data: {}\n", "addOnRequirements[0].data"),
    ("AM0015", HEAD_CSV, "                    livenessProbe:\n                      httpGet: {path: /healthz, port: 8081}\n", "", "operatorName"),
    ("AM0016", STAGE, "      fields:\n        - .dockerconfigjson\n", "      fields:\n        - .dockerconfigjson\n    - name: reference-addon-pull-secret\n      type: Opaque\n      vaultPath: x\n      version: 1\n      fields: []\n", "config.secrets[1]"),
    ("AM0017", STAGE, "pullSecretName: reference-addon-pull-secret", "pullSecretName: no-such-secret", "pullSecretName"),
    ("BD0005", HEAD_CSV, "olm.skipRange: '>=0.0.1 <0.3.0'", "olm.skipRange: 'below 0.3.0'", "(document)"),
    ("BD0007", HEAD_ANNOTATIONS, "channel.default.v1: alpha", "channel.default.v1: beta", "(document)"),
];

#[test]
fn each_rule_catches_its_broken_addon_at_the_right_field() {
    for (code, file, from, to, path) in BROKEN {
        let sandbox = Sandbox::new();
        sandbox.edit(file, from, to);
        let output = sandbox.run(&[]).exit(1);
        let report = output.json();
        let findings = report["findings"].as_array().unwrap();
        let hit = findings.iter().find(|f| f["code"] == *code);
        let hit = hit.unwrap_or_else(|| {
            panic!(
                "{code}: not reported; got {}",
                serde_json::to_string_pretty(findings).unwrap()
            )
        });
        assert_eq!(hit["path"], *path, "{code}: {hit}");
        assert!(
            hit["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{code}"
        );
        if file == &STAGE {
            assert!(
                hit["file"].as_str().unwrap().ends_with("addon.yaml"),
                "{code}: {hit}"
            );
            assert!(
                hit["line"].as_u64().is_some(),
                "{code}: finding has no line: {hit}"
            );
        }
        // The human form names the code on stderr.
        assert!(
            output.stderr().contains(code),
            "{code}: {}",
            output.stderr()
        );
    }
}

#[test]
fn bundle_structure_rules() {
    let bundles = "managed-tenants-bundles/addons/reference-addon/main";
    type BreakIt<'a> = &'a dyn Fn(&Sandbox);
    let cases: &[(&str, BreakIt)] = &[
        ("BD0001", &|s| {
            std::fs::rename(
                s.path(&format!("{bundles}/0.1.0")),
                s.path(&format!("{bundles}/v0.1")),
            )
            .unwrap()
        }),
        ("BD0002", &|s| {
            std::fs::remove_file(s.path(&format!("{bundles}/0.2.0/metadata/annotations.yaml")))
                .unwrap()
        }),
        ("BD0003", &|s| {
            std::fs::copy(
                s.path(HEAD_CSV),
                s.path(&format!("{bundles}/0.3.0/manifests/second.csv.yaml")),
            )
            .unwrap();
        }),
        ("BD0004", &|s| {
            s.edit(HEAD_CSV, "version: 0.3.0", "version: v0.3.0")
        }),
        ("BD0008", &|s| {
            std::fs::create_dir_all(
                s.path("managed-tenants-bundles/addons/reference-addon/empty-operator"),
            )
            .unwrap()
        }),
        ("SC0004", &|s| {
            s.edit(&format!("{bundles}/config.yaml"), "[stage]", "[staging]")
        }),
    ];
    for (code, break_it) in cases {
        let sandbox = Sandbox::new();
        break_it(&sandbox);
        let output = sandbox.run(&[]).exit(1);
        let report = output.json();
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == *code),
            "{code}: {report}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_a_bundle_is_refused() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("outside.yaml"), "kind: Secret\n").unwrap();
    std::os::unix::fs::symlink(
        sandbox.path("outside.yaml"),
        sandbox
            .path("managed-tenants-bundles/addons/reference-addon/main/0.3.0/manifests/link.yaml"),
    )
    .unwrap();
    let output = sandbox.run(&[]);
    let output = output.exit(1);
    let report = output.json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "BD0006")
        .expect("BD0006");
    assert!(finding["message"]
        .as_str()
        .unwrap()
        .contains("outside the bundle folder"));
}

#[test]
fn all_findings_are_reported_not_just_the_first() {
    let sandbox = Sandbox::new();
    sandbox.edit(STAGE, "ocmQuotaCost: 1", "ocmQuotaCost: -1");
    sandbox.edit(
        STAGE,
        "label: api.openshift.com/addon-reference-addon",
        "label: api.openshift.com/addon-other",
    );
    sandbox.edit(HEAD_CSV, "version: 0.3.0", "version: v0.3.0");
    let output = sandbox.run(&[]);
    let codes = finding_codes(&output.json());
    for code in ["SC0007", "BD0004"] {
        assert!(
            codes.contains(&code.to_string()),
            "{code} missing from {codes:?}"
        );
    }
}

#[test]
fn enable_and_disable_choose_the_checks() {
    let sandbox = Sandbox::new();
    sandbox.edit(STAGE, "icon: iVBOR", "icon: R0lGOD");
    assert_eq!(sandbox.run(&["--disable", "AM0004"]).code(), 0);
    assert_eq!(sandbox.run(&["--disable", "am"]).code(), 0);
    assert_eq!(sandbox.run(&["--enable", "SC,MT"]).code(), 0);
    assert_eq!(sandbox.run(&["--enable", "AM0004"]).code(), 1);
    let unknown = sandbox.run(&["--disable", "ZZ9"]);
    let unknown = unknown.exit(2);
    assert!(unknown.stderr().contains("--list-checks"));
}

#[test]
fn list_checks_names_every_family() {
    let output = tool("addon-validate").arg("--list-checks").run();
    let text = output.stdout();
    for code in ["SC0001", "MT0001", "BD0001", "AM0001", "AM0017"] {
        assert!(text.contains(code), "{code}");
    }
}

#[test]
fn all_validates_a_whole_tree() {
    let report = tool("addon-validate")
        .args([
            "--all",
            "examples/managed-tenants",
            "--bundles",
            "examples/managed-tenants-bundles",
            "-o",
            "json",
        ])
        .run_json();
    let files = report["files"].as_array().unwrap();
    // 2 add-ons x 2 environments, and 5 image sets.
    assert_eq!(files.len(), 9, "{report}");
    assert!(files.iter().all(|f| f["valid"] == true));

    let sandbox = Sandbox::new();
    sandbox.edit(
        "managed-tenants/addons/reference-addon/addonimagesets/production/reference-addon.v0.1.0.yml",
        "name: reference-addon.v0.1.0",
        "nam: reference-addon.v0.1.0",
    );
    let output = tool("addon-validate")
        .arg("--all")
        .arg(sandbox.path("managed-tenants"))
        .args(["-o", "json"])
        .run()
        .exit(1);
    let report = output.json();
    let bad: Vec<&Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["valid"] == false)
        .collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert!(bad[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("reference-addon.v0.1.0.yml"));
}

#[test]
fn hostile_input_gets_a_clear_error_and_exit_1_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for (prev, next) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        bomb.push_str(&format!(
            "{next}: &{next} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.yaml", Vec::new(), "is empty"),
        (
            "not-yaml.yaml",
            b"id: [unclosed\nname: x\n".to_vec(),
            "not valid YAML",
        ),
        ("list.yaml", b"- a\n- b\n".to_vec(), "must be a mapping"),
        (
            "binary.yaml",
            vec![0x7f, b'E', b'L', b'F', 0, 1, 2, 3],
            "binary data",
        ),
        ("huge.yaml", vec![b'#'; 50 * 1024 * 1024], "larger than"),
        ("bomb.yaml", bomb.into_bytes(), "alias bomb"),
        ("latin1.yaml", b"name: caf\xe9\n".to_vec(), "not UTF-8"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let output = tool("addon-validate").arg(&path).run();
        let err = output.stderr();
        let output = output.exit(1);
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in {err}"
        );
        assert!(
            err.contains(name),
            "{name}: the error must name the file: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(output.output.stdout.is_empty(), "{name}: nothing on stdout");
    }
    let missing = tool("addon-validate")
        .arg(dir.path().join("nope.yaml"))
        .run()
        .exit(1);
    assert!(missing.stderr().contains("no such file"));
}

#[test]
fn env_must_agree_with_the_path() {
    tool("addon-validate")
        .args([EXAMPLE, "--env", "production"])
        .run()
        .exit(2);
    tool("addon-validate")
        .args([EXAMPLE, "--env", "stage", "-o", "json"])
        .run()
        .success();
    tool("addon-validate")
        .args([EXAMPLE, "--bundles", EXAMPLE_BUNDLES, "--env", "stage"])
        .run()
        .success();
}

/// managed-tenants-cli's verdicts (golden/validate.tsv) against ours, on its
/// own test add-ons. mtcli's loader checks the schema, duplicate keys and the
/// loading rules; of the AM rules it enforces only the ones it shares
/// (AM0006 snitch prefix, AM0016 unique names, AM0017 pull secret). Its
/// fixtures use placeholder icons and non-`redhat-` namespaces, which the
/// other AM rules rightly refuse, so we compare with the shared checks on.
#[test]
fn agrees_with_managed_tenants_cli_verdicts() {
    let Some(reference) = require_reference("conformance with golden/validate.tsv") else {
        return;
    };
    let root = reference.join("managed-tenants-cli");
    let tsv = std::fs::read_to_string(reference.join("golden/validate.tsv")).unwrap();
    let mut compared = 0;
    for line in tsv.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(case), Some(verdict)) = (cols.next(), cols.next()) else {
            continue;
        };
        let (file, mode) = case.split_once('#').unwrap_or((case, "plain"));
        let checks = match mode {
            // Duplicate keys and the schema.
            "plain" => "SC",
            // PyYAML safe_load: a duplicate key just takes the last value.
            "schema-only" => {
                "SC0001,SC0002,SC0003,SC0004,SC0005,SC0007,SC0008,SC0009,SC0010,SC0011"
            }
            // The whole Addon(...) constructor.
            "full-load" => "SC,MT,AM0006,AM0016,AM0017",
            other => panic!("unknown mode {other}"),
        };
        let output = tool("addon-validate")
            .arg(root.join(file))
            .args(["--enable", checks])
            .run();
        let ours = if output.output.status.success() {
            "pass"
        } else {
            "fail"
        };
        assert_eq!(
            ours,
            verdict,
            "{case}: mtcli says {verdict}, we say {ours}: {}",
            output.stderr()
        );
        assert!(matches!(output.code(), 0 | 1), "{case}");
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} verdicts compared");
}

/// With every check on, the managed-tenants fixtures fail exactly where the
/// AM rules say they should (placeholder icons, non-`redhat-` namespaces).
#[test]
fn reference_addons_fail_only_the_rules_managed_tenants_does_not_run() {
    let Some(reference) = require_reference("AM rules on the managed-tenants fixtures") else {
        return;
    };
    let addon = reference
        .join("managed-tenants-cli/tests/testdata/addons/test-operator/metadata/stage/addon.yaml");
    let output = tool("addon-validate")
        .arg(&addon)
        .args(["-o", "json"])
        .run()
        .exit(1);
    let codes = finding_codes(&output.json());
    assert_eq!(
        codes,
        ["AM0004"],
        "test-operator's icon is the string 'invalid_icon'"
    );
    // Real add-on metadata from the addon-metadata-operator, with real icons.
    let real = reference.join("addon-metadata-operator/internal/testdata/metadata_v1/legacy/reference-addon/metadata/stage/addon.yaml");
    if real.is_file() {
        let output = tool("addon-validate")
            .arg(&real)
            .args(["--enable", "AM0004"])
            .run();
        assert!(
            output.output.status.success(),
            "a real icon is a PNG: {}",
            output.stderr()
        );
    }
}

const SANDBOX_BUNDLES: &str = "managed-tenants-bundles/addons/reference-addon";

/// `addon-validate - -o json` of `text` on stdin.
fn validate_stdin_json(text: impl Into<Vec<u8>>) -> assert_cmd::Command {
    let mut command = tool("addon-validate");
    command.args(["-", "-o", "json"]).write_stdin(text);
    command
}

/// The findings of `code` in an addon-validate JSON report.
/// The code of each finding of a JSON report, in order.
fn finding_codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn findings_of(report: &Value, code: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .cloned()
        .collect()
}

#[cfg(unix)]
#[test]
fn bd_symlinked_main_dependency_and_version_folders_are_bd0006_not_followed() {
    // Each link leads to a complete bundle folder outside --bundles; none may
    // be read, each is named.
    for link in ["main", "evil-operator", "main/0.4.0"] {
        let sandbox = Sandbox::new();
        let outside = sandbox.path("outside");
        let main = sandbox.path(&format!("{SANDBOX_BUNDLES}/main"));
        if link == "main" {
            std::fs::rename(&main, &outside).unwrap();
            std::os::unix::fs::symlink(&outside, &main).unwrap();
        } else {
            std::fs::create_dir_all(outside.join("0.4.0")).unwrap();
            e2e::copy_tree(&main.join("0.3.0"), &outside.join("0.4.0"));
            let target = match link {
                "main/0.4.0" => outside.join("0.4.0"),
                _ => outside.clone(),
            };
            std::os::unix::fs::symlink(target, sandbox.path(&format!("{SANDBOX_BUNDLES}/{link}")))
                .unwrap();
        }
        let output = sandbox.run(&[]).exit(1);
        let report = output.json();
        let symlinks = findings_of(&report, "BD0006");
        assert_eq!(symlinks.len(), 1, "{link}: {report}");
        assert!(
            symlinks[0]["file"]
                .as_str()
                .unwrap()
                .ends_with(&format!("reference-addon/{link}")),
            "{link}: {report}"
        );
        assert!(
            symlinks[0]["message"]
                .as_str()
                .unwrap()
                .contains("is a symlink"),
            "{link}: {report}"
        );
    }
}

#[test]
fn bd_a_package_name_that_would_become_a_path_is_bd0009_naming_file_field_and_line() {
    for package in ["../../../../etc/cron.d/evil", "/etc/cron.d/evil"] {
        let sandbox = Sandbox::new();
        sandbox.edit(
            HEAD_ANNOTATIONS,
            "package.v1: reference-addon",
            &format!("package.v1: '{package}'"),
        );
        let output = sandbox.run(&[]).exit(1);
        let report = output.json();
        let names = findings_of(&report, "BD0009");
        assert_eq!(names.len(), 1, "{report}");
        let finding = &names[0];
        assert!(finding["file"]
            .as_str()
            .unwrap()
            .ends_with("main/0.3.0/metadata/annotations.yaml"));
        assert_eq!(
            finding["path"],
            "annotations[\"operators.operatorframework.io.bundle.package.v1\"]"
        );
        assert_eq!(finding["line"], 5);
        assert_eq!(finding["found"], package);
        assert!(finding["expected"].as_str().unwrap().contains("DNS-1123"));
    }
}

#[test]
fn bd_list_checks_names_bd0009() {
    let output = tool("addon-validate").arg("--list-checks").run().success();
    assert!(output.stdout().contains("BD0009"));
}

#[test]
fn json_mode_prints_the_findings_report_when_the_yaml_does_not_parse() {
    let report = validate_stdin_json("id: my-addon\nname: [unclosed\nlabel: x\n")
        .run()
        .exit(1)
        .json();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["file"], "<stdin>");
    assert!(finding["line"].as_u64().is_some(), "{report}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("not valid YAML"),
        "{report}"
    );
}

#[test]
fn a_findings_report_piped_into_addon_validate_says_how_many_problems() {
    let broken = validate_stdin_json("id: x\n").run().exit(1);
    let report = broken.json();
    let errors = report["errors"].as_u64().unwrap();
    let again = tool("addon-validate")
        .write_stdin(broken.stdout())
        .run()
        .exit(1);
    again
        .stderr_has(&format!("found {errors} problem(s)"))
        // No schema errors about the report.
        .stderr_lacks("SC0001");
}

/// PyYAML (managed-tenants' loader) reads an unquoted `2001-12-14` as a date
/// and `.inf` as a float, and jsonschema then refuses them where a string is
/// required; quoted, they are strings for both tools.
#[test]
fn an_unquoted_date_where_a_string_is_required_is_rejected_as_mtcli_does() {
    let sandbox = Sandbox::new();
    sandbox.edit(
        STAGE,
        "description: A small operator that shows every stage of the addon-flow deploy.",
        "description: 2001-12-14",
    );
    sandbox.edit(
        STAGE,
        "openshift.io/description: reference-addon",
        "openshift.io/description: -.Inf",
    );
    let report = sandbox.run(&[]).exit(1).json();
    let findings = report["findings"].as_array().unwrap();
    let message_at = |path: &str| {
        findings
            .iter()
            .find(|f| f["path"] == path && f["code"] == "SC0002")
            .and_then(|f| f["message"].as_str())
            .unwrap_or_else(|| panic!("no type finding at {path}: {findings:?}"))
            .to_string()
    };
    assert!(
        message_at("description")
            .starts_with("datetime.date(2001, 12, 14) is not of type 'string'"),
        "{findings:?}"
    );
    assert!(
        message_at("namespaceAnnotations[\"openshift.io/description\"]")
            .starts_with("-inf is not of type 'string'"),
        "{findings:?}"
    );
}

#[test]
fn a_quoted_date_where_a_string_is_required_is_accepted() {
    let sandbox = Sandbox::new();
    sandbox.edit(
        STAGE,
        "description: A small operator that shows every stage of the addon-flow deploy.",
        "description: '2001-12-14'",
    );
    let document = sandbox.run(&[]).success().json();
    assert_eq!(document["description"], "2001-12-14");
}

// ---------------------------------------------------------------------------
// The tree as managed-tenants-cli's command-line loader reads it (CL codes).

/// `addon-validate --all TREE --env stage -o json` on the sandbox's tree.
fn validate_tree(sandbox: &Sandbox, extra: &[&str]) -> Run {
    tool("addon-validate")
        .arg("--all")
        .arg(sandbox.path("managed-tenants"))
        .args(["--env", "stage", "-o", "json"])
        .args(extra)
        .run()
}

#[test]
fn a_folder_not_named_with_its_addon_id_is_reported_and_not_validated() {
    let sandbox = Sandbox::new();
    let addons = sandbox.path("managed-tenants/addons");
    // A name that would run `id` in a shell; its add-on would also fail to
    // render an extra resource if it were read.
    let hostile = addons.join("x`id>PWNED`");
    e2e::copy_tree(&addons.join("logging-addon"), &hostile);
    let dashboard = hostile.join("metadata/stage/logging-dashboard.yaml.j2");
    std::fs::write(&dashboard, "{{ ADDON.nope.deeper }}\n").unwrap();
    // A good name that is not the add-on's id.
    e2e::copy_tree(
        &addons.join("reference-addon"),
        &addons.join("renamed-addon"),
    );

    let report = validate_tree(&sandbox, &[]).exit(1).json();
    let named = findings_of(&report, "CL0002");
    assert_eq!(named.len(), 2, "{report}");
    let hostile_finding = named
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("x`id>PWNED`"))
        .expect("the hostile folder is named");
    assert!(hostile_finding["message"]
        .as_str()
        .unwrap()
        .contains("not an add-on id"));
    let unread: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str().unwrap().contains("x`id>PWNED`/"))
        .collect();
    assert!(unread.is_empty(), "nothing inside it is read: {unread:?}");
    let renamed = named
        .iter()
        .find(|f| f["file"].as_str().unwrap().contains("renamed-addon/"))
        .expect("the folder that is not the id");
    assert_eq!(renamed["path"], "id");
    let id_line = std::fs::read_to_string(addons.join("renamed-addon/metadata/stage/addon.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("id: "))
        .unwrap()
        + 1;
    assert_eq!(renamed["line"], id_line);
    assert!(renamed["message"]
        .as_str()
        .unwrap()
        .contains("\"renamed-addon\""));
}

#[cfg(unix)]
#[test]
fn a_symlinked_addon_or_environment_folder_is_refused_and_not_followed() {
    let sandbox = Sandbox::new();
    let addons = sandbox.path("managed-tenants/addons");
    // Complete, valid add-ons outside the tree.
    let outside = sandbox.path("outside");
    e2e::copy_tree(
        &addons.join("reference-addon"),
        &outside.join("linked-addon"),
    );
    let linked_yaml = outside.join("linked-addon/metadata/stage/addon.yaml");
    e2e::replace_in(&linked_yaml, "reference-addon", "linked-addon");
    std::os::unix::fs::symlink(outside.join("linked-addon"), addons.join("linked-addon")).unwrap();
    let stage = addons.join("logging-addon/metadata/stage");
    std::fs::rename(&stage, outside.join("logging-stage")).unwrap();
    std::os::unix::fs::symlink(outside.join("logging-stage"), &stage).unwrap();

    let out = tool("addon-validate")
        .arg("--all")
        .arg(sandbox.path("managed-tenants"))
        .args(["--env", "stage", "--documents"])
        .run()
        .exit(1)
        .stderr_has("CL0003");
    let lines = out.json_lines();
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.get("id").and_then(Value::as_str))
        .collect();
    assert_eq!(ids, ["reference-addon"], "no add-on is read through a link");
    let inventory = lines.last().unwrap();
    assert_eq!(
        inventory["addons"],
        serde_json::json!(["linked-addon", "logging-addon", "reference-addon"]),
        "refused add-ons are still in the tree: their live objects are kept"
    );

    let report = validate_tree(&sandbox, &[]).exit(1).json();
    let links: Vec<String> = findings_of(&report, "CL0003")
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(links.len(), 2, "{report}");
    assert!(links.iter().any(|f| f.ends_with("addons/linked-addon")));
    assert!(links
        .iter()
        .any(|f| f.ends_with("logging-addon/metadata/stage")));
}

/// managed-tenants-cli's command-line loader (`core/addons_loader`,
/// `instantiate_addon` passes `imageset_latest_only=True`) refuses a pinned
/// `addonImageSetVersion`: "Pointing to a specific version is not allowed.
/// Please use only latest." The Addon constructor alone (golden/validate.tsv's
/// `full-load`) does not.
#[test]
fn a_pinned_image_set_version_is_an_error_of_its_own_that_disable_switches_off() {
    let sandbox = Sandbox::new();
    sandbox.edit(
        STAGE,
        "addonImageSetVersion: latest",
        "addonImageSetVersion: 0.2.0",
    );
    let output = sandbox.run(&[]).exit(1);
    let report = output.json();
    let pinned = findings_of(&report, "CL0001");
    assert_eq!(pinned.len(), 1, "{report}");
    assert_eq!(pinned[0]["path"], "addonImageSetVersion");
    assert!(pinned[0]["line"].as_u64().is_some());
    assert!(pinned[0]["message"]
        .as_str()
        .unwrap()
        .contains("use only latest"));
    assert_eq!(report["errors"], 1, "{report}");

    let document = sandbox.run(&["--disable", "CL0001"]).success().json();
    assert_eq!(document["imageSet"]["name"], "reference-addon.v0.2.0");
    // The other tools keep rendering a pinned version.
    let rendered = tool("syncset-render")
        .arg(sandbox.path(STAGE))
        .args(["--selector", "-o", "json"])
        .run()
        .success();
    assert!(rendered
        .stdout()
        .contains(document["imageSet"]["indexImage"].as_str().unwrap()));
}

// ---------------------------------------------------------------------------
// One finding format (issue 21 §3) and a summary for CI logs (§4).

#[test]
fn a_yaml_syntax_error_is_the_same_finding_line_in_every_mode() {
    let sandbox = Sandbox::new();
    let path = sandbox.path(STAGE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}name: [unclosed\n")).unwrap();
    let finding_line = |run: &Run| -> String {
        run.stderr()
            .lines()
            .find(|l| l.contains("SC0011"))
            .unwrap_or_else(|| panic!("no SC0011 line: {}", run.stderr()))
            .to_string()
    };

    let plain = tool("addon-validate").arg(&path).run().exit(1);
    let json = tool("addon-validate")
        .arg(&path)
        .args(["-o", "json"])
        .run()
        .exit(1);
    let all = validate_tree(&sandbox, &[]).exit(1);
    let lines = [
        finding_line(&plain),
        finding_line(&json),
        finding_line(&all),
    ];
    // `FILE:LINE: error SC0011: (document): is not valid YAML...`
    let rest = lines[0]
        .strip_prefix(&format!("{}:", path.display()))
        .unwrap_or_else(|| panic!("{}", lines[0]));
    let (line, rest) = rest.split_once(':').unwrap();
    let line: usize = line.parse().unwrap_or_else(|_| panic!("{}", lines[0]));
    assert!(line > text.lines().count(), "{}", lines[0]);
    assert!(
        rest.starts_with(" error SC0011: (document): is not valid YAML"),
        "{rest}"
    );
    for printed in &lines {
        assert_eq!(printed, &lines[0]);
    }
    for report in [json.json(), all.json()] {
        let finding = &findings_of(&report, "SC0011")[0];
        assert_eq!(finding["line"], line, "{finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(message.starts_with("is not valid YAML"), "{message}");
    }
}

#[test]
fn all_prints_a_short_summary_and_the_full_report_only_with_json() {
    let sandbox = Sandbox::new();
    sandbox.edit(STAGE, "enabled: true", "enabled: \"true\"");
    let tree = sandbox.path("managed-tenants");
    let summary = tool("addon-validate").arg("--all").arg(&tree).run().exit(1);
    let text = summary.stdout();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "not JSON: {text}"
    );
    assert!(text.lines().count() <= 4, "short: {text}");
    assert!(text.contains("9 file(s) checked"), "{text}");
    let invalid: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("invalid: "))
        .collect();
    assert_eq!(invalid.len(), 1, "{text}");
    assert!(invalid[0].contains("reference-addon (stage)"), "{text}");
    assert!(invalid[0].contains("1 error(s)"), "{text}");
    // The findings themselves stay on stderr, in the one format.
    summary.stderr_has(": error SC0002: enabled:");

    let report = tool("addon-validate")
        .arg("--all")
        .arg(&tree)
        .args(["-o", "json"])
        .run()
        .exit(1)
        .json();
    assert_eq!(report["files"].as_array().unwrap().len(), 9);
}

#[test]
fn addon_validate_offers_no_verbose_flag_since_it_sends_no_request() {
    let help = tool("addon-validate").arg("--help").run().success();
    help.stdout_lacks("HTTP").stdout_lacks("--verbose");
    tool("addon-validate").args(["-v", EXAMPLE]).run().exit(2);
    tool("addon-validate").args(["-q", EXAMPLE]).run().success();
}

#[test]
fn two_image_set_files_for_one_version_are_mt0005_naming_both_not_a_silent_pick() {
    // Our earlier --imagesets-out added `<id>.v<version>.yml` beside the
    // `.yaml` managed-tenants-cli's image set creator writes: two files for
    // one version, of which the loader used to pick one without a word.
    let addon = e2e::ReferenceAddon::new();
    let existing = addon
        .addon_dir
        .join("addonimagesets/stage/reference-addon.v0.3.0.yml");
    let text = std::fs::read_to_string(&existing).unwrap();
    addon.write(
        "addonimagesets/stage/reference-addon.v0.3.0.yaml",
        &text.replace(
            "sha256:000000000000000000000000000000000000000000000000000000000000000",
            "sha256:999999999999999999999999999999999999999999999999999999999999999",
        ),
    );
    let output = e2e::tool("addon-validate")
        .arg(addon.addon_yaml())
        .args(["-o", "json"])
        .run()
        .exit(1);
    let report = output.json();
    let duplicates = findings_of(&report, "MT0005");
    assert_eq!(duplicates.len(), 1, "{report}");
    let message = duplicates[0]["message"].as_str().unwrap();
    assert!(
        message.contains("2 image set files have version 0.3.0")
            && message.contains("reference-addon.v0.3.0.yml")
            && message.contains("reference-addon.v0.3.0.yaml"),
        "{message}"
    );
    assert!(
        duplicates[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("metadata/stage/addon.yaml"),
        "{report}"
    );
}

/// A FIFO where a tree holds a file (an `addon.yaml`, or an image set that
/// links to one) is refused at once with the file named; before, the open
/// waited for a writer that never came, and the tool hung.
#[test]
fn a_fifo_in_the_tree_is_refused_not_waited_on() {
    let sandbox = Sandbox::new();
    let addons = sandbox.path("managed-tenants/addons");
    let fifo = sandbox.path("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let logging = addons.join("logging-addon/metadata/stage/addon.yaml");
    std::fs::remove_file(&logging).unwrap();
    std::os::unix::fs::symlink(
        &fifo,
        addons.join("reference-addon/addonimagesets/stage/reference-addon.v0.4.0.yml"),
    )
    .unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&logging)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", logging.display());

    let started = std::time::Instant::now();
    let out = tool("addon-validate")
        .arg("--all")
        .arg(sandbox.path("managed-tenants"))
        .args(["--env", "stage", "-o", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .run()
        .exit(1);
    assert!(
        started.elapsed().as_secs() < 60,
        "addon-validate waited on a FIFO"
    );
    let report = out.json();
    let not_regular = |file: &str| {
        findings_of(&report, "SC0011").iter().any(|f| {
            f["file"].as_str().is_some_and(|at| at.ends_with(file))
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not a regular file"))
        })
    };
    assert!(
        not_regular("logging-addon/metadata/stage/addon.yaml"),
        "{report}"
    );
    assert!(not_regular("reference-addon.v0.4.0.yml"), "{report}");
}

/// mimalloc, addon-validate's allocator, is built with transparent huge
/// pages off (.cargo/config.toml): where the kernel backs every process
/// with them (`always`), they would double its peak memory. The flag the
/// allocator sets is read from the running process.
#[cfg(target_os = "linux")]
#[test]
fn the_allocator_runs_without_transparent_huge_pages() {
    if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
        eprintln!("this kernel has no transparent huge pages: nothing to turn off");
        return;
    }
    // Waits on its stdin, which stays open, once the allocator is set up.
    let mut child = std::process::Command::new(e2e::bin_path("addon-validate"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let started = std::time::Instant::now();
    let mut seen = String::new();
    while started.elapsed() < std::time::Duration::from_secs(20) {
        seen = std::fs::read_to_string(&status)
            .unwrap_or_default()
            .lines()
            .find(|line| line.starts_with("THP_enabled:"))
            .unwrap_or_default()
            .to_string();
        if seen.ends_with('0') {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        seen.split_whitespace().collect::<Vec<_>>(),
        ["THP_enabled:", "0"],
        "{status}"
    );
}
