//! The Kubernetes API calls hive-apply makes, over `common::http`: discovery
//! (plural names and scope, cached per group version), server-side apply,
//! JSON merge patch, GET and DELETE, with the server's `Status` turned into
//! an error that names the object and says what to do.

use std::collections::HashMap;
use std::sync::Mutex;

use common::http::{encode_query, Client, Request, Response};
use common::k8s::{split_api_version, ApiResourceList, Status};
use common::{Error, Result};
use serde_json::Value;

/// Where a kind lives on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub api_version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    /// `plural.group`, as kubectl names resources (`syncsets.hive.openshift.io`).
    pub fn qualified(&self) -> String {
        match split_api_version(&self.api_version) {
            ("", _) => self.plural.clone(),
            (group, _) => format!("{}.{group}", self.plural),
        }
    }

    fn base(&self) -> String {
        match split_api_version(&self.api_version) {
            ("", version) => format!("/api/{version}"),
            (group, version) => format!("/apis/{group}/{version}"),
        }
    }

    /// The URL path of every object of the kind, in all namespaces.
    pub fn collection_path(&self) -> String {
        format!("{}/{}", self.base(), self.plural)
    }

    /// The URL path of one object (`name` already safe for a path).
    pub fn path(&self, namespace: Option<&str>, name: &str) -> String {
        let base = self.base();
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!(
                "{base}/namespaces/{}/{}/{}",
                segment(ns),
                self.plural,
                segment(name)
            ),
            _ => format!("{base}/{}/{}", self.plural, segment(name)),
        }
    }
}

/// Escapes what may not appear in a path segment (names are DNS names, so
/// this is only a guard).
fn segment(text: &str) -> String {
    encode_query(text)
}

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    /// 201 created, 200 updated (or unchanged).
    pub status: u16,
    pub object: Value,
}

/// A client for one Kubernetes API server.
pub struct KubeClient {
    http: Client,
    field_manager: String,
    /// Discovery per group version: the list, `None` when not served, or the refusal.
    discovery: Mutex<HashMap<String, std::result::Result<Option<ApiResourceList>, String>>>,
    /// Set once the server could not be reached at all.
    unreachable: Mutex<Option<String>>,
}

impl KubeClient {
    pub fn new(http: Client, field_manager: &str) -> Self {
        KubeClient {
            http,
            field_manager: field_manager.to_string(),
            discovery: Mutex::new(HashMap::new()),
            unreachable: Mutex::new(None),
        }
    }

    pub fn server(&self) -> &str {
        self.http.base_url()
    }

    /// The resource of `apiVersion`/`kind`, from the server's discovery document.
    pub fn resource(&self, api_version: &str, kind: &str) -> Result<Resource> {
        let list = self.discover(api_version)?;
        let Some(list) = list else {
            return Err(Error::remote(
                self.server(),
                format!(
                    "the server does not serve {api_version} (is the CustomResourceDefinition for {kind} installed?)"
                ),
            ));
        };
        list.resources
            .iter()
            .find(|r| r.kind == kind && !r.name.contains('/'))
            .map(|r| Resource {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                plural: r.name.clone(),
                namespaced: r.namespaced,
            })
            .ok_or_else(|| {
                Error::remote(
                    self.server(),
                    format!(
                        "the server has no kind {kind} in {api_version} (is its CustomResourceDefinition installed?)"
                    ),
                )
            })
    }

    /// One discovery request per group version and run, even with many
    /// threads asking at once (the lock is held during the request), and a
    /// refusal is remembered too, so a bad token fails once, not per object.
    fn discover(&self, api_version: &str) -> Result<Option<ApiResourceList>> {
        let mut cache = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.get(api_version) {
            return cached
                .clone()
                .map_err(|message| Error::remote(self.server(), message));
        }
        let result = self.fetch_discovery(api_version);
        let cached = match &result {
            Ok(list) => Ok(list.clone()),
            Err(Error::Remote { message, .. }) => Err(message.clone()),
            Err(other) => Err(other.to_string()),
        };
        cache.insert(api_version.to_string(), cached);
        result
    }

    fn fetch_discovery(&self, api_version: &str) -> Result<Option<ApiResourceList>> {
        let path = match split_api_version(api_version) {
            ("", version) => format!("/api/{version}"),
            (group, version) => format!("/apis/{group}/{version}"),
        };
        if let Some(message) = self
            .unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(Error::remote(self.server(), message));
        }
        // A server that cannot be reached (after the client's retries) is not
        // tried again for each group version.
        let response = self
            .http
            .send(&Request::new("GET", &path).header("Accept", "application/json"))
            .inspect_err(|err| {
                if let Error::Remote { message, .. } = err {
                    *self.unreachable.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(message.clone());
                }
            })?;
        match response.status {
            200 => Ok(Some(
                response.json::<ApiResourceList>(&format!("{} {path}", self.server()))?,
            )),
            404 => Ok(None),
            _ => Err(self.failure(&response, &format!("discovery of {api_version}"))),
        }
    }

    /// Server-side apply of `object` (`PATCH` with `application/apply-patch+yaml`).
    pub fn apply(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
        force: bool,
        dry_run: bool,
    ) -> Result<Written> {
        let mut path = format!(
            "{}?fieldManager={}&force={force}",
            resource.path(namespace, name),
            encode_query(&self.field_manager)
        );
        if dry_run {
            path.push_str("&dryRun=All");
        }
        // JSON is YAML: the apply content type takes either.
        let body = serde_json::to_vec(object).map_err(|err| Error::usage(err.to_string()))?;
        let response = self.http.send(
            &Request::new("PATCH", &path)
                .header("Accept", "application/json")
                .body("application/apply-patch+yaml", body),
        )?;
        self.written(response, resource, namespace, name)
    }

    /// A JSON merge patch (RFC 7386), as `kubectl label` sends.
    pub fn merge_patch(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
        dry_run: bool,
    ) -> Result<Written> {
        let mut path = format!(
            "{}?fieldManager={}",
            resource.path(namespace, name),
            encode_query(&self.field_manager)
        );
        if dry_run {
            path.push_str("&dryRun=All");
        }
        let body = serde_json::to_vec(patch).map_err(|err| Error::usage(err.to_string()))?;
        let response = self.http.send(
            &Request::new("PATCH", &path)
                .header("Accept", "application/json")
                .body("application/merge-patch+json", body),
        )?;
        self.written(response, resource, namespace, name)
    }

    /// The object, or `None` when it does not exist.
    pub fn get(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>> {
        let response = self.http.send(
            &Request::new("GET", &resource.path(namespace, name))
                .header("Accept", "application/json"),
        )?;
        match response.status {
            200 => Ok(Some(response.json(&describe(resource, namespace, name))?)),
            404 => Ok(None),
            _ => Err(self.failure(&response, &describe(resource, namespace, name))),
        }
    }

    /// Every object of the kind (all namespaces).
    pub fn list(&self, resource: &Resource) -> Result<Vec<Value>> {
        let path = resource.collection_path();
        let response = self
            .http
            .send(&Request::new("GET", &path).header("Accept", "application/json"))?;
        if !response.is_success() {
            return Err(self.failure(&response, &format!("list of {}", resource.qualified())));
        }
        let list: Value = response.json(&format!("{} {path}", self.server()))?;
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// Deletes the object; `false` when it was already gone.
    pub fn delete(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        dry_run: bool,
    ) -> Result<bool> {
        let mut path = resource.path(namespace, name);
        if dry_run {
            path.push_str("?dryRun=All");
        }
        let response = self
            .http
            .send(&Request::new("DELETE", &path).header("Accept", "application/json"))?;
        match response.status {
            200 | 202 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(&response, &describe(resource, namespace, name))),
        }
    }

    fn written(
        &self,
        response: Response,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Written> {
        let what = describe(resource, namespace, name);
        if response.is_success() {
            return Ok(Written {
                status: response.status,
                object: response.json(&what)?,
            });
        }
        Err(self.failure(&response, &what))
    }

    /// The server's refusal as an error naming the object and the way out.
    fn failure(&self, response: &Response, what: &str) -> Error {
        let status: Option<Status> = serde_json::from_slice(&response.body)
            .ok()
            .filter(|s: &Status| s.kind == "Status");
        let message = status
            .as_ref()
            .map(|s| s.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| common::http::snippet(&response.text()));
        let hint = match response.status {
            401 => "the credentials were refused (expired token? log in again, e.g. `oc login`, or fix the kubeconfig user)",
            403 => "the user may not do this; ask for the RBAC permission",
            404 => "not found (does the namespace exist, and is the kind's CustomResourceDefinition installed?)",
            409 => "another field manager owns these fields with other values; re-run with --force-conflicts to take them over",
            415 | 422 | 400 => "the server rejected the object",
            _ => "the server failed",
        };
        Error::remote(
            self.server(),
            format!("{what}: HTTP {}: {message}: {hint}", response.status),
        )
    }
}

/// `syncsets.hive.openshift.io "addon-x" in namespace "ns"`.
pub fn describe(resource: &Resource, namespace: Option<&str>, name: &str) -> String {
    match namespace.filter(|_| resource.namespaced) {
        Some(ns) => format!("{} {name:?} in namespace {ns:?}", resource.qualified()),
        None => format!("{} {name:?}", resource.qualified()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_for_core_custom_namespaced_and_cluster_scoped() {
        let ns = Resource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
            namespaced: false,
        };
        assert_eq!(ns.path(None, "x"), "/api/v1/namespaces/x");
        let cm = Resource {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
        };
        assert_eq!(
            cm.path(Some("ns"), "c"),
            "/api/v1/namespaces/ns/configmaps/c"
        );
        let ss = Resource {
            api_version: "hive.openshift.io/v1".into(),
            kind: "SyncSet".into(),
            plural: "syncsets".into(),
            namespaced: true,
        };
        assert_eq!(
            ss.path(Some("cd"), "addon-x"),
            "/apis/hive.openshift.io/v1/namespaces/cd/syncsets/addon-x"
        );
        assert_eq!(ss.qualified(), "syncsets.hive.openshift.io");
        assert_eq!(
            describe(&ss, Some("cd"), "addon-x"),
            "syncsets.hive.openshift.io \"addon-x\" in namespace \"cd\""
        );
    }
}
