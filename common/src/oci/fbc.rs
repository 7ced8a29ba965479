//! The file-based catalog (FBC) of OLM: `olm.package`, `olm.channel` and
//! `olm.bundle` blobs as operator-registry's `alpha/declcfg` writes them, built
//! from registry+v1 bundles, and the upgrade-graph checks of
//! `alpha/model` (`Channel.Validate`, `Package.Validate`).
//!
//! Building and checking are separate steps: [`build_catalog`] turns bundles
//! into blobs exactly as annotated, [`check_catalog`] says everything that is
//! wrong with the result, so a broken graph is reported whole, with the
//! package and channel of each problem.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::bundle::Bundle as BundleDir;

pub const SCHEMA_PACKAGE: &str = "olm.package";
pub const SCHEMA_CHANNEL: &str = "olm.channel";
pub const SCHEMA_BUNDLE: &str = "olm.bundle";

pub const PROPERTY_PACKAGE: &str = "olm.package";
pub const PROPERTY_PACKAGE_REQUIRED: &str = "olm.package.required";
pub const PROPERTY_GVK: &str = "olm.gvk";
pub const PROPERTY_GVK_REQUIRED: &str = "olm.gvk.required";
pub const PROPERTY_CSV_METADATA: &str = "olm.csv.metadata";

/// declcfg.Package.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub schema: String,
    pub name: String,
    pub default_channel: String,
    pub icon: Option<Icon>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// declcfg.Icon: the base64 text as in the CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Icon {
    pub base64data: String,
    pub mediatype: String,
}

/// declcfg.Channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub schema: String,
    pub name: String,
    pub package: String,
    pub entries: Vec<ChannelEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// declcfg.ChannelEntry: one bundle of a channel and its upgrade edges.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelEntry {
    pub name: String,
    pub replaces: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<String>,
    pub skip_range: Option<String>,
}

/// declcfg.Bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub schema: String,
    pub name: String,
    pub package: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_images: Vec<RelatedImage>,
}

/// property.Property: a typed JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: Value,
}

/// declcfg.RelatedImage (`name` may be empty, and is still written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedImage {
    pub name: String,
    pub image: String,
}

/// All blobs of a catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeclarativeConfig {
    pub packages: Vec<Package>,
    pub channels: Vec<Channel>,
    pub bundles: Vec<Bundle>,
}

/// A bundle folder and the image reference it was pushed as.
#[derive(Debug, Clone, Copy)]
pub struct BundleRef<'a> {
    pub bundle: &'a BundleDir,
    /// `registry/repo@sha256:...`.
    pub image: &'a str,
}

/// One thing wrong with a catalog, with the package and channel it is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GraphProblem {
    pub package: String,
    pub channel: Option<String>,
    pub message: String,
    /// The channel's entries whose `replaces` names no entry of it: the
    /// likely cause of a second head or a stranded entry (a typo in
    /// `spec.replaces`, or the replaced bundle missing).
    pub dangling: Vec<DanglingReplaces>,
}

/// A channel entry whose `replaces` names a CSV the channel does not hold.
/// opm accepts that at the tail of the replaces chain only
/// (`alpha/model`, `validateReplacesChain`: "the tail entry in the replaces
/// chain is permitted to replace a non-existent entry").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DanglingReplaces {
    /// The entry (CSV name) that says `replaces`.
    pub entry: String,
    /// The CSV name it replaces.
    pub replaces: String,
    /// The CSV file where it says so, once [`locate_csv_files`] knows it.
    pub csv_file: Option<PathBuf>,
}

impl fmt::Display for GraphProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "package {:?}", self.package)?;
        if let Some(channel) = &self.channel {
            write!(f, ", channel {channel:?}")?;
        }
        write!(f, ": {}", self.message)?;
        for dangling in &self.dangling {
            write!(f, "; {dangling}")?;
        }
        Ok(())
    }
}

impl fmt::Display for DanglingReplaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} replaces {:?}", self.entry, self.replaces)?;
        if let Some(file) = &self.csv_file {
            write!(f, " (spec.replaces in {})", file.display())?;
        }
        write!(
            f,
            ", which is not an entry of the channel: only the tail of the replaces chain may replace a CSV the channel does not hold"
        )
    }
}

impl DeclarativeConfig {
    /// The package names, sorted (the order opm writes them).
    pub fn package_names(&self) -> Vec<&str> {
        let names: BTreeSet<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
        names.into_iter().collect()
    }

    /// `catalog.json` of one package as `opm render -o json` writes it: the
    /// package, its channels by name, its bundles by name, each a JSON value
    /// indented by four spaces and followed by a newline.
    pub fn package_json(&self, package: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for blob in self.packages.iter().filter(|p| p.name == package) {
            write_blob(&mut out, blob);
        }
        let channels = self.channels.iter().filter(|c| c.package == package);
        write_blobs_by_name(&mut out, channels, |c| &c.name);
        let bundles = self.bundles.iter().filter(|b| b.package == package);
        write_blobs_by_name(&mut out, bundles, |b| &b.name);
        out
    }

    /// A channel of a package, by name.
    pub fn channel(&self, package: &str, name: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.package == package && c.name == name)
    }
}

/// Writes `blobs` sorted by their `name`, as opm orders a package's channels
/// and bundles.
fn write_blobs_by_name<'a, T: Serialize + 'a>(
    out: &mut Vec<u8>,
    blobs: impl Iterator<Item = &'a T>,
    name: impl Fn(&T) -> &str,
) {
    let mut blobs: Vec<&T> = blobs.collect();
    blobs.sort_by(|a, b| name(a).cmp(name(b)));
    for blob in blobs {
        write_blob(out, blob);
    }
}

fn write_blob<T: Serialize>(out: &mut Vec<u8>, blob: &T) {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
    // Serializing plain data into a Vec cannot fail.
    let _ = blob.serialize(&mut serializer);
    out.push(b'\n');
}

/// Builds the catalog from bundles, keeping channel membership as annotated
/// (opm render's rule): a bundle is an entry of exactly the channels its
/// `channels.v1` annotation lists, with `replaces`, `skips` and
/// `olm.skipRange` from its CSV even when they name a bundle of another
/// channel. The package's default channel, icon and description come from
/// the bundle with the highest version. Refuses bundles without a package or
/// channel annotation (nothing sensible can be built from them).
pub fn build_catalog(bundles: &[BundleRef<'_>]) -> Result<DeclarativeConfig, Vec<GraphProblem>> {
    let mut problems = Vec::new();
    let mut by_package: BTreeMap<String, Vec<BundleRef<'_>>> = BTreeMap::new();
    for bundle_ref in bundles {
        let bundle = bundle_ref.bundle;
        let at = bundle.dir.display();
        match bundle.package() {
            Some(package) if !package.is_empty() => {
                if bundle.annotations.channels().is_empty() {
                    problems.push(GraphProblem {
                        package: package.to_string(),
                        channel: None,
                        dangling: Vec::new(),
                        message: format!(
                            "{at}: metadata/annotations.yaml names no channel ({})",
                            crate::model::bundle::CHANNELS_ANNOTATION
                        ),
                    });
                }
                by_package
                    .entry(package.to_string())
                    .or_default()
                    .push(*bundle_ref)
            }
            _ => problems.push(GraphProblem {
                package: bundle.operator_dir.clone(),
                channel: None,
                dangling: Vec::new(),
                message: format!(
                    "{at}: metadata/annotations.yaml has no {} annotation",
                    crate::model::bundle::PACKAGE_ANNOTATION
                ),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut config = DeclarativeConfig::default();
    for (package, mut refs) in by_package {
        refs.sort_by(|a, b| a.bundle.version.cmp(&b.bundle.version));
        let newest = refs[refs.len() - 1].bundle;
        let default_channel = newest
            .annotations
            .default_channel()
            .map(str::to_string)
            .or_else(|| newest.annotations.channels().first().cloned())
            .unwrap_or_default();
        config.packages.push(Package {
            schema: SCHEMA_PACKAGE.to_string(),
            name: package.clone(),
            default_channel,
            icon: newest.csv.spec.icon.first().map(|icon| Icon {
                base64data: icon.base64data.clone(),
                mediatype: icon.mediatype.clone(),
            }),
            description: newest.csv.spec.description.clone().unwrap_or_default(),
            properties: Vec::new(),
        });
        let mut channels: BTreeMap<String, Vec<ChannelEntry>> = BTreeMap::new();
        for bundle_ref in &refs {
            let csv = &bundle_ref.bundle.csv;
            let entry = ChannelEntry {
                name: csv.name.clone(),
                replaces: csv.spec.replaces.clone().filter(|r| !r.is_empty()),
                skips: csv.spec.skips.clone(),
                skip_range: csv
                    .skip_range()
                    .map(str::to_string)
                    .filter(|r| !r.is_empty()),
            };
            for channel in bundle_ref.bundle.annotations.channels() {
                channels.entry(channel).or_default().push(entry.clone());
            }
            config
                .bundles
                .push(bundle_blob(&package, bundle_ref.bundle, bundle_ref.image));
        }
        for (name, entries) in channels {
            config.channels.push(Channel {
                schema: SCHEMA_CHANNEL.to_string(),
                name,
                package: package.clone(),
                entries,
                properties: Vec::new(),
            });
        }
    }
    Ok(config)
}

/// The olm.bundle blob of one bundle, with the properties opm derives
/// (`pkg/registry.ObjectsAndPropertiesFromBundle`, then the csv-metadata
/// migration): olm.package, olm.gvk from the CRDs and owned API services,
/// olm.gvk.required from required CRDs and API services, olm.package.required
/// and further olm.gvk.required from `metadata/dependencies.yaml`, other
/// properties from `metadata/properties.yaml`, sorted by type and value,
/// then olm.csv.metadata last.
pub fn bundle_blob(package: &str, bundle: &BundleDir, image: &str) -> Bundle {
    let csv = &bundle.csv;
    let version = csv
        .spec
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| bundle.version.to_string());
    let mut properties = vec![Property {
        kind: PROPERTY_PACKAGE.to_string(),
        value: json!({"packageName": package, "version": version}),
    }];
    for (group, kind, version) in provided_apis(bundle) {
        properties.push(Property {
            kind: PROPERTY_GVK.to_string(),
            value: json!({"group": group, "kind": kind, "version": version}),
        });
    }
    let mut required = BTreeSet::new();
    for crd in &csv.spec.customresourcedefinitions.required {
        required.insert((crd.api_group(), crd.kind.clone(), crd.version.clone()));
    }
    for api in &csv.spec.apiservicedefinitions.required {
        required.insert((api.api_group(), api.kind.clone(), api.version.clone()));
    }
    for item in metadata_list(bundle, "dependencies.yaml", "dependencies") {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        let value = item.get("value").cloned().unwrap_or(Value::Null);
        let text = |key: &str| {
            value
                .get(key)
                .map(crate::model::bundle::value_text)
                .unwrap_or_default()
        };
        match kind {
            "olm.gvk" => {
                required.insert((text("group"), text("kind"), text("version")));
            }
            "olm.package" => properties.push(Property {
                kind: PROPERTY_PACKAGE_REQUIRED.to_string(),
                value: json!({"packageName": text("packageName"), "versionRange": text("version")}),
            }),
            "" => {}
            other => properties.push(Property {
                kind: other.to_string(),
                value,
            }),
        }
    }
    for (group, kind, version) in required {
        properties.push(Property {
            kind: PROPERTY_GVK_REQUIRED.to_string(),
            value: json!({"group": group, "kind": kind, "version": version}),
        });
    }
    for item in metadata_list(bundle, "properties.yaml", "properties") {
        if let Some(kind) = item.get("type").and_then(Value::as_str) {
            if kind != PROPERTY_PACKAGE {
                properties.push(Property {
                    kind: kind.to_string(),
                    value: item.get("value").cloned().unwrap_or(Value::Null),
                });
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut keyed: Vec<(String, String, Property)> = properties
        .into_iter()
        .map(|p| {
            let text = serde_json::to_string(&p.value).unwrap_or_default();
            (p.kind.clone(), text, p)
        })
        .filter(|(kind, text, _)| seen.insert((kind.clone(), text.clone())))
        .collect();
    keyed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut properties: Vec<Property> = keyed.into_iter().map(|(_, _, p)| p).collect();
    properties.push(Property {
        kind: PROPERTY_CSV_METADATA.to_string(),
        value: csv_metadata(bundle.csv_object()),
    });
    Bundle {
        schema: SCHEMA_BUNDLE.to_string(),
        name: csv.name.clone(),
        package: package.to_string(),
        image: image.to_string(),
        properties,
        related_images: related_images(bundle, image),
    }
}

/// The APIs a bundle provides: every served version of every CRD among its
/// manifests, and the CSV's owned API services; sorted and unique.
fn provided_apis(bundle: &BundleDir) -> BTreeSet<(String, String, String)> {
    let mut apis = BTreeSet::new();
    for crd in bundle.objects_of_kind("CustomResourceDefinition") {
        let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let group = text(spec.get("group"));
        let kind = text(spec.get("names").and_then(|n| n.get("kind")));
        for version in spec
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            apis.insert((group.clone(), kind.clone(), text(version.get("name"))));
        }
        if let Some(version) = spec.get("version").and_then(Value::as_str) {
            apis.insert((group.clone(), kind.clone(), version.to_string()));
        }
    }
    for api in &bundle.csv.spec.apiservicedefinitions.owned {
        apis.insert((api.api_group(), api.kind.clone(), api.version.clone()));
    }
    apis
}

/// The list under `key` of a `metadata/` YAML file, when the bundle has it.
fn metadata_list(bundle: &BundleDir, file: &str, key: &str) -> Vec<Value> {
    bundle
        .metadata_files
        .get(file)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| crate::text::yaml::parse_one(text).ok())
        .and_then(|parsed| parsed.value.get(key).and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

/// Where a field of property.CSVMetadata comes from, and how Go writes it.
enum CsvField {
    /// A string map under the CSV's `metadata`, sorted; left out when empty.
    MetadataMap,
    /// A struct Go always writes: the owned and required descriptions under
    /// the spec key, each with these keys first.
    Descriptions(&'static str, &'static [&'static str]),
    /// A spec string; left out when empty.
    Text,
    /// A spec list, each item with these keys first; left out when empty.
    List(&'static [&'static str]),
    /// The provider struct, which Go always writes.
    Provider,
}

/// property.CSVMetadata's fields in Go's order, by their JSON names.
const CSV_METADATA_FIELDS: &[(&str, CsvField)] = &[
    ("annotations", CsvField::MetadataMap),
    (
        "apiServiceDefinitions",
        CsvField::Descriptions("apiservicedefinitions", API_SERVICE_KEYS),
    ),
    (
        "crdDescriptions",
        CsvField::Descriptions("customresourcedefinitions", CRD_KEYS),
    ),
    ("description", CsvField::Text),
    ("displayName", CsvField::Text),
    ("installModes", CsvField::List(&["type", "supported"])),
    ("keywords", CsvField::List(&[])),
    ("labels", CsvField::MetadataMap),
    ("links", CsvField::List(&["name", "url"])),
    ("maintainers", CsvField::List(&["name", "email"])),
    ("maturity", CsvField::Text),
    ("minKubeVersion", CsvField::Text),
    ("nativeAPIs", CsvField::List(&["group", "version", "kind"])),
    ("provider", CsvField::Provider),
];

/// property.CSVMetadata from the CSV, with Go's field order and omissions:
/// empty strings, lists and maps are left out except the three structs Go
/// always writes (apiServiceDefinitions, crdDescriptions, provider).
pub fn csv_metadata(csv: &Value) -> Value {
    let metadata = csv.get("metadata").cloned().unwrap_or(Value::Null);
    let spec = csv.get("spec").cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    for (key, field) in CSV_METADATA_FIELDS {
        let value = match field {
            CsvField::MetadataMap => string_map(metadata.get(key)),
            CsvField::Descriptions(spec_key, keys) => Some(descriptions(spec.get(spec_key), keys)),
            CsvField::Text => spec
                .get(key)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
                .map(|text| json!(text)),
            CsvField::List(keys) => spec
                .get(key)
                .and_then(Value::as_array)
                .filter(|items| !items.is_empty())
                .map(|items| Value::Array(items.iter().map(|i| ordered(i, keys)).collect())),
            CsvField::Provider => Some(
                spec.get(key)
                    .map(|p| ordered(p, &["name", "url"]))
                    .unwrap_or_else(|| json!({})),
            ),
        };
        if let Some(value) = value {
            out.insert((*key).to_string(), value);
        }
    }
    Value::Object(out)
}

/// A string map with its values as text, sorted; `None` when it is not a
/// mapping or is empty.
fn string_map(value: Option<&Value>) -> Option<Value> {
    let map = value?.as_object()?;
    let sorted: BTreeMap<&String, String> = map
        .iter()
        .map(|(k, v)| (k, crate::model::bundle::value_text(v)))
        .collect();
    (!sorted.is_empty()).then(|| json!(sorted))
}

/// v1alpha1.CRDDescription field order.
const CRD_KEYS: &[&str] = &[
    "name",
    "version",
    "kind",
    "displayName",
    "description",
    "resources",
    "statusDescriptors",
    "specDescriptors",
    "actionDescriptors",
];
/// v1alpha1.APIServiceDescription field order.
const API_SERVICE_KEYS: &[&str] = &[
    "name",
    "group",
    "version",
    "kind",
    "deploymentName",
    "containerPort",
    "displayName",
    "description",
    "resources",
    "statusDescriptors",
    "specDescriptors",
    "actionDescriptors",
];
const DESCRIPTOR_KEYS: &[&str] = &[
    "path",
    "displayName",
    "description",
    "x-descriptors",
    "value",
];

fn descriptions(value: Option<&Value>, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for part in ["owned", "required"] {
        if let Some(items) = value.and_then(|v| v.get(part)).and_then(Value::as_array) {
            if !items.is_empty() {
                let items: Vec<Value> =
                    items.iter().map(|i| ordered_description(i, keys)).collect();
                out.insert(part.into(), Value::Array(items));
            }
        }
    }
    Value::Object(out)
}

fn ordered_description(item: &Value, keys: &[&str]) -> Value {
    let mut value = ordered(item, keys);
    if let Some(map) = value.as_object_mut() {
        for key in ["statusDescriptors", "specDescriptors", "actionDescriptors"] {
            if let Some(Value::Array(list)) = map.get_mut(key) {
                for descriptor in list.iter_mut() {
                    *descriptor = ordered(descriptor, DESCRIPTOR_KEYS);
                }
            }
        }
        if let Some(Value::Array(list)) = map.get_mut("resources") {
            for resource in list.iter_mut() {
                *resource = ordered(resource, &["name", "kind", "version"]);
            }
        }
    }
    value
}

/// An object with `keys` first in that order (as Go's struct encoding writes
/// them), the rest after in their own order; empty values dropped the way Go's
/// `omitempty` drops them. Non-objects are returned as they are.
fn ordered(value: &Value, keys: &[&str]) -> Value {
    let Some(map) = value.as_object() else {
        return value.clone();
    };
    let mut out = Map::new();
    for key in keys {
        if let Some(v) = map.get(*key) {
            if !is_empty_value(v) || *key == "supported" {
                out.insert((*key).to_string(), v.clone());
            }
        }
    }
    for (key, v) in map {
        if !keys.contains(&key.as_str()) && !is_empty_value(v) {
            out.insert(key.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// relatedImages as opm render lists them: the CSV's `spec.relatedImages`,
/// then the bundle image itself, then the deployments' container and init
/// container images (sorted: opm's order there comes from a Go map), each
/// image once.
fn related_images(bundle: &BundleDir, image: &str) -> Vec<RelatedImage> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for related in &bundle.csv.spec.related_images {
        out.push(RelatedImage {
            name: related.name.clone(),
            image: related.image.clone(),
        });
        seen.insert(related.image.clone());
    }
    if !image.is_empty() && seen.insert(image.to_string()) {
        out.push(RelatedImage {
            name: String::new(),
            image: image.to_string(),
        });
    }
    let mut operator_images = BTreeSet::new();
    if let Some(install) = bundle
        .csv
        .spec
        .install
        .as_ref()
        .filter(|i| i.strategy == "deployment")
    {
        for deployment in &install.spec.deployments {
            let pod = deployment.spec.get("template").and_then(|t| t.get("spec"));
            for list in ["containers", "initContainers"] {
                for container in pod
                    .and_then(|p| p.get(list))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(image) = container.get("image").and_then(Value::as_str) {
                        operator_images.insert(image.to_string());
                    }
                }
            }
        }
    }
    for image in operator_images {
        if seen.insert(image.clone()) {
            out.push(RelatedImage {
                name: String::new(),
                image,
            });
        }
    }
    out
}

/// Checks a catalog the way opm's model validation does: every package has a
/// channel and its default channel exists; bundle names are unique in a
/// package; in every channel there is exactly one head (an entry no other
/// entry replaces or skips), the replaces chain from the head has no cycle,
/// and every entry is on that chain or skipped by some entry. Returns every
/// problem found, sorted.
pub fn check_catalog(config: &DeclarativeConfig) -> Vec<GraphProblem> {
    let mut problems = Vec::new();
    for package in &config.packages {
        let problem = |channel: Option<&str>, message: String| GraphProblem {
            package: package.name.clone(),
            channel: channel.map(str::to_string),
            message,
            dangling: Vec::new(),
        };
        let channels: Vec<&Channel> = config
            .channels
            .iter()
            .filter(|c| c.package == package.name)
            .collect();
        if channels.is_empty() {
            problems.push(problem(None, "the package has no channel".into()));
        }
        if !channels.iter().any(|c| c.name == package.default_channel) {
            let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
            problems.push(problem(
                None,
                format!(
                    "default channel {:?} is not one of the package's channels ({})",
                    package.default_channel,
                    names.join(", ")
                ),
            ));
        }
        let mut names = BTreeMap::new();
        for bundle in config.bundles.iter().filter(|b| b.package == package.name) {
            *names.entry(bundle.name.as_str()).or_insert(0) += 1;
        }
        for (name, count) in names.iter().filter(|(_, &count)| count > 1) {
            problems.push(problem(
                None,
                format!("{count} bundles have the same CSV name {name:?}"),
            ));
        }
        for channel in channels {
            for message in check_channel(channel) {
                problems.push(GraphProblem {
                    dangling: dangling_replaces(channel),
                    ..problem(Some(&channel.name), message)
                });
            }
        }
    }
    problems.sort();
    problems
}

/// The entries of a channel whose `replaces` names no entry of it, in
/// entry order (their CSV files still unknown).
pub fn dangling_replaces(channel: &Channel) -> Vec<DanglingReplaces> {
    let names: BTreeSet<&str> = channel.entries.iter().map(|e| e.name.as_str()).collect();
    channel
        .entries
        .iter()
        .filter_map(|entry| {
            let replaces = entry.replaces.as_deref()?;
            (!names.contains(replaces)).then(|| DanglingReplaces {
                entry: entry.name.clone(),
                replaces: replaces.to_string(),
                csv_file: None,
            })
        })
        .collect()
}

/// Names the CSV file of every dangling `replaces` of `problems`, from the
/// bundles the catalog was built from (a message that says which file to
/// fix, not only which CSV name).
pub fn locate_csv_files(problems: &mut [GraphProblem], bundles: &[BundleRef<'_>]) {
    for problem in problems.iter_mut() {
        for dangling in &mut problem.dangling {
            dangling.csv_file = bundles
                .iter()
                .map(|r| r.bundle)
                .find(|b| {
                    b.package() == Some(problem.package.as_str()) && b.csv.name == dangling.entry
                })
                .and_then(csv_file);
        }
    }
}

/// The file of a bundle's ClusterServiceVersion.
fn csv_file(bundle: &BundleDir) -> Option<PathBuf> {
    bundle
        .manifests
        .iter()
        .find(|m| m.kinds().any(|kind| kind == "ClusterServiceVersion"))
        .map(|m| bundle.dir.join("manifests").join(&m.name))
}

/// The head of a channel, or why there is not exactly one.
pub fn channel_head(channel: &Channel) -> Result<&ChannelEntry, String> {
    let mut incoming = BTreeSet::new();
    for entry in &channel.entries {
        incoming.extend(entry.replaces.iter().cloned());
        incoming.extend(entry.skips.iter().cloned());
    }
    let heads: Vec<&ChannelEntry> = channel
        .entries
        .iter()
        .filter(|e| !incoming.contains(&e.name))
        .collect();
    match heads.as_slice() {
        [head] => Ok(head),
        [] if channel.entries.is_empty() => Err("the channel has no entries".into()),
        [] => {
            Err("no channel head: every entry is replaced or skipped by another (a cycle)".into())
        }
        several => {
            let mut names: Vec<&str> = several.iter().map(|e| e.name.as_str()).collect();
            names.sort();
            Err(format!(
                "{} channel heads ({}): exactly one entry may be left unreplaced; make the others replace or skip each other",
                names.len(),
                names.join(", ")
            ))
        }
    }
}

/// The problems of one channel's graph (opm `validateReplacesChain`).
pub fn check_channel(channel: &Channel) -> Vec<String> {
    let head = match channel_head(channel) {
        Ok(head) => head,
        Err(message) => return vec![message],
    };
    let by_name: BTreeMap<&str, &ChannelEntry> = channel
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e))
        .collect();
    let skipped: BTreeSet<&str> = channel
        .entries
        .iter()
        .flat_map(|e| e.skips.iter().map(String::as_str))
        .collect();
    let mut chain = vec![head.name.as_str()];
    let mut on_chain: BTreeSet<&str> = BTreeSet::from([head.name.as_str()]);
    let mut current = Some(head);
    while let Some(entry) = current {
        let Some(replaces) = entry.replaces.as_deref() else {
            break;
        };
        if skipped.contains(replaces) {
            break;
        }
        chain.push(replaces);
        if !on_chain.insert(replaces) {
            return vec![format!(
                "cycle in the replaces chain: {}",
                chain.join(" -> ")
            )];
        }
        current = by_name.get(replaces).copied();
    }
    let stranded: Vec<&str> = channel
        .entries
        .iter()
        .map(|e| e.name.as_str())
        .filter(|name| !on_chain.contains(name) && !skipped.contains(name))
        .collect();
    if stranded.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "stranded entries not reachable from the head {:?} by replaces or skips: {}",
            head.name,
            stranded.join(", ")
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, replaces: Option<&str>, skips: &[&str]) -> ChannelEntry {
        ChannelEntry {
            name: name.into(),
            replaces: replaces.map(str::to_string),
            skips: skips.iter().map(|s| s.to_string()).collect(),
            skip_range: None,
        }
    }

    fn channel(entries: Vec<ChannelEntry>) -> Channel {
        Channel {
            schema: SCHEMA_CHANNEL.into(),
            name: "stable".into(),
            package: "p".into(),
            entries,
            properties: Vec::new(),
        }
    }

    /// Package `p` with one channel, `stable`, of one entry.
    fn one_entry_catalog(default_channel: &str) -> DeclarativeConfig {
        DeclarativeConfig {
            packages: vec![Package {
                schema: SCHEMA_PACKAGE.into(),
                name: "p".into(),
                default_channel: default_channel.into(),
                icon: None,
                description: String::new(),
                properties: Vec::new(),
            }],
            channels: vec![channel(vec![entry("p.v1", None, &[])])],
            bundles: Vec::new(),
        }
    }

    fn fixture_tree() -> crate::model::bundle::BundleTree {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/catalog/good");
        let (tree, findings) = crate::model::bundle::load_tree(&dir);
        assert!(findings.iter().all(|f| !f.is_error()), "{findings:?}");
        tree
    }

    #[test]
    fn build_catalog_keeps_annotated_membership_and_csv_edges() {
        let tree = fixture_tree();
        let images: Vec<String> = tree
            .all_bundles()
            .map(|b| format!("r/b@sha256:{}", b.version))
            .collect();
        let refs: Vec<BundleRef<'_>> = tree
            .all_bundles()
            .zip(&images)
            .map(|(bundle, image)| BundleRef { bundle, image })
            .collect();
        let config = build_catalog(&refs).unwrap();
        assert_eq!(config.package_names(), ["demo-operator", "dep-operator"]);
        assert!(
            check_catalog(&config).is_empty(),
            "{:?}",
            check_catalog(&config)
        );
        let fast = config.channel("demo-operator", "fast").unwrap();
        let names: Vec<&str> = fast.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["demo-operator.v1.1.0", "demo-operator.v1.2.0"]);
        assert_eq!(
            fast.entries[0].replaces.as_deref(),
            Some("demo-operator.v1.0.0")
        );
        assert_eq!(
            fast.entries[1].skip_range.as_deref(),
            Some(">=1.0.0 <1.2.0")
        );
        let package = &config.packages[0];
        assert_eq!(package.default_channel, "stable");
        assert_eq!(package.icon.as_ref().unwrap().mediatype, "image/png");
        let bundle = config
            .bundles
            .iter()
            .find(|b| b.name == "demo-operator.v1.2.0")
            .unwrap();
        assert_eq!(bundle.image, "r/b@sha256:1.2.0");
        assert_eq!(
            bundle.properties.last().unwrap().kind,
            PROPERTY_CSV_METADATA
        );
        let required: Vec<&Property> = bundle
            .properties
            .iter()
            .filter(|p| p.kind == PROPERTY_PACKAGE_REQUIRED)
            .collect();
        assert_eq!(
            required[0].value,
            json!({"packageName": "dep-operator", "versionRange": ">=0.1.0"})
        );
    }

    #[test]
    fn build_catalog_refuses_bundles_without_a_package_annotation() {
        let tree = fixture_tree();
        let mut bundle = tree.all_bundles().next().unwrap().clone();
        bundle
            .annotations
            .0
            .remove(crate::model::bundle::PACKAGE_ANNOTATION);
        let problems = build_catalog(&[BundleRef {
            bundle: &bundle,
            image: "x",
        }])
        .unwrap_err();
        assert!(problems[0]
            .message
            .contains("has no operators.operatorframework.io.bundle.package.v1"));
    }

    /// Each channel graph and what `check_channel` says of it: one
    /// substring per problem, in order; none for a channel without problems.
    #[test]
    fn check_channel_names_each_graph_problem() {
        type Entry<'a> = (&'a str, Option<&'a str>, &'a [&'a str]);
        let cases: [(&str, Vec<Entry<'_>>, &[&str]); 8] = [
            (
                "a linear chain",
                vec![
                    ("p.v1", None, &[]),
                    ("p.v2", Some("p.v1"), &[]),
                    ("p.v3", Some("p.v2"), &[]),
                ],
                &[],
            ),
            (
                // hawtio 1.0.0 replaces 0.5.0 of another channel.
                "a replaces outside the channel ends the chain",
                vec![
                    ("p.v1.0.0", Some("p.v0.5.0"), &[]),
                    ("p.v1.0.1", Some("p.v1.0.0"), &[]),
                ],
                &[],
            ),
            (
                "two heads",
                vec![("p.v1", None, &[]), ("p.v2", None, &[])],
                &["2 channel heads (p.v1, p.v2)"],
            ),
            (
                "a cycle behind the head",
                vec![
                    ("p.v1", Some("p.v2"), &[]),
                    ("p.v2", Some("p.v1"), &[]),
                    ("p.v3", Some("p.v2"), &[]),
                ],
                &["cycle in the replaces chain: p.v3 -> p.v2 -> p.v1 -> p.v2"],
            ),
            (
                "a closed cycle",
                vec![("p.v1", Some("p.v2"), &[]), ("p.v2", Some("p.v1"), &[])],
                &["no channel head"],
            ),
            (
                "skipped entries are reachable, dangling skips allowed",
                vec![
                    ("p.v1", None, &[]),
                    ("p.v2", None, &["p.v1", "p.v0-missing"]),
                ],
                &[],
            ),
            (
                "an entry no one replaces is a second head",
                vec![
                    ("p.v1", None, &[]),
                    ("p.v2", None, &[]),
                    ("p.v3", Some("p.v2"), &["p.v9"]),
                ],
                &["channel heads"],
            ),
            (
                "an entry off the chain is stranded",
                vec![
                    ("p.v1", None, &[]),
                    ("p.v2", Some("p.v1"), &[]),
                    ("p.v3", Some("p.v9"), &["p.v2"]),
                ],
                &["stranded entries"],
            ),
        ];
        for (case, entries, expected) in cases {
            let ch = channel(
                entries
                    .into_iter()
                    .map(|(name, replaces, skips)| entry(name, replaces, skips))
                    .collect(),
            );
            let problems = check_channel(&ch);
            assert_eq!(problems.len(), expected.len(), "{case}: {problems:?}");
            for (problem, part) in problems.iter().zip(expected) {
                assert!(problem.contains(part), "{case}: {problems:?}");
            }
        }
    }

    #[test]
    fn the_head_is_the_entry_no_one_replaces() {
        let ch = channel(vec![
            entry("p.v1", None, &[]),
            entry("p.v2", Some("p.v1"), &[]),
            entry("p.v3", Some("p.v2"), &[]),
        ]);
        assert_eq!(channel_head(&ch).unwrap().name, "p.v3");
    }

    #[test]
    fn a_tail_replacing_outside_the_channel_is_listed_but_no_problem() {
        let ch = channel(vec![
            entry("p.v1.0.0", Some("p.v0.5.0"), &[]),
            entry("p.v1.0.1", Some("p.v1.0.0"), &[]),
        ]);
        assert_eq!(dangling_replaces(&ch).len(), 1);
    }

    #[test]
    fn a_dangling_replaces_behind_a_second_head_is_named_with_its_csv_file() {
        // 1.1.0 meant to replace 1.0.0 but names 1.0.1: two heads.
        let tree = fixture_tree();
        let mut bundles: Vec<crate::model::bundle::Bundle> = tree
            .all_bundles()
            .filter(|b| b.package() == Some("demo-operator"))
            .filter(|b| b.version < semver::Version::new(1, 2, 0))
            .cloned()
            .collect();
        bundles[1].csv.spec.replaces = Some("demo-operator.v1.0.1".into());
        let refs: Vec<BundleRef<'_>> = bundles
            .iter()
            .map(|bundle| BundleRef {
                bundle,
                image: "r/b@sha256:0",
            })
            .collect();
        let config = build_catalog(&refs).unwrap();
        let mut problems = check_catalog(&config);
        locate_csv_files(&mut problems, &refs);
        let stable = problems
            .iter()
            .find(|p| p.channel.as_deref() == Some("stable"))
            .unwrap();
        assert_eq!(
            stable.dangling,
            [DanglingReplaces {
                entry: "demo-operator.v1.1.0".into(),
                replaces: "demo-operator.v1.0.1".into(),
                csv_file: Some(
                    bundles[1]
                        .dir
                        .join("manifests/demo-operator.clusterserviceversion.yaml")
                ),
            }]
        );
        let text = stable.to_string();
        assert!(
            text.contains("2 channel heads (demo-operator.v1.0.0, demo-operator.v1.1.0)")
                && text.contains("demo-operator.v1.1.0 replaces \"demo-operator.v1.0.1\" (spec.replaces in ")
                && text.contains("demo-operator.clusterserviceversion.yaml), which is not an entry of the channel"),
            "{text}"
        );
    }

    #[test]
    fn missing_default_channel_is_a_package_problem() {
        let config = one_entry_catalog("fast");
        let problems = check_catalog(&config);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "package \"p\": default channel \"fast\" is not one of the package's channels (stable)"
        );
    }

    #[test]
    fn csv_metadata_follows_go_field_order_and_omissions() {
        let csv = json!({"metadata": {"name": "p.v1", "annotations": {"z": "1", "a": 2}},
            "spec": {"displayName": "P", "description": "", "provider": {"url": "u", "name": "n"},
                "installModes": [{"supported": false, "type": "AllNamespaces"}],
                "customresourcedefinitions": {"owned": [{"kind": "K", "name": "ks.g", "version": "v1"}]}}});
        let meta = csv_metadata(&csv);
        assert_eq!(
            serde_json::to_string(&meta).unwrap(),
            r#"{"annotations":{"a":"2","z":"1"},"apiServiceDefinitions":{},"crdDescriptions":{"owned":[{"name":"ks.g","version":"v1","kind":"K"}]},"displayName":"P","installModes":[{"type":"AllNamespaces","supported":false}],"provider":{"name":"n","url":"u"}}"#
        );
    }

    #[test]
    fn blobs_are_written_like_opm_with_four_space_indent() {
        let config = one_entry_catalog("stable");
        let text = String::from_utf8(config.package_json("p")).unwrap();
        assert!(text.starts_with("{\n    \"schema\": \"olm.package\",\n    \"name\": \"p\",\n    \"defaultChannel\": \"stable\"\n}\n{\n"), "{text}");
        assert!(
            text.contains(
                "\"entries\": [\n        {\n            \"name\": \"p.v1\"\n        }\n    ]"
            ),
            "{text}"
        );
    }
}
