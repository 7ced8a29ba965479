//! The fleet: streams of add-on documents through the tools, the whole tree
//! at once, incrementally (README.md, "Fleet").

use std::path::{Path, PathBuf};
use std::process::Command;

use addon_flow_testservers::ocm::{FakeOcm, ACCESS_TOKEN};
use common::model::inventory::{Failure, Inventory, Scope, ADDON_LABEL, LIST_ANNOTATION};
use e2e::{copy_tree, example_tree, git, repo_root, tool, Run, RunExt};
use serde_json::Value;

/// `addon-validate --all TREE --env stage OUTPUT EXTRA...`: the stage
/// add-ons of a tree, printed as `output` (`--documents`, `--list-ids`) says.
fn select_stage(tree: &Path, output: &str, extra: &[&str]) -> Run {
    tool("addon-validate")
        .arg("--all")
        .arg(tree)
        .args(["--env", "stage", output])
        .args(extra)
        .run()
}

/// The stage documents of a tree, one JSON line each.
fn documents(tree: &Path, extra: &[&str]) -> Run {
    select_stage(tree, "--documents", extra)
}

/// The lines of `addon_documents`, as a stream holds them.
fn document_lines(tree: &Path) -> Vec<String> {
    addon_documents(&documents(tree, &[]).success())
        .iter()
        .map(Value::to_string)
        .collect()
}

/// `syncset-render --selector -o FORMAT` of a stream on stdin.
fn render_stream(stream: impl Into<Vec<u8>>, format: &str) -> Run {
    tool("syncset-render")
        .args(["--selector", "-o", format])
        .write_stdin(stream)
        .run()
}

/// The add-on documents of a stream a run printed, without the inventory
/// that ends it.
fn addon_documents(run: &Run) -> Vec<Value> {
    run.json_lines()
        .into_iter()
        .filter(|line| !Inventory::is_inventory(line))
        .collect()
}

/// The inventory that ends the stream a run printed: its last line.
fn inventory_of(run: &Run) -> Inventory {
    let lines = run.json_lines();
    let last = lines.last().expect("a stream ending with an inventory");
    assert!(Inventory::is_inventory(last), "the last line: {last}");
    assert_eq!(
        lines.iter().filter(|l| Inventory::is_inventory(l)).count(),
        1,
        "one inventory"
    );
    serde_json::from_value(last.clone()).unwrap()
}

/// The ids of the documents a run printed.
fn ids(run: &Run) -> Vec<String> {
    addon_documents(run)
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

/// Two good documents with a bad one (id `broken-addon`) between them.
fn stream_with_a_bad_document(tree: &Path) -> String {
    let docs = addon_documents(&documents(tree, &[]).success());
    assert_eq!(docs.len(), 2);
    let mut bad = docs[0].clone();
    bad["id"] = Value::from("broken-addon");
    bad["enabled"] = Value::from("sometimes");
    format!("{}\n{bad}\n{}\n", docs[0], docs[1])
}

/// The names of the objects in the List a run printed (YAML).
fn object_names(run: &Run) -> Vec<String> {
    run.yaml()["items"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn validate_documents_prints_the_valid_addons_and_exits_1_for_an_invalid_one() {
    let (_dir, tree) = example_tree();
    let addon = tree.join("addons/logging-addon/metadata/stage/addon.yaml");
    let text = std::fs::read_to_string(&addon).unwrap();
    std::fs::write(&addon, format!("{text}unknownField: 1\n")).unwrap();
    let out = documents(&tree, &[]).exit(1).stderr_has("unknownField");
    assert_eq!(
        ids(&out),
        ["reference-addon"],
        "the valid add-on is still printed"
    );
}

#[test]
fn a_bad_document_in_a_stream_is_named_by_id_and_the_others_are_rendered() {
    let (_dir, tree) = example_tree();
    let stream = stream_with_a_bad_document(&tree);
    // The worst exit code: invalid input.
    let out = tool("syncset-render")
        .arg("--selector")
        .write_stdin(stream.clone())
        .run()
        .exit(1)
        .stderr_has("broken-addon (document 2)");
    let names = object_names(&out);
    assert!(
        names.contains(&"addon-logging-addon".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"addon-reference-addon".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("broken")), "{names:?}");

    // The same stream as YAML documents.
    let yaml: String = stream
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|d| format!("---\n{}", serde_yaml::to_string(&d).unwrap()))
        .collect();
    let out = tool("syncset-render")
        .arg("--selector")
        .write_stdin(yaml)
        .run()
        .exit(1)
        .stderr_has("broken-addon (document 2)");
    assert_eq!(object_names(&out), names);
}

/// ocm-post publishing `input` to fake `ocm` (JSON out), signed in with its
/// static token, with HOME beside the `tree` (no ~/.config/ocm of the machine's).
fn ocm_post(ocm: &FakeOcm, tree: &Path, input: &str, args: &[&str]) -> Run {
    tool("ocm-post")
        .env("OCM_TOKEN", ACCESS_TOKEN)
        .env("HOME", tree.parent().unwrap())
        .args(["--url", &ocm.url(), "-o", "json"])
        .args(args)
        .write_stdin(input.to_string())
        .run()
}

#[test]
fn ocm_post_publishes_a_stream_and_a_second_run_sends_no_write() {
    let (_dir, tree) = example_tree();
    let stream = stream_with_a_bad_document(&tree);
    let ocm = FakeOcm::start().unwrap();
    let post = |input: &str, args: &[&str]| ocm_post(&ocm, &tree, input, args);
    post(&stream, &[])
        .exit(1)
        .stderr_has("broken-addon (document 2)");
    assert!(ocm.addon("logging-addon").is_some());
    assert!(ocm.addon("reference-addon").is_some());
    assert!(ocm.addon("broken-addon").is_none());

    let good = documents(&tree, &[]).success().stdout();
    let before = ocm.requests().len();
    post(&good, &[]).success();
    let writes: Vec<String> = ocm.requests()[before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        writes,
        Vec::<String>::new(),
        "nothing changed, nothing written"
    );
}

#[test]
fn ocm_post_diff_names_each_difference_and_prune_deletes_what_the_stream_lacks() {
    let (_dir, tree) = example_tree();
    let ocm = FakeOcm::start().unwrap();
    let post = |input: &str, args: &[&str]| ocm_post(&ocm, &tree, input, args);
    let good = documents(&tree, &[]).success();
    post(&good.stdout(), &[]).success();

    // One add-on changes its description; the other leaves the tree: the
    // stream is the whole environment, whose inventory lists logging-addon only.
    let mut docs = addon_documents(&good);
    let reference = docs.pop().unwrap();
    let mut logging = docs.pop().unwrap();
    assert_eq!(logging["id"], "logging-addon");
    let old_description = logging["description"].clone();
    logging["description"] = Value::from("Now with more logs");
    let mut inventory = inventory_of(&good);
    inventory.addons.remove("reference-addon");
    let stream = format!(
        "{logging}\n{}\n",
        serde_json::to_string(&inventory).unwrap()
    );

    let before = ocm.requests().len();
    // The add-on the stream lacks is listed, not deleted.
    let records = post(&stream, &["--diff"])
        .success()
        .stderr_has("reference-addon")
        .json_values();
    let addon = records
        .iter()
        .find(|r| r["what"] == "add-on")
        .expect("the add-on's comparison");
    assert_eq!(addon["id"], "logging-addon");
    assert_eq!(addon["state"], "different");
    assert_eq!(
        addon["differences"],
        serde_json::json!([{"field": "description", "ocm": old_description, "ours": "Now with more logs"}])
    );
    assert!(
        ocm.requests()[before..].iter().all(|r| r.method == "GET"),
        "--diff changes nothing"
    );
    assert_eq!(
        ocm.addon("logging-addon").unwrap()["description"],
        old_description
    );
    assert!(
        ocm.addon("reference-addon").is_some(),
        "listed, not deleted"
    );

    let pruned = post(&stream, &["--prune"]).success();
    assert_eq!(
        ocm.addon("logging-addon").unwrap()["description"],
        "Now with more logs"
    );
    assert!(
        ocm.addon("reference-addon").is_none(),
        "{}",
        pruned.stderr()
    );
    assert_eq!(reference["id"], "reference-addon");
}

#[test]
fn changed_since_picks_the_addons_whose_files_changed_in_git() {
    let (dir, tree) = example_tree();
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-qm", "tree"]);
    git(&tree, &["tag", "base"]);

    let unchanged = documents(&tree, &["--changed-since", "base"]).success();
    assert_eq!(addon_documents(&unchanged).len(), 0);

    // A committed change of an image set, and an uncommitted one of metadata.
    let sets = tree.join("addons/reference-addon/addonimagesets/stage");
    std::fs::copy(
        sets.join("reference-addon.v0.3.0.yml"),
        sets.join("reference-addon.v0.3.1.yml"),
    )
    .unwrap();
    e2e::replace_in(&sets.join("reference-addon.v0.3.1.yml"), "v0.3.0", "v0.3.1");
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-qm", "new image set"]);
    let changed = documents(&tree, &["--changed-since", "base"]).success();
    assert_eq!(ids(&changed), ["reference-addon"]);

    let logging = tree.join("addons/logging-addon/metadata/stage/addon.yaml");
    let text = std::fs::read_to_string(&logging).unwrap();
    std::fs::write(&logging, text.clone() + "# touched\n").unwrap();
    let both = documents(&tree, &["--changed-since", "base"]).success();
    assert_eq!(addon_documents(&both).len(), 2);
    let picked = documents(
        &tree,
        &["--changed-since", "base", "--addon", "logging-addon"],
    )
    .success();
    assert_eq!(ids(&picked), ["logging-addon"]);

    // With --bundles, git also runs in the bundles' own folder (they may be
    // another repository): a folder that is none is a usage error naming it.
    let bundles = dir.path().join("bundles");
    std::fs::create_dir_all(bundles.join("logging-addon")).unwrap();
    documents(
        &tree,
        &[
            "--changed-since",
            "base",
            "--bundles",
            bundles.to_str().unwrap(),
        ],
    )
    .exit(2)
    .stderr_has("bundles");
}

/// A bundles root with one folder per example add-on (the catalog fixture's
/// good bundles) and a config.yaml listing it for stage and production.
fn bundles_root(dir: &Path) -> PathBuf {
    let root = dir.join("bundles");
    for id in ["logging-addon", "reference-addon"] {
        copy_tree(
            &repo_root().join("tests/fixtures/catalog/good"),
            &root.join(id),
        );
        std::fs::write(
            root.join(id).join("main/config.yaml"),
            format!(
                "ocm:\n  pullSecretName: my-pull-secret\naddons:\n  - name: {id}\n    environments: [stage, production]\n"
            ),
        )
        .unwrap();
    }
    root
}

#[test]
fn image_sets_are_schema_valid_stable_and_addon_yaml_changes_only_its_index_image_line() {
    let (dir, tree) = example_tree();
    let bundles = bundles_root(dir.path());
    let layouts = dir.path().join("layouts");
    let docs = documents(&tree, &[]).success().stdout();
    let build = || {
        tool("catalog-build")
            .arg("--bundles-root")
            .arg(&bundles)
            .args(["--repo-prefix", "quay.io/osd-addons", "--oci-layout"])
            .arg(&layouts)
            .arg("--imagesets-out")
            .arg(&tree)
            .write_stdin(docs.clone())
            .run()
    };
    let logging_stage = tree.join("addons/logging-addon/metadata/stage/addon.yaml");
    let before = std::fs::read_to_string(&logging_stage).unwrap();

    let built = addon_documents(&build().success());
    assert_eq!(built.len(), 2);
    for document in &built {
        let prefix = format!(
            "quay.io/osd-addons/{}@sha256:",
            document["id"].as_str().unwrap()
        );
        assert!(
            document["indexImage"]
                .as_str()
                .unwrap()
                .starts_with(&prefix),
            "{document}"
        );
    }
    let reference_image = built[1]["indexImage"].clone();

    // reference-addon has image sets: a new file per environment.
    let mut files = Vec::new();
    for env in ["stage", "production"] {
        let path = tree.join(format!(
            "addons/reference-addon/addonimagesets/{env}/reference-addon.v1.2.0.yaml"
        ));
        let set: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let violations = common::check::schemas::schemas().image_set.validate(&set);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(set["name"], "reference-addon.v1.2.0");
        assert_eq!(set["indexImage"], reference_image);
        assert_eq!(set["pullSecretName"], "my-pull-secret");
        files.push(path);
    }

    // logging-addon has none: only the indexImage line of its addon.yaml changes.
    let after = std::fs::read_to_string(&logging_stage).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.starts_with("indexImage: "));
    assert_eq!(
        changed[0].1,
        format!("indexImage: {}", built[0]["indexImage"].as_str().unwrap())
    );
    files.push(logging_stage);

    // The same input again: the same bytes, and no file is touched.
    let stamps: Vec<(Vec<u8>, std::time::SystemTime)> = files
        .iter()
        .map(|f| {
            (
                std::fs::read(f).unwrap(),
                std::fs::metadata(f).unwrap().modified().unwrap(),
            )
        })
        .collect();
    let second = build().success().stderr_has("already says so");
    assert_eq!(addon_documents(&second), built);
    for (file, (bytes, modified)) in files.iter().zip(stamps) {
        assert_eq!(std::fs::read(file).unwrap(), bytes, "{}", file.display());
        assert_eq!(
            std::fs::metadata(file).unwrap().modified().unwrap(),
            modified,
            "{} was rewritten",
            file.display()
        );
    }
}

/// `tests/fixtures/wait/addon.json` as add-on `id`, whose operator is `operator`.
fn wait_document(id: &str, operator: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/wait/addon.json")).unwrap();
    let mut document: Value = serde_json::from_str(&text).unwrap();
    document["id"] = Value::from(id);
    document["label"] = Value::from(format!("api.openshift.com/addon-{id}"));
    document["operatorName"] = Value::from(operator);
    document
}

#[test]
fn csv_wait_watches_a_stream_of_addons_with_one_query_per_poll_and_exits_with_the_worst() {
    use e2e::telemetry::{abnormal, installed, succeeded, Telemetry};
    if !installed("csv-wait on a stream against Prometheus") {
        return;
    }
    const CLUSTER: &str = "0b9f4c1e-0000-4000-8000-00000000f001";
    const NAMESPACE: &str = "redhat-wait-addon";
    let mut broken = wait_document("broken-addon", "broken-operator");
    broken["installMode"] = Value::from("Everywhere");
    let stream = [
        wait_document("alpha-addon", "alpha-operator"),
        wait_document("beta-addon", "beta-operator"),
        broken,
        wait_document("gamma-addon", "gamma-operator"),
    ]
    .iter()
    .map(|d| format!("{d}\n"))
    .collect::<String>();

    // One query for every add-on of the stream.
    let shown = tool("csv-wait")
        .args(["--show-query", "--url", "http://127.0.0.1:1"])
        .args(["--cluster-id", CLUSTER])
        .write_stdin(stream.clone())
        .run()
        .exit(1)
        .stdout();
    let query: Vec<&str> = shown.lines().collect();
    assert_eq!(query.len(), 1, "{shown}");
    assert!(
        query[0].contains(r#"name=~"(alpha-operator|beta-operator|gamma-operator)\\..*""#),
        "{}",
        query[0]
    );

    // alpha succeeds, beta fails, gamma never appears (the cluster reports
    // other CSVs: pending); broken-addon is not a valid document.
    let telemetry = Telemetry::start();
    telemetry.report(
        CLUSTER,
        &[
            succeeded(CLUSTER, "alpha-operator.v1.0.0", NAMESPACE, 1),
            abnormal(
                CLUSTER,
                "beta-operator.v2.0.0",
                NAMESPACE,
                "Failed",
                "InstallCheckFailed",
            ),
            succeeded(CLUSTER, "beta-operator.v2.0.0", NAMESPACE, 0),
            succeeded(CLUSTER, "other-operator.v3.0.0", NAMESPACE, 1),
        ],
    );
    telemetry.wait_for_series("csv_succeeded", 3);
    telemetry.wait_for_series("csv_abnormal", 1);

    // Failed is the worst of failed, timed out and invalid; the bad document
    // is named by its id, and each add-on that is not ready is named.
    let records = tool("csv-wait")
        .args(["--url", &telemetry.prometheus_url])
        .args(["--cluster-id", CLUSTER])
        .args(["--interval", "300ms", "--timeout", "4s"])
        .write_stdin(stream)
        .run()
        .exit(5)
        .stderr_has("broken-addon (document 3)")
        .stderr_has("gamma-addon")
        .stderr_has("beta-addon")
        .json_lines();
    let state_of = |addon: &str| -> Vec<&str> {
        records
            .iter()
            .filter(|r| r["addon"] == addon && r["cluster"] == CLUSTER)
            .map(|r| r["state"].as_str().unwrap())
            .collect()
    };
    assert_eq!(state_of("alpha-addon"), ["ready"]);
    assert_eq!(state_of("beta-addon"), ["failed"]);
    assert_eq!(state_of("gamma-addon"), ["pending"]);
    let beta = records.iter().find(|r| r["addon"] == "beta-addon").unwrap();
    assert_eq!(beta["csv"], "beta-operator.v2.0.0");
    assert_eq!(beta["reason"], "InstallCheckFailed");
    assert!(
        !records.iter().any(|r| r["addon"] == "broken-addon"),
        "the bad document is not watched"
    );

    let summaries: Vec<&Value> = records.iter().filter_map(|r| r.get("summary")).collect();
    let results: Vec<(&str, &str)> = summaries
        .iter()
        .map(|s| (s["addon"].as_str().unwrap(), s["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("alpha-addon", "ready"),
            ("beta-addon", "failed"),
            ("gamma-addon", "timed_out")
        ]
    );
    for summary in &summaries {
        assert!(summary["polls"].as_u64().unwrap() >= 2, "{summary}");
        assert_eq!(
            summary["queries"], summary["polls"],
            "one query per poll for all three add-ons: {summary}"
        );
    }
}

#[test]
fn catalog_build_pushes_each_addon_of_a_stream_to_a_real_registry_and_reruns_from_cache() {
    use e2e::registry::{skopeo_inspect, skopeo_installed, LoopbackRegistry};
    if !skopeo_installed("catalog-build's stream against a registry") {
        return;
    }
    let Some(registry) = LoopbackRegistry::start() else {
        return;
    };
    let (dir, tree) = example_tree();
    let bundles = bundles_root(dir.path());
    // A third add-on whose bundles folder is broken (a cycle in its graph).
    copy_tree(
        &repo_root().join("tests/fixtures/catalog/cycle"),
        &bundles.join("cycle-addon"),
    );
    let docs = addon_documents(&documents(&tree, &[]).success());
    let mut cycle = docs[0].clone();
    cycle["id"] = Value::from("cycle-addon");
    cycle["label"] = Value::from("api.openshift.com/addon-cycle-addon");
    let good_stream = format!("{}\n{}\n", docs[0], docs[1]);
    let stream = format!("{}\n{cycle}\n{}\n", docs[0], docs[1]);
    let prefix = registry.repo("org");
    let cache = tempfile::tempdir().unwrap();
    let build = |input: &str| {
        tool("catalog-build")
            .arg("--bundles-root")
            .arg(&bundles)
            .args(["--repo-prefix", &prefix, "--base-image", "scratch"])
            .env("XDG_CACHE_HOME", cache.path())
            .write_stdin(input.to_string())
            .run()
    };

    let built = build(&good_stream).success().json_lines();
    assert_eq!(built.len(), 2);
    let mut images = Vec::new();
    for document in &built {
        let id = document["id"].as_str().unwrap();
        let image = document["indexImage"].as_str().unwrap().to_string();
        let (repo, digest) = image.split_once('@').unwrap();
        assert_eq!(repo, format!("{prefix}/{id}"), "{image}");
        assert!(digest.starts_with("sha256:"), "{image}");
        let inspect: Value = skopeo_inspect(&image);
        assert_eq!(
            inspect["Digest"], digest,
            "{id}: skopeo reads the pushed catalog"
        );
        assert_eq!(
            inspect["Labels"]["operators.operatorframework.io.index.configs.v1"],
            "/configs"
        );
        images.push(image);
    }
    assert_ne!(images[0], images[1], "each add-on has its own repository");
    let writes = registry.writes().len();
    let requests = registry.requests().len();
    assert!(registry.upload_count() > 0, "the first run uploaded blobs");

    // The second run answers from the cache: the same digests, no write,
    // and per add-on one catalog manifest HEAD and one tags listing of its
    // bundle repository (no token probe of `/v2/` before each: this
    // registry needs none).
    assert_eq!(build(&good_stream).success().json_lines(), built);
    let mut checks = registry.requests()[requests..].to_vec();
    checks.sort();
    let expected: Vec<String> = {
        let mut expected: Vec<String> = built
            .iter()
            .flat_map(|document| {
                let id = document["id"].as_str().unwrap();
                [
                    format!("GET /v2/org/{id}-bundle/tags/list HTTP/1.1"),
                    format!("HEAD /v2/org/{id}/manifests/latest HTTP/1.1"),
                ]
            })
            .collect();
        expected.sort();
        expected
    };
    assert_eq!(checks, expected, "the cache check, and nothing else");
    assert_eq!(
        registry.writes().len(),
        writes,
        "nothing changed, nothing sent: {:?}",
        &registry.writes()[writes..]
    );

    // A broken add-on is named by its id; the others are still built.
    let passed: Vec<String> = build(&stream)
        .exit(1)
        .stderr_has("cycle-addon (document 2)")
        .json_lines()
        .iter()
        .map(|d| d["indexImage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(passed, images, "the good add-ons went through");
    assert!(
        !registry
            .writes()
            .iter()
            .any(|line| line.contains("/org/cycle-addon/")),
        "nothing was pushed for the broken add-on"
    );
}

// ---------------------------------------------------------------------------
// The inventory that ends a fleet stream (issue 19 §1).

/// Appends a key addon-validate refuses to an add-on's stage metadata.
fn break_addon(tree: &Path, id: &str) {
    let path = tree.join(format!("addons/{id}/metadata/stage/addon.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}unknownField: 1\n")).unwrap();
}

#[test]
fn the_inventory_ends_the_stream_and_lists_every_addon_of_the_tree_even_an_invalid_one() {
    let (_dir, tree) = example_tree();
    let addons = tree.join("addons");
    // logging-addon is invalid; a folder whose name is no add-on id is
    // refused unread; an add-on of production only is not stage's.
    break_addon(&tree, "logging-addon");
    copy_tree(&addons.join("reference-addon"), &addons.join("x`id>PWNED`"));
    copy_tree(
        &addons.join("reference-addon"),
        &addons.join("production-only-addon"),
    );
    std::fs::remove_dir_all(addons.join("production-only-addon/metadata/stage")).unwrap();

    let out = documents(&tree, &[]).exit(1);
    assert_eq!(ids(&out), ["reference-addon"], "only the valid add-on");
    let inventory = inventory_of(&out);
    assert_eq!(inventory.environment, "stage");
    assert_eq!(inventory.scope, Scope::Whole);
    assert_eq!(inventory.selection, None);
    assert_eq!(
        inventory.addons.iter().collect::<Vec<_>>(),
        ["logging-addon", "reference-addon", "x`id>PWNED`"],
        "every add-on of stage in the tree, valid or not"
    );
    let failed = |id: &str| Failure {
        id: Some(id.to_string()),
        stage: "addon-validate".to_string(),
    };
    assert_eq!(
        inventory.failed,
        [failed("logging-addon"), failed("x`id>PWNED`")]
    );
    assert!(Inventory::for_prune(Some(&inventory)).is_ok());
}

/// A new repository in `dir` holding everything in it, one commit, tagged `tag`.
fn repository(dir: &Path, tag: &str) {
    git(dir, &["init", "-q"]);
    commit_all(dir, "start");
    git(dir, &["tag", tag]);
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", message]);
}

/// Appends a line to a file (creating it).
fn append(path: &Path, line: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, format!("{text}{line}\n")).unwrap();
}

#[test]
fn a_selection_says_so_in_its_inventory_and_still_lists_the_whole_tree() {
    let (_dir, tree) = example_tree();
    let picked = documents(&tree, &["--addon", "logging-addon"]).success();
    assert_eq!(ids(&picked), ["logging-addon"]);
    let inventory = inventory_of(&picked);
    assert_eq!(inventory.scope, Scope::Selection);
    assert_eq!(
        inventory.selection.as_deref(),
        Some("--addon logging-addon")
    );
    assert_eq!(inventory.addons.len(), 2, "{inventory:?}");
    assert!(Inventory::for_prune(Some(&inventory)).is_err());

    repository(&tree, "base");
    let changed = documents(&tree, &["--changed-since", "base"]).success();
    assert_eq!(ids(&changed), Vec::<String>::new());
    let inventory = inventory_of(&changed);
    assert_eq!(inventory.scope, Scope::Selection);
    assert_eq!(inventory.selection.as_deref(), Some("--changed-since base"));
    assert_eq!(inventory.addons.len(), 2, "{inventory:?}");
}

/// The whole stage stream of the example tree with its second document
/// (reference-addon) edited so that syncset-render refuses it, as a
/// document that fails in syncset-render; and the inventory addon-validate
/// wrote.
fn stream_failing_in_render(tree: &Path) -> (String, Value, Value) {
    let validated = documents(tree, &[]).success();
    let docs = addon_documents(&validated);
    let inventory = validated.json_lines().pop().unwrap();
    let mut broken = docs[1].clone();
    assert_eq!(broken["id"], "reference-addon");
    // AM0017 (pullSecretName names none of its secrets), a loading rule
    // every tool checks.
    broken["pullSecretName"] = Value::from("edited-by-hand");
    (
        format!("{}\n{broken}\n{inventory}\n", docs[0]),
        broken,
        inventory,
    )
}

/// syncset-render's List (YAML) read as JSON, and the inventory its
/// annotation carries, if any.
fn rendered_list(run: &Run) -> (Value, Option<Inventory>) {
    let list: Value = serde_yaml::from_slice(&run.output.stdout).unwrap();
    let inventory = list["metadata"]["annotations"][LIST_ANNOTATION]
        .as_str()
        .map(|text| serde_json::from_str(text).unwrap());
    (list, inventory)
}

#[test]
fn syncset_render_carries_the_inventory_into_its_list_with_its_own_failures() {
    let (_dir, tree) = example_tree();
    let (stream, _, inventory) = stream_failing_in_render(&tree);
    let out = render_stream(stream, "yaml")
        .exit(1)
        .stderr_has("reference-addon (document 2)");
    let (list, carried) = rendered_list(&out);
    let mut expected: Inventory = serde_json::from_value(inventory).unwrap();
    expected.record_failure(Some("reference-addon"), "syncset-render");
    assert_eq!(carried, Some(expected));
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(
            item["metadata"]["labels"][ADDON_LABEL], "logging-addon",
            "every top-level object names its add-on: {item}"
        );
    }
    // The inventory comes after the items: a YAML List cut short at an item
    // boundary (which still parses) has none, so it proves nothing.
    let text = out.stdout();
    let cut = &text[..text.rfind("\n- ").unwrap() + 1];
    let cut_list: Value = serde_yaml::from_str(cut).unwrap();
    assert_eq!(cut_list["items"].as_array().unwrap().len(), items.len() - 1);
    assert!(cut_list.get("metadata").is_none(), "{cut}");
}

#[test]
fn kubectl_reads_a_list_that_carries_the_inventory() {
    if !e2e::prerequisite("kubectl", e2e::program("kubectl")) {
        return;
    }
    let (dir, tree) = example_tree();
    let stream = documents(&tree, &[]).success().stdout();
    let out = render_stream(stream, "yaml").success();
    let (list, carried) = rendered_list(&out);
    assert!(carried.is_some());
    let file = dir.path().join("list.yaml");
    std::fs::write(&file, &out.output.stdout).unwrap();
    // `--local`: kubectl reads the List and maps its items without a server.
    let names = Command::new("kubectl")
        .args(["label", "--local", "-o", "name", "-f"])
        .arg(&file)
        .arg("checked=yes")
        .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
        .run()
        .success()
        .stdout();
    let expected: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            // `kind.group/name`, `kind/name` for the core group.
            let group = match item["apiVersion"].as_str().unwrap().split_once('/') {
                Some((group, _)) => format!(".{group}"),
                None => String::new(),
            };
            format!(
                "{}{group}/{}",
                item["kind"].as_str().unwrap().to_lowercase(),
                item["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn a_list_is_written_with_the_inventory_even_when_every_document_failed() {
    let (_dir, tree) = example_tree();
    let (_, broken, inventory) = stream_failing_in_render(&tree);
    let out = render_stream(format!("{broken}\n{inventory}\n"), "yaml").exit(1);
    let (list, carried) = rendered_list(&out);
    assert_eq!(list["items"], serde_json::json!([]));
    let carried = carried.expect("the inventory reaches hive-apply");
    assert_eq!(
        carried.failed,
        [Failure {
            id: Some("reference-addon".into()),
            stage: "syncset-render".into()
        }]
    );
    // Without an inventory there is nothing to carry: nothing is written.
    render_stream(format!("{broken}\n"), "yaml")
        .exit(1)
        .no_stdout();
}

#[test]
fn a_stream_cut_short_has_no_inventory_and_its_list_carries_none() {
    let (_dir, tree) = example_tree();
    let whole = documents(&tree, &[]).success().stdout();
    assert_eq!(whole.lines().count(), 3, "two add-ons and the inventory");
    // `head -2`: the documents without the inventory that ended them.
    let cut: String = whole.lines().take(2).map(|l| format!("{l}\n")).collect();
    let out = render_stream(cut, "yaml").success();
    let (list, carried) = rendered_list(&out);
    assert_eq!(carried, None);
    assert!(list["metadata"].get("annotations").is_none(), "{list}");
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert!(
            item["metadata"]["labels"].get(ADDON_LABEL).is_none(),
            "no add-on label without an inventory: {item}"
        );
    }
}

/// The whole fleet pipeline through the real tools (addon-validate,
/// syncset-render, hive-apply --prune=all): an add-on that fails a stage
/// keeps its objects, a selection prunes nothing, and an add-on removed
/// from the tree loses its objects.
#[test]
fn the_real_pipeline_keeps_a_failed_addon_and_prunes_only_a_removed_one() {
    use addon_flow_testservers::kube::{KubeOptions, KubeServer};
    let (dir, tree) = example_tree();
    let server = KubeServer::start(KubeOptions::default()).unwrap();
    for namespace in [
        "hive",
        "openshift-config",
        "pagerduty-operator",
        "deadmanssnitch-operator",
    ] {
        let object = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace}});
        server
            .api()
            .apply_as("hive-installer", &object, false)
            .unwrap();
    }
    let config = e2e::write_kubeconfig(dir.path(), &server, "test-token");
    let deploy = |stream: String| -> Run {
        let objects = render_stream(stream, "yaml").success().stdout();
        tool("hive-apply")
            .env("KUBECONFIG", &config)
            .args(["--prune=all", "--summary"])
            .write_stdin(objects)
            .run()
    };
    let live = |name: &str| server.api().get("SelectorSyncSet", "", name).is_some();
    deploy(documents(&tree, &[]).success().stdout()).success();
    assert!(live("addon-logging-addon") && live("addon-reference-addon"));

    // logging-addon fails addon-validate: it is still in the tree.
    break_addon(&tree, "logging-addon");
    deploy(documents(&tree, &[]).exit(1).stdout()).success();
    assert!(
        live("addon-logging-addon"),
        "a failed add-on keeps its objects"
    );

    // It leaves the tree; a selection still prunes nothing.
    std::fs::remove_dir_all(tree.join("addons/logging-addon")).unwrap();
    deploy(
        documents(&tree, &["--addon", "reference-addon"])
            .success()
            .stdout(),
    )
    .exit(1)
    .stderr_has("selection");
    assert!(live("addon-logging-addon"), "a selection never prunes");

    // The whole environment prunes it.
    deploy(documents(&tree, &[]).success().stdout())
        .success()
        .stdout_has("addon-logging-addon");
    assert!(!live("addon-logging-addon"));
    assert!(!live("addon-logging-addon-delete"));
    assert!(live("addon-reference-addon"));
}

#[test]
fn csv_wait_watches_a_stream_that_ends_with_an_inventory() {
    use addon_flow_testservers::http::HttpResponse;
    use e2e::telemetry::FakePrometheus;
    // alpha-operator's CSV has succeeded on cluster c1.
    let prometheus = FakePrometheus::start(|_, _| {
        HttpResponse::json(
            200,
            &serde_json::json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {"__name__": "csv_succeeded", "_id": "c1",
                    "name": "alpha-operator.v1.0.0", "version": "1.0.0"}, "value": [1.0, "1"]}]}}),
        )
    });
    let inventory = Inventory::new(
        "stage",
        Scope::Whole,
        None,
        ["alpha-addon", "beta-addon"]
            .map(String::from)
            .into_iter()
            .collect(),
    );
    let stream = format!(
        "{}\n{}\n",
        wait_document("alpha-addon", "alpha-operator"),
        serde_json::to_string(&inventory).unwrap()
    );
    let records = tool("csv-wait")
        .args(["--url", &prometheus.url(), "--cluster-id", "c1"])
        .args(["--interval", "100ms", "--timeout", "10s"])
        .write_stdin(stream)
        .run()
        .success()
        .stderr_lacks("document 2")
        .json_lines();
    let states: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r.get("state").is_some())
        .map(|r| (r["addon"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("alpha-addon", "ready")]);
}

// ---------------------------------------------------------------------------
// Change detection as managed-tenants-cli does it (issue 20 §3).
//
// mtcli's ChangeDetector (managedtenants/utils/git.py, `_get_changed_files`)
// runs `git diff --name-only FROM...TO`: `remotes/origin/main...HEAD` on a
// merge request, `$GIT_PREVIOUS_COMMIT...$GIT_COMMIT` on a deploy, and
// `_intersect` keeps the add-on folders holding a changed path. The three
// dots mean the merge base of FROM and TO. It runs once per repository
// (managed-tenants, managed-tenants-bundles), each against its own commits.

/// `addon-validate --all TREE --env stage --list-ids` with `extra`.
fn list_ids(tree: &Path, extra: &[&str]) -> Run {
    select_stage(tree, "--list-ids", extra)
}

fn lines(run: &Run) -> Vec<String> {
    run.stdout().lines().map(str::to_string).collect()
}

#[test]
fn list_ids_prints_the_selection_one_per_line_and_validates_nothing() {
    let (_dir, tree) = example_tree();
    break_addon(&tree, "logging-addon");
    let all = list_ids(&tree, &[]).success().no_stderr();
    assert_eq!(lines(&all), ["logging-addon", "reference-addon"]);
    let one = list_ids(&tree, &["--addon", "reference-addon"]).success();
    assert_eq!(lines(&one), ["reference-addon"]);

    // A folder name that is no add-on id never reaches a Makefile.
    copy_tree(
        &tree.join("addons/reference-addon"),
        &tree.join("addons/x`id>PWNED`"),
    );
    let refused = list_ids(&tree, &[]).exit(1).stderr_has("x`id>PWNED`");
    assert_eq!(lines(&refused), ["logging-addon", "reference-addon"]);
}

#[test]
fn changed_since_diffs_from_the_merge_base_to_the_working_tree() {
    let (_dir, tree) = example_tree();
    repository(&tree, "base");
    git(&tree, &["checkout", "-qb", "feature"]);
    append(
        &tree.join("addons/reference-addon/metadata/stage/addon.yaml"),
        "# changed on the branch",
    );
    commit_all(&tree, "branch work");
    // main moves on after the branch point: not this branch's change.
    git(&tree, &["checkout", "-q", "main"]);
    append(
        &tree.join("addons/logging-addon/metadata/stage/addon.yaml"),
        "# changed on main",
    );
    commit_all(&tree, "main moves on");
    git(&tree, &["checkout", "-q", "feature"]);

    let since_main = list_ids(&tree, &["--changed-since", "main"]).success();
    assert_eq!(lines(&since_main), ["reference-addon"]);

    // Uncommitted and untracked files count too (the working tree).
    git(&tree, &["reset", "-q", "--soft", "HEAD~1"]);
    assert_eq!(
        lines(&list_ids(&tree, &["--changed-since", "main"]).success()),
        ["reference-addon"],
        "a staged, uncommitted change"
    );
    git(&tree, &["reset", "-q", "--hard", "base"]);
    append(&tree.join("addons/logging-addon/notes.txt"), "new");
    assert_eq!(
        lines(&list_ids(&tree, &["--changed-since", "main"]).success()),
        ["logging-addon"],
        "an untracked file"
    );

    let help = tool("addon-validate").arg("--help").run().success();
    help.stdout_has("merge base");
}

#[test]
fn a_file_moved_from_one_addon_to_another_selects_both() {
    // mtcli's `git diff --name-only` follows renames (git's default), so it
    // lists only the new path and misses the add-on the file left.
    let (_dir, tree) = example_tree();
    append(&tree.join("addons/logging-addon/notes.md"), "notes");
    repository(&tree, "base");
    git(
        &tree,
        &[
            "mv",
            "addons/logging-addon/notes.md",
            "addons/reference-addon/notes.md",
        ],
    );
    commit_all(&tree, "move");
    let moved = list_ids(&tree, &["--changed-since", "base"]).success();
    assert_eq!(lines(&moved), ["logging-addon", "reference-addon"]);
}

#[test]
fn bundles_changed_since_applies_to_the_bundles_own_repository() {
    let (dir, tree) = example_tree();
    let bundles = dir.path().join("bundles");
    for id in ["logging-addon", "reference-addon"] {
        append(&bundles.join(id).join("main/config.yaml"), "addons: []");
    }
    repository(&tree, "tree-base");
    repository(&bundles, "bundles-base");
    append(&bundles.join("reference-addon/main/config.yaml"), "# new");
    commit_all(&bundles, "bundles change");
    let bundles_arg = bundles.to_str().unwrap();

    let picked = list_ids(
        &tree,
        &[
            "--changed-since",
            "tree-base",
            "--bundles",
            bundles_arg,
            "--bundles-changed-since",
            "bundles-base",
        ],
    )
    .success();
    assert_eq!(lines(&picked), ["reference-addon"]);
    let bundles_only = list_ids(
        &tree,
        &[
            "--bundles",
            bundles_arg,
            "--bundles-changed-since",
            "bundles-base",
        ],
    )
    .success();
    assert_eq!(lines(&bundles_only), ["reference-addon"]);
    // The tree's ref means nothing in the bundles' repository: say what to pass.
    list_ids(
        &tree,
        &["--changed-since", "tree-base", "--bundles", bundles_arg],
    )
    .exit(2)
    .stderr_has("--bundles-changed-since");

    // Bundles inside the tree's own repository follow --changed-since.
    let (dir, tree) = example_tree();
    let bundles = dir.path().join("bundles");
    append(
        &bundles.join("logging-addon/main/config.yaml"),
        "addons: []",
    );
    repository(dir.path(), "base");
    append(&bundles.join("logging-addon/main/config.yaml"), "# new");
    let same_repo = list_ids(
        &tree,
        &[
            "--changed-since",
            "base",
            "--bundles",
            bundles.to_str().unwrap(),
        ],
    )
    .success();
    assert_eq!(lines(&same_repo), ["logging-addon"]);
}

#[test]
fn a_ref_git_cannot_resolve_is_a_clear_usage_error_not_an_empty_selection() {
    let (dir, tree) = example_tree();
    repository(&tree, "base");
    list_ids(&tree, &["--changed-since", "bsae"])
        .exit(2)
        .no_stdout()
        .stderr_has("\"bsae\"")
        .stderr_has("cannot resolve");
    // GitLab's CI_COMMIT_BEFORE_SHA on a branch's first push.
    list_ids(&tree, &["--changed-since", &"0".repeat(40)])
        .exit(2)
        .no_stdout()
        .stderr_has("first push");
    // A ref that is an option is never passed to git as one.
    let written = dir.path().join("written-by-git");
    let option = format!("--output={}", written.display());
    for flag in ["--changed-since", "--bundles-changed-since"] {
        tool("addon-validate")
            .arg("--all")
            .arg(&tree)
            .args(["--env", "stage", "--list-ids", "--bundles"])
            .arg(&tree)
            .arg(format!("{flag}={option}"))
            .run()
            .exit(2)
            .stderr_has("expected a git ref");
        assert!(!written.exists());
    }

    // A shallow clone (GitLab's default depth) lacks older commits and the
    // merge base.
    git(&tree, &["checkout", "-qb", "feature"]);
    append(&tree.join("addons/reference-addon/notes.md"), "branch");
    commit_all(&tree, "branch work");
    git(&tree, &["checkout", "-q", "main"]);
    append(&tree.join("addons/logging-addon/notes.md"), "main");
    commit_all(&tree, "main moves on");
    let first = git(&tree, &["rev-parse", "base"]).trim().to_string();
    let shallow = dir.path().join("shallow");
    let url = format!("file://{}", tree.display());
    Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--branch", "feature", &url])
        .arg(&shallow)
        .run()
        .success();
    list_ids(&shallow, &["--changed-since", &first])
        .exit(2)
        .stderr_has("shallow");
    git(
        &shallow,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    list_ids(&shallow, &["--changed-since", "origin/main"])
        .exit(2)
        .stderr_has("merge base")
        .stderr_has("shallow");
}

/// syncset-render writes a stream's List as it renders (issue 24), and
/// knows only at the stream's end whether it is a fleet one: a stream
/// without an inventory is still, byte for byte, its add-ons rendered one
/// by one into one List as managed-tenants writes it (metadata first, no
/// add-on label), in YAML and in JSON.
#[test]
fn a_stream_without_an_inventory_renders_as_its_addons_one_by_one() {
    let (_dir, tree) = example_tree();
    let lines = document_lines(&tree);
    assert_eq!(lines.len(), 2, "the examples tree has two add-ons");
    let render = |input: String, format: &str| render_stream(input, format).success().stdout();
    for format in ["yaml", "json"] {
        let whole = render(lines.join("\n"), format);
        assert!(!whole.contains(ADDON_LABEL), "{whole}");
        let alone: Vec<String> = lines.iter().map(|l| render(l.clone(), format)).collect();
        let expected = match format {
            "yaml" => {
                let items: String = alone
                    .iter()
                    .map(|text| text.split_once("items:\n").unwrap().1)
                    .collect();
                format!("apiVersion: v1\nkind: List\nmetadata: {{}}\nitems:\n{items}")
            }
            _ => {
                let items: Vec<Value> = alone
                    .iter()
                    .flat_map(|text| {
                        let list: Value = serde_json::from_str(text).unwrap();
                        list["items"].as_array().unwrap().clone()
                    })
                    .collect();
                let list = serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items
                });
                format!("{}\n", serde_json::to_string_pretty(&list).unwrap())
            }
        };
        assert_eq!(whole, expected, "{format}");
    }
}

/// addon-validate seals the documents it checked (issue 24: render and
/// ocm-post no longer check them again), and a stage still refuses one
/// edited by hand since: the seal no longer matches, so it is checked in
/// full, and an invalid edit is an error naming the field.
#[test]
fn a_sealed_document_edited_by_hand_is_checked_again_and_refused() {
    let (_dir, tree) = example_tree();
    let lines = document_lines(&tree);
    for line in &lines {
        let document: Value = serde_json::from_str(line).unwrap();
        let seal = document[common::model::seal::FIELD]
            .as_str()
            .unwrap_or_default();
        assert!(seal.starts_with("sha256:"), "sealed: {line}");
        // The seal is the digest of exactly what the next stage reads.
        let source =
            common::cli::io::Source::from_text(common::cli::io::Origin::Stdin, line.as_str());
        let loaded = common::model::document::load(source, &Default::default()).unwrap();
        assert!(loaded.sealed && loaded.findings.is_empty(), "{line}");
    }
    let render = |input: &str| render_stream(input.to_string(), "json");
    let sealed = render(&lines[0]).success().json();
    // The seal is not an add-on field: nothing of it reaches the objects.
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    let seal = first[common::model::seal::FIELD].as_str().unwrap();
    assert!(!sealed.to_string().contains(seal), "{sealed}");

    let edited = lines[0].replacen("\"installMode\":\"", "\"installMode\":\"Sometimes", 1);
    assert_ne!(
        edited, lines[0],
        "the example add-on changed: update this test"
    );
    let refused = render(&edited).exit(1);
    assert!(refused.stdout().is_empty());
    assert!(
        refused.stderr().contains("installMode"),
        "{}",
        refused.stderr()
    );
    // The seal without the document it was made for proves nothing either.
    let mut moved: Value = serde_json::from_str(&edited).unwrap();
    let original: Value = serde_json::from_str(&lines[1]).unwrap();
    moved[common::model::seal::FIELD] = original[common::model::seal::FIELD].clone();
    render(&moved.to_string()).exit(1).stderr_has("installMode");
}

/// catalog-build changes each document it builds (`indexImage`, `bundles`)
/// and seals it again, so that syncset-render and ocm-post behind it need
/// not check it again; a seal left from addon-validate would no longer match.
#[test]
fn catalog_build_seals_the_documents_it_changed() {
    let (dir, tree) = example_tree();
    let bundles = bundles_root(dir.path());
    let docs = documents(&tree, &[]).success();
    let before: Vec<String> = addon_documents(&docs)
        .iter()
        .map(|d| d[common::model::seal::FIELD].as_str().unwrap().to_string())
        .collect();
    let built = tool("catalog-build")
        .arg("--bundles-root")
        .arg(&bundles)
        .args(["--repo-prefix", "quay.io/osd-addons", "--oci-layout"])
        .arg(dir.path().join("layouts"))
        .write_stdin(docs.stdout())
        .run()
        .success();
    let built = addon_documents(&built);
    assert_eq!(built.len(), before.len());
    for document in &built {
        let seal = document[common::model::seal::FIELD]
            .as_str()
            .unwrap_or_default();
        assert!(seal.starts_with("sha256:"), "sealed: {document}");
        assert!(
            !before.iter().any(|old| old == seal),
            "sealed again: {document}"
        );
        let line = document.to_string();
        let source =
            common::cli::io::Source::from_text(common::cli::io::Origin::Stdin, line.as_str());
        let loaded = common::model::document::load(source, &Default::default()).unwrap();
        assert!(loaded.sealed && loaded.findings.is_empty(), "{line}");
    }
}
