//! The base image of the catalog: `scratch`, an OCI layout, or a registry
//! image pulled by digest; and what pins it for the build cache.

use std::path::PathBuf;

use common::oci::OciLayout;
use common::{Error, Result};
use oci_client::Reference;

use crate::images::BaseContent;
use crate::registry::Registry;
use crate::target::Target;

pub(crate) const DEFAULT_BASE_IMAGE: &str = "quay.io/operator-framework/opm:latest";

/// The `--base-image` argument, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BaseImage {
    /// No base layers: enough for the catalog's content, not for `opm serve`.
    Scratch,
    /// `oci:DIR[:NAME]`, an OCI image layout on disk.
    Layout { dir: PathBuf, name: Option<String> },
    /// A registry reference, pulled by digest.
    Registry(Reference),
}

impl BaseImage {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        if text == "scratch" {
            return Ok(BaseImage::Scratch);
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            let (dir, name) = split_layout_ref(rest);
            return Ok(BaseImage::Layout {
                dir: PathBuf::from(dir),
                name: name.map(str::to_string),
            });
        }
        Reference::try_from(text)
            .map(BaseImage::Registry)
            .map_err(|err| Error::usage(format!("--base-image {text:?}: {err}")))
    }
}

impl std::fmt::Display for BaseImage {
    /// As given on the command line (a registry reference in full).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseImage::Scratch => f.write_str("scratch"),
            BaseImage::Layout { dir, name: None } => write!(f, "oci:{}", dir.display()),
            BaseImage::Layout {
                dir,
                name: Some(name),
            } => write!(f, "oci:{}:{name}", dir.display()),
            BaseImage::Registry(reference) => f.write_str(&reference.whole()),
        }
    }
}

/// What identifies the base image for the build cache: `scratch`, the
/// digest of an `oci:` layout's index, or the registry digest of the base
/// reference (a moved tag is a different base). None when it cannot be told
/// (the full build then reports why).
pub(crate) fn base_pin(target: &Target, registry: &mut Registry) -> Option<String> {
    match &target.base {
        BaseImage::Scratch => Some("scratch".to_string()),
        BaseImage::Layout { dir, name } => {
            let index = std::fs::read(dir.join("index.json")).ok()?;
            Some(format!(
                "{}:{}:{}",
                target.base,
                name.as_deref().unwrap_or(""),
                common::oci::sha256_digest(&index)
            ))
        }
        BaseImage::Registry(reference) => registry.manifest_digest(reference),
    }
}

/// The base image and, for a registry base, where its blobs can be mounted from.
pub(crate) struct LoadedBase {
    pub(crate) image: BaseContent,
    pub(crate) source: Option<Reference>,
}

pub(crate) fn load_base(target: &Target, registry: &mut Registry) -> Result<LoadedBase> {
    let reference = match &target.base {
        BaseImage::Scratch => {
            return Ok(LoadedBase {
                image: BaseContent::scratch(),
                source: None,
            })
        }
        BaseImage::Layout { dir, name } => {
            let image = OciLayout::new(dir).read_image(name.as_deref())?;
            return Ok(LoadedBase {
                image: BaseContent::from_image(&image, target.base.to_string())?,
                source: None,
            });
        }
        BaseImage::Registry(reference) => reference,
    };
    // The layers' bytes are only needed when they cannot be mounted inside
    // the target registry: for an OCI layout, or another registry.
    let same_registry = target
        .repo
        .as_ref()
        .is_some_and(|r| r.resolve_registry() == reference.resolve_registry());
    let with_layers = target.layout.is_some() || !same_registry;
    let (image, pinned) = registry.pull(reference, with_layers)?;
    let pinned_ref = Reference::try_from(pinned.as_str()).map_err(|err| {
        Error::remote(
            target.base.to_string(),
            format!("cannot pin by digest: {err}"),
        )
    })?;
    common::cli::note_line(format_args!("catalog-build: base image {pinned}"));
    Ok(LoadedBase {
        image: BaseContent::from_image(&image, pinned)?,
        source: Some(pinned_ref),
    })
}

/// `DIR[:NAME]` of an `oci:` reference.
fn split_layout_ref(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((dir, name)) if !name.contains('/') && !dir.is_empty() => (dir, Some(name)),
        _ => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_image_is_parsed_once_into_scratch_layout_or_registry() {
        assert_eq!(BaseImage::parse("scratch").unwrap(), BaseImage::Scratch);
        let layout = BaseImage::parse("oci:/tmp/base:v1").unwrap();
        assert_eq!(
            layout,
            BaseImage::Layout {
                dir: PathBuf::from("/tmp/base"),
                name: Some("v1".into())
            }
        );
        assert_eq!(layout.to_string(), "oci:/tmp/base:v1");
        assert_eq!(
            BaseImage::parse("oci:/tmp/base").unwrap().to_string(),
            "oci:/tmp/base"
        );
        match BaseImage::parse("127.0.0.1:5000/opm:latest").unwrap() {
            BaseImage::Registry(reference) => {
                assert_eq!(reference.resolve_registry(), "127.0.0.1:5000")
            }
            other => panic!("expected a registry reference, got {other:?}"),
        }
        let err = BaseImage::parse("Not A Reference").unwrap_err();
        assert_eq!(err.exit_status(), common::ExitStatus::Usage);
        assert!(err.to_string().contains("--base-image"), "{err}");
    }

    #[test]
    fn layout_references_split_at_the_last_colon() {
        assert_eq!(split_layout_ref("/tmp/base:v1"), ("/tmp/base", Some("v1")));
        assert_eq!(split_layout_ref("/tmp/base"), ("/tmp/base", None));
    }
}
