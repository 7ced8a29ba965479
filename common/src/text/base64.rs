//! Base64 for every format that carries it: icons in addon.yaml (strict
//! standard encoding), kubeconfig `*-data` fields, Docker auth files and JWT
//! payloads (either alphabet, padding optional). The `base64` crate does the
//! coding; this module fixes the dialects, set the way Go's decoders read them
//! (the addon-metadata-operator, kubectl and the registries are Go): trailing
//! bits are not checked, line breaks are ignored.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{DecodeError, Engine};

/// Go's `StdEncoding`: standard alphabet, padding required.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Padding optional, for what kubeconfig, Docker auth files and JWTs hold.
const LENIENT_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT_CONFIG);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT_CONFIG);

/// Standard base64 with padding, as Go's `StdEncoding` decodes it (line
/// breaks ignored); the error says what is wrong.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, String> {
    // Most text has no line break (an add-on's icon, 20 KB): decoded as it is.
    let line_break = |b: u8| b == b'\n' || b == b'\r';
    let clean: std::borrow::Cow<[u8]> =
        match crate::text::bytes::first_where(text.as_bytes(), line_break) {
            None => text.as_bytes().into(),
            Some(_) => text.bytes().filter(|b| !line_break(*b)).collect(),
        };
    if clean.is_empty() {
        return Err("empty".to_string());
    }
    if !clean.len().is_multiple_of(4) {
        return Err(format!("length {} is not a multiple of 4", clean.len()));
    }
    STRICT.decode(&clean).map_err(|err| match err {
        DecodeError::InvalidByte(i, b'=') => format!("'=' padding in the middle at offset {i}"),
        DecodeError::InvalidByte(i, byte) => {
            format!("illegal character {:?} at offset {i}", byte as char)
        }
        DecodeError::InvalidPadding => "too much '=' padding".to_string(),
        other => other.to_string(),
    })
}

/// Either alphabet, padding optional, white space ignored: what kubeconfig,
/// Docker auth files and JWTs hold. `None` when it is not base64 at all.
pub fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'=' | b'\n' | b'\r' | b' ' | b'\t'))
        .collect();
    let url_safe = clean.iter().any(|b| matches!(b, b'-' | b'_'));
    let engine = if url_safe {
        &LENIENT_URL
    } else {
        &LENIENT_STANDARD
    };
    engine.decode(&clean).ok()
}

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// URL-safe base64 without padding (JWT segments).
pub fn encode_url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_alphabets() {
        for text in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "\u{fffd}~~~?>",
        ] {
            assert_eq!(
                decode_lenient(&encode(text.as_bytes())).unwrap(),
                text.as_bytes()
            );
            assert_eq!(
                decode_lenient(&encode_url(text.as_bytes())).unwrap(),
                text.as_bytes()
            );
        }
        assert_eq!(encode(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn strict_decoding_wants_padding_and_the_standard_alphabet() {
        assert_eq!(decode_strict("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_strict("aGVs\nbG8h").unwrap(), b"hello!");
        assert!(decode_strict("aGVsbG8").is_err());
        assert!(decode_strict("invalid_icon").unwrap_err().contains("'_'"));
        assert!(decode_strict("").is_err());
    }

    #[test]
    fn lenient_decoding_refuses_non_base64() {
        assert!(decode_lenient("not*base64").is_none());
        // Mixed alphabets are no encoding at all.
        assert!(decode_lenient("ab+_").is_none());
        assert_eq!(decode_lenient("aGVs bG8\n").unwrap(), b"hello");
    }
}
