//! OCI images built without a daemon: deterministic tar + gzip layers, the
//! image config, manifest and index JSON, content digests, and the OCI image
//! layout on disk (<https://github.com/opencontainers/image-spec>).
//!
//! Everything here is byte-for-byte reproducible: tar entries are sorted and
//! carry mtime 0, uid/gid 0 and no user names; gzip headers carry no time or
//! file name; JSON is written with a fixed key order. The same input therefore
//! always gives the same digests, which is what lets a re-run skip every blob
//! the registry already has.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The annotation an OCI layout's `index.json` uses for a tag.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// `sha256:<hex>` of some bytes: the name of a blob.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The hex part of a `sha256:` digest, checked so it can name a file.
pub fn digest_hex(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(hex),
        _ => Err(Error::Invalid(format!(
            "{digest:?} is not a sha256 digest (expected sha256:<64 hex digits>)"
        ))),
    }
}

/// One entry of a layer: a folder or a regular file, by its path inside the
/// image (no leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarEntry {
    Dir,
    File(Vec<u8>),
}

/// The content of one layer, sorted by path. Parent folders are added when
/// the layer is written, so callers list files only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerContent {
    entries: BTreeMap<String, TarEntry>,
}

impl LayerContent {
    pub fn new() -> Self {
        LayerContent::default()
    }

    /// Adds a file at `path` (like `configs/pkg/catalog.json`). A path that
    /// could land outside the image root when unpacked (absolute, `..`) or
    /// that is ambiguous (empty or `.` components) is refused: the second
    /// line behind the name checks of the bundle loader.
    pub fn file(&mut self, path: &str, bytes: Vec<u8>) -> Result<&mut Self> {
        check_entry_path(path)?;
        let mut parent = path.rsplit_once('/').map(|(dir, _)| dir);
        while let Some(dir) = parent {
            self.entries.insert(dir.to_string(), TarEntry::Dir);
            parent = dir.rsplit_once('/').map(|(up, _)| up);
        }
        self.entries.insert(path.to_string(), TarEntry::File(bytes));
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The uncompressed tar stream (ustar): sorted entries, mode 0755/0644,
    /// uid/gid 0, mtime 0, two zero blocks at the end.
    pub fn to_tar(&self) -> Result<Vec<u8>> {
        let mut tar = Vec::new();
        for (path, entry) in &self.entries {
            let (name, mode, size, kind) = match entry {
                TarEntry::Dir => (format!("{path}/"), 0o755, 0, b'5'),
                TarEntry::File(bytes) => (path.clone(), 0o644, bytes.len() as u64, b'0'),
            };
            tar.extend_from_slice(&entry_header(&name, mode, size, kind));
            if let TarEntry::File(bytes) = entry {
                tar.extend_from_slice(bytes);
                let pad = (512 - bytes.len() % 512) % 512;
                tar.extend(std::iter::repeat_n(0u8, pad));
            }
        }
        tar.extend(std::iter::repeat_n(0u8, 1024));
        Ok(tar)
    }
}

/// A path a layer may hold: relative, UTF-8 (it is a `&str`), no empty,
/// `.` or `..` component, no NUL (it would end the name in a ustar field).
fn check_entry_path(path: &str) -> Result<()> {
    let problem = if path.is_empty() {
        Some("is empty")
    } else if path.starts_with('/') {
        Some("is absolute")
    } else if path.contains('\0') {
        Some("holds a NUL byte")
    } else if path.split('/').any(|part| part == "..") {
        Some("has a '..' component")
    } else if path.split('/').any(|part| part.is_empty() || part == ".") {
        Some("has an empty or '.' component")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::Invalid(format!(
            "refusing the layer entry {path:?}: the path {problem} (expected a relative path of named folders and a file, like configs/my-operator/catalog.json)"
        ))),
    }
}

/// The header block(s) of one entry: one ustar header when the name fits
/// (100 bytes, or 155 + 100 split at a `/`), else a PAX extended header
/// carrying the whole `path` followed by a ustar header with the name cut
/// short (POSIX.1-2001; GNU tar, Go's archive/tar, containers/storage and
/// umoci read it). Both are fixed functions of the name, so the layer
/// stays reproducible.
fn entry_header(name: &str, mode: u32, size: u64, kind: u8) -> Vec<u8> {
    if let Some((prefix, short)) = split_ustar_name(name) {
        return ustar_header(prefix, short, mode, size, kind).to_vec();
    }
    let record = pax_record("path", name);
    let base = name
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name);
    let pax_name = format!("PaxHeaders/{base}");
    let mut blocks = Vec::with_capacity(1536 + record.len());
    blocks.extend_from_slice(&ustar_header(
        "",
        cut_at_char(&pax_name, 100),
        0o644,
        record.len() as u64,
        b'x',
    ));
    blocks.extend_from_slice(&record);
    blocks.extend(std::iter::repeat_n(0u8, (512 - record.len() % 512) % 512));
    blocks.extend_from_slice(&ustar_header("", cut_at_char(name, 100), mode, size, kind));
    blocks
}

/// One PAX record, `"<length> <key>=<value>\n"`, where the length counts
/// the whole record including its own digits.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut length = body.len() + 1;
    loop {
        let total = body.len() + length.to_string().len();
        if total == length {
            break;
        }
        length = total;
    }
    format!("{length}{body}").into_bytes()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn cut_at_char(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A ustar header block; `prefix` and `short` fit their fields (155 and 100).
fn ustar_header(prefix: &str, short: &str, mode: u32, size: u64, kind: u8) -> [u8; 512] {
    let mut header = [0u8; 512];
    header[..short.len()].copy_from_slice(short.as_bytes());
    octal(&mut header[100..108], u64::from(mode));
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], size);
    octal(&mut header[136..148], 0);
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    octal(&mut header[329..337], 0);
    octal(&mut header[337..345], 0);
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(text.as_bytes());
    header
}

fn split_ustar_name(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    let trimmed = name.trim_end_matches('/');
    for (at, _) in trimmed.match_indices('/') {
        let (prefix, rest) = (&name[..at], &name[at + 1..]);
        if prefix.len() <= 155 && rest.len() <= 100 && !rest.is_empty() {
            return Some((prefix, rest));
        }
    }
    None
}

/// Writes `value` as zero-padded octal digits followed by a NUL.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(&text.as_bytes()[text.len() - width..]);
    field[width] = 0;
}

/// gzip with a header that holds no file name and mtime 0, so the same tar
/// always compresses to the same bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (image-spec manifest.md); also reads Docker schema 2
/// manifests, which have the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (image-spec image-index.md), also the `index.json` of a layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
                    format!("cannot create: {}", crate::io::describe_io_error(&err)),
                )
            })?;
        }
        crate::io::atomic_write(&path, &blob.data)?;
        Ok(true)
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest)?;
        self.regular_file(&path)?;
        let bytes = std::fs::read(&path).map_err(|err| {
            Error::in_file(
                &path,
                format!("cannot read blob: {}", crate::io::describe_io_error(&err)),
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
            .map_err(|err| Error::in_file(&path, crate::io::describe_io_error(&err)))?;
        serde_json::from_slice(&bytes)
            .map_err(|err| Error::in_file(&path, format!("not an OCI image index: {err}")))
    }

    /// Writes the images' blobs, then `index.json` naming each by its tag
    /// (an existing entry with the same name is replaced, others are kept).
    /// Returns how many blobs were new.
    pub fn write_images(&self, images: &[(String, &Image)]) -> Result<usize> {
        if self.dir.exists() && !self.dir.is_dir() {
            return Err(Error::in_file(&self.dir, "exists and is not a folder"));
        }
        // Checked before anything is written: a refused layout stays as it was.
        self.regular_file(&self.dir.join("oci-layout"))?;
        let mut index = self.index()?;
        for (_, image) in images {
            for blob in image.blobs().chain(std::iter::once(&image.manifest)) {
                self.has_blob(&blob.digest)?;
            }
        }
        let mut written = 0;
        for (_, image) in images {
            for blob in image.blobs().chain(std::iter::once(&image.manifest)) {
                if self.write_blob(blob)? {
                    written += 1;
                }
            }
        }
        crate::io::atomic_write(
            &self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
        for (name, image) in images {
            index.manifests.retain(|d| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME_ANNOTATION))
                    != Some(name)
            });
            let mut descriptor = image.manifest.descriptor();
            descriptor.annotations = Some(BTreeMap::from([(
                REF_NAME_ANNOTATION.to_string(),
                name.clone(),
            )]));
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
        crate::io::atomic_write(&self.dir.join("index.json"), &bytes)?;
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

    fn sample() -> LayerContent {
        let mut content = LayerContent::new();
        content
            .file("metadata/annotations.yaml", b"annotations: {}\n".to_vec())
            .and_then(|c| c.file("manifests/b.yaml", b"kind: B\n".to_vec()))
            .and_then(|c| c.file("manifests/a.yaml", vec![b'x'; 513]))
            .unwrap();
        content
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(digest_hex("sha256:../../etc").is_err());
    }

    #[test]
    fn tar_is_sorted_with_parent_folders_and_fixed_headers() {
        let tar = sample().to_tar().unwrap();
        let names: Vec<String> = tar
            .chunks(512)
            .filter(|block| &block[257..262] == b"ustar")
            .map(|block| {
                String::from_utf8_lossy(&block[..100])
                    .trim_end_matches('\0')
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "manifests/",
                "manifests/a.yaml",
                "manifests/b.yaml",
                "metadata/",
                "metadata/annotations.yaml"
            ]
        );
        // headers: mode 0644 for files, mtime 0, checksum valid.
        let file = &tar[512..1024];
        assert_eq!(&file[100..107], b"0000644");
        assert_eq!(&file[136..147], b"00000000000");
        let mut copy = file.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u32 = copy.iter().map(|&b| u32::from(b)).sum();
        let stored = u32::from_str_radix(std::str::from_utf8(&file[148..154]).unwrap(), 8).unwrap();
        assert_eq!(sum, stored);
        assert_eq!(tar.len() % 512, 0);
    }

    #[test]
    fn same_content_gives_same_layer_digest() {
        let a = Layer::from_content(&sample()).unwrap();
        let b = Layer::from_content(&sample()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.diff_id, a.blob.digest);
        // gzip header: no mtime, OS unknown.
        assert_eq!(&a.blob.data[4..8], &[0, 0, 0, 0]);
    }

    /// The names of a tar stream as a real reader sees them, with PAX
    /// `path` records applied (a minimal reader, for the unit tests; the
    /// e2e tests use `tar` and skopeo).
    fn entry_names(tar: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        let mut pax_path = None;
        let mut at = 0;
        while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
            let header = &tar[at..at + 512];
            let field = |range: std::ops::Range<usize>| {
                String::from_utf8(header[range].to_vec())
                    .unwrap()
                    .trim_end_matches('\0')
                    .to_string()
            };
            let size = usize::from_str_radix(field(124..135).trim(), 8).unwrap();
            let data = &tar[at + 512..at + 512 + size];
            match header[156] {
                b'x' => {
                    let text = std::str::from_utf8(data).unwrap();
                    let (length, rest) = text.split_once(' ').unwrap();
                    assert_eq!(length.parse::<usize>().unwrap(), text.len());
                    pax_path = Some(
                        rest.strip_prefix("path=")
                            .unwrap()
                            .trim_end_matches('\n')
                            .to_string(),
                    );
                }
                _ => {
                    let prefix = field(345..500);
                    let name = match pax_path.take() {
                        Some(path) => path,
                        None if prefix.is_empty() => field(0..100),
                        None => format!("{prefix}/{}", field(0..100)),
                    };
                    names.push(name);
                }
            }
            at += 512 + size.div_ceil(512) * 512;
        }
        names
    }

    #[test]
    fn long_paths_use_the_ustar_prefix_or_a_pax_path_record() {
        let split = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let long_file = format!("manifests/{}.yaml", "x".repeat(200));
        let long_dir = format!("{}/{}/catalog.json", "p".repeat(160), "q".repeat(110));
        let mut content = LayerContent::new();
        for path in [&split, &long_file, &long_dir] {
            content.file(path, b"data".to_vec()).unwrap();
        }
        let tar = content.to_tar().unwrap();
        let names = entry_names(&tar);
        for path in [&split, &long_file, &long_dir] {
            assert!(names.contains(path), "{path} in {names:?}");
        }
        assert!(names.contains(&format!("{}/{}/", "p".repeat(160), "q".repeat(110))));
        // Only the names that do not fit ustar get a PAX header: the 121-byte
        // folder d.../, the long file, and p.../, p.../q.../ and its file
        // (prefix over 155 bytes); d.../f... fits split at its '/'.
        assert_eq!(
            tar.chunks(512)
                .filter(|b| b[156] == b'x' && &b[257..262] == b"ustar")
                .count(),
            5
        );
        assert_eq!(tar, content.to_tar().unwrap(), "reproducible");
    }

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record("path", "a"), b"9 path=a\n");
        let value = "v".repeat(91);
        let record = pax_record("path", &value);
        assert_eq!(record.len(), 101);
        assert!(record.starts_with(b"101 path="));
    }

    #[test]
    fn layer_entries_never_leave_the_image_root() {
        for bad in [
            "/etc/passwd",
            "configs/../../etc/cron.d/evil/catalog.json",
            "configs//etc/catalog.json",
            "configs/./x.json",
            "..",
            "",
            "configs/a\0b",
            "configs/pkg/",
        ] {
            let err = LayerContent::new().file(bad, Vec::new()).unwrap_err();
            assert!(
                err.to_string().contains("refusing the layer entry"),
                "{bad:?}: {err}"
            );
        }
        assert!(LayerContent::new()
            .file("configs/my-op/catalog.json", Vec::new())
            .is_ok());
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
