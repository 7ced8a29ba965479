//! Extra resources as managed-tenants-cli renders them (issue 20 §1), read
//! safely (issue 19 §3) and within bounds (issue 19 §4), through the tools
//! users run: addon-validate refuses what mtcli refuses, with the file and
//! line; its document renders in syncset-render without the tree; hostile
//! templates and files end at once with exit 1, naming the file.

use std::path::PathBuf;
use std::time::Duration;

use e2e::{tool, ReferenceAddon, RunExt};
use serde_json::Value;

const STAGE: &str = "metadata/stage/addon.yaml";

/// Generous: a hang (a FIFO read, an endless loop) fails the test instead
/// of the suite.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The reference add-on with one extra resource, `extra.yaml.j2`.
struct Tree {
    addon: ReferenceAddon,
}

impl Tree {
    fn with_extra_resource(template: &str) -> Tree {
        let addon = ReferenceAddon::new();
        addon.append(STAGE, "extraResources:\n  - extra.yaml.j2\n");
        addon.write("metadata/stage/extra.yaml.j2", template);
        Tree { addon }
    }

    fn addon_yaml(&self) -> PathBuf {
        self.addon.addon_yaml()
    }

    fn metadata(&self, name: &str) -> PathBuf {
        self.addon.addon_dir.join("metadata/stage").join(name)
    }

    fn validate(&self) -> e2e::Run {
        tool("addon-validate")
            .arg(self.addon_yaml())
            .timeout(HANG_GUARD)
            .run()
    }

    fn render(&self) -> e2e::Run {
        tool("syncset-render")
            .arg(self.addon_yaml())
            .args(["--selector", "-o", "json"])
            .timeout(HANG_GUARD)
            .run()
    }

    /// addon-validate and syncset-render both refuse the add-on with exit 1,
    /// nothing on stdout, and stderr holding each of `words`.
    fn assert_refused(&self, words: &[&str]) {
        for run in [self.validate(), self.render()] {
            let run = run.exit(1).no_stdout();
            let stderr = run.stderr();
            for word in words {
                assert!(stderr.contains(word), "no {word:?} in:\n{stderr}");
            }
        }
    }
}

/// The extra resource's object in a rendered List.
fn extra_object(list: &Value, name: &str) -> Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["kind"] == "ConfigMap" && item["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ConfigMap {name} in {list:#}"))
        .clone()
}

#[test]
fn an_extra_resource_renders_as_mtcli_renders_it_from_the_tree_or_the_document() {
    // Block tags on their own lines (trim_blocks, lstrip_blocks), an
    // include beside addon.yaml, labels in file order, dict.items() tuples,
    // ADDON.name, `%` formatting: the values are Jinja2 3.1's (see
    // common/src/text/jinja/tests.rs for each rule's source).
    let tree = Tree::with_extra_resource(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ '%s-extra' % ADDON.name }}\ndata:\n  \
         script: |\n    #!/bin/sh\n    {% for ns in ADDON.metadata.namespaces %}\n    echo {{ ns }}\n    \
         {% endfor %}\n  labels: \"{{ ADDON.metadata.namespaceLabels.items() }}\"\n\
         {% include 'parts/more.j2' %}\n",
    );
    tree.addon.edit(
        STAGE,
        "namespaceLabels:\n  monitoring-key: reference\n",
        "namespaceLabels:\n  monitoring-key: reference\n  a-key: first-letter\n",
    );
    std::fs::create_dir_all(tree.metadata("parts")).unwrap();
    tree.addon.write(
        "metadata/stage/parts/more.j2",
        "  more: '{{ ADDON.metadata.namespaceLabels | tojson }}'",
    );
    let from_tree: Value = tree.render().success().json();
    let object = extra_object(&from_tree, "reference-addon-extra");
    assert_eq!(
        object["data"],
        serde_json::json!({
            "script": "#!/bin/sh\necho redhat-reference-addon\n",
            "labels": "dict_items([('monitoring-key', 'reference'), ('a-key', 'first-letter')])",
            "more": "{\"a-key\": \"first-letter\", \"monitoring-key\": \"reference\"}",
        })
    );
    // addon-validate's document carries the include and the key order:
    // syncset-render needs no tree to render the same.
    let document = tool("addon-validate")
        .arg(tree.addon_yaml())
        .args(["-o", "json"])
        .run()
        .success()
        .stdout();
    let from_document: Value = tool("syncset-render")
        .args(["--selector", "-o", "json"])
        .write_stdin(document)
        .run()
        .success()
        .json();
    assert_eq!(from_document, from_tree);
}

#[test]
fn an_undefined_key_or_name_is_refused_with_the_file_and_line() {
    // StrictUndefined: mtcli refuses the add-on; so does every tool here.
    let tree = Tree::with_extra_resource(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ ADDON.metadata['lable'] }}\n",
    );
    let file = tree.metadata("extra.yaml.j2");
    tree.assert_refused(&[&format!("{}:4: error MT0004", file.display()), "undefined"]);
    let tree = Tree::with_extra_resource(
        "apiVersion: v1\nkind: ConfigMap\n{% if enable_extra %}\ndata: {}\n{% endif %}\n",
    );
    let file = tree.metadata("extra.yaml.j2");
    tree.assert_refused(&[
        &format!("{}:3: error MT0004", file.display()),
        "enable_extra",
    ]);
}

#[test]
fn a_symlink_out_of_the_metadata_folder_is_refused_and_its_content_never_rendered() {
    let tree = Tree::with_extra_resource("apiVersion: v1\nkind: ConfigMap\n");
    let kubeconfig = tree.addon.scratch().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {token: sha256~s3cr3t}\n",
    )
    .unwrap();
    std::fs::remove_file(tree.metadata("extra.yaml.j2")).unwrap();
    std::os::unix::fs::symlink(&kubeconfig, tree.metadata("extra.yaml.j2")).unwrap();
    tree.assert_refused(&[
        "error MT0003",
        "is a symlink to",
        "outside the add-on's metadata folder",
    ]);
    for run in [tree.validate(), tree.render()] {
        assert!(!run.stderr().contains("s3cr3t") && !run.stdout().contains("s3cr3t"));
    }
    // Included, it is refused too.
    let tree =
        Tree::with_extra_resource("apiVersion: v1\nkind: Config\n{% include 'linked.yaml' %}\n");
    std::os::unix::fs::symlink(&kubeconfig, tree.metadata("linked.yaml")).unwrap();
    tree.assert_refused(&["error MT0004", "is a symlink to"]);
}

#[test]
fn a_fifo_is_refused_at_once_not_waited_on() {
    // Reading a FIFO waits for a writer for ever: both tools used to hang.
    let tree = Tree::with_extra_resource("");
    std::fs::remove_file(tree.metadata("extra.yaml.j2")).unwrap();
    e2e::mkfifo(&tree.metadata("extra.yaml.j2"));
    tree.assert_refused(&["error MT0003", "FIFO"]);
    let tree = Tree::with_extra_resource("apiVersion: v1\nkind: ConfigMap\n{% include 'pipe' %}\n");
    e2e::mkfifo(&tree.metadata("real-pipe"));
    std::os::unix::fs::symlink("real-pipe", tree.metadata("pipe")).unwrap();
    tree.assert_refused(&["error MT0004", "FIFO"]);
}

#[test]
fn hostile_templates_end_on_a_bound_with_exit_1_naming_the_file() {
    // Issue 19 §4: two nested loops ran for ever; doubling a string took
    // 10 GB in a minute. Each ends on a bound, at once.
    for (template, word) in [
        (
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "steps",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "steps",
        ),
        ("kind: {{ 'x' * 3000000 }}", "MiB"),
    ] {
        let tree = Tree::with_extra_resource(template);
        let file = tree.metadata("extra.yaml.j2");
        tree.assert_refused(&[&format!("{}:1: error MT0004", file.display()), word]);
    }
}

#[test]
fn a_list_nested_tens_of_thousands_deep_ends_on_its_bound_on_every_thread() {
    // The tools render templates on deep-stack threads, not on a thread per
    // template: in place on addon-validate's tree workers, else on the
    // process's one deep-stack thread (syncset-render, one addon.yaml). Each
    // must still have the stack for the deepest nesting the fuel allows, and
    // end on the bound, not on a stack overflow.
    let tree = Tree::with_extra_resource(
        "{% set ns = namespace(v=1) %}{% for i in range(1000000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}",
    );
    let file = tree.metadata("extra.yaml.j2");
    let at = format!("{}:1: error MT0004", file.display());
    tree.assert_refused(&[&at, "steps"]);
    let addon_dir = &tree.addon.addon_dir;
    let root = addon_dir.parent().unwrap().parent().unwrap();
    for jobs in ["1", "2"] {
        let run = tool("addon-validate")
            .arg("--all")
            .arg(root)
            .args(["--env", "stage", "--documents", "--jobs", jobs])
            .timeout(HANG_GUARD)
            .run()
            .exit(1);
        let stderr = run.stderr();
        assert!(stderr.contains(&at) && stderr.contains("steps"), "{stderr}");
    }
}
