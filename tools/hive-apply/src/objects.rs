//! The objects to apply, from a `kind: List`, a single object, or a
//! multi-document YAML stream (what kubectl accepts), each checked for the
//! fields the API needs to place it.

use std::path::Path;

use common::io::Source;
use common::{Error, Result};
use serde_json::Value;

/// One object and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub object: Value,
}

/// The largest object list read: SyncSets for many thousands of clusters
/// are far above the 16 MiB a single add-on document may have.
pub const MAX_INPUT_BYTES: usize = 1 << 30;

/// Reads the objects' text from a file, or stdin for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> Result<Source> {
    Source::read_limited(path, MAX_INPUT_BYTES)
}

impl Manifest {
    /// `SyncSet cd-ns/addon-x`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Reads every object of the input, in order.
pub fn read(source: &Source) -> Result<Vec<Manifest>> {
    let documents = source.parse_stream()?;
    let mut manifests = Vec::new();
    for (doc_index, parsed) in documents.into_iter().enumerate() {
        let value = parsed.value;
        if value.is_null() {
            continue;
        }
        let is_list = value["kind"]
            .as_str()
            .is_some_and(|k| k == "List" || k.ends_with("List"))
            && value.get("items").is_some();
        if is_list {
            let Value::Array(items) = &value["items"] else {
                return Err(Error::input(
                    source
                        .location()
                        .field(format!("document {}: items", doc_index + 1)),
                    "is not a list of objects",
                ));
            };
            for (i, item) in items.iter().enumerate() {
                manifests.push(manifest(source, &format!("items[{i}]"), item.clone())?);
            }
        } else {
            manifests.push(manifest(
                source,
                &format!("document {}", doc_index + 1),
                value,
            )?);
        }
    }
    if manifests.is_empty() {
        return Err(Error::input(
            source.location(),
            "holds no objects; expected a List, an object or a YAML stream of objects",
        ));
    }
    Ok(manifests)
}

fn manifest(source: &Source, at: &str, object: Value) -> Result<Manifest> {
    let field = |name: &str| -> Result<String> {
        let value = match name {
            "metadata.name" => object["metadata"]["name"].as_str(),
            other => object[other].as_str(),
        };
        value
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::input(
                    source.location().field(format!("{at}.{name}")),
                    "is missing; every object needs apiVersion, kind and metadata.name",
                )
            })
    };
    if !object.is_object() {
        return Err(Error::input(
            source.location().field(at),
            "is not an object",
        ));
    }
    Ok(Manifest {
        api_version: field("apiVersion")?,
        kind: field("kind")?,
        name: field("metadata.name")?,
        namespace: object["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::io::Origin;

    fn source(text: &str) -> Source {
        Source::from_text(Origin::Stdin, text)
    }

    #[test]
    fn reads_lists_single_objects_and_streams() {
        let list = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}]}";
        assert_eq!(read(&source(list)).unwrap()[0].name, "a");
        let stream = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\n";
        let manifests = read(&source(stream)).unwrap();
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[1].namespace.as_deref(), Some("n"));
    }

    #[test]
    fn names_the_missing_field() {
        let err = read(&source("apiVersion: v1\nkind: Namespace\nmetadata: {}\n")).unwrap_err();
        assert!(
            err.to_string().contains("document 1.metadata.name"),
            "{err}"
        );
        assert!(read(&source("")).is_err());
    }
}
