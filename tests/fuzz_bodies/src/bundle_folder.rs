//! A bundle folder's files (annotations, CSV, CRD of two versions and the
//! tree's main/config.yaml) through the bundle loader, the FBC build and the
//! graph check, as catalog-build runs them. The files are written into a
//! scratch folder: the loader reads folders.

use crate::{scratch_dir, split_files, write_file};
use common::model::bundle;
use common::oci::fbc::{self, BundleRef};

/// Where each file of an input goes (seeds list them in this order).
const SLOTS: [&str; 7] = [
    "main/1.0.0/metadata/annotations.yaml",
    "main/1.0.0/manifests/operator.clusterserviceversion.yaml",
    "main/1.0.0/manifests/thing.crd.yaml",
    "main/1.1.0/metadata/annotations.yaml",
    "main/1.1.0/manifests/operator.clusterserviceversion.yaml",
    "main/1.1.0/manifests/thing.crd.yaml",
    "main/config.yaml",
];

/// The made-up image of the bundle at `index`: a reference by digest.
fn bundle_image(index: usize) -> String {
    let digest = common::oci::sha256_digest(&[index as u8]);
    format!("quay.io/fuzz/bundle@{digest}")
}

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let root = scratch_dir();
    for (slot, file) in SLOTS.iter().zip(split_files(data, SLOTS.len())) {
        if let Some(bytes) = file {
            write_file(&root, slot, bytes);
        }
    }
    let (tree, _findings) = bundle::load_tree(&root);
    let bundles: Vec<&bundle::Bundle> = tree.all_bundles().collect();
    let images: Vec<String> = (0..bundles.len()).map(bundle_image).collect();
    let refs: Vec<BundleRef<'_>> = bundles
        .iter()
        .zip(&images)
        .map(|(bundle, image)| BundleRef { bundle, image })
        .collect();
    for bundle in &bundles {
        let _ = fbc::csv_metadata(bundle.csv_object());
        let _ = bundle.package();
    }
    match fbc::build_catalog(&refs) {
        Ok(catalog) => {
            let _ = fbc::check_catalog(&catalog);
            for package in catalog.package_names() {
                let _ = catalog.package_json(package);
            }
        }
        Err(problems) => {
            for problem in problems {
                let _ = problem.to_string();
            }
        }
    }
}
