//! `ADDON`, the managed-tenants `Addon` object templates see: its
//! attributes (`metadata`, `imageset`, `name`, `catalog_image`,
//! `imageset_version`) and methods (`pull_secret_name()`,
//! `get_pull_secret_name(src)`, `get_config(src)`, `get_secrets()`,
//! `get_envs()`, `get_additional_catalog_srcs(src)`), computed as
//! `core/addons_loader/addon.py` computes them, Python's `or` included (an
//! empty image set list falls back to the metadata's; nothing at all is
//! `None`, not `[]`).

use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::model::addon::AddonDocument;

use super::python::{ordered_json_value, python_repr_str, serde_value, truthy};

/// The `Addon` a template sees.
#[derive(Debug)]
pub(super) struct AddonObject {
    name: String,
    metadata: Value,
    imageset: Value,
    catalog_image: Value,
    imageset_version: Option<Value>,
}

impl AddonObject {
    pub fn new(document: &AddonDocument) -> Self {
        // The metadata as `document.ordered_metadata()` gives it, made a
        // template value in the same walk that orders it.
        let metadata = serde_json::to_value(&document.metadata).unwrap_or_default();
        let order = document.key_order.model();
        let ordered = |key: &str| {
            let value = metadata.get(key)?;
            Some(ordered_json_value(value, order.and_then(|o| o.get(key))))
        };
        let imageset_version = ordered("addonImageSetVersion");
        // mtcli: a present `addonImageSetVersion` means the image set's
        // catalog (None when the version is null); else `indexImage`.
        let catalog_image = match (&imageset_version, document.image_set.as_ref()) {
            (Some(_), Some(set)) => Value::from(set.index_image.as_str()),
            (Some(_), None) => Value::from(()),
            (None, _) => ordered("indexImage").unwrap_or(Value::from(())),
        };
        let imageset = document
            .image_set
            .as_ref()
            .and_then(|set| serde_json::to_value(set).ok())
            .map(|set| ordered_json_value(&set, order.and_then(|o| o.get("imageSet"))));
        AddonObject {
            name: document
                .addon_folder
                .clone()
                .unwrap_or_else(|| document.metadata.id.clone()),
            metadata: ordered_json_value(&metadata, order),
            imageset: imageset.unwrap_or(Value::from(())),
            catalog_image,
            imageset_version,
        }
    }

    /// `mapping.get(key, default)` on a mapping, or Python's
    /// AttributeError on anything else (`None.get`).
    fn get(mapping: &Value, key: &str, default: Value) -> Result<Value, Error> {
        if mapping.kind() != minijinja::value::ValueKind::Map {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "AttributeError: '{}' object has no attribute 'get'",
                    super::percent::type_name(mapping)
                ),
            ));
        }
        Ok(mapping
            .get_item(&Value::from(key))
            .ok()
            .filter(|v| !v.is_undefined())
            .unwrap_or(default))
    }

    /// Python's `a or b`.
    fn or(first: Value, second: impl FnOnce() -> Result<Value, Error>) -> Result<Value, Error> {
        if truthy(&first) {
            Ok(first)
        } else {
            second()
        }
    }

    fn has_imageset(&self) -> bool {
        truthy(&self.imageset)
    }

    /// mtcli's `get_<thing>(src)`: `key` of the image set (`src` `"imageset"`,
    /// when there is one) or of the metadata (any other `src`, or
    /// `"imageset"` without an image set), `default()` where that mapping
    /// lacks it; without `src`, the image set's value `or` the metadata's.
    fn by_source(
        &self,
        src: Option<&str>,
        key: &str,
        default: &dyn Fn() -> Value,
    ) -> Result<Value, Error> {
        match src {
            None => Self::or(self.by_source(Some("imageset"), key, default)?, || {
                self.by_source(Some("metadata"), key, default)
            }),
            Some("imageset") if self.has_imageset() => Self::get(&self.imageset, key, default()),
            Some(_) => Self::get(&self.metadata, key, default()),
        }
    }

    fn get_pull_secret_name(&self, src: Option<&str>) -> Result<Value, Error> {
        self.by_source(src, "pullSecretName", &|| Value::from(()))
    }

    fn get_config(&self, src: Option<&str>) -> Result<Value, Error> {
        self.by_source(src, "config", &|| serde_value(serde_json::json!({})))
    }

    /// `get_config("imageset").get(key) or get_config("metadata").get(key)`.
    fn config_list(&self, key: &str) -> Result<Value, Error> {
        let from_set = Self::get(&self.get_config(Some("imageset"))?, key, Value::from(()))?;
        Self::or(from_set, || {
            Self::get(&self.get_config(Some("metadata"))?, key, Value::from(()))
        })
    }

    fn get_additional_catalog_srcs(&self, src: Option<&str>) -> Result<Value, Error> {
        self.by_source(src, "additionalCatalogSources", &|| Value::from(()))
    }
}

impl Object for AddonObject {
    /// An object with attributes, printed as Python prints `Addon`.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "metadata" => self.metadata.clone(),
            "imageset" => self.imageset.clone(),
            "name" => Value::from(self.name.as_str()),
            "catalog_image" => self.catalog_image.clone(),
            "imageset_version" => self.imageset_version.clone()?,
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["metadata", "imageset", "name", "catalog_image"])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let takes_src = matches!(
            method,
            "get_pull_secret_name" | "get_config" | "get_additional_catalog_srcs"
        );
        let src: Option<String> = if takes_src {
            let (src, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
            let src = match src {
                Some(src) => Some(src),
                None => kwargs.get::<Option<Value>>("src")?,
            };
            kwargs.assert_all_used()?;
            src.filter(|v| !v.is_none()).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
        } else {
            if !args.is_empty() {
                return Err(Error::new(
                    ErrorKind::TooManyArguments,
                    format!("ADDON.{method}() takes no arguments"),
                ));
            }
            None
        };
        let src = src.as_deref();
        match method {
            "pull_secret_name" => {
                // The legacy `pullSecret` is not in the schema any more; the
                // branch stays for a document that still has it.
                if truthy(&Self::get(&self.metadata, "pullSecret", Value::from(()))?) {
                    Ok(Value::from("addon-pullsecret"))
                } else {
                    self.get_pull_secret_name(None)
                }
            }
            "get_pull_secret_name" => self.get_pull_secret_name(src),
            "get_config" => self.get_config(src),
            "get_secrets" => self.config_list("secrets"),
            "get_envs" => self.config_list("env"),
            "get_additional_catalog_srcs" => self.get_additional_catalog_srcs(src),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addon({})", python_repr_str(&self.name))
    }
}
