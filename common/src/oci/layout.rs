//! An OCI image layout folder on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::digest::{digest_hex, sha256_digest};
use super::image::{parse_image_manifest, Blob, Descriptor, Image, ImageIndex};
use super::{MEDIA_TYPE_INDEX, REF_NAME_ANNOTATION};
use crate::cli::error::{Error, Result};

/// An image to write into a layout: its name (the `ref.name` annotation
/// of its `index.json` entry, a tag) and the entry's other annotations.
#[derive(Debug, Clone)]
pub struct NamedImage<'a> {
    pub name: String,
    pub image: &'a Image,
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image layout on disk (image-spec image-layout.md): `oci-layout`,
/// `index.json` and `blobs/sha256/<hex>`.
///
/// Nothing inside the layout folder is followed through a symlink, reading
/// or writing: a `blobs -> /etc` link would otherwise have us write files
/// anywhere the user may write, and a linked blob or `index.json` would have
/// us read any file as the layout's content. Such a layout is refused,
/// naming the link. (The folder itself is the user's choice and may be one.)
#[derive(Debug, Clone)]
pub struct OciLayout {
    pub dir: PathBuf,
}

impl OciLayout {
    pub fn new(dir: &Path) -> Self {
        OciLayout {
            dir: dir.to_path_buf(),
        }
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        let path = self
            .dir
            .join("blobs")
            .join("sha256")
            .join(digest_hex(digest)?);
        self.refuse_symlinks(&path)?;
        Ok(path)
    }

    /// Refuses `path` (inside the layout) when it or a folder between the
    /// layout and it is a symlink; what does not exist yet is fine.
    fn refuse_symlinks(&self, path: &Path) -> Result<()> {
        let relative = path.strip_prefix(&self.dir).unwrap_or(path);
        let mut at = self.dir.clone();
        for part in relative.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::in_file(
                        &at,
                        "is a symlink inside the OCI layout; links there are never followed (expected a real file or folder)",
                    ))
                }
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Checks a file of the layout that is to be read: no symlink on the
    /// way, and a regular file (a FIFO would block the read); false when it
    /// does not exist.
    fn regular_file(&self, path: &Path) -> Result<bool> {
        self.refuse_symlinks(path)?;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() => Ok(true),
            Ok(_) => Err(Error::in_file(
                path,
                "is not a regular file (expected a file of the OCI layout)",
            )),
            Err(_) => Ok(false),
        }
    }

    /// Whether the layout already holds this blob (a re-run writes nothing new).
    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        self.regular_file(&self.blob_path(digest)?)
    }

    /// Writes one blob; returns false when it was already there.
    pub fn write_blob(&self, blob: &Blob) -> Result<bool> {
        if self.has_blob(&blob.digest)? {
            return Ok(false);
        }
        let path = self.blob_path(&blob.digest)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                Error::in_file(
                    parent,
                    format!("cannot create: {}", crate::cli::io::describe_io_error(&err)),
                )
            })?;
        }
        crate::cli::io::atomic_write(&path, &blob.data)?;
        Ok(true)
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest)?;
        self.regular_file(&path)?;
        let bytes = std::fs::read(&path).map_err(|err| {
            Error::in_file(
                &path,
                format!(
                    "cannot read blob: {}",
                    crate::cli::io::describe_io_error(&err)
                ),
            )
        })?;
        if sha256_digest(&bytes) != digest {
            return Err(Error::in_file(
                &path,
                "the blob's content does not match its digest",
            ));
        }
        Ok(bytes)
    }

    /// The layout's `index.json`, or an empty index when there is none yet.
    pub fn index(&self) -> Result<ImageIndex> {
        let path = self.dir.join("index.json");
        if !self.regular_file(&path)? {
            return Ok(ImageIndex {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.to_string()),
                manifests: Vec::new(),
            });
        }
        let bytes = std::fs::read(&path)
            .map_err(|err| Error::in_file(&path, crate::cli::io::describe_io_error(&err)))?;
        serde_json::from_slice(&bytes)
            .map_err(|err| Error::in_file(&path, format!("not an OCI image index: {err}")))
    }

    /// Writes the images' blobs, then `index.json` naming each by its tag
    /// (an existing entry with the same name is replaced, others are kept).
    /// Returns how many blobs were new.
    pub fn write_images(&self, images: &[(String, &Image)]) -> Result<usize> {
        let named: Vec<NamedImage<'_>> = images
            .iter()
            .map(|(name, image)| NamedImage {
                name: name.clone(),
                image,
                annotations: BTreeMap::new(),
            })
            .collect();
        self.write_named(&named)
    }

    /// [`Self::write_images`], each entry of `index.json` also carrying the
    /// image's other annotations.
    pub fn write_named(&self, images: &[NamedImage<'_>]) -> Result<usize> {
        if self.dir.exists() && !self.dir.is_dir() {
            return Err(Error::in_file(&self.dir, "exists and is not a folder"));
        }
        // Checked before anything is written: a refused layout stays as it was.
        self.regular_file(&self.dir.join("oci-layout"))?;
        let mut index = self.index()?;
        for NamedImage { image, .. } in images {
            for blob in image.blobs().chain(std::iter::once(&image.manifest)) {
                self.has_blob(&blob.digest)?;
            }
        }
        let mut written = 0;
        for NamedImage { image, .. } in images {
            for blob in image.blobs().chain(std::iter::once(&image.manifest)) {
                if self.write_blob(blob)? {
                    written += 1;
                }
            }
        }
        crate::cli::io::atomic_write(
            &self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
        for NamedImage {
            name,
            image,
            annotations,
        } in images
        {
            index.manifests.retain(|d| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME_ANNOTATION))
                    != Some(name)
            });
            let mut descriptor = image.manifest.descriptor();
            let mut annotations = annotations.clone();
            annotations.insert(REF_NAME_ANNOTATION.to_string(), name.clone());
            descriptor.annotations = Some(annotations);
            index.manifests.push(descriptor);
        }
        index.manifests.sort_by(|a, b| {
            let name = |d: &Descriptor| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME_ANNOTATION).cloned())
                    .unwrap_or_default()
            };
            name(a).cmp(&name(b))
        });
        let mut bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
        bytes.push(b'\n');
        crate::cli::io::atomic_write(&self.dir.join("index.json"), &bytes)?;
        Ok(written)
    }

    /// Reads the image named `name` (or the only image when `name` is None):
    /// its manifest, config and layer blobs, all checked against their digests.
    pub fn read_image(&self, name: Option<&str>) -> Result<Image> {
        let index = self.index()?;
        let at = self.dir.join("index.json");
        let descriptor = match name {
            Some(name) => index.manifests.iter().find(|d| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME_ANNOTATION))
                    .is_some_and(|n| n == name)
            }),
            None if index.manifests.len() == 1 => index.manifests.first(),
            None => {
                return Err(Error::in_file(
                    &at,
                    format!(
                        "the layout holds {} images; name one as oci:DIR:NAME",
                        index.manifests.len()
                    ),
                ))
            }
        }
        .ok_or_else(|| Error::in_file(&at, format!("no image named {:?}", name.unwrap_or(""))))?;
        let manifest_bytes = self.read_blob(&descriptor.digest)?;
        let manifest = parse_image_manifest(&manifest_bytes)
            .map_err(|message| Error::in_file(&at, message))?;
        let config = Blob {
            media_type: manifest.config.media_type.clone(),
            digest: manifest.config.digest.clone(),
            data: self.read_blob(&manifest.config.digest)?,
        };
        let mut layers = Vec::new();
        for layer in &manifest.layers {
            layers.push(Blob {
                media_type: layer.media_type.clone(),
                digest: layer.digest.clone(),
                data: self.read_blob(&layer.digest)?,
            });
        }
        Ok(Image {
            config,
            layers,
            manifest: Blob {
                media_type: descriptor.media_type.clone(),
                digest: descriptor.digest.clone(),
                data: manifest_bytes,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::{Layer, LayerContent, MEDIA_TYPE_CONFIG};

    /// A one-file layer: what is in it does not matter to the layout.
    fn sample() -> LayerContent {
        let mut content = LayerContent::new();
        content
            .file("manifests/a.yaml", b"kind: A\n".to_vec())
            .unwrap();
        content
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_an_oci_layout_are_never_followed() {
        let image = Image::new(
            Blob::new(MEDIA_TYPE_CONFIG, b"{}".to_vec()),
            vec![Layer::from_content(&sample()).unwrap().blob],
        );
        // blobs/ leading elsewhere: nothing is written there.
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let layout_dir = dir.path().join("layout");
        std::fs::create_dir(&layout_dir).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), layout_dir.join("blobs")).unwrap();
        let err = OciLayout::new(&layout_dir)
            .write_images(&[("latest".into(), &image)])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("is a symlink inside the OCI layout"),
            "{err}"
        );
        assert!(err.to_string().contains("blobs"), "{err}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        assert!(
            !layout_dir.join("index.json").exists(),
            "nothing half-written"
        );

        // index.json leading to another file: not read as the index.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("secret"),
            b"{\"schemaVersion\": 2, \"manifests\": []}",
        )
        .unwrap();
        let layout_dir = dir.path().join("layout");
        std::fs::create_dir(&layout_dir).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), layout_dir.join("index.json"))
            .unwrap();
        let layout = OciLayout::new(&layout_dir);
        assert!(layout.index().unwrap_err().to_string().contains("symlink"));
        assert!(layout.read_image(None).is_err());

        // A linked blob is not taken as present, nor read.
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::new(dir.path());
        layout.write_images(&[("latest".into(), &image)]).unwrap();
        let config = layout.blob_path(&image.config.digest).unwrap();
        let copy = dir.path().join("config-copy");
        std::fs::rename(&config, &copy).unwrap();
        std::os::unix::fs::symlink(&copy, &config).unwrap();
        assert!(layout
            .read_image(Some("latest"))
            .unwrap_err()
            .to_string()
            .contains("symlink"));
        assert!(layout.write_images(&[("latest".into(), &image)]).is_err());
    }

    #[test]
    fn layout_round_trips_an_image_and_replaces_same_named_entries() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::new(dir.path());
        let layer = Layer::from_content(&sample()).unwrap();
        let config = Blob::new(MEDIA_TYPE_CONFIG, b"{}".to_vec());
        let image = Image::new(config, vec![layer.blob]);
        assert_eq!(
            layout.write_images(&[("latest".into(), &image)]).unwrap(),
            3
        );
        assert_eq!(
            layout.write_images(&[("latest".into(), &image)]).unwrap(),
            0
        );
        assert_eq!(layout.index().unwrap().manifests.len(), 1);
        let read = layout.read_image(Some("latest")).unwrap();
        assert_eq!(read, image);
        assert!(layout.read_image(Some("other")).is_err());
    }
}
