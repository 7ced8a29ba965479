//! The images catalog-build makes, as pure functions of their input: one
//! bundle image per bundle folder, the `/configs` layer of the catalog, and
//! the catalog image on top of a base image's layers.

use std::collections::BTreeMap;

use common::model::addon::{BundleImage, BundlesSummary, ChannelSummary};
use common::model::bundle::Bundle;
use common::oci::fbc::{self, DeclarativeConfig};
use common::oci::{self, Blob, Image, Layer, LayerContent};
use common::{Error, Result};
use serde_json::Value;

/// The label opm and OLM read to find the catalog inside the image.
pub const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";
/// The opm base image's entrypoint.
pub const ENTRYPOINT: [&str; 1] = ["/bin/opm"];
/// `opm serve` keeps its cache in /tmp/cache as the opm base image does, but
/// does not insist on a cache built at image build time (we run no build
/// step): it builds it at start when it is missing.
pub const CMD: [&str; 4] = [
    "serve",
    "/configs",
    "--cache-dir=/tmp/cache",
    "--cache-enforce-integrity=false",
];

/// The bundle image: `FROM scratch`, `/manifests` and `/metadata` as in the
/// folder, the annotations as labels.
pub fn bundle_image(bundle: &Bundle) -> Result<Image> {
    let mut content = LayerContent::new();
    let in_bundle = |err: Error| Error::in_file(&bundle.dir, err.to_string());
    for manifest in &bundle.manifests {
        content
            .file(
                &format!("manifests/{}", manifest.name),
                manifest.bytes.clone(),
            )
            .map_err(in_bundle)?;
    }
    content
        .file(
            "metadata/annotations.yaml",
            bundle.annotations_bytes.clone(),
        )
        .map_err(in_bundle)?;
    for (name, bytes) in &bundle.metadata_files {
        content
            .file(&format!("metadata/{name}"), bytes.clone())
            .map_err(in_bundle)?;
    }
    let layer = Layer::from_content(&content).map_err(in_bundle)?;
    scratch_image(
        layer,
        "catalog-build: COPY manifests/ metadata/",
        &bundle.annotations.0,
    )
}

/// The package image: `FROM scratch` with the package's files under
/// `/package`, no labels, as managed-tenants-cli builds it.
pub fn package_image(content: &LayerContent) -> Result<Image> {
    let layer = Layer::from_content(content)?;
    scratch_image(
        layer,
        "catalog-build: ADD package /package",
        &BTreeMap::new(),
    )
}

/// A `FROM scratch` image of one layer, its history step `created_by`,
/// with `labels`.
fn scratch_image(
    layer: Layer,
    created_by: &str,
    labels: &BTreeMap<String, String>,
) -> Result<Image> {
    let config = oci::extend_config(
        &oci::scratch_config(),
        &layer.diff_id,
        created_by,
        labels,
        None,
        None,
    )?;
    Ok(Image::new(
        Blob::new(oci::MEDIA_TYPE_CONFIG, oci::to_json_bytes(&config)),
        vec![layer.blob],
    ))
}

/// The catalog layer: `configs/<package>/catalog.json` for every package.
pub fn catalog_layer(config: &DeclarativeConfig) -> Result<Layer> {
    let mut content = LayerContent::new();
    for package in config.package_names() {
        content.file(
            &format!("configs/{package}/catalog.json"),
            config.package_json(package),
        )?;
    }
    Layer::from_content(&content)
}

/// A loaded base image's config and layers (layer data may be absent when
/// the blobs are to be mounted or are known to the target already).
#[derive(Debug, Clone)]
pub struct BaseContent {
    pub config: Value,
    pub layers: Vec<Blob>,
    /// `registry/repo@sha256:...` or `oci:DIR:NAME`, or `scratch`.
    pub name: String,
}

impl BaseContent {
    pub fn scratch() -> Self {
        BaseContent {
            config: oci::scratch_config(),
            layers: Vec::new(),
            name: "scratch".into(),
        }
    }

    /// A config that is not a JSON object is the base image's fault, so it
    /// is reported as a remote error (exit 3), not as bad input.
    pub fn from_image(image: &Image, name: String) -> Result<Self> {
        let config: Value = serde_json::from_slice(&image.config.data).map_err(|err| {
            Error::remote(&name, format!("the base image config is not JSON: {err}"))
        })?;
        if !config.is_object() {
            return Err(Error::remote(
                &name,
                "the base image config is not a JSON object",
            ));
        }
        Ok(BaseContent {
            config,
            layers: image.layers.clone(),
            name,
        })
    }
}

/// The catalog image: the base layers plus the catalog layer, the configs
/// label, opm's entrypoint and a `serve /configs` command.
pub fn catalog_image(base: &BaseContent, layer: Layer) -> Result<Image> {
    let labels = BTreeMap::from([(CONFIGS_LABEL.to_string(), "/configs".to_string())]);
    let config = oci::extend_config(
        &base.config,
        &layer.diff_id,
        "catalog-build: ADD catalog /configs",
        &labels,
        Some(&ENTRYPOINT),
        Some(&CMD),
    )?;
    let mut layers = base.layers.clone();
    for blob in &mut layers {
        blob.media_type = oci::oci_layer_media_type(&blob.media_type).to_string();
    }
    layers.push(layer.blob);
    Ok(Image::new(
        Blob::new(oci::MEDIA_TYPE_CONFIG, oci::to_json_bytes(&config)),
        layers,
    ))
}

/// The `bundles` section of the add-on document: the main package's
/// channels (head and entries oldest first) and every bundle image.
pub fn summarize(
    config: &DeclarativeConfig,
    main_package: &str,
    bundles: &[(&Bundle, String)],
) -> BundlesSummary {
    let package = config.packages.iter().find(|p| p.name == main_package);
    let channels = config
        .channels
        .iter()
        .filter(|c| c.package == main_package)
        .map(|channel| ChannelSummary {
            name: channel.name.clone(),
            head: fbc::channel_head(channel)
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            entries: channel.entries.iter().map(|e| e.name.clone()).collect(),
        })
        .collect();
    BundlesSummary {
        package: main_package.to_string(),
        default_channel: package
            .map(|p| p.default_channel.clone())
            .unwrap_or_default(),
        channels,
        bundles: bundles
            .iter()
            .map(|(bundle, image)| BundleImage {
                package: bundle.package().unwrap_or_default().to_string(),
                name: bundle.csv.name.clone(),
                version: bundle.version.to_string(),
                image: image.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture_bundle() -> Bundle {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/catalog/good/main/1.2.0");
        let mut findings = Vec::new();
        common::model::bundle::load_bundle(&dir, None, "main", "1.2.0", &mut findings).unwrap()
    }

    #[test]
    fn bundle_image_has_annotations_as_labels_and_is_reproducible() {
        let bundle = fixture_bundle();
        let image = bundle_image(&bundle).unwrap();
        assert_eq!(image, bundle_image(&bundle).unwrap());
        let config: Value = serde_json::from_slice(&image.config.data).unwrap();
        assert_eq!(
            config["config"]["Labels"]["operators.operatorframework.io.bundle.package.v1"],
            "demo-operator"
        );
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
        assert_eq!(image.layers.len(), 1);
    }

    #[test]
    fn base_image_config_that_is_not_an_object_is_a_registry_error() {
        let mut image = bundle_image(&fixture_bundle()).unwrap();
        image.config = Blob::new(oci::MEDIA_TYPE_CONFIG, b"[1, 2]".to_vec());
        let err = BaseContent::from_image(&image, "reg/opm@sha256:00".into()).unwrap_err();
        assert_eq!(err.exit_status(), common::ExitStatus::Remote);
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }

    #[test]
    fn catalog_image_adds_one_layer_label_and_command_to_the_base() {
        let base_layer = Blob::new(oci::MEDIA_TYPE_LAYER_GZIP, oci::gzip(b"base"));
        let base = BaseContent {
            config: json!({"architecture": "amd64", "os": "linux",
                "config": {"Env": ["PATH=/bin"]},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]}}),
            layers: vec![base_layer.clone()],
            name: "base".into(),
        };
        let layer = catalog_layer(&DeclarativeConfig::default()).unwrap();
        let image = catalog_image(&base, layer.clone()).unwrap();
        assert_eq!(image.layers, vec![base_layer, layer.blob.clone()]);
        let config: Value = serde_json::from_slice(&image.config.data).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(["sha256:base", layer.diff_id])
        );
        assert_eq!(config["config"]["Labels"][CONFIGS_LABEL], "/configs");
        assert_eq!(config["config"]["Env"], json!(["PATH=/bin"]));
        assert_eq!(config["config"]["Cmd"], json!(CMD));
    }
}
