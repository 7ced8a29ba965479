//! OCM's add-on API model, read as OCM's generated server reads request
//! bodies and written as its SDK writes objects: serde types for the fields
//! of the published model (`openshift-online/ocm-api-model`, whose OpenAPI is
//! in `../shared/reference/ocm-api`), transcribed by us, one module per
//! service.
//!
//! What the generated code does, and these types with it:
//! - a field the model does not define is dropped without a word (serde's
//!   default), so a misnamed field is data that never arrives;
//! - a field of the wrong type is an error (the server's 400);
//! - enums are read as text (the generated reader casts, never checks);
//! - a list of linked objects (`parameters`) travels as `{"items": [...]}`
//!   ([`ItemList`]), every other list as a JSON array;
//! - an object of a class (one with `kind`, `id` and `href`) is written with
//!   its `kind`, whatever the request said.
//!
//! The fake OCM of the tests reads every request through these types, and
//! ocm-post compares with OCM's answer only the fields the model keeps
//! ([`kept_fields`]).

pub mod addons_mgmt;
pub mod clusters_mgmt;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Service;

/// The objects of the add-on API a request body can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// `AddOn` (clusters_mgmt), `Addon` (addons_mgmt).
    AddOn,
    /// `AddOnVersion`, `AddonVersion`.
    Version,
    /// `AddOnInstallation`, `AddonInstallation`.
    Installation,
}

/// Why a body does not read as its object: the field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The field's path, like `parameters.items[0].enabled`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() || self.field == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "field '{}': {}", self.field, self.message)
        }
    }
}

/// Reads `body` as `object` of `service`'s model and writes it back as the
/// SDK writes it: unknown fields gone, each class object with its `kind`.
pub fn read(service: Service, object: Object, body: &Value) -> Result<Value, ReadError> {
    match (service, object) {
        (Service::ClustersMgmt, Object::AddOn) => round_trip::<clusters_mgmt::AddOn>(body),
        (Service::ClustersMgmt, Object::Version) => round_trip::<clusters_mgmt::AddOnVersion>(body),
        (Service::ClustersMgmt, Object::Installation) => {
            round_trip::<clusters_mgmt::AddOnInstallation>(body)
        }
        (Service::AddonsMgmt, Object::AddOn) => round_trip::<addons_mgmt::Addon>(body),
        (Service::AddonsMgmt, Object::Version) => round_trip::<addons_mgmt::AddonVersion>(body),
        (Service::AddonsMgmt, Object::Installation) => {
            round_trip::<addons_mgmt::AddonInstallation>(body)
        }
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(body: &Value) -> Result<Value, ReadError> {
    let read: T = serde_path_to_error::deserialize(body).map_err(|err| ReadError {
        field: err.path().to_string(),
        message: err.inner().to_string(),
    })?;
    let written = serde_json::to_value(read).map_err(|err| ReadError {
        field: String::new(),
        message: format!("cannot write it back: {err}"),
    })?;
    match array_read_as_object(body, &written, "") {
        Some(field) => Err(ReadError {
            field,
            message: "invalid type: sequence, expected an object".to_string(),
        }),
        None => Ok(written),
    }
}

/// Where a JSON array was read as an object. serde reads a struct from an
/// array of its fields in order; the generated reader refuses anything but
/// an object (`{"items": [...]}` included), and so do we.
fn array_read_as_object(input: &Value, written: &Value, path: &str) -> Option<String> {
    let field = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (input, written) {
        (Value::Array(_), Value::Object(_)) => Some(path.to_string()),
        (Value::Object(input), Value::Object(written)) => written
            .iter()
            .find_map(|(key, value)| array_read_as_object(input.get(key)?, value, &field(key))),
        (Value::Array(input), Value::Array(written)) => input
            .iter()
            .zip(written)
            .enumerate()
            .find_map(|(index, (a, b))| array_read_as_object(a, b, &format!("{path}[{index}]"))),
        _ => None,
    }
}

/// The part of `ours` that OCM keeps: each field of it that `service`'s model
/// defines for `object`, at every depth. What OCM drops on reading can never
/// come back in its answer, so comparing it would find a difference on
/// every run. A body that does not read at all is kept whole (the request
/// then fails with OCM's own words).
pub fn kept_fields(service: Service, object: Object, ours: &Value) -> Value {
    match read(service, object, ours) {
        Ok(read) => intersect(ours, &read),
        Err(_) => ours.clone(),
    }
}

/// `ours` with only the keys (at every depth) that `read` still has.
fn intersect(ours: &Value, read: &Value) -> Value {
    match (ours, read) {
        (Value::Object(mine), Value::Object(kept)) => Value::Object(
            mine.iter()
                .filter_map(|(key, value)| Some((key.clone(), intersect(value, kept.get(key)?))))
                .collect(),
        ),
        (Value::Array(mine), Value::Array(kept)) if mine.len() == kept.len() => Value::Array(
            mine.iter()
                .zip(kept)
                .map(|(a, b)| intersect(a, b))
                .collect(),
        ),
        _ => ours.clone(),
    }
}

/// Labels, annotations: `[String]String` in the model.
pub type StringMap = BTreeMap<String, String>;

/// A requirement's `data`: `[String]Interface`, any value.
pub type FreeForm = serde_json::Map<String, Value>;

/// A list of linked objects, `{"items": [...]}` on the wire (`kind` and `href`
/// are read and not kept); a JSON array here is the wrong type
/// ([`array_read_as_object`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemList<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

/// The `kind` of a class object: written always, as the SDK does, and read
/// as any text (the reader only tells a link from a whole object by it).
macro_rules! kinds {
    ($($name:ident = $kind:literal),* $(,)?) => {$(
        #[doc = concat!("`kind: ", $kind, "`, written always.")]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($kind)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Option::<String>::deserialize(deserializer).map(|_| $name)
            }
        }
    )*};
}
pub(crate) use kinds;

/// A struct of the model: every field optional, absent when unset (the
/// generated code keeps a "set" bit per field).
macro_rules! model_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[serde_with::skip_serializing_none]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: Option<$ty>,
            )*
        }
    };
}
pub(crate) use model_struct;

/// A class of the model: a struct with `kind` (written always), `id` and `href`.
macro_rules! model_class {
    ($(#[$meta:meta])* $name:ident: $kind:ty { $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[serde_with::skip_serializing_none]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            #[serde(default)]
            pub kind: $kind,
            pub id: Option<String>,
            pub href: Option<String>,
            $(
                $(#[$field_meta])*
                pub $field: Option<$ty>,
            )*
        }
    };
}
pub(crate) use model_class;

model_struct!(
    /// `CredentialRequest`, the same in both services.
    CredentialRequest {
        name: String,
        namespace: String,
        policy_permissions: Vec<String>,
        service_account: String,
    }
);

model_struct!(
    /// `AdditionalCatalogSource`, the same in both services.
    AdditionalCatalogSource {
        id: String,
        enabled: bool,
        image: String,
        name: String,
    }
);

model_struct!(
    /// `AddOnSecretPropagation` / `AddonSecretPropagation`.
    SecretPropagation {
        id: String,
        destination_secret: String,
        enabled: bool,
        source_secret: String,
    }
);

model_struct!(
    /// `AddOnRequirementStatus` / `AddonRequirementStatus`.
    RequirementStatus {
        error_msgs: Vec<String>,
        fulfilled: bool,
    }
);

model_struct!(
    /// `AddOnRequirement` / `AddonRequirement` (`resource` is an enum in
    /// addons_mgmt, read as text).
    Requirement {
        id: String,
        data: FreeForm,
        enabled: bool,
        resource: String,
        status: RequirementStatus,
    }
);

model_struct!(
    /// `AddOnParameterOption` / `AddonParameterOption`.
    ParameterOption {
        name: String,
        rank: i32,
        requirements: Vec<Requirement>,
        value: String,
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_dropped_and_classes_get_their_kind() {
        let body = json!({"id": "a", "name": "A", "enabled": true, "surprise": 1,
            "config": {"add_on_secret_propagations": [{"source_secret": "s"}],
                       "secret_propagations": [{"source_secret": "s", "destination_secret": "d"}]},
            "parameters": {"items": [{"id": "p", "order": 1, "value_type": "string"}]}});
        let read = read(Service::ClustersMgmt, Object::AddOn, &body).unwrap();
        assert_eq!(
            read,
            json!({"kind": "AddOn", "id": "a", "name": "A", "enabled": true,
                "config": {"kind": "AddOnConfig",
                           "secret_propagations": [{"source_secret": "s", "destination_secret": "d"}]},
                "parameters": {"items": [{"kind": "AddOnParameter", "id": "p", "value_type": "string"}]}})
        );
        let addons = super::read(Service::AddonsMgmt, Object::AddOn, &body).unwrap();
        assert_eq!(
            addons["config"],
            json!({"add_on_secret_propagations": [{"source_secret": "s"}]})
        );
        assert_eq!(addons["parameters"]["items"][0]["order"], 1);
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = read(
            Service::ClustersMgmt,
            Object::AddOn,
            &json!({"enabled": "yes"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "enabled");
        assert!(
            err.to_string().starts_with("field 'enabled': invalid type"),
            "{err}"
        );
        // A list of linked objects is `{"items": [...]}`, not an array.
        let err = read(
            Service::ClustersMgmt,
            Object::Version,
            &json!({"parameters": [{"id": "p"}]}),
        )
        .unwrap_err();
        assert!(err.field.starts_with("parameters"), "{err}");
        let err = read(
            Service::ClustersMgmt,
            Object::Version,
            &json!({"parameters": []}),
        )
        .unwrap_err();
        assert_eq!(err.field, "parameters");
        assert!(err.message.contains("expected an object"), "{err}");
        let err = read(Service::AddonsMgmt, Object::AddOn, &json!({"config": []})).unwrap_err();
        assert_eq!(err.field, "config");
        let err = read(
            Service::ClustersMgmt,
            Object::Installation,
            &json!({"parameters": {"items": [{"id": "p", "value": 3}]}}),
        )
        .unwrap_err();
        assert_eq!(err.field, "parameters.items[0].value");
    }

    #[test]
    fn only_the_fields_the_model_keeps_are_compared() {
        let ours = json!({"name": "A", "config": {"add_on_secret_propagations": [], "add_on_environment_variables": []},
                          "parameters": {"items": [{"id": "p", "order": 1}]}});
        assert_eq!(
            kept_fields(Service::ClustersMgmt, Object::AddOn, &ours),
            json!({"name": "A", "config": {"add_on_environment_variables": []},
                   "parameters": {"items": [{"id": "p"}]}})
        );
        assert_eq!(kept_fields(Service::AddonsMgmt, Object::AddOn, &ours), ours);
    }
}
