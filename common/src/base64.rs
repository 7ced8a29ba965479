//! Base64, one implementation for every format that carries it: icons in
//! addon.yaml (strict standard encoding), kubeconfig `*-data` fields, Docker
//! auth files and JWT payloads (either alphabet, padding optional).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The 6-bit value of a character of either alphabet (`+/` or `-_`).
fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

fn decode_sextets(bytes: impl Iterator<Item = u8>) -> Result<Vec<u8>, (usize, u8)> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for (i, byte) in bytes.enumerate() {
        let value = sextet(byte).ok_or((i, byte))?;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Standard base64 with padding, as Go's `StdEncoding` decodes it (line
/// breaks ignored); the error says what is wrong.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, String> {
    let mut clean: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\n' | b'\r'))
        .collect();
    if clean.is_empty() {
        return Err("empty".to_string());
    }
    if !clean.len().is_multiple_of(4) {
        return Err(format!("length {} is not a multiple of 4", clean.len()));
    }
    let padding = clean.iter().rev().take_while(|b| **b == b'=').count();
    if padding > 2 {
        return Err("too much '=' padding".to_string());
    }
    clean.truncate(clean.len() - padding);
    if let Some(i) = clean.iter().position(|b| matches!(b, b'-' | b'_')) {
        return Err(format!(
            "illegal character {:?} at offset {i}",
            clean[i] as char
        ));
    }
    decode_sextets(clean.into_iter())
        .map_err(|(i, byte)| format!("illegal character {:?} at offset {i}", byte as char))
}

/// Either alphabet, padding optional, white space ignored: what kubeconfig,
/// Docker auth files and JWTs hold. `None` when it is not base64 at all.
pub fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    decode_sextets(
        text.bytes()
            .filter(|b| !matches!(b, b'=' | b'\n' | b'\r' | b' ' | b'\t')),
    )
    .ok()
}

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// URL-safe base64 without padding (JWT segments).
pub fn encode_url(bytes: &[u8]) -> String {
    encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
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
        assert_eq!(decode_lenient("aGVs bG8\n").unwrap(), b"hello");
    }
}
