//! Registry answers for a manifest, an index or an image config, through our
//! OCI model (catalog-build reads a base image with it) and through the
//! manifest types of the registry client (oci-client) catalog-build pushes with.

use common::oci::{self, ImageIndex};
use oci_client::manifest::{OciImageIndex, OciImageManifest, OciManifest};
use serde_json::Value;

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    if let Ok(manifest) = oci::parse_image_manifest(data) {
        let _ = oci::oci_layer_media_type(&manifest.config.media_type);
        for layer in &manifest.layers {
            let _ = oci::digest_hex(&layer.digest);
            let _ = oci::oci_layer_media_type(&layer.media_type);
        }
    }
    if let Ok(index) = serde_json::from_slice::<ImageIndex>(data) {
        for descriptor in &index.manifests {
            let _ = oci::digest_hex(&descriptor.digest);
        }
    }
    if let Ok(config) = serde_json::from_slice::<Value>(data) {
        let labels = [(
            "operators.operatorframework.io.index.configs.v1",
            "/configs",
        )]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let _ = oci::extend_config(
            &config,
            "sha256:0",
            "catalog-build",
            &labels,
            None,
            Some(&["serve"]),
        );
    }
    let _ = serde_json::from_slice::<OciManifest>(data);
    let _ = serde_json::from_slice::<OciImageManifest>(data);
    let _ = serde_json::from_slice::<OciImageIndex>(data);
}
