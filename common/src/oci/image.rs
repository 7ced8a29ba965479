//! The OCI JSON types (descriptor, manifest, index), built images and their
//! configs.
//!
//! Hand-written rather than `oci-spec`'s types (which oci-client brings into
//! the lock file): `oci_spec::image::Descriptor` and `ImageManifest` keep
//! `annotations` in a `HashMap`, so their JSON key order changes from run to
//! run and so would our manifest digests; ours use `BTreeMap` and a fixed
//! field order, which keeps every digest byte-identical across runs and
//! releases. They also carry only the fields we write and read, and keep
//! oci-spec (and its builder macros) out of the tools that do not build
//! images.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::digest::sha256_digest;
use super::tar::{gzip, LayerContent};
use super::{
    MEDIA_TYPE_CONFIG, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_MANIFEST,
};
use crate::cli::error::{Error, Result};

/// A blob of an image: its bytes, digest and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Self {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256_digest(&data),
            data,
        }
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.data.len() as u64,
            annotations: None,
            platform: None,
        }
    }
}

/// A layer: the gzip blob and the digest of the uncompressed tar (the config's
/// `rootfs.diff_ids` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
}

impl Layer {
    pub fn from_content(content: &LayerContent) -> Result<Self> {
        let tar = content.to_tar()?;
        Ok(Layer {
            diff_id: sha256_digest(&tar),
            blob: Blob::new(MEDIA_TYPE_LAYER_GZIP, gzip(&tar)),
        })
    }
}

/// An OCI content descriptor (image-spec descriptor.md).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub annotations: Option<BTreeMap<String, String>>,
    pub platform: Option<Platform>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
}

/// An image manifest (image-spec manifest.md); also reads Docker schema 2
/// manifests, which have the same shape.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (image-spec image-index.md), also the `index.json` of a layout.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// A built image: config, layers and the manifest that ties them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Blob,
}

impl Image {
    /// Builds the OCI manifest over a config and layers (any layer media
    /// type is kept as given).
    pub fn new(config: Blob, layers: Vec<Blob>) -> Self {
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
            config: config.descriptor(),
            layers: layers.iter().map(Blob::descriptor).collect(),
            annotations: None,
        };
        let bytes = to_json_bytes(&manifest);
        Image {
            config,
            layers,
            manifest: Blob::new(MEDIA_TYPE_MANIFEST, bytes),
        }
    }

    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    /// Every blob the manifest references, layers first, then the config.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.layers.iter().chain(std::iter::once(&self.config))
    }
}

/// Compact JSON of a value whose field order is fixed by its type.
pub fn to_json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// An image config for an image built from scratch: linux/amd64 (bundle and
/// catalog content is platform independent; OLM pulls it on any node), the
/// given labels, no timestamps.
pub fn scratch_config() -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": []
    })
}

/// Adds a layer on top of an image config: its diff_id, a history entry
/// without a timestamp, and labels; drops the config's own `created` time so
/// the result depends on the content only.
pub fn extend_config(
    base: &Value,
    diff_id: &str,
    created_by: &str,
    labels: &BTreeMap<String, String>,
    entrypoint: Option<&[&str]>,
    cmd: Option<&[&str]>,
) -> Result<Value> {
    let mut config = base.clone();
    let object = config
        .as_object_mut()
        .ok_or_else(|| Error::Invalid("the base image config is not a JSON object".into()))?;
    object.remove("created");
    let rootfs = object
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}))
        .as_object_mut()
        .ok_or_else(|| {
            Error::Invalid(
                "the base image config's rootfs is not a JSON object (expected {\"type\": \"layers\", \"diff_ids\": [...]})".into(),
            )
        })?;
    match rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
        Some(ids) => ids.push(json!(diff_id)),
        None => {
            rootfs.insert("diff_ids".to_string(), json!([diff_id]));
        }
    }
    let history = object.entry("history").or_insert_with(|| json!([]));
    if let Some(entries) = history.as_array_mut() {
        entries.push(json!({"created_by": created_by}));
    }
    let runtime = object.entry("config").or_insert_with(|| json!({}));
    if !runtime.is_object() {
        *runtime = json!({});
    }
    if !labels.is_empty() {
        let existing = runtime
            .get("Labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut merged: BTreeMap<String, Value> = existing.into_iter().collect();
        for (key, value) in labels {
            merged.insert(key.clone(), json!(value));
        }
        runtime["Labels"] = json!(merged);
    }
    if let Some(entrypoint) = entrypoint {
        runtime["Entrypoint"] = json!(entrypoint);
    }
    if let Some(cmd) = cmd {
        runtime["Cmd"] = json!(cmd);
    }
    Ok(config)
}

/// Parses an image manifest, OCI or Docker schema 2; an index is refused
/// with a message naming it (the caller picks a platform first).
pub fn parse_image_manifest(bytes: &[u8]) -> std::result::Result<ImageManifest, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|err| format!("the manifest is not JSON: {err}"))?;
    let media_type = value.get("mediaType").and_then(Value::as_str).unwrap_or("");
    if media_type == MEDIA_TYPE_INDEX || media_type == MEDIA_TYPE_DOCKER_LIST {
        return Err(format!(
            "expected an image manifest, found an index ({media_type})"
        ));
    }
    serde_json::from_value(value).map_err(|err| format!("not an image manifest: {err}"))
}

/// Layer media types of Docker manifests mapped to their OCI names (the bytes
/// are the same; skopeo does the same conversion).
pub fn oci_layer_media_type(media_type: &str) -> &str {
    match media_type {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => MEDIA_TYPE_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.docker.container.image.v1+json" => MEDIA_TYPE_CONFIG,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_config_appends_diff_id_history_and_labels_without_created() {
        let base = json!({"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
            "config": {"Labels": {"a": "1"}}, "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "base"}]});
        let labels = BTreeMap::from([("b".to_string(), "2".to_string())]);
        let config = extend_config(
            &base,
            "sha256:2",
            "ours",
            &labels,
            Some(&["/bin/opm"]),
            Some(&["serve"]),
        )
        .unwrap();
        assert!(config.get("created").is_none());
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(["sha256:1", "sha256:2"])
        );
        assert_eq!(config["config"]["Labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(config["history"][1], json!({"created_by": "ours"}));
        assert_eq!(config["config"]["Entrypoint"], json!(["/bin/opm"]));
    }

    /// Found with fuzz target registry_manifest (input `{"rootfs":"x"}`,
    /// spotted while writing it; 40 s of fuzzing had not reached it): a base
    /// image config whose
    /// `rootfs` is not an object made `rootfs["diff_ids"] = ...` panic.
    #[test]
    fn extend_config_refuses_a_rootfs_that_is_not_an_object() {
        for rootfs in [json!("x"), json!(1), json!([]), json!(null)] {
            let base = json!({"architecture": "amd64", "rootfs": rootfs});
            let err = extend_config(&base, "sha256:0", "x", &BTreeMap::new(), None, None)
                .unwrap_err()
                .to_string();
            assert!(err.contains("rootfs is not a JSON object"), "{err}");
        }
        let base = json!({"rootfs": {"type": "layers"}});
        let config = extend_config(&base, "sha256:0", "x", &BTreeMap::new(), None, None).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"], json!(["sha256:0"]));
    }
}
