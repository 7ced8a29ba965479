//! The loading rules (common::check::load_rules) run in every tool that reads an
//! add-on: given a raw addon.yaml that breaks one of them, syncset-render,
//! ocm-post --dry-run and catalog-build refuse it with exit 1, print nothing
//! on stdout, and report the finding addon-validate reports, word for word.

use std::path::{Path, PathBuf};

use e2e::{repo_root, tool, ReferenceAddon, RunExt};

const STAGE: &str = "metadata/stage/addon.yaml";

/// The reference add-on's stage tree, copied so a test can break it.
struct Tree {
    addon: ReferenceAddon,
    addon_yaml: PathBuf,
    scratch: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let addon = ReferenceAddon::new();
        Tree {
            addon_yaml: addon.addon_yaml(),
            scratch: addon.scratch(),
            addon,
        }
    }

    /// Replaces `from` (which must be there) with `to` in addon.yaml.
    fn edit(&self, from: &str, to: &str) -> &Tree {
        self.addon.edit(STAGE, from, to);
        self
    }

    fn append(&self, lines: &str) -> &Tree {
        self.addon.append(STAGE, lines);
        self
    }

    fn metadata_file(&self, name: &str, text: &str) -> &Tree {
        self.addon.write(&format!("metadata/stage/{name}"), text);
        self
    }

    /// The error lines addon-validate prints for the add-on (it must refuse it).
    fn validate_errors(&self) -> Vec<String> {
        let output = tool("addon-validate").arg(&self.addon_yaml).run().exit(1);
        output
            .stderr()
            .lines()
            .filter(|line| line.contains(": error "))
            .map(str::to_string)
            .collect()
    }

    /// Runs each tool on the raw addon.yaml; each must refuse it with the
    /// findings addon-validate reports, among them one with `code` at `field`.
    fn assert_every_tool_refuses(&self, code: &str, field: &str) {
        let expected = self.validate_errors();
        assert!(
            expected
                .iter()
                .any(|line| line.contains(&format!("error {code}: {field}"))),
            "addon-validate did not report {code} at {field}: {expected:#?}"
        );
        let layout = self.scratch.join("layout");
        let home = self.scratch.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let bundles = repo_root().join("examples/managed-tenants-bundles/addons/reference-addon");
        let runs: [(&str, Vec<&std::ffi::OsStr>); 3] = [
            ("syncset-render", vec!["--selector".as_ref()]),
            (
                "ocm-post",
                vec!["--dry-run".as_ref(), "--url".as_ref(), "stage".as_ref()],
            ),
            (
                "catalog-build",
                vec![
                    "--bundles".as_ref(),
                    bundles.as_os_str(),
                    "--oci-layout".as_ref(),
                    layout.as_os_str(),
                ],
            ),
        ];
        for (name, args) in runs {
            let output = tool(name)
                .arg(&self.addon_yaml)
                .args(args)
                .env("HOME", &home)
                .env_remove("OCM_TOKEN")
                .run()
                .exit(1);
            let stderr = output.stderr();
            assert!(output.stdout().is_empty(), "{name} wrote output");
            for line in &expected {
                assert!(
                    stderr.contains(line.as_str()),
                    "{name} does not report {line:?}:\n{stderr}"
                );
            }
        }
        assert!(!layout.exists(), "catalog-build wrote a layout");
    }
}

#[test]
fn the_unchanged_reference_addon_passes_every_tool() {
    let tree = Tree::new();
    tool("syncset-render")
        .arg(&tree.addon_yaml)
        .arg("--selector")
        .run()
        .success();
}

/// One test per case: the reference add-on changed by the case's closure,
/// which every tool refuses with the finding `code` at `field` (the test's
/// name says which rule).
macro_rules! every_tool_refuses {
    ($($name:ident: $change:expr => $code:literal at $field:literal;)*) => {$(
        #[test]
        fn $name() {
            let tree = Tree::new();
            let change: fn(&Tree) -> &Tree = $change;
            change(&tree).assert_every_tool_refuses($code, $field);
        }
    )*};
}

every_tool_refuses! {
    pull_secret_naming_no_config_secret_is_refused_by_every_tool: |tree| tree.edit(
        "pullSecretName: reference-addon-pull-secret",
        "pullSecretName: no-such-secret",
    ) => "AM0017" at "pullSecretName";

    two_additional_catalog_sources_of_one_name_are_refused_by_every_tool: |tree| tree.append(
        "additionalCatalogSources:\n  - name: extra-catalog\n    image: quay.io/osd-addons/extra@sha256:1\n  \
         - name: extra-catalog\n    image: quay.io/osd-addons/extra@sha256:2\n",
    ) => "AM0016" at "additionalCatalogSources[1]";

    duplicate_secret_names_are_refused_by_every_tool: |tree| tree.edit(
        "  secrets:\n",
        "  secrets:\n    - name: reference-addon-pull-secret\n      type: Opaque\n      \
         vaultPath: addons/reference-addon/other\n      version: 1\n      fields: [key]\n",
    ) => "AM0016" at "config.secrets[1]";

    snitch_post_fix_starting_with_hive_is_refused_by_every_tool: |tree| tree.edit(
        "deadmanssnitch:\n  tags:",
        "deadmanssnitch:\n  snitchNamePostFix: hive-reference\n  tags:",
    ) => "AM0006" at "deadmanssnitch.snitchNamePostFix";

    an_extra_resource_that_renders_no_object_is_refused_by_every_tool: |tree| tree
        .append("extraResources:\n  - text.yaml.j2\n")
        .metadata_file(
            "text.yaml.j2",
            "{% for ns in ADDON.metadata.namespaces %}{{ ns }} {% endfor %}\n",
        ) => "MT0004" at "(document)";
}

#[test]
fn an_extra_resource_that_does_not_render_is_refused_by_every_tool_at_its_line() {
    let tree = Tree::new();
    tree.append("extraResources:\n  - broken.yaml.j2\n")
        .metadata_file(
            "broken.yaml.j2",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ ADDON.metadata.pagerduty.nope.deeper }}\n",
        );
    let expected = tree.validate_errors();
    let broken = tree.addon_yaml.with_file_name("broken.yaml.j2");
    assert!(
        expected
            .iter()
            .any(|line| line.starts_with(&format!("{}:4: error MT0004", broken.display()))),
        "{expected:#?}"
    );
    tree.assert_every_tool_refuses("MT0004", "(document)");
}

/// A document written by another stage (not an addon.yaml) goes through the
/// same rules: a hand-edited add-on document is refused too.
#[test]
fn a_document_that_breaks_a_rule_after_validation_is_still_refused() {
    let tree = Tree::new();
    let output = tool("addon-validate")
        .arg(&tree.addon_yaml)
        .args(["-o", "json"])
        .run()
        .success();
    let mut document: serde_json::Value = output.json();
    document["pullSecretName"] = "edited-by-hand".into();
    let path: &Path = &tree.scratch.join("addon.json");
    std::fs::write(path, serde_json::to_vec(&document).unwrap()).unwrap();
    let output = tool("syncset-render")
        .arg(path)
        .arg("--selector")
        .run()
        .exit(1);
    let stderr = output.stderr();
    assert!(stderr.contains("error AM0017: pullSecretName"), "{stderr}");
}
