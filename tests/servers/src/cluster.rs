//! A simulated managed cluster: what Hive's syncer and OLM do on one
//! ClusterDeployment, reduced to what the add-on flow can observe.
//!
//! Each pass it reads the Hive API for the SyncSets that name its
//! ClusterDeployment (`clusterDeploymentRefs`) and the SelectorSyncSets whose
//! `clusterDeploymentSelector.matchLabels` its labels match (the legacy
//! path), has Hive record them in its ClusterSync (fake-hive keeps that
//! status, as Hive's syncer does; this reads it each pass), and plays
//! OLM for every Subscription in them: finds the CatalogSource, pulls its
//! image (from the registry, or from an OCI layout), reads the file-based
//! catalog under `/configs`, resolves the Subscription's channel head (or
//! its `startingCSV`), and reports that CSV to telemetry as a cluster does:
//! `csv_succeeded{_id, name, namespace, version}` 0 while installing and 1
//! once the install delay has passed, or `csv_abnormal{phase="Failed"}` when
//! told to fail or when the catalog cannot be resolved. Subscriptions that
//! disappear (the SyncSet was deleted) take their CSV's telemetry with them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::oci::fbc::{channel_head, Channel};
use common::oci::{
    OciLayout, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST,
};
use common::remote::http::{Client, Request, RetryPolicy, Secret, TlsOptions};
use serde_json::Value;

/// How the simulated cluster is set up.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// OCM's (and telemetry's `_id`) cluster id.
    pub cluster_id: String,
    /// The ClusterDeployment in Hive.
    pub namespace: String,
    pub name: String,
    pub hive_url: String,
    pub hive_token: Option<String>,
    /// The pushgateway telemetry is pushed to.
    pub pushgateway_url: String,
    /// Catalog images are read from this OCI layout instead of a registry.
    pub oci_layout: Option<PathBuf>,
    /// How long an install takes before the CSV succeeds.
    pub install_delay: Duration,
    /// Report every install as failed with this reason.
    pub fail: Option<String>,
}

/// What OLM made of one Subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The CSV to install: its name, version and namespace.
    Csv {
        name: String,
        version: String,
        namespace: String,
    },
    /// Why OLM could not resolve the Subscription.
    Failed {
        package: String,
        namespace: String,
        reason: String,
    },
}

/// The simulated cluster's memory between passes.
pub struct SimulatedCluster {
    options: ClusterOptions,
    hive: Client,
    push: Client,
    /// Subscription (namespace/name) → when it was first seen and what it resolved to.
    installs: BTreeMap<String, (Instant, Resolution)>,
    /// Catalogs already pulled, by image reference.
    catalogs: BTreeMap<String, Vec<Value>>,
    /// The telemetry last pushed (to push only changes).
    pushed: Option<String>,
}

impl SimulatedCluster {
    pub fn new(options: ClusterOptions) -> Result<SimulatedCluster, String> {
        let client = |url: &str| {
            Client::new(url, &TlsOptions::default())
                .map(|c| c.with_retry(RetryPolicy::none()))
                .map_err(|e| e.to_string())
        };
        let hive = client(&options.hive_url)?
            .with_token(options.hive_token.as_ref().map(|t| Secret::new(t.clone())));
        let push = client(&options.pushgateway_url)?;
        Ok(SimulatedCluster {
            options,
            hive,
            push,
            installs: BTreeMap::new(),
            catalogs: BTreeMap::new(),
            pushed: None,
        })
    }

    /// One pass: read Hive, record the ClusterSync, resolve, push telemetry.
    /// Returns what each Subscription resolved to.
    pub fn pass(&mut self) -> Result<Vec<Resolution>, String> {
        let labels = self.labels()?;
        let (sync_sets, selector_sync_sets) = self.sync_sets(&labels)?;
        self.sync_cluster()?;
        let resources: Vec<Value> = sync_sets
            .iter()
            .chain(&selector_sync_sets)
            .flat_map(|s| {
                s["spec"]["resources"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let mut current = BTreeMap::new();
        for subscription in resources.iter().filter(|r| r["kind"] == "Subscription") {
            let key = format!(
                "{}/{}",
                subscription["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default(),
                subscription["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
            );
            let entry = match self.installs.remove(&key) {
                Some(known) => known,
                None => (Instant::now(), self.resolve(subscription, &resources)),
            };
            current.insert(key, entry);
        }
        self.installs = current;
        self.push_telemetry()?;
        Ok(self.installs.values().map(|(_, r)| r.clone()).collect())
    }

    fn get(&self, path: &str) -> Result<Option<Value>, String> {
        let response = self
            .hive
            .send(&Request::new("GET", path))
            .map_err(|e| format!("Hive: {e}"))?;
        match response.status {
            404 => Ok(None),
            _ if response.is_success() => response.json(path).map(Some).map_err(|e| e.to_string()),
            status => Err(format!("Hive: GET {path}: HTTP {status}")),
        }
    }

    fn labels(&self) -> Result<serde_json::Map<String, Value>, String> {
        let path = format!(
            "/apis/hive.openshift.io/v1/namespaces/{}/clusterdeployments/{}",
            self.options.namespace, self.options.name
        );
        Ok(self
            .get(&path)?
            .and_then(|cd| cd["metadata"]["labels"].as_object().cloned())
            .unwrap_or_default())
    }

    /// The SyncSets naming this ClusterDeployment and the SelectorSyncSets
    /// matching its labels.
    fn sync_sets(
        &self,
        labels: &serde_json::Map<String, Value>,
    ) -> Result<(Vec<Value>, Vec<Value>), String> {
        let items = |list: Option<Value>| {
            list.and_then(|l| l["items"].as_array().cloned())
                .unwrap_or_default()
        };
        let sync_sets = items(self.get(&format!(
            "/apis/hive.openshift.io/v1/namespaces/{}/syncsets",
            self.options.namespace
        ))?)
        .into_iter()
        .filter(|s| {
            s["spec"]["clusterDeploymentRefs"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["name"] == self.options.name))
        })
        .collect();
        let selector_sync_sets = items(self.get("/apis/hive.openshift.io/v1/selectorsyncsets")?)
            .into_iter()
            .filter(|s| {
                s["spec"]["clusterDeploymentSelector"]["matchLabels"]
                    .as_object()
                    .is_some_and(|wanted| {
                        !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
                    })
            })
            .collect();
        Ok((sync_sets, selector_sync_sets))
    }

    /// Asks Hive for the cluster's ClusterSync: Hive's syncer (fake-hive
    /// models it) records there which of the SyncSets and SelectorSyncSets
    /// this cluster got; reading it is what brings it up to date. It is not
    /// written here, so there is one writer of that status, as in Hive.
    fn sync_cluster(&self) -> Result<Option<Value>, String> {
        self.get(&format!(
            "/apis/hiveinternal.openshift.io/v1alpha1/namespaces/{}/clustersyncs/{}",
            self.options.namespace, self.options.name
        ))
    }

    /// OLM's resolution of one Subscription against its CatalogSource.
    fn resolve(&mut self, subscription: &Value, resources: &[Value]) -> Resolution {
        let spec = &subscription["spec"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let package = text(&spec["name"]);
        let namespace = text(&subscription["metadata"]["namespace"]);
        let failed = |reason: String| Resolution::Failed {
            package: package.clone(),
            namespace: namespace.clone(),
            reason,
        };
        let source = text(&spec["source"]);
        let source_namespace = text(&spec["sourceNamespace"]);
        let Some(catalog_source) = resources.iter().find(|r| {
            r["kind"] == "CatalogSource"
                && r["metadata"]["name"] == source.as_str()
                && r["metadata"]["namespace"] == source_namespace.as_str()
        }) else {
            return failed(format!(
                "ResolutionFailed: no CatalogSource {source_namespace}/{source}"
            ));
        };
        let image = text(&catalog_source["spec"]["image"]);
        let blobs = match self.catalog(&image) {
            Ok(blobs) => blobs,
            Err(why) => return failed(format!("ResolutionFailed: catalog {image}: {why}")),
        };
        match resolve_in_catalog(
            &blobs,
            &package,
            &text(&spec["channel"]),
            spec["startingCSV"].as_str(),
        ) {
            Ok((name, version)) => Resolution::Csv {
                name,
                version,
                namespace,
            },
            Err(why) => failed(format!("ResolutionFailed: {why}")),
        }
    }

    /// The catalog's FBC blobs, pulled once per image.
    fn catalog(&mut self, image: &str) -> Result<Vec<Value>, String> {
        if let Some(blobs) = self.catalogs.get(image) {
            return Ok(blobs.clone());
        }
        let layers = match &self.options.oci_layout {
            Some(dir) => layers_from_layout(dir, image)?,
            None => layers_from_registry(image)?,
        };
        let mut blobs = Vec::new();
        for layer in layers {
            for (path, bytes) in untar(&gunzip(&layer)?)? {
                let path = path.trim_start_matches("./");
                if path.starts_with("configs/")
                    && (path.ends_with(".json") || path.ends_with(".yaml"))
                {
                    blobs.extend(fbc_blobs(&bytes)?);
                }
            }
        }
        if blobs.is_empty() {
            return Err("no file-based catalog under /configs".into());
        }
        self.catalogs.insert(image.to_string(), blobs.clone());
        Ok(blobs)
    }

    /// Pushes this cluster's CSV telemetry (the whole group, so a CSV that
    /// went away stops being reported), when it changed.
    fn push_telemetry(&mut self) -> Result<(), String> {
        let id = &self.options.cluster_id;
        let mut lines = Vec::new();
        for (since, resolution) in self.installs.values() {
            let label = |text: &str| common::remote::prometheus::quote(text);
            let done = since.elapsed() >= self.options.install_delay;
            match (resolution, &self.options.fail) {
                (
                    Resolution::Csv {
                        name,
                        version,
                        namespace,
                    },
                    fail,
                ) if fail.is_none() || !done => {
                    lines.push(format!(
                        "csv_succeeded{{_id={},name={},namespace={},version={}}} {}",
                        label(id),
                        label(name),
                        label(namespace),
                        label(version),
                        u8::from(done)
                    ));
                }
                (
                    Resolution::Csv {
                        name,
                        version,
                        namespace,
                    },
                    reason,
                ) => {
                    let reason = reason.as_deref().unwrap_or_default();
                    lines.push(format!(
                        "csv_abnormal{{_id={},name={},namespace={},version={},phase=\"Failed\",reason={}}} 1",
                        label(id), label(name), label(namespace), label(version), label(reason)
                    ));
                }
                (
                    Resolution::Failed {
                        package,
                        namespace,
                        reason,
                    },
                    _,
                ) => {
                    lines.push(format!(
                        "csv_abnormal{{_id={},name={},namespace={},version=\"\",phase=\"Failed\",reason={}}} 1",
                        label(id), label(&format!("{package}.unresolved")), label(namespace), label(reason)
                    ));
                }
            }
        }
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if self.pushed.as_deref() == Some(body.as_str()) {
            return Ok(());
        }
        let path = format!("/metrics/job/telemetry/instance/{id}");
        let request = if body.is_empty() {
            Request::new("DELETE", &path)
        } else {
            Request::new("PUT", &path).body("text/plain; version=0.0.4", body.clone().into_bytes())
        };
        let response = self
            .push
            .send(&request)
            .map_err(|e| format!("pushgateway: {e}"))?;
        if !response.is_success() {
            return Err(format!(
                "pushgateway: HTTP {}: {}",
                response.status,
                response.text()
            ));
        }
        self.pushed = Some(body);
        Ok(())
    }
}

/// The CSV OLM installs for a Subscription: `startingCSV` when given (it
/// must be in the channel), else the channel's head; with its version from
/// the bundle's `olm.package` property.
pub fn resolve_in_catalog(
    blobs: &[Value],
    package: &str,
    channel: &str,
    starting_csv: Option<&str>,
) -> Result<(String, String), String> {
    let of = |schema: &'static str| {
        blobs
            .iter()
            .filter(move |b| b["schema"] == schema && b["package"] == package)
    };
    if !blobs
        .iter()
        .any(|b| b["schema"] == "olm.package" && b["name"] == package)
    {
        return Err(format!("no package {package:?} in the catalog"));
    }
    let channel_blob = of("olm.channel")
        .find(|c| c["name"] == channel)
        .ok_or_else(|| {
            let names: Vec<&str> = of("olm.channel")
                .filter_map(|c| c["name"].as_str())
                .collect();
            format!(
                "no channel {channel:?} in package {package:?} (it has {})",
                names.join(", ")
            )
        })?;
    let parsed: Channel = serde_json::from_value(channel_blob.clone())
        .map_err(|e| format!("channel {channel:?} cannot be read: {e}"))?;
    let csv = match starting_csv.filter(|s| !s.is_empty()) {
        Some(start) => {
            if !parsed.entries.iter().any(|e| e.name == start) {
                return Err(format!(
                    "startingCSV {start:?} is not in channel {channel:?}"
                ));
            }
            start.to_string()
        }
        None => channel_head(&parsed)
            .map_err(|why| format!("channel {channel:?}: {why}"))?
            .name
            .clone(),
    };
    let bundle = of("olm.bundle")
        .find(|b| b["name"] == csv.as_str())
        .ok_or_else(|| format!("no bundle {csv:?} in the catalog"))?;
    let version = bundle["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["type"] == "olm.package")
        .and_then(|p| p["value"]["version"].as_str())
        .unwrap_or_default()
        .to_string();
    Ok((csv, version))
}

/// The JSON objects of one FBC file (a stream of objects, as opm writes).
fn fbc_blobs(bytes: &[u8]) -> Result<Vec<Value>, String> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a catalog file is not JSON: {e}"))
}

/// `registry/repo@digest` or `registry/repo:tag` → (registry, repo, reference).
fn split_image(image: &str) -> Result<(String, String, String), String> {
    let (name, reference) = match image.split_once('@') {
        Some((name, digest)) => (name, digest.to_string()),
        None => match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
            _ => (image, "latest".to_string()),
        },
    };
    let (registry, repo) = name
        .split_once('/')
        .ok_or_else(|| format!("{image:?} names no registry"))?;
    Ok((registry.to_string(), repo.to_string(), reference))
}

fn layers_from_layout(dir: &std::path::Path, image: &str) -> Result<Vec<Vec<u8>>, String> {
    let layout = OciLayout::new(dir);
    let (_, _, reference) = split_image(image)?;
    let index = layout.index().map_err(|e| e.to_string())?;
    let descriptor = index
        .manifests
        .iter()
        .find(|d| {
            d.digest == reference
                || d.annotations
                    .as_ref()
                    .and_then(|a| a.get(common::oci::REF_NAME_ANNOTATION))
                    .is_some_and(|n| *n == reference)
        })
        .ok_or_else(|| format!("the OCI layout {} has no image {reference}", dir.display()))?;
    let manifest = layout
        .read_blob(&descriptor.digest)
        .map_err(|e| e.to_string())?;
    let manifest = common::oci::parse_image_manifest(&manifest)?;
    manifest
        .layers
        .iter()
        .map(|l| layout.read_blob(&l.digest).map_err(|e| e.to_string()))
        .collect()
}

/// Pulls an image's layers with the registry HTTP API (plain HTTP on
/// loopback, HTTPS elsewhere), following an index to its first manifest.
fn layers_from_registry(image: &str) -> Result<Vec<Vec<u8>>, String> {
    let (registry, repo, mut reference) = split_image(image)?;
    let loopback = registry.starts_with("127.") || registry.starts_with("localhost");
    let scheme = if loopback { "http" } else { "https" };
    let client = Client::new(&format!("{scheme}://{registry}"), &TlsOptions::default())
        .map_err(|e| e.to_string())?;
    let accept = [
        MEDIA_TYPE_MANIFEST,
        MEDIA_TYPE_INDEX,
        MEDIA_TYPE_DOCKER_MANIFEST,
        MEDIA_TYPE_DOCKER_LIST,
    ]
    .join(", ");
    let get = |path: String| -> Result<Vec<u8>, String> {
        let response = client
            .send(&Request::new("GET", &path).header("Accept", accept.clone()))
            .map_err(|e| e.to_string())?;
        if !response.is_success() {
            return Err(format!("GET {path}: HTTP {}", response.status));
        }
        Ok(response.body)
    };
    for _ in 0..2 {
        let bytes = get(format!("/v2/{repo}/manifests/{reference}"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if let Some(first) = value["manifests"].as_array().and_then(|m| m.first()) {
            reference = first["digest"].as_str().unwrap_or_default().to_string();
            continue;
        }
        let manifest = common::oci::parse_image_manifest(&bytes)?;
        return manifest
            .layers
            .iter()
            .map(|l| get(format!("/v2/{repo}/blobs/{}", l.digest)))
            .collect();
    }
    Err(format!("{image}: an index of indexes"))
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("a layer is not gzip: {e}"))?;
    Ok(out)
}

/// The regular files of a ustar archive (name with its prefix, content).
fn untar(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let field = |from: usize, len: usize| {
            let raw = &header[from..from + len];
            let end = raw.iter().position(|b| *b == 0).unwrap_or(len);
            String::from_utf8_lossy(&raw[..end]).into_owned()
        };
        let size = u64::from_str_radix(field(124, 12).trim(), 8)
            .map_err(|_| "a tar header has a bad size".to_string())? as usize;
        let prefix = field(345, 155);
        let name = if prefix.is_empty() {
            field(0, 100)
        } else {
            format!("{prefix}/{}", field(0, 100))
        };
        let start = at + 512;
        let end = start + size;
        if end > bytes.len() {
            return Err("a tar entry runs past the end of the layer".into());
        }
        if matches!(header[156], b'0' | 0) {
            files.push((name, bytes[start..end].to_vec()));
        }
        at = start + size.div_ceil(512) * 512;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Vec<Value> {
        vec![
            json!({"schema": "olm.package", "name": "op", "defaultChannel": "stable"}),
            json!({"schema": "olm.channel", "name": "stable", "package": "op", "entries": [
                {"name": "op.v1.0.0"}, {"name": "op.v1.1.0", "replaces": "op.v1.0.0"}]}),
            json!({"schema": "olm.bundle", "name": "op.v1.0.0", "package": "op", "image": "i",
                   "properties": [{"type": "olm.package", "value": {"packageName": "op", "version": "1.0.0"}}]}),
            json!({"schema": "olm.bundle", "name": "op.v1.1.0", "package": "op", "image": "i",
                   "properties": [{"type": "olm.package", "value": {"packageName": "op", "version": "1.1.0"}}]}),
        ]
    }

    #[test]
    fn resolves_the_channel_head_or_the_starting_csv() {
        assert_eq!(
            resolve_in_catalog(&catalog(), "op", "stable", None).unwrap(),
            ("op.v1.1.0".to_string(), "1.1.0".to_string())
        );
        assert_eq!(
            resolve_in_catalog(&catalog(), "op", "stable", Some("op.v1.0.0"))
                .unwrap()
                .1,
            "1.0.0"
        );
        let wrong = resolve_in_catalog(&catalog(), "op", "beta", None).unwrap_err();
        assert!(
            wrong.contains("no channel \"beta\"") && wrong.contains("stable"),
            "{wrong}"
        );
        assert!(resolve_in_catalog(&catalog(), "other", "stable", None).is_err());
        assert!(resolve_in_catalog(&catalog(), "op", "stable", Some("op.v9")).is_err());
    }

    #[test]
    fn reads_the_archives_common_oci_writes() {
        let mut content = common::oci::LayerContent::new();
        content
            .file("configs/op/catalog.json", b"{\"a\": 1}".to_vec())
            .unwrap();
        let tar = content.to_tar().unwrap();
        let files = untar(&gunzip(&common::oci::gzip(&tar)).unwrap()).unwrap();
        assert!(files.iter().any(
            |(name, bytes)| name.ends_with("configs/op/catalog.json") && bytes == b"{\"a\": 1}"
        ));
    }

    #[test]
    fn image_references_split_into_registry_repo_and_reference() {
        assert_eq!(
            split_image("127.0.0.1:5000/osd/op@sha256:ab").unwrap(),
            ("127.0.0.1:5000".into(), "osd/op".into(), "sha256:ab".into())
        );
        assert_eq!(
            split_image("quay.io/osd/op:v1").unwrap().2,
            "v1".to_string()
        );
        assert_eq!(split_image("quay.io/osd/op").unwrap().2, "latest");
    }
}
