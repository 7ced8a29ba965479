//! AM0004: the add-on icon must be a base64-encoded PNG. We decode the base64
//! and walk the PNG chunk structure (signature, IHDR first, CRC of every
//! chunk, IDAT present, IEND last), which is what separates a real image from
//! text that merely decodes.

/// Why an icon is not a base64 PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IconProblem {
    NotBase64(String),
    NotPng(String),
}

impl std::fmt::Display for IconProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IconProblem::NotBase64(why) => write!(f, "is not valid base64 ({why})"),
            IconProblem::NotPng(why) => {
                write!(f, "decodes to data that is not a PNG image ({why})")
            }
        }
    }
}

/// Checks a base64 icon; returns the image size on success.
pub fn check_icon(icon: &str) -> Result<(u32, u32), IconProblem> {
    let bytes = common::text::base64::decode_strict(icon).map_err(IconProblem::NotBase64)?;
    check_png(&bytes).map_err(IconProblem::NotPng)
}

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Walks the chunks of a PNG; returns (width, height).
pub fn check_png(bytes: &[u8]) -> Result<(u32, u32), String> {
    if bytes.len() < 8 || bytes[..8] != SIGNATURE {
        return Err("no PNG signature".to_string());
    }
    let mut offset = 8;
    let mut size = None;
    let mut has_data = false;
    let mut first = true;
    loop {
        let header = bytes
            .get(offset..offset + 8)
            .ok_or("truncated before IEND")?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let data = bytes
            .get(offset + 8..offset + 8 + length)
            .ok_or("truncated chunk")?;
        let crc_bytes = bytes
            .get(offset + 8 + length..offset + 12 + length)
            .ok_or("truncated chunk CRC")?;
        let stored = u32::from_be_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
        if crc32fast::hash(&bytes[offset + 4..offset + 8 + length]) != stored {
            return Err(format!(
                "bad CRC in chunk {}",
                String::from_utf8_lossy(kind)
            ));
        }
        if first {
            if kind != b"IHDR" || length != 13 {
                return Err("first chunk is not IHDR".to_string());
            }
            let width = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let height = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            if width == 0 || height == 0 {
                return Err("zero width or height".to_string());
            }
            size = Some((width, height));
            first = false;
        }
        if kind == b"IDAT" {
            has_data = true;
        }
        offset += 12 + length;
        if kind == b"IEND" {
            break;
        }
    }
    if !has_data {
        return Err("no image data (IDAT)".to_string());
    }
    size.ok_or_else(|| "no IHDR".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid 1x1 PNG, base64.
    pub const TINY_PNG: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    #[test]
    fn accepts_a_real_png() {
        assert_eq!(check_icon(TINY_PNG), Ok((1, 1)));
    }

    #[test]
    fn refuses_text_and_other_images() {
        assert!(matches!(
            check_icon("invalid_icon"),
            Err(IconProblem::NotBase64(_))
        ));
        assert!(matches!(check_icon("mock"), Err(IconProblem::NotPng(_))));
        // GIF89a header, valid base64.
        assert!(matches!(
            check_icon("R0lGODlhAQABAAAAACw="),
            Err(IconProblem::NotPng(_))
        ));
        // A PNG with a corrupted byte fails its CRC.
        let mut bytes = common::text::base64::decode_strict(TINY_PNG).unwrap();
        bytes[20] ^= 1;
        assert!(check_png(&bytes).unwrap_err().contains("CRC"));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(
            common::text::base64::decode_strict("aGVsbG8=").unwrap(),
            b"hello"
        );
        assert_eq!(
            common::text::base64::decode_strict("aGVs\nbG8h").unwrap(),
            b"hello!"
        );
        assert!(common::text::base64::decode_strict("aGVsbG8").is_err());
    }
}
