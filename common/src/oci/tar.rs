//! Deterministic tar and gzip for image layers.
//!
//! Ours rather than the `tar` crate's `Builder`: reproducibility is the point
//! (the same bundle must give the same layer digest on every machine, or a
//! re-run re-pushes every blob), and `tar::Builder` takes mtime, uid/gid,
//! user names and entry order from whatever the caller or the file system
//! hands it, writes GNU long-name extensions rather than ustar prefix/PAX,
//! and leaves sorting and parent folders to us anyway. What we need is a
//! sorted list of in-memory files with fixed headers, which is these lines.

use std::collections::BTreeMap;
use std::io::Write;

use crate::cli::error::{Error, Result};

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
///
/// Level 1 ([`LAYER_COMPRESSION`]): compressing was half of catalog-build's
/// CPU at level 6, for layers (manifests, catalogs) that level 1 shrinks
/// nearly as well. The bytes depend on the level and on the deflate
/// implementation: flate2's pure-Rust backend (miniz_oxide), which has no
/// code chosen by CPU features, so every machine writes the same bytes. A
/// test pins the digest of a known layer, so neither can change unnoticed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), LAYER_COMPRESSION);
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The deflate level of every layer we write. Changing it changes every
/// digest catalog-build gives (the README says which release did).
pub const LAYER_COMPRESSION: flate2::Compression = flate2::Compression::fast();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::Layer;

    #[test]
    fn a_known_layer_compresses_to_the_same_digest_on_every_machine() {
        // Text shaped like bundle manifests, made without randomness.
        let mut text = String::new();
        for i in 0..4000 {
            text.push_str(&format!(
                "  - name: demo-operator.v1.{i}.0\n    image: quay.io/example/demo@sha256:{:064x}\n",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ));
        }
        let compressed = gzip(text.as_bytes());
        assert_eq!(
            crate::oci::sha256_digest(&compressed),
            "sha256:4067e876f0a59ece43638d4aacfb33966835c181d1b78be16a507fb9470b6f73",
            "the layer bytes changed: a new deflate level or backend changes every digest catalog-build gives; say so in the README"
        );
        // The gzip header: no mtime, fastest-level flag, OS unknown.
        assert_eq!(&compressed[4..10], &[0, 0, 0, 0, 4, 255]);
    }

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
}
