//! catalog-build end to end: pushes into a real registry (Debian's
//! `docker-registry`, CNCF distribution) started on a free loopback port,
//! checked with `skopeo`, a client we did not write; OCI layout output;
//! conformance on real bundles; bad input and registry failures.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use addon_flow_testservers::http::{HttpResponse, Server};
use common::oci::OciLayout;
use e2e::check::{has_all, string_pairs, strings};
use e2e::registry::{
    count_requests, make_base_layout, skopeo, skopeo_inspect, skopeo_installed, skopeo_json,
    skopeo_pull, LoopbackRegistry as Registry,
};
use e2e::RunExt;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    e2e::repo_root().join("tests/fixtures/catalog")
}

/// The good bundles fixture: package `demo-operator` and its dependency.
fn good() -> PathBuf {
    fixtures().join("good")
}

/// catalog-build reading the bundles folder `bundles`; the rest of the
/// command (and stdin) is the test's.
fn catalog_build(bundles: &Path) -> assert_cmd::Command {
    let mut command = e2e::tool("catalog-build");
    command.arg("--bundles").arg(bundles);
    command
}

/// catalog-build pushing the catalog of `bundles` to `repo` on the
/// `scratch` base image, its cache in `cache`; stdin is the test's.
fn push_on_scratch(bundles: &Path, repo: &str, cache: &Path) -> assert_cmd::Command {
    let mut command = catalog_build(bundles);
    command
        .args(["--repo", repo, "--base-image", "scratch"])
        .env("XDG_CACHE_HOME", cache);
    command
}

/// catalog-build writing the catalog of `bundles` into the OCI layout
/// `layout`, with nothing on stdin.
fn build_into_layout(bundles: &Path, layout: &Path) -> assert_cmd::Command {
    let mut command = catalog_build(bundles);
    command.arg("--oci-layout").arg(layout).write_stdin("");
    command
}

/// A `docker-registry serve` on a free loopback port, storage in a tempdir;
/// killed when dropped.
/// The registry, or None (with a note) when it or skopeo is not installed.
fn start_registry() -> Option<Registry> {
    if !skopeo_installed("catalog-build against a real registry") {
        return None;
    }
    Registry::start()
}

/// [`start_registry`], its repository `osd-addons/demo`, and a cache
/// folder for catalog-build.
fn registry_with_demo_repo() -> Option<(Registry, String, tempfile::TempDir)> {
    let registry = start_registry()?;
    let repo = registry.repo("osd-addons/demo");
    Some((registry, repo, tempfile::tempdir().unwrap()))
}

/// Pushes our base image into the registry with skopeo.
fn push_base_image(registry: &Registry) -> String {
    let dir = tempfile::tempdir().unwrap();
    make_base_layout(dir.path());
    let target = format!("{}/test/opm-base:v1", registry.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:base", dir.path().display()),
        &format!("docker://{target}"),
    ]);
    target
}

#[test]
fn a_base_image_from_an_oci_layout_keeps_its_layers_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    make_base_layout(&base);
    let layout = dir.path().join("out");
    build_into_layout(&good(), &layout)
        .args(["--base-image", &format!("oci:{}:base", base.display())])
        .run()
        .success();
    let base_image = OciLayout::new(&base).read_image(Some("base")).unwrap();
    let image = OciLayout::new(&layout).read_image(Some("latest")).unwrap();
    assert_eq!(image.layers.len(), 2);
    assert_eq!(
        image.layers[0], base_image.layers[0],
        "the base layer, byte for byte"
    );
    let config: Value = serde_json::from_slice(&image.config.data).unwrap();
    assert_eq!(config["config"]["Labels"]["base"], "test-opm");
    assert_eq!(
        config["config"]["Labels"]["operators.operatorframework.io.index.configs.v1"],
        "/configs"
    );
    assert_eq!(config["history"].as_array().unwrap().len(), 2);
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    assert_eq!(diff_ids.len(), 2);
    // diff_ids[1] is the sha256 of the uncompressed /configs tar.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc {} | sha256sum",
            layout
                .join("blobs/sha256")
                .join(image.layers[1].digest.trim_start_matches("sha256:"))
                .display()
        ))
        .run();
    let sum = out.stdout();
    assert_eq!(
        diff_ids[1].as_str().unwrap(),
        format!("sha256:{}", sum.split_whitespace().next().unwrap())
    );
}

/// Parses a stream of JSON values (catalog.json).
fn json_stream(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.expect("catalog.json holds JSON values"))
        .collect()
}

/// Extracts a gzip tar layer blob and returns `configs/<package>/catalog.json`.
fn catalog_json_from_layer(blob: &Path, package: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .args(["-xzf"])
        .arg(blob)
        .arg("-C")
        .arg(out.path())
        .status()
        .expect("tar runs");
    assert!(status.success(), "the layer is a valid gzip tar");
    std::fs::read_to_string(
        out.path()
            .join("configs")
            .join(package)
            .join("catalog.json"),
    )
    .expect("the layer holds configs/<package>/catalog.json")
}

/// The last layer of an image in an OCI layout.
fn last_layer(layout: &Path, name: &str) -> PathBuf {
    let image = OciLayout::new(layout).read_image(Some(name)).unwrap();
    let digest = &image.layers.last().unwrap().digest;
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn channel<'a>(blobs: &'a [Value], name: &str) -> &'a Value {
    blobs
        .iter()
        .find(|b| b["schema"] == "olm.channel" && b["name"] == name)
        .unwrap_or_else(|| panic!("channel {name} in {blobs:?}"))
}

fn entry_names(channel: &Value) -> Vec<String> {
    strings(&channel["entries"], "name")
}

#[test]
fn pushes_to_a_real_registry_that_skopeo_reads_and_a_rerun_uploads_nothing() {
    let Some(registry) = start_registry() else {
        return;
    };
    let base = push_base_image(&registry);
    let repo = registry.repo("osd-addons/demo");
    let bundles = good();
    let cache = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        catalog_build(&bundles)
            .args(["--repo", &repo, "--base-image", &base])
            .args(extra)
            .env("XDG_CACHE_HOME", cache.path())
            .write_stdin(serde_json::to_vec(&e2e::demo_addon()).unwrap())
            .run()
    };
    let first = run(&[]).success();
    let stderr = first.stderr();
    assert!(
        stderr.contains("1 mounted"),
        "the base layer is mounted from the base repository, not sent: {stderr}"
    );
    let document: Value = first.json();
    let index_image = document["indexImage"].as_str().unwrap().to_string();
    assert!(
        index_image.starts_with(&format!("{repo}@sha256:")),
        "{index_image}"
    );
    assert_eq!(document["id"], "demo", "the add-on document is passed on");
    let summary = &document["bundles"];
    assert_eq!(summary["package"], "demo-operator");
    assert_eq!(summary["defaultChannel"], "stable");
    assert_eq!(summary["bundles"].as_array().unwrap().len(), 4);

    // skopeo sees the label, the layers (base + /configs) and the config.
    let inspect: Value = skopeo_inspect(&index_image);
    assert_eq!(
        inspect["Labels"]["operators.operatorframework.io.index.configs.v1"],
        "/configs"
    );
    assert_eq!(
        inspect["Labels"]["base"], "test-opm",
        "the base image's labels are kept"
    );
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
    let config: Value = skopeo_json(&[
        "inspect",
        "--tls-verify=false",
        "--config",
        &format!("docker://{index_image}"),
    ]);
    assert_eq!(config["config"]["Entrypoint"], json!(["/bin/opm"]));
    assert_eq!(config["config"]["Cmd"][0], "serve");
    assert_eq!(config["config"]["Cmd"][1], "/configs");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert!(
        config.get("created").is_none(),
        "no timestamps in the config"
    );

    // Pull it back with skopeo; the /configs layer holds the expected FBC.
    let pulled = skopeo_pull(&index_image);
    let text = catalog_json_from_layer(&last_layer(pulled.path(), "pulled"), "demo-operator");
    let blobs = json_stream(&text);
    assert_eq!(blobs[0]["schema"], "olm.package");
    assert_eq!(blobs[0]["defaultChannel"], "stable");
    assert_eq!(blobs[0]["icon"]["mediatype"], "image/png");
    assert_eq!(entry_names(channel(&blobs, "stable")).len(), 3);
    let bundle_blobs: Vec<&Value> = blobs
        .iter()
        .filter(|b| b["schema"] == "olm.bundle")
        .collect();
    assert_eq!(bundle_blobs.len(), 3);
    // Every bundle image the catalog names is in the registry, with its labels.
    for bundle in &bundle_blobs {
        let image = bundle["image"].as_str().unwrap();
        assert!(
            image.starts_with(&format!("{repo}-bundle@sha256:")),
            "{image}"
        );
        let seen: Value = skopeo_inspect(image);
        assert_eq!(
            seen["Labels"]["operators.operatorframework.io.bundle.package.v1"],
            "demo-operator"
        );
        assert_eq!(seen["Digest"], image.split('@').nth(1).unwrap());
    }
    let dep = catalog_json_from_layer(&last_layer(pulled.path(), "pulled"), "dep-operator");
    assert_eq!(
        json_stream(&dep).len(),
        3,
        "dep-operator: package, channel, bundle"
    );

    // A second run: same digest, no blob uploaded.
    let uploads = registry.upload_count();
    assert!(uploads > 0, "the first run uploaded blobs (registry log)");
    // The build cache answers (after checking the registry still has every
    // manifest); --no-cache rebuilds everything and finds every blob present.
    for extra in [&[][..], &["--no-cache"][..]] {
        let again = run(extra).success();
        let stderr = again.stderr();
        let again: Value = again.json();
        assert_eq!(again, document, "{extra:?}: same digest, same document");
        assert_eq!(
            registry.upload_count(),
            uploads,
            "{extra:?}: the re-run started no blob upload"
        );
        assert!(
            stderr.contains(" 0 blob(s) uploaded"),
            "{extra:?}: {stderr}"
        );
    }
    assert!(
        std::fs::read_dir(cache.path().join("addon-flow/catalog-build"))
            .unwrap()
            .count()
            == 1,
        "one cache entry"
    );

    // A changed bundle is a cache miss: new digests, only the new blobs sent.
    let changed = tempfile::tempdir().unwrap();
    e2e::copy_tree(&bundles, changed.path());
    let annotations = changed.path().join("main/1.2.0/metadata/annotations.yaml");
    let text = std::fs::read_to_string(&annotations).unwrap();
    std::fs::write(
        &annotations,
        format!("{text}  com.example/changed: \"yes\"\n"),
    )
    .unwrap();
    let output = catalog_build(changed.path())
        .args(["--repo", &repo, "--base-image", &base])
        .env("XDG_CACHE_HOME", cache.path())
        .write_stdin("")
        .run()
        .success();
    let result: Value = output.json();
    assert_ne!(result["image"], document["indexImage"]);
    // 1.2.0's layer and config, the catalog layer and config.
    assert_eq!(registry.upload_count(), uploads + 4);
}

#[test]
fn oci_layout_is_reproducible_and_readable_by_skopeo() {
    let bundles = good();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut results = Vec::new();
    for dir in &dirs {
        let layout = dir.path().join("layout");
        let output = build_into_layout(&bundles, &layout)
            .args(["--repo", "quay.io/osd-addons/demo", "-o", "json"])
            .run()
            .success();
        results.push(output.json());
    }
    assert_eq!(results[0], results[1], "same input, same digests");
    let a = std::fs::read(dirs[0].path().join("layout/index.json")).unwrap();
    let b = std::fs::read(dirs[1].path().join("layout/index.json")).unwrap();
    assert_eq!(a, b, "byte-identical index.json");
    let digest = results[0]["digest"].as_str().unwrap();
    assert_eq!(
        results[0]["image"],
        format!("quay.io/osd-addons/demo@{digest}")
    );
    assert_eq!(results[0]["base"], "scratch");
    if skopeo_installed("reading the layout back") {
        let layout = dirs[0].path().join("layout");
        let inspect: Value = skopeo_json(&["inspect", &format!("oci:{}:latest", layout.display())]);
        assert_eq!(inspect["Digest"], digest);
        assert_eq!(
            inspect["Labels"]["operators.operatorframework.io.index.configs.v1"],
            "/configs"
        );
        let bundle: Value = skopeo_json(&[
            "inspect",
            &format!("oci:{}:demo-operator-v1.2.0", layout.display()),
        ]);
        assert_eq!(
            bundle["Labels"]["operators.operatorframework.io.bundle.channels.v1"],
            "stable,fast"
        );
    }
    // The FBC of our fixture: graph, properties, related images.
    let text = catalog_json_from_layer(
        &last_layer(&dirs[0].path().join("layout"), "latest"),
        "demo-operator",
    );
    let blobs = json_stream(&text);
    let stable = channel(&blobs, "stable");
    assert_eq!(
        entry_names(stable),
        [
            "demo-operator.v1.0.0",
            "demo-operator.v1.1.0",
            "demo-operator.v1.2.0"
        ]
    );
    let fast = channel(&blobs, "fast");
    assert_eq!(
        entry_names(fast),
        ["demo-operator.v1.1.0", "demo-operator.v1.2.0"]
    );
    assert_eq!(
        fast["entries"][0]["replaces"], "demo-operator.v1.0.0",
        "replaces kept as annotated"
    );
    assert_eq!(fast["entries"][1]["skips"], json!(["demo-operator.v1.0.0"]));
    assert_eq!(fast["entries"][1]["skipRange"], ">=1.0.0 <1.2.0");
    let newest = blobs
        .iter()
        .find(|b| b["name"] == "demo-operator.v1.2.0" && b["schema"] == "olm.bundle")
        .unwrap();
    assert_eq!(
        strings(&newest["properties"], "type"),
        [
            "olm.gvk",
            "olm.gvk",
            "olm.gvk.required",
            "olm.package",
            "olm.package.required",
            "olm.csv.metadata"
        ]
    );
    let properties = newest["properties"].as_array().unwrap();
    assert_eq!(
        properties[2]["value"],
        json!({"group": "dep.example.com", "kind": "Backend", "version": "v1"})
    );
    assert_eq!(
        properties[4]["value"],
        json!({"packageName": "dep-operator", "versionRange": ">=0.1.0"})
    );
    assert_eq!(properties[5]["value"]["displayName"], "Demo Operator");
    let related = strings(&newest["relatedImages"], "image");
    assert_eq!(related[0], "quay.io/example/demo-operator:v1.2.0");
    assert_eq!(related[1], "quay.io/example/proxy:v1");
    assert!(related[2].starts_with("quay.io/osd-addons/demo-bundle@sha256:"));
    assert_eq!(related[3], "quay.io/example/demo-operator-setup:v1.2.0");
}

#[test]
fn the_fixture_catalog_matches_the_golden_files() {
    // Golden files: tests/fixtures/catalog/expected/, regenerated only on
    // purpose with UPDATE_GOLDEN=1.
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    catalog_build(&good())
        .args([
            "--oci-layout",
            layout.to_str().unwrap(),
            "--repo",
            "quay.io/osd-addons/demo",
        ])
        .write_stdin("")
        .run()
        .success();
    for package in ["demo-operator", "dep-operator"] {
        let text = catalog_json_from_layer(&last_layer(&layout, "latest"), package);
        let golden = fixtures().join(format!("expected/{package}.catalog.json"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        assert_eq!(
            text,
            std::fs::read_to_string(&golden).unwrap(),
            "{package}: the rendered FBC differs from {}",
            golden.display()
        );
    }
}

/// Runs catalog-build on a bundle folder in layout mode and returns the
/// result and the catalog.json of `package`.
fn render(bundles: &Path, package: &str) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let output = build_into_layout(bundles, &layout).run().success();
    let result: Value = output.json();
    let text = catalog_json_from_layer(&last_layer(&layout, "latest"), package);
    (result, json_stream(&text))
}

/// Expects the channels of a render with their heads, in order, as
/// `(channel, version of package)`.
fn assert_heads(result: &Value, package: &str, expected: &[(&str, &str)]) {
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(channel, version)| (channel.to_string(), format!("{package}.v{version}")))
        .collect();
    assert_eq!(string_pairs(&result["channels"], "name", "head"), expected);
}

#[test]
fn conformance_hawtio_channel_graphs_keep_membership_as_annotated() {
    let Some(reference) = e2e::require_reference("hawtio-operator conformance") else {
        return;
    };
    let (result, blobs) = render(
        &reference.join("bundles/hawtio-operator"),
        "hawtio-operator",
    );
    assert_eq!(result["defaultChannel"], "stable-v1");
    let v = |s: &str| format!("hawtio-operator.v{s}");
    assert_heads(
        &result,
        "hawtio-operator",
        &[
            ("alpha", "0.5.0"),
            ("latest", "1.2.0"),
            ("stable-v1", "1.2.0"),
        ],
    );
    assert_eq!(
        entry_names(channel(&blobs, "alpha")),
        ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"].map(v)
    );
    for name in ["stable-v1", "latest"] {
        let ch = channel(&blobs, name);
        assert_eq!(
            entry_names(ch),
            ["1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0"].map(v)
        );
        assert_eq!(
            ch["entries"][0]["replaces"],
            v("0.5.0"),
            "1.0.0 replaces a bundle of another channel"
        );
        assert_eq!(ch["entries"][2]["skipRange"], ">=1.0.0 <1.0.2");
        assert_eq!(ch["entries"][3]["skipRange"], ">=1.0.0 <1.1.0");
        assert_eq!(ch["entries"][4]["skipRange"], ">=1.0.0 <1.0.2");
    }
    assert_eq!(
        blobs.iter().filter(|b| b["schema"] == "olm.bundle").count(),
        10
    );
    let gvks = |name: &str| -> Vec<Value> {
        blobs.iter().find(|b| b["name"] == v(name)).unwrap()["properties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "olm.gvk")
            .map(|p| p["value"].clone())
            .collect()
    };
    assert_eq!(
        gvks("0.1.0"),
        [json!({"group": "hawt.io", "kind": "Hawtio", "version": "v1alpha1"})]
    );
    assert_eq!(gvks("1.2.0").len(), 2, "1.x serves v1 and v1alpha1");
}

#[test]
fn conformance_oadp_channel_graphs_with_skips_and_dangling_skips() {
    let Some(reference) = e2e::require_reference("oadp-operator conformance") else {
        return;
    };
    let (result, blobs) = render(&reference.join("bundles/oadp-operator"), "oadp-operator");
    let v = |s: &str| format!("oadp-operator.v{s}");
    assert_eq!(result["defaultChannel"], "stable");
    assert_heads(
        &result,
        "oadp-operator",
        &[("alpha", "0.2.6"), ("beta", "0.4.2"), ("stable", "0.5.6")],
    );
    assert_eq!(
        entry_names(channel(&blobs, "alpha")),
        ["0.2.3", "0.2.5", "0.2.6"].map(v)
    );
    assert_eq!(
        entry_names(channel(&blobs, "beta")),
        ["0.3.0", "0.4.0", "0.4.1", "0.4.2"].map(v)
    );
    assert_eq!(
        entry_names(channel(&blobs, "stable")),
        ["0.5.0", "0.5.1", "0.5.2", "0.5.3", "0.5.4", "0.5.5", "0.5.6"].map(v)
    );
    let alpha = channel(&blobs, "alpha");
    assert!(
        alpha["entries"][2]["skips"]
            .as_array()
            .unwrap()
            .contains(&json!(v("0.2.2"))),
        "dangling skip kept"
    );
    let stable = channel(&blobs, "stable");
    assert_eq!(stable["entries"][0]["skipRange"], ">=0.0.0 <99.0.0");
    assert!(stable["entries"][0].get("replaces").is_none());
    let bundle = blobs.iter().find(|b| b["name"] == v("0.5.6")).unwrap();
    let gvks = bundle["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "olm.gvk")
        .count();
    assert!(gvks >= 12, "0.5.6 provides its CRDs' versions ({gvks})");
}

fn run_bad(bundles: &Path, repo: &str) -> (i32, String, String) {
    let output = catalog_build(bundles)
        .args(["--repo", repo, "--base-image", "scratch"])
        .write_stdin("")
        .run();
    (output.code(), output.stdout(), output.stderr())
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn bad_bundles_and_graphs_fail_before_anything_is_pushed() {
    // The repo points at a closed port: exit 1 (not 3) proves nothing was sent.
    let repo = format!("127.0.0.1:{}/x/y", closed_port());
    let cases = [
        ("no-annotations", "BD0002", "annotations.yaml"),
        ("two-csvs", "BD0003", "2 ClusterServiceVersions"),
        ("cycle", "cycle in the replaces chain", "demo-operator.v1.2.0 -> demo-operator.v1.1.0 -> demo-operator.v1.0.0 -> demo-operator.v1.1.0"),
        ("two-heads", "2 channel heads", "channel \"stable\""),
    ];
    for (fixture, first, second) in cases {
        let (code, stdout, stderr) = run_bad(&fixtures().join(fixture), &repo);
        assert_eq!(code, 1, "{fixture}: {stderr}");
        assert!(stdout.is_empty(), "{fixture}: nothing on stdout");
        assert!(
            stderr.contains(first) && stderr.contains(second),
            "{fixture}: {stderr}"
        );
    }
}

#[test]
fn a_dangling_replaces_is_named_with_its_csv_file_not_only_as_two_heads() {
    // 1.1.0 says `replaces: demo-operator.v1.0.1`, meaning 1.0.0: opm
    // reports "multiple channel heads" only; we also name the replaces
    // and the file to fix.
    let repo = format!("127.0.0.1:{}/x/y", closed_port());
    let bundles = fixtures().join("dangling-replaces");
    let (code, stdout, stderr) = run_bad(&bundles, &repo);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    let csv = bundles.join("main/1.1.0/manifests/demo-operator.clusterserviceversion.yaml");
    for expected in [
        "channel \"stable\": 2 channel heads (demo-operator.v1.0.0, demo-operator.v1.1.0)",
        &format!(
            "demo-operator.v1.1.0 replaces \"demo-operator.v1.0.1\" (spec.replaces in {}), which is not an entry of the channel",
            csv.display()
        ),
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}

#[test]
fn a_symlink_escaping_the_bundle_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("main/1.0.0");
    for sub in ["manifests", "metadata"] {
        std::fs::create_dir_all(bundle.join(sub)).unwrap();
        for file in std::fs::read_dir(fixtures().join("good/main/1.0.0").join(sub)).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), bundle.join(sub).join(file.file_name())).unwrap();
        }
    }
    let secret = dir.path().join("secret.yaml");
    std::fs::write(&secret, "kind: Secret\n").unwrap();
    std::os::unix::fs::symlink(&secret, bundle.join("manifests/escape.yaml")).unwrap();
    let (code, stdout, stderr) = run_bad(dir.path(), &format!("127.0.0.1:{}/x/y", closed_port()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("BD0006") && stderr.contains("escape.yaml"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_registry_is_a_remote_error() {
    let repo = format!("127.0.0.1:{}/osd-addons/demo", closed_port());
    let (code, stdout, stderr) = run_bad(&good(), &repo);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty(), "no result for a failed push");
    assert!(
        stderr.contains(&repo.split('/').next().unwrap().to_string()),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("connect"), "{stderr}");
}

#[test]
fn a_401_is_a_remote_error_that_names_the_credentials() {
    let server = Server::start(Arc::new(|_: &addon_flow_testservers::http::HttpRequest| {
        HttpResponse::json(
            401,
            &json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
        )
        .header("WWW-Authenticate", "Basic realm=\"test\"")
    }))
    .unwrap();
    let host = server
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let auth_dir = tempfile::tempdir().unwrap();
    let auth_file = auth_dir.path().join("auth.json");
    // user "robot", password "wrong"
    std::fs::write(
        &auth_file,
        format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"cm9ib3Q6d3Jvbmc=\"}}}}}}"),
    )
    .unwrap();
    let output = catalog_build(&good())
        .args([
            "--repo",
            &format!("{host}/osd-addons/demo"),
            "--base-image",
            "scratch",
        ])
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .write_stdin("")
        .run()
        .exit(3);
    let stderr = output.stderr();
    assert!(output.stdout().is_empty());
    assert!(
        stderr.contains(auth_file.to_str().unwrap()),
        "names where the credentials came from: {stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "never prints the password: {stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = catalog_build(&good()).write_stdin("").run().exit(2);
    assert!(output.stderr().contains("--oci-layout"));
    catalog_build(&good())
        .args(["--repo", "quay.io/x:tag"])
        .write_stdin("")
        .run()
        .exit(2);
}

/// A copy of the good fixture tree to change.
fn good_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    e2e::copy_tree(&good(), dir.path());
    dir
}

/// catalog-build into an OCI layout that must not come to exist: (exit
/// code, stderr); asserts nothing was printed or written.
fn run_refused_into_layout(bundles: &Path) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    let output = build_into_layout(bundles, &layout).run();
    assert!(output.stdout().is_empty(), "no result printed");
    assert!(!layout.exists(), "nothing written to the layout");
    (output.code(), output.stderr())
}

#[test]
fn a_symlinked_main_or_version_folder_is_refused_and_nothing_is_built_or_pushed() {
    let outside = tempfile::tempdir().unwrap();
    e2e::copy_tree(&fixtures().join("good/main"), &outside.path().join("main"));
    std::fs::write(
        outside.path().join("main/1.2.0/manifests/stolen.yaml"),
        "kind: Secret\n",
    )
    .unwrap();
    // main/ itself, a dependency operator folder, and one version folder.
    for link in ["main", "evil-operator", "main/1.3.0"] {
        let dir = good_copy();
        let target = match link {
            "main" => {
                std::fs::remove_dir_all(dir.path().join("main")).unwrap();
                outside.path().join("main")
            }
            "main/1.3.0" => outside.path().join("main/1.2.0"),
            _ => outside.path().join("main"),
        };
        std::os::unix::fs::symlink(target, dir.path().join(link)).unwrap();
        let repo = format!("127.0.0.1:{}/x/y", closed_port());
        let (code, stdout, stderr) = run_bad(dir.path(), &repo);
        assert_eq!(code, 1, "{link}: exit 1, not 3: nothing was sent\n{stderr}");
        assert!(stdout.is_empty(), "{link}");
        let named = format!("{}: error BD0006", dir.path().join(link).display());
        assert!(stderr.contains(&named), "{link}: {stderr}");
        assert!(stderr.contains("is a symlink"), "{link}: {stderr}");
        let (code, stderr) = run_refused_into_layout(dir.path());
        assert_eq!(code, 1, "{link}: {stderr}");
    }
}

#[test]
fn a_package_name_that_would_become_a_path_is_refused_before_any_layer_is_written() {
    for package in ["../../../../etc/cron.d/evil", "/etc/cron.d/evil", "demo//x"] {
        let dir = good_copy();
        for version in ["1.0.0", "1.1.0", "1.2.0"] {
            let path = dir
                .path()
                .join(format!("main/{version}/metadata/annotations.yaml"));
            e2e::replace_in(
                &path,
                "package.v1: demo-operator",
                &format!("package.v1: '{package}'"),
            );
        }
        let (code, stderr) = run_refused_into_layout(dir.path());
        assert_eq!(code, 1, "{package}: {stderr}");
        assert!(
            stderr.contains("BD0009") && stderr.contains(&format!("{package:?}")),
            "{package}: {stderr}"
        );
        assert!(
            stderr.contains("annotations.yaml:5"),
            "names file and line: {stderr}"
        );
        let repo = format!("127.0.0.1:{}/x/y", closed_port());
        let (code, _, stderr) = run_bad(dir.path(), &repo);
        assert_eq!(code, 1, "{package}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_utf8_file_name_is_refused_by_name_not_rewritten() {
    use std::os::unix::ffi::OsStrExt;
    let dir = good_copy();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
    std::fs::write(
        dir.path().join("main/1.2.0/manifests").join(odd),
        "kind: ConfigMap\n",
    )
    .unwrap();
    let (code, stderr) = run_refused_into_layout(dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("BD0009") && stderr.contains(r#""caf\xE9.yaml""#),
        "{stderr}"
    );
    assert!(stderr.contains("not UTF-8"), "{stderr}");
}

#[test]
fn long_file_names_are_written_as_pax_records_that_tar_umoci_and_skopeo_read() {
    let dir = good_copy();
    let long_name = format!("{}.configmap.yaml", "a-very-long-manifest-name".repeat(6));
    assert!(
        long_name.len() + "manifests/".len() > 155,
        "beyond ustar's prefix split too"
    );
    let content = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: long}\n";
    std::fs::write(
        dir.path().join("main/1.2.0/manifests").join(&long_name),
        content,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for run in ["first", "second"] {
        let layout = out.path().join(run);
        let output = build_into_layout(dir.path(), &layout)
            .args(["-o", "json"])
            .run()
            .success();
        let result: Value = output.json();
        digests.push(result["bundles"]["bundles"].clone());
    }
    assert_eq!(digests[0], digests[1], "reproducible with PAX headers");
    let layout = out.path().join("first");
    let layer = last_layer(&layout, "demo-operator-v1.2.0");
    // GNU tar lists the whole name (it reads the PAX path record).
    Command::new("tar")
        .arg("-tvzf")
        .arg(&layer)
        .run()
        .success()
        .stdout_has(&format!("manifests/{long_name}"))
        // No PAX header shown as a file.
        .stdout_lacks("PaxHeaders");
    // umoci unpacks the image with the file under its whole name.
    if e2e::prerequisite("umoci (unpacking the layout)", e2e::program("umoci")) {
        let bundle = out.path().join("unpacked");
        Command::new("umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:demo-operator-v1.2.0", layout.display()))
            .arg(&bundle)
            .run()
            .success();
        assert_eq!(
            std::fs::read_to_string(bundle.join("rootfs/manifests").join(&long_name)).unwrap(),
            content
        );
    }
    if skopeo_installed("reading the layout back") {
        let copied = out.path().join("copied");
        skopeo(&[
            "copy",
            &format!("oci:{}:demo-operator-v1.2.0", layout.display()),
            &format!("dir:{}", copied.display()),
        ]);
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_oci_layout_is_never_followed() {
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), layout.join("blobs")).unwrap();
    let output = build_into_layout(&good(), &layout).run().exit(1);
    let stderr = output.stderr();
    assert!(output.stdout().is_empty());
    assert!(
        stderr.contains(&layout.join("blobs").display().to_string())
            && stderr.contains("is a symlink inside the OCI layout"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert!(!layout.join("index.json").exists());
}

/// catalog-build pushing to a closed port with the given auth environment:
/// (exit code, stderr).
fn run_with_auth_file(auth_file: &Path, home: &Path, port: u16) -> (i32, String) {
    let output = catalog_build(&good())
        .args([
            "--repo",
            &format!("127.0.0.1:{port}/x/y"),
            "--base-image",
            "scratch",
            "--no-cache",
        ])
        .env("REGISTRY_AUTH_FILE", auth_file)
        .env("HOME", home)
        .write_stdin("")
        .run();
    assert!(output.stdout().is_empty());
    (output.code(), output.stderr())
}

#[test]
fn a_missing_registry_auth_file_is_an_error_naming_it_not_an_anonymous_push() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-auth.json");
    let (code, stderr) = run_with_auth_file(&missing, home.path(), closed_port());
    assert_eq!(code, 1, "exit 1 before any connection: {stderr}");
    assert!(
        stderr.contains(&missing.display().to_string()) && stderr.contains("REGISTRY_AUTH_FILE"),
        "{stderr}"
    );
}

#[test]
fn an_auth_entry_of_the_wrong_type_is_an_error_naming_the_file_and_field() {
    let home = tempfile::tempdir().unwrap();
    let auth_file = home.path().join("auth.json");
    let port = closed_port();
    std::fs::write(
        &auth_file,
        format!(r#"{{"auths": {{"127.0.0.1:{port}": {{"auth": ["cm9ib3Q6c2VjcmV0"]}}}}}}"#),
    )
    .unwrap();
    let (code, stderr) = run_with_auth_file(&auth_file, home.path(), port);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&auth_file.display().to_string())
            && stderr.contains(&format!(
                "auths.127.0.0.1:{port}.auth: expected a string, found a list"
            )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cm9ib3Q6c2VjcmV0"),
        "never repeats the value: {stderr}"
    );
}

#[test]
fn a_stream_checks_its_cache_hits_together_pins_the_base_once_and_rebuilds_only_what_the_registry_lost(
) {
    let Some(registry) = start_registry() else {
        return;
    };
    let base = push_base_image(&registry);
    let root = tempfile::tempdir().unwrap();
    let ids = ["a-addon", "b-addon", "c-addon"];
    let mut stream = String::new();
    for id in ids {
        e2e::copy_tree(&good(), &root.path().join(id));
        let mut document = e2e::demo_addon();
        document["id"] = Value::from(id);
        stream.push_str(&format!("{document}\n"));
    }
    let prefix = registry.repo("org");
    let cache = tempfile::tempdir().unwrap();
    let build = || {
        e2e::tool("catalog-build")
            .arg("--bundles-root")
            .arg(root.path())
            .args(["--repo-prefix", &prefix, "--base-image", &base])
            .env("XDG_CACHE_HOME", cache.path())
            .write_stdin(stream.clone())
            .run()
            .success()
    };
    let index_images = |run: &e2e::Run| -> Vec<String> {
        run.stdout()
            .lines()
            .map(|line| {
                let document: Value = serde_json::from_str(line).unwrap();
                document["indexImage"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let built = index_images(&build());
    assert_eq!(built.len(), 3);

    // Nothing changed: every hit's images checked, the base pinned once for
    // the whole stream (not once per add-on), nothing written.
    let (requests, writes) = (registry.requests().len(), registry.writes().len());
    assert_eq!(index_images(&build()), built);
    let checks = registry.requests()[requests..].to_vec();
    let base_heads = count_requests(&checks, |r| r.contains("/test/opm-base/manifests/"));
    assert_eq!(base_heads, 1, "the base is pinned once per run: {checks:?}");
    let catalog_heads = count_requests(&checks, |r| {
        r.starts_with("HEAD /v2/org/") && r.contains("/manifests/")
    });
    let tag_listings = count_requests(&checks, |r| {
        r.starts_with("GET /v2/org/") && r.contains("-bundle/tags/list")
    });
    assert_eq!(
        (catalog_heads, tag_listings),
        (3, 3),
        "per add-on: its catalog's manifest and one listing of its 4 bundle tags: {checks:?}"
    );
    assert_eq!(
        registry.writes().len(),
        writes,
        "nothing changed, nothing written"
    );

    // The registry loses one of b-addon's bundle tags: b-addon alone is
    // rebuilt and pushed again (the same bytes, so the same digests).
    registry.lose_a_tag("org/b-addon-bundle");
    let writes = registry.writes().len();
    assert_eq!(
        index_images(&build()),
        built,
        "a rebuild gives the same digests"
    );
    let rewritten = registry.writes()[writes..].to_vec();
    assert!(
        !rewritten.is_empty() && rewritten.iter().all(|w| w.contains("/org/b-addon")),
        "only b-addon's repositories are written: {rewritten:?}"
    );
}

#[test]
fn with_credentials_the_cache_check_goes_through_oci_client_and_still_sees_a_lost_bundle_tag() {
    let Some((registry, repo, cache)) = registry_with_demo_repo() else {
        return;
    };
    // This registry asks for no credentials and ignores them; holding some
    // for it sends the cache check through oci-client's authenticated path.
    let auth_file = cache.path().join("auth.json");
    std::fs::write(
        &auth_file,
        json!({"auths": {registry.host(): {"auth": common::text::base64::encode(b"robot:secret")}}})
            .to_string(),
    )
    .unwrap();
    let build = || {
        push_on_scratch(&good(), &repo, cache.path())
            .env("REGISTRY_AUTH_FILE", &auth_file)
            .write_stdin(serde_json::to_vec(&e2e::demo_addon()).unwrap())
            .run()
            .success()
            .json()["indexImage"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let built = build();

    let (requests, writes) = (registry.requests().len(), registry.writes().len());
    assert_eq!(build(), built, "answered from the cache");
    let checks = registry.requests()[requests..].to_vec();
    assert!(
        checks
            .iter()
            .any(|r| r.starts_with("GET /v2/osd-addons/demo-bundle/tags/list")),
        "one tags listing for the bundles: {checks:?}"
    );
    assert!(
        checks
            .iter()
            .any(|r| r.starts_with("HEAD /v2/osd-addons/demo/manifests/latest")),
        "the catalog's tag: {checks:?}"
    );
    assert_eq!(registry.writes().len(), writes, "nothing written");

    registry.lose_a_tag("osd-addons/demo-bundle");
    let writes = registry.writes().len();
    assert_eq!(build(), built, "rebuilt: the same digest");
    assert!(
        registry.writes().len() > writes,
        "the lost tag is pushed again"
    );
}

/// The good bundles, copied, with a `main/config.yaml` listing `name` for
/// stage.
fn bundles_listing(dir: &Path, name: &str) -> PathBuf {
    let bundles = dir.join("bundles");
    e2e::copy_tree(&good(), &bundles);
    std::fs::write(
        bundles.join("main/config.yaml"),
        format!("addons:\n  - name: {name}\n    environments: [stage]\n"),
    )
    .unwrap();
    bundles
}

/// `catalog-build --imagesets-out TREE` into an OCI layout (no network),
/// under umask 022 so that the modes it gives new files are known.
fn write_image_sets(bundles: &Path, tree: &Path, layout: &Path) -> e2e::Run {
    Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(e2e::bin_path("catalog-build"))
        .arg("--bundles")
        .arg(bundles)
        .args(["--repo", "quay.io/osd-addons/demo", "--oci-layout"])
        .arg(layout)
        .arg("--imagesets-out")
        .arg(tree)
        .stdin(std::process::Stdio::null())
        .run()
}

/// The add-on `demo`'s image sets written from a copy of the good bundles:
/// in one tempdir, the bundles (listing `demo` for stage), an add-on tree
/// with demo's stage image set folder `sets` (where `--imagesets-out`
/// writes), and the OCI layout the catalog goes to.
struct DemoImageSets {
    dir: tempfile::TempDir,
    bundles: PathBuf,
    tree: PathBuf,
    sets: PathBuf,
    layout: PathBuf,
}

impl DemoImageSets {
    fn new() -> DemoImageSets {
        let dir = tempfile::tempdir().unwrap();
        let bundles = bundles_listing(dir.path(), "demo");
        let tree = dir.path().join("tree");
        let sets = tree.join("addons/demo/addonimagesets/stage");
        std::fs::create_dir_all(&sets).unwrap();
        let layout = dir.path().join("layout");
        DemoImageSets {
            dir,
            bundles,
            tree,
            sets,
            layout,
        }
    }

    /// `catalog-build --imagesets-out` of these bundles into the tree.
    fn write(&self) -> e2e::Run {
        write_image_sets(&self.bundles, &self.tree, &self.layout)
    }

    /// The text of the image set file `name` in `sets`.
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.sets.join(name)).unwrap()
    }
}

/// A file's permission bits.
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn imagesets_out_refuses_names_that_are_not_addon_ids_and_writes_nothing_outside_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("addons")).unwrap();
    // Another add-on's addon.yaml outside the tree, where `../../victim`
    // and an absolute path would lead.
    let victim = dir.path().join("victim/metadata/stage/addon.yaml");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, "id: victim\nindexImage: quay.io/v/v:1\n").unwrap();
    for name in [
        "../../victim",
        &dir.path().join("victim").display().to_string(),
    ] {
        let bundles = bundles_listing(&dir.path().join(name.replace('/', "_")), name);
        let out = write_image_sets(&bundles, &tree, &dir.path().join("layout")).exit(1);
        let stderr = out.stderr();
        assert!(
            stderr.contains(&format!("{}", bundles.join("main/config.yaml").display()))
                && stderr.contains("addons[0].name")
                && stderr.contains("is not an add-on id"),
            "{name}: names the file, the field and the rule: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "id: victim\nindexImage: quay.io/v/v:1\n",
            "{name}: the other add-on's addon.yaml is untouched"
        );
        assert_eq!(
            std::fs::read_dir(tree.join("addons")).unwrap().count(),
            0,
            "{name}: nothing written into the tree either"
        );
        assert!(
            !dir.path().join("layout").exists(),
            "{name}: refused before anything is built"
        );
    }
}

#[cfg(unix)]
#[test]
fn imagesets_out_never_writes_through_a_symlinked_folder_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = bundles_listing(dir.path(), "demo");
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("addon.yaml");
    std::fs::write(&victim, "id: victim\nindexImage: quay.io/v/v:1\n").unwrap();
    // addonimagesets/stage, addonimagesets, the add-on folder, and an
    // addon.yaml that is itself a link: each is refused, naming the link.
    let cases: [(&str, &Path); 4] = [
        ("addons/demo/addonimagesets/stage", elsewhere.path()),
        ("addons/demo/addonimagesets", elsewhere.path()),
        ("addons/demo", elsewhere.path()),
        ("addons/demo/metadata/stage/addon.yaml", &victim),
    ];
    for (link, target) in cases {
        let tree = dir.path().join(format!("tree-{}", link.replace('/', "-")));
        let at = tree.join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &at).unwrap();
        let out = write_image_sets(&bundles, &tree, &dir.path().join("layout")).exit(1);
        let stderr = out.stderr();
        assert!(
            stderr.contains(&at.display().to_string()) && stderr.contains("is a symlink"),
            "{link}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(elsewhere.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            ["addon.yaml"],
            "{link}: nothing written through the link"
        );
        assert!(
            !dir.path().join("layout").exists(),
            "{link}: refused before anything is built"
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "id: victim\nindexImage: quay.io/v/v:1\n",
            "{link}"
        );
    }
}

#[cfg(unix)]
#[test]
fn imagesets_out_and_oci_layouts_give_new_files_the_umask_mode_and_keep_a_rewritten_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let demo = DemoImageSets::new();
    let (bundles, tree, layout) = (&demo.bundles, &demo.tree, &demo.layout);
    demo.write().success();
    let written = e2e::file_names(&demo.sets);
    assert_eq!(written.len(), 1, "{written:?}");
    let set = &demo.sets.join(&written[0]);
    // umask 022: what any tool gives a new file, not the temporary file's 0600.
    assert_eq!(mode(set), 0o644, "{}", set.display());
    let mut layout_files = vec![layout.join("index.json"), layout.join("oci-layout")];
    for blob in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        layout_files.push(blob.unwrap().path());
    }
    for file in &layout_files {
        assert_eq!(mode(file), 0o644, "{}", file.display());
    }

    // A rewrite keeps the mode the file had (the team's 0640, a 0664).
    let changed = bundles_listing(&demo.dir.path().join("other"), "demo");
    std::fs::write(
        changed.join("main/1.2.0/metadata/annotations.yaml"),
        std::fs::read_to_string(changed.join("main/1.2.0/metadata/annotations.yaml")).unwrap()
            + "  com.example/changed: \"yes\"\n",
    )
    .unwrap();
    for kept in [0o640, 0o664] {
        std::fs::set_permissions(set, std::fs::Permissions::from_mode(kept)).unwrap();
        std::fs::set_permissions(
            layout.join("index.json"),
            std::fs::Permissions::from_mode(kept),
        )
        .unwrap();
        let before = std::fs::read(set).unwrap();
        let source = if kept == 0o640 { &changed } else { bundles };
        write_image_sets(source, tree, layout)
            .success()
            .stderr_has("updated");
        assert_ne!(std::fs::read(set).unwrap(), before, "rewritten");
        assert_eq!(mode(set), kept, "the image set keeps {kept:o}");
        assert_eq!(
            mode(&layout.join("index.json")),
            kept,
            "index.json keeps {kept:o}"
        );
    }
}

/// managed-tenants-cli's image set creator names the file
/// `addons/<name>/addonimagesets/<env>/<name>.v<version>.yaml`
/// (mt-sre/managed-tenants-cli, `managedtenants/bundles/imageset.py`,
/// `ImageSet.path`) and updates it when it exists, creating it otherwise
/// (`managedtenants/bundles/imageset_creator.py`, `_update_imagesets`).
#[test]
fn imagesets_out_names_the_file_as_mtcli_and_updates_the_versions_file_in_place() {
    let demo = DemoImageSets::new();
    let sets = &demo.sets;

    // A fresh folder: mtcli's name.
    demo.write().success();
    assert_eq!(e2e::file_names(sets), ["demo.v1.2.0.yaml"]);
    let fresh = demo.read("demo.v1.2.0.yaml");

    // The `.yml` an earlier release wrote, with a stale digest: updated in
    // place, no second file beside it.
    std::fs::remove_file(sets.join("demo.v1.2.0.yaml")).unwrap();
    let stale = fresh.replace("@sha256:", "@sha256:0");
    std::fs::write(sets.join("demo.v1.2.0.yml"), &stale).unwrap();
    demo.write().success().stderr_has(&format!(
        "updated {}",
        sets.join("demo.v1.2.0.yml").display()
    ));
    assert_eq!(e2e::file_names(sets), ["demo.v1.2.0.yml"]);
    assert_eq!(demo.read("demo.v1.2.0.yml"), fresh);

    // Both spellings: the tree does not say which is meant; refused, naming both.
    std::fs::write(sets.join("demo.v1.2.0.yaml"), &stale).unwrap();
    let refused = demo.write().exit(1);
    has_all(
        "refused",
        &refused.stderr(),
        &[
            "2 image set files for version 1.2.0",
            "demo.v1.2.0.yml",
            "demo.v1.2.0.yaml",
        ],
    );
    assert_eq!(
        demo.read("demo.v1.2.0.yaml"),
        stale,
        "neither file is changed"
    );
}

/// A bundles folder's `VERSION` file names the image set, as in
/// managed-tenants-cli (`managedtenants/bundles/addon_bundles.py`,
/// `AddonBundles._get_latest_version`: `semver.VersionInfo.parse` of the
/// file, else the highest main bundle).
#[test]
fn imagesets_out_names_the_image_set_after_a_version_file() {
    let demo = DemoImageSets::new();
    let version_file = demo.bundles.join("VERSION");
    std::fs::write(&version_file, "2.0.0-rc.1\n").unwrap();
    demo.write().success();
    let set: Value = serde_yaml::from_str(&demo.read("demo.v2.0.0-rc.1.yaml")).unwrap();
    assert_eq!(set["name"], "demo.v2.0.0-rc.1");

    // Not a version: refused before anything is built, naming the file.
    for bad in ["v2\n", " 2.0.0", ""] {
        std::fs::write(&version_file, bad).unwrap();
        let layout = demo.dir.path().join("refused-layout");
        let refused = write_image_sets(&demo.bundles, &demo.tree, &layout).exit(1);
        has_all(
            &format!("{bad:?}"),
            &refused.stderr(),
            &[&version_file.display().to_string(), "semantic version"],
        );
        assert!(!layout.exists(), "{bad:?}: nothing built");
    }
}

const PACKAGE_MANIFEST: &str = "apiVersion: manifests.package-operator.run/v1alpha1\nkind: PackageManifest\nmetadata:\n  name: demo\nspec:\n  scopes: [Namespaced]\n";

/// The good bundles listing `demo`, with a package-operator `package/`.
fn bundles_with_package(dir: &Path) -> PathBuf {
    let bundles = bundles_listing(dir, "demo");
    add_package(&bundles);
    bundles
}

/// Adds a package-operator `package/` to a bundles folder.
fn add_package(bundles: &Path) {
    std::fs::create_dir_all(bundles.join("package/deploy")).unwrap();
    std::fs::write(bundles.join("package/manifest.yaml"), PACKAGE_MANIFEST).unwrap();
    std::fs::write(
        bundles.join("package/deploy/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\n",
    )
    .unwrap();
}

/// A bundles folder's `package/` is built into a package image and named
/// by digest as the image set's `packageImage`, as managed-tenants-cli does
/// (`managedtenants/bundles/cli.py`: a `package` folder is built and pushed
/// by `PackageBuilder.build_and_push`; `docker_api.py`, `build_package`:
/// `FROM scratch` + `ADD . /package`; `imageset.py`: `packageImage` set to
/// the pushed image by digest).
#[test]
fn a_package_folder_becomes_a_package_image_named_by_the_image_set() {
    let demo = DemoImageSets::new();
    add_package(&demo.bundles);
    let layout = &demo.layout;
    let result = demo.write().success().json();
    let package = OciLayout::new(layout).read_image(Some("package")).unwrap();
    let expected = format!("quay.io/osd-addons/demo-package@{}", package.digest());
    assert_eq!(result["packageImage"], expected.as_str(), "{result}");
    let set: Value = serde_yaml::from_str(&demo.read("demo.v1.2.0.yaml")).unwrap();
    assert_eq!(set["packageImage"], expected.as_str());
    assert!(
        common::check::schemas::schemas()
            .image_set
            .validate(&set)
            .is_empty(),
        "{set:?}"
    );
    // /package holds the folder's files; no labels, one layer.
    assert_eq!(package.layers.len(), 1);
    let unpacked = tempfile::tempdir().unwrap();
    Command::new("tar")
        .arg("-xzf")
        .arg(
            layout
                .join("blobs/sha256")
                .join(package.layers[0].digest.trim_start_matches("sha256:")),
        )
        .arg("-C")
        .arg(unpacked.path())
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(unpacked.path().join("package/manifest.yaml")).unwrap(),
        PACKAGE_MANIFEST
    );
    assert!(unpacked
        .path()
        .join("package/deploy/deployment.yaml")
        .is_file());

    // Not a package-operator package: refused before anything is built.
    std::fs::write(
        demo.bundles.join("package/manifest.yaml"),
        "kind: ConfigMap\n",
    )
    .unwrap();
    let refused = demo.dir.path().join("refused");
    let run = write_image_sets(&demo.bundles, &demo.tree, &refused).exit(1);
    has_all(
        "refused",
        &run.stderr(),
        &["package/manifest.yaml", "PackageManifest"],
    );
    assert!(!refused.exists());
}

#[test]
fn a_package_image_is_pushed_beside_the_bundles_and_a_cached_rerun_still_names_it() {
    let Some(registry) = start_registry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bundles = bundles_with_package(dir.path());
    let repo = registry.repo("osd-addons/demo");
    let cache = tempfile::tempdir().unwrap();
    let build = || {
        push_on_scratch(&bundles, &repo, cache.path())
            .write_stdin("")
            .run()
            .success()
            .json()
    };
    let first = build();
    let package = first["packageImage"].as_str().unwrap().to_string();
    assert!(
        package.starts_with(&format!("{repo}-package@sha256:")),
        "{first}"
    );
    let seen: Value = skopeo_inspect(&package);
    assert_eq!(seen["Digest"], package.split('@').nth(1).unwrap());
    assert_eq!(seen["Layers"].as_array().unwrap().len(), 1);
    let again = build();
    assert_eq!(
        again, first,
        "answered from the cache, package image included"
    );
}

/// The command the OCI layout note tells a user to run, as words.
fn push_command_of_the_note(stderr: &str) -> Vec<String> {
    let command = stderr
        .lines()
        .find_map(|line| line.split_once("with: catalog-build ").map(|(_, c)| c))
        .unwrap_or_else(|| panic!("the note gives a command: {stderr}"));
    command.split_whitespace().map(str::to_string).collect()
}

#[test]
fn following_the_layout_note_pushes_a_catalog_whose_bundles_skopeo_can_inspect() {
    let Some(registry) = start_registry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let repo = registry.repo("osd-addons/demo");
    let written = catalog_build(&good())
        .args(["--repo", &repo, "--oci-layout", layout.to_str().unwrap()])
        .write_stdin("")
        .run()
        .success();
    let catalog = written.json()["image"].as_str().unwrap().to_string();
    assert!(
        registry.writes().is_empty(),
        "writing a layout pushes nothing"
    );

    let words = push_command_of_the_note(&written.stderr());
    assert_eq!(words, ["--push-layout", layout.to_str().unwrap()]);
    let pushed = e2e::tool("catalog-build")
        .args(&words)
        .run()
        .success()
        .json();
    let pushed = pushed["pushed"].as_array().unwrap().clone();
    assert_eq!(pushed.len(), 5, "four bundles and the catalog: {pushed:?}");
    assert_eq!(pushed[4]["name"], "latest", "the catalog goes last");
    assert_eq!(pushed[4]["image"], catalog.as_str());

    // The catalog in the registry, and every bundle image it names.
    let pulled = skopeo_pull(&catalog);
    let mut named = 0;
    for package in ["demo-operator", "dep-operator"] {
        let text = catalog_json_from_layer(&last_layer(pulled.path(), "pulled"), package);
        for bundle in json_stream(&text)
            .iter()
            .filter(|b| b["schema"] == "olm.bundle")
        {
            let image = bundle["image"].as_str().unwrap();
            let seen: Value = skopeo_inspect(image);
            assert_eq!(seen["Digest"], image.split('@').nth(1).unwrap());
            named += 1;
        }
    }
    assert_eq!(named, 4);
}

#[test]
fn a_layout_written_without_repo_is_refused_by_push_layout_saying_how_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let written = build_into_layout(&good(), &layout).run().success();
    let stderr = written.stderr();
    assert!(
        stderr.contains("localhost/catalog-bundle@sha256:..., which no registry serves")
            && stderr.contains("--repo REGISTRY/REPO")
            && stderr.contains(&format!("catalog-build --push-layout {}", layout.display())),
        "{stderr}"
    );
    e2e::tool("catalog-build")
        .args(["--push-layout", layout.to_str().unwrap()])
        .run()
        .exit(1)
        .no_stdout()
        .stderr_has(&layout.join("index.json").display().to_string())
        .stderr_has("written without --repo");
    e2e::tool("catalog-build")
        .args(["--push-layout", layout.to_str().unwrap()])
        .args(["--bundles", good().to_str().unwrap()])
        .run()
        .exit(2);
}

#[test]
fn a_registry_that_asks_for_no_credentials_is_asked_its_v2_once_not_before_every_request() {
    // oci-client, given (anonymous) credentials for a registry whose `/v2/`
    // answers without a challenge, asks `/v2/` again before each request:
    // about ten times per image, half of a push's requests.
    let Some((registry, repo, cache)) = registry_with_demo_repo() else {
        return;
    };
    let push = |extra: &[&str]| {
        push_on_scratch(&good(), &repo, cache.path())
            .args(extra)
            .env_remove("REGISTRY_AUTH_FILE")
            .env("HOME", cache.path())
            .write_stdin("")
            .run()
            .success()
            .json()
    };
    let started = registry.requests().len();
    let first = push(&[]);
    let requests = registry.requests()[started..].to_vec();
    let probes = count_requests(&requests, |r| r.starts_with("GET /v2/ "));
    assert_eq!(probes, 1, "{requests:#?}");
    // 5 images of 2 blobs: a HEAD and a monolithic upload (POST, PUT) per
    // blob, a PUT per manifest; no tag check, since every blob was sent.
    assert_eq!(requests.len(), 1 + 5 * (2 * 3 + 1), "{requests:#?}");

    // Everything already there (--no-cache): the blobs are found, and each
    // tag, asked plainly, already points at its image: nothing written.
    let before = registry.requests().len();
    let writes = registry.writes().len();
    assert_eq!(push(&["--no-cache"]), first);
    let again = registry.requests()[before..].to_vec();
    assert_eq!(registry.writes().len(), writes, "{again:#?}");
    assert_eq!(
        count_requests(&again, |r| r.starts_with("GET /v2/ ")),
        1,
        "{again:#?}"
    );
    assert_eq!(
        count_requests(&again, |r| r.starts_with("HEAD /v2/osd-addons/demo")
            && r.contains("/manifests/")),
        5,
        "one tag check per image: {again:#?}"
    );
}
