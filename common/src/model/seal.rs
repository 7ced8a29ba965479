//! A document that says it is valid: its seal.
//!
//! Every tool checks every add-on it loads (the schema, the loading rules,
//! every pattern), so a fleet stream was checked again by each stage, most
//! of the cost of render and ocm-post (issue 24). A stage that has checked
//! a document in full, as `addon-validate` does, writes it sealed: with the
//! field `"validated": "sha256:<hex>"`, the SHA-256 of the document's
//! canonical text without that field (its compact JSON, keys in the
//! document's order, as `serde_json` writes it: one JSON line of a stream,
//! less the seal). The loader ([`crate::model::document::load`]) skips the schema
//! and the loading rules of a document whose seal is the digest of exactly
//! what it read; a document edited by hand after it was sealed (any change:
//! a value, a key, their order) no longer matches and is checked in full, as
//! is a document without a seal.
//!
//! A seal is a checksum, not a signature: it tells a document a checking
//! stage wrote from one changed since, not a trusted writer from another.
//! Whoever can write a stage's input can write its output as well.
//!
//! A stage that changes a checked document (catalog-build sets `indexImage`
//! and adds `bundles`) seals it again with [`seal`]; a document is loaded
//! without its seal ([`AddonDocument::validated`] is `None`), so one that
//! is changed and not sealed again is written without one.

use std::io::Write;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::model::addon::AddonDocument;

/// The field that carries a document's seal.
pub const FIELD: &str = "validated";

/// `document`, sealed: to be written by a stage that checked it in full
/// (schema and loading rules, no check left out), or that changed a
/// document it loaded sealed or checked.
pub fn seal(mut document: AddonDocument) -> AddonDocument {
    document.validated = None;
    // Our own types always serialise; a document that did not could not be
    // written either, and goes unsealed.
    document.validated = digest_of(&document).ok();
    document
}

/// `document` sealed, as its compact JSON line (without the newline): what
/// `serde_json::to_string(&seal(document.clone()))` gives, serialised once.
/// The seal is the last field and covers the text before it, so the line is
/// the unsealed text with the seal put before its closing brace.
pub fn sealed_json(document: &AddonDocument) -> serde_json::Result<String> {
    if document.validated.is_some() {
        return serde_json::to_string(&seal(document.clone()));
    }
    let mut text = serde_json::to_string(document)?;
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    let digest = hex_digest(hasher);
    match text.pop() {
        Some('}') if text.len() > 1 => text.push(','),
        Some('}') => {}
        _ => return serde_json::to_string(&seal(document.clone())),
    }
    text.push_str(&format!("\"{FIELD}\":\"{digest}\"}}"));
    Ok(text)
}

/// Whether `document` (a parsed document, keys in the order read) carries a
/// seal that is the digest of the rest of it.
pub fn is_sealed(document: &Value) -> bool {
    let Some(map) = document.as_object() else {
        return false;
    };
    let Some(Value::String(seal)) = map.get(FIELD) else {
        return false;
    };
    digest_of(&WithoutSeal(map)).is_ok_and(|digest| digest == *seal)
}

/// Whether `text`, one JSON line as [`sealed_json`] writes it, is sealed:
/// it ends with its seal, and the seal is the digest of the text before it
/// (closed with `}`). `Some(true)`: the text is exactly what the sealing
/// stage wrote, and [`is_sealed`] of its value says yes too, without
/// writing the value out again to hash it. `Some(false)` (the text was
/// changed, or spelt otherwise: `\u0041` for `A`) and `None` (not in that
/// form: YAML, JSON written by another tool, no seal) are for
/// [`is_sealed`] to answer.
pub fn is_sealed_text(text: &str) -> Option<bool> {
    const DIGEST_LEN: usize = "sha256:".len() + 64;
    let text = text.trim();
    let body = text.strip_suffix("\"}")?;
    let seal_start = body.len().checked_sub(DIGEST_LEN)?;
    let seal = body.get(seal_start..)?;
    let field = format!(",\"{FIELD}\":\"");
    let before = body.get(..seal_start)?.strip_suffix(field.as_str())?;
    if !seal.starts_with("sha256:") {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(before.as_bytes());
    hasher.update(b"}");
    Some(hex_digest(hasher) == seal)
}

/// `sha256:<hex>` of a value's compact JSON, hashed as it is written.
fn digest_of<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut hasher = HashWriter(Sha256::new());
    serde_json::to_writer(&mut hasher, value)?;
    Ok(hex_digest(hasher.0))
}

/// `sha256:<hex>` of what `hasher` was fed.
fn hex_digest(hasher: Sha256) -> String {
    let hash = hasher.finalize();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// A document's fields but its seal, in their order.
struct WithoutSeal<'a>(&'a Map<String, Value>);

impl Serialize for WithoutSeal<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0.iter().filter(|(key, _)| *key != FIELD) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Feeds what is written into the hash.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_line(document: AddonDocument) -> String {
        serde_json::to_string(&seal(document)).unwrap()
    }

    #[test]
    fn a_sealed_document_is_written_with_its_seal_last_and_reads_back_sealed() {
        let line = sealed_line(crate::testing::minimal_document(serde_json::json!({})));
        let value: Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys.last().unwrap().as_str(), FIELD);
        assert!(value[FIELD].as_str().unwrap().starts_with("sha256:"));
        assert!(is_sealed(&value));
        // The digest is over the line without the seal, exactly.
        let (body, _) = line.rsplit_once(",\"validated\"").unwrap();
        assert_eq!(
            value[FIELD].as_str().unwrap(),
            digest_of(&serde_json::from_str::<Value>(&format!("{body}}}")).unwrap()).unwrap()
        );
    }

    #[test]
    fn a_sealed_line_is_the_sealed_document_written_once() {
        let document = crate::testing::minimal_document(serde_json::json!({}));
        let line = sealed_json(&document).unwrap();
        assert_eq!(line, sealed_line(document.clone()));
        assert!(is_sealed(&serde_json::from_str(&line).unwrap()));
        // A document loaded sealed is sealed again over what it says now.
        assert_eq!(sealed_json(&seal(document.clone())).unwrap(), line);
    }

    #[test]
    fn any_change_to_a_sealed_document_breaks_its_seal() {
        let line = sealed_line(crate::testing::minimal_document(serde_json::json!({})));
        let sealed: Value = serde_json::from_str(&line).unwrap();
        let mut value = sealed.clone();
        value["name"] = Value::from("Another name");
        assert!(!is_sealed(&value), "a value changed");
        let mut value = sealed.clone();
        value["newField"] = Value::from(1);
        assert!(!is_sealed(&value), "a field added");
        let mut value = sealed.clone();
        value.as_object_mut().unwrap().shift_remove("description");
        assert!(!is_sealed(&value), "a field taken out");
        // The same fields in another order are another document.
        let mut map = sealed.as_object().unwrap().clone();
        let key = map.keys().next().unwrap().clone();
        let first = map.shift_remove(&key).unwrap();
        map.insert(key, first);
        assert!(!is_sealed(&Value::Object(map)), "keys reordered");
        let mut value = sealed.clone();
        value[FIELD] = Value::from("sha256:0000");
        assert!(!is_sealed(&value), "a seal made up");
        assert!(!is_sealed(&Value::from("text")));
    }

    #[test]
    fn a_sealed_line_is_known_sealed_from_its_text_and_any_other_text_is_not() {
        let line = sealed_json(&crate::testing::minimal_document(serde_json::json!({}))).unwrap();
        assert_eq!(is_sealed_text(&line), Some(true));
        assert_eq!(is_sealed_text(&format!("  {line}\n")), Some(true));
        // The text changed, and the seal not: no longer sealed.
        let edited = line.replacen("\"id\":\"", "\"id\":\"x", 1);
        assert_ne!(edited, line);
        assert_eq!(is_sealed_text(&edited), Some(false));
        assert!(!is_sealed(&serde_json::from_str(&edited).unwrap()));
        // The same value spelt otherwise: the text cannot say, the value can.
        let spelt = line.replacen("\"id\":\"", "\"id\" : \"", 1);
        assert_eq!(is_sealed_text(&spelt), Some(false));
        assert!(is_sealed(&serde_json::from_str(&spelt).unwrap()));
        // Not in the form of a sealed line at all.
        let unsealed =
            serde_json::to_string(&crate::testing::minimal_document(serde_json::json!({})))
                .unwrap();
        assert_eq!(is_sealed_text(&unsealed), None);
        assert_eq!(is_sealed_text("validated: sha256:00"), None);
        assert_eq!(is_sealed_text(""), None);
        assert_eq!(is_sealed_text("\"}"), None);
    }
}
