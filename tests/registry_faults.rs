//! catalog-build against a real registry (Debian's `docker-registry`) that
//! misbehaves: a faulting proxy (`addon_flow_testservers::registry`) in
//! front of it applies a fault plan per request, and the registry itself is
//! stopped mid-push and started again on the same port with the same
//! storage. What a client we did not write (`skopeo`) reads back is the
//! proof the push converged.
//!
//! Assertions are on exit codes, messages and the requests the proxy saw,
//! never on how long something took. Without docker-registry or skopeo the
//! tests say SKIPPED.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use addon_flow_testservers::faults::FaultPlan;
use addon_flow_testservers::registry::{
    free_port, registry_tools_installed, DockerRegistry, FaultingProxy, Forwarded,
};
use common::oci::OciLayout;
use e2e::registry::{skopeo, skopeo_pull};
use e2e::{Run, RunExt};

/// The `indexImage` of the document catalog-build printed (`host/repo@sha256:...`).
fn index_image(run: &Run) -> String {
    run.json()["indexImage"].as_str().unwrap().to_string()
}

/// The digest part of [`index_image`].
fn digest(run: &Run) -> String {
    index_image(run).split('@').nth(1).unwrap().to_string()
}

/// The registry on a free port. A port free when picked can be taken
/// before the registry binds it (the tests start servers on many threads
/// at once), so a registry that exits at once is started again on another,
/// up to three times.
fn registry_or_skip(storage: &Path) -> Option<DockerRegistry> {
    if !e2e::prerequisite("docker-registry and skopeo", registry_tools_installed()) {
        return None;
    }
    let mut failed = Vec::new();
    for _ in 0..3 {
        match DockerRegistry::start(free_port(), storage) {
            Ok(registry) => return Some(registry),
            Err(err) => failed.push(err.to_string()),
        }
    }
    panic!("docker-registry did not start on three ports: {failed:?}");
}

/// A registry on a free port with the base image pushed to it
/// ([`push_base_image`]), and its storage folder (dropped last); None, with a
/// note, when docker-registry or skopeo is missing.
fn registry_with_base() -> Option<(tempfile::TempDir, DockerRegistry, &'static str)> {
    let storage = tempfile::tempdir().unwrap();
    let registry = registry_or_skip(storage.path())?;
    let base = push_base_image(&registry);
    Some((storage, registry, base))
}

/// A proxy in front of `registry` that misbehaves as the fault plan `plan`
/// says, the plan (to count what it did), and a fresh cache folder for the
/// catalog-build run through it.
fn faulting_proxy(
    registry: &DockerRegistry,
    plan: &str,
) -> (FaultPlan, FaultingProxy, tempfile::TempDir) {
    let faults = FaultPlan::parse(plan).unwrap();
    let proxy = FaultingProxy::start(registry.addr(), faults.clone()).unwrap();
    (faults, proxy, tempfile::tempdir().unwrap())
}

/// The blob uploads the registry accepted (`PUT .../blobs/...` answered 201).
fn blob_uploads(forwarded: &[Forwarded]) -> usize {
    forwarded
        .iter()
        .filter(|f| f.method == "PUT" && f.status == 201 && f.target.contains("/blobs/"))
        .count()
}

/// Pushes a small base image of our own (one layer, opm's entrypoint) to
/// `test/opm-base:v1` of the registry with skopeo, directly (not through the
/// proxy); returns the repository path to reach it by any host.
fn push_base_image(registry: &DockerRegistry) -> &'static str {
    let dir = tempfile::tempdir().unwrap();
    e2e::registry::make_base_layout(dir.path());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:base", dir.path().display()),
        &format!("docker://{}/test/opm-base:v1", registry.host()),
    ]);
    "test/opm-base:v1"
}

fn addon_document() -> Vec<u8> {
    serde_json::to_vec(&e2e::demo_addon()).unwrap()
}

fn bundles() -> PathBuf {
    e2e::repo_root().join("tests/fixtures/catalog/good")
}

/// catalog-build of the fixture bundles to `HOST/osd-addons/demo` on the
/// base image at `HOST/BASE`, with its cache in `cache`.
fn catalog_build(host: &str, base: &str, cache: &Path, extra: &[&str]) -> Run {
    e2e::tool("catalog-build")
        .args(["--bundles", bundles().to_str().unwrap()])
        .args(["--repo", &format!("{host}/osd-addons/demo")])
        .args(["--base-image", &format!("{host}/{base}")])
        .args(extra)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("REGISTRY_AUTH_FILE")
        .env("HOME", cache)
        .write_stdin(addon_document())
        .timeout(Duration::from_secs(300))
        .run()
}

/// skopeo reads the image back: its labels, and a copy into an OCI layout
/// with the base layer and the /configs layer.
fn assert_skopeo_reads(index_image: &str) {
    let inspect = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{index_image}"))
        .run_json();
    assert_eq!(
        inspect["Labels"]["operators.operatorframework.io.index.configs.v1"],
        "/configs"
    );
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
    let pulled = skopeo_pull(index_image);
    let image = OciLayout::new(pulled.path())
        .read_image(Some("pulled"))
        .unwrap();
    assert_eq!(image.layers.len(), 2);
    assert_eq!(
        format!("sha256:{}", &index_image.split("@sha256:").nth(1).unwrap()),
        image.digest(),
        "skopeo's copy is the same manifest, byte for byte"
    );
}

fn retry_lines(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains("retrying in")).count()
}

#[test]
fn catalog_build_through_5xx_and_429_retries_and_pushes_an_image_skopeo_reads() {
    let Some((_storage, registry, base)) = registry_with_base() else {
        return;
    };
    let (faults, proxy, cache) = faulting_proxy(&registry, "500x3,429:retry-after=1");
    let out = catalog_build(&proxy.host(), base, cache.path(), &[]).success();
    assert_eq!(faults.faulted(), 4);
    let stderr = out.stderr();
    // Every request the proxy read was forwarded, except the four it faulted:
    // each fault cost exactly one more request, and each was retried.
    assert_eq!(
        faults.requests(),
        proxy.forwarded().len() as u64 + 4,
        "{stderr}"
    );
    // Not one retry line per fault: oci-client takes a failed `GET /v2/`
    // probe for "no sign-in needed" and asks a HEAD answered without a
    // digest again with a GET, inside one call of ours.
    let retries = retry_lines(&stderr);
    assert!((1..=4).contains(&retries), "{stderr}");
    for line in stderr.lines().filter(|l| l.contains("retrying in")) {
        assert!(
            line.contains(&format!("catalog-build: GET http://{}/v2/", proxy.host()))
                || line.contains(&format!("catalog-build: HEAD http://{}/v2/", proxy.host()))
                || line.contains(&format!("catalog-build: PUT http://{}/v2/", proxy.host()))
                || line.contains(&format!("catalog-build: POST http://{}/v2/", proxy.host()))
                    && (line.contains("code: 500") || line.contains("code: 429")),
            "each retry names the host, the stage and the status: {line}"
        );
    }
    assert_skopeo_reads(&index_image(&out));
}

#[test]
fn catalog_build_on_a_hanging_registry_is_exit_3_naming_the_host_and_the_stage() {
    let Some((_storage, registry, base)) = registry_with_base() else {
        return;
    };
    let (_, proxy, cache) = faulting_proxy(&registry, "hangx100");
    let out = catalog_build(
        &proxy.host(),
        base,
        cache.path(),
        &["--request-timeout", "300ms"],
    )
    .exit(3)
    .no_stdout();
    let stderr = out.stderr();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("{}/{base}", proxy.host()))
            && last.contains(&format!(
                "GET http://{}/v2/test/opm-base/manifests/v1",
                proxy.host()
            ))
            && last.contains("no answer within 0.3s"),
        "{stderr}"
    );
    assert!(proxy.forwarded().is_empty(), "nothing reached the registry");
}

/// How many requests a clean run sends before its first manifest GET.
fn requests_before_the_first_manifest_get(forwarded: &[Forwarded]) -> usize {
    forwarded
        .iter()
        .position(|f| f.method == "GET" && f.target.contains("/manifests/"))
        .expect("a manifest GET")
}

#[test]
fn catalog_build_refuses_an_html_page_for_a_manifest_with_exit_3() {
    let Some((_storage, registry, base)) = registry_with_base() else {
        return;
    };
    // A clean run shows where the base image's manifest is read.
    let clean = FaultingProxy::start(registry.addr(), FaultPlan::default()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    catalog_build(&clean.host(), base, cache.path(), &[]).success();
    let before = requests_before_the_first_manifest_get(&clean.forwarded());

    let (faults, proxy, cache) = faulting_proxy(&registry, &format!("okx{before},html"));
    catalog_build(&proxy.host(), base, cache.path(), &[])
        .exit(3)
        .stderr_has(&format!("{}/{base}", proxy.host()))
        .stderr_has("reading the manifest: the manifest is not JSON")
        .stderr_has("<!DOCTYPE html>")
        .no_stdout();
    assert_eq!(faults.faulted(), 1, "an HTML page is not retried");
}

#[test]
fn catalog_build_with_the_registry_stopped_mid_push_converges_after_a_restart_on_the_same_port() {
    let Some((storage, registry, base)) = registry_with_base() else {
        return;
    };
    let port = registry.port();
    let registry = Arc::new(Mutex::new(Some(registry)));
    // The registry is stopped once two blob uploads have been completed.
    let armed = Arc::new(AtomicBool::new(true));
    let observer = {
        let registry = Arc::clone(&registry);
        let armed = Arc::clone(&armed);
        Arc::new(move |seen: &[Forwarded]| {
            let uploads = seen
                .iter()
                .filter(|f| f.method == "PUT" && f.target.contains("/blobs/uploads/"))
                .filter(|f| f.status == 201)
                .count();
            if uploads >= 2 && armed.swap(false, Ordering::SeqCst) {
                if let Some(mut running) = registry.lock().unwrap().take() {
                    running.stop();
                }
            }
        })
    };
    let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let proxy = FaultingProxy::start_observed(upstream, FaultPlan::default(), observer).unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Nothing claimed; the error names the proxy and the 502 it answered.
    catalog_build(&proxy.host(), base, cache.path(), &[])
        .exit(3)
        .no_stdout()
        .stderr_has(&proxy.host())
        .stderr_has("502");
    assert!(!armed.load(Ordering::SeqCst), "the registry was stopped");
    let uploads_before = blob_uploads(&proxy.forwarded());
    assert!(uploads_before >= 2);

    // Started again on the same port with the same storage: the same command finishes.
    *registry.lock().unwrap() = Some(DockerRegistry::start(port, storage.path()).unwrap());
    let seen_before_rerun = proxy.forwarded().len();
    let rerun = catalog_build(&proxy.host(), base, cache.path(), &[]).success();
    let rerun_uploads = blob_uploads(&proxy.forwarded()[seen_before_rerun..]);
    assert_skopeo_reads(&index_image(&rerun));

    // The same command into a fresh registry on the same port gives the same image.
    registry.lock().unwrap().take();
    let fresh_storage = tempfile::tempdir().unwrap();
    let fresh = DockerRegistry::start(port, fresh_storage.path()).unwrap();
    push_base_image(&fresh);
    let seen_before_clean = proxy.forwarded().len();
    let fresh_cache = tempfile::tempdir().unwrap();
    let clean = catalog_build(&proxy.host(), base, fresh_cache.path(), &[]).success();
    assert_eq!(digest(&rerun), digest(&clean));
    let clean_uploads = blob_uploads(&proxy.forwarded()[seen_before_clean..]);
    // Blobs the registry stored before it stopped are not sent again (some
    // stored just before the stop never had their 201 delivered).
    assert!(
        rerun_uploads + uploads_before <= clean_uploads,
        "the rerun sent only the blobs the stopped registry had not stored: {rerun_uploads} + {uploads_before} > {clean_uploads}"
    );
}

#[test]
fn catalog_build_sends_again_a_blob_whose_head_a_registry_killed_mid_write_answers_500() {
    // docker-registry writes a repository's blob link in place: killed
    // while writing it, it leaves an empty link, and the restarted registry
    // answers that blob's HEAD with a 500 for good, while a new upload
    // writes the link again: catalog-build sends the blob.
    let Some((storage, registry, base)) = registry_with_base() else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let proxy = FaultingProxy::start(registry.addr(), FaultPlan::default()).unwrap();
    let first = catalog_build(&proxy.host(), base, cache.path(), &[]).success();
    let layers = storage
        .path()
        .join("data/docker/registry/v2/repositories/osd-addons/demo-bundle/_layers/sha256");
    let mut links: Vec<PathBuf> = std::fs::read_dir(&layers)
        .unwrap()
        .map(|entry| entry.unwrap().path().join("link"))
        .collect();
    links.sort();
    std::fs::write(&links[0], "").unwrap();
    let digest_of_broken = format!(
        "sha256:{}",
        links[0]
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let broken = format!("/v2/osd-addons/demo-bundle/blobs/{digest_of_broken}");

    let seen_before_rerun = proxy.forwarded().len();
    let rerun = catalog_build(&proxy.host(), base, cache.path(), &["--no-cache"])
        .success()
        .stderr_has(&format!("{broken}: "))
        .stderr_has("sending it again");
    assert_eq!(digest(&rerun), digest(&first));
    let seen = proxy.forwarded()[seen_before_rerun..].to_vec();
    let heads: Vec<_> = seen
        .iter()
        .filter(|f| f.method == "HEAD" && f.target == broken)
        .collect();
    assert!(
        !heads.is_empty() && heads.iter().all(|f| f.status == 500),
        "the registry answers the emptied link's HEAD with a 500: {seen:#?}"
    );
    assert!(
        seen.iter().any(|f| f.method == "PUT"
            && f.status == 201
            && f.target
                .starts_with("/v2/osd-addons/demo-bundle/blobs/uploads/")
            && f.target.contains(&digest_of_broken)),
        "the blob is sent again: {seen:#?}"
    );
    assert_skopeo_reads(&index_image(&rerun));
}
