//! A Kubernetes API server for Hive's kinds, on loopback, that refuses what
//! a real API server refuses, so the same client works against a real Hive
//! cluster (`tests/kubectl.rs` holds it to that with kubectl):
//!
//! - bearer-token and client-certificate auth (401 `Unauthorized` Status);
//! - discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`
//!   (`APIVersions`, `APIGroupList`, `APIResourceList` with short names);
//!   OpenAPI v3 (`/openapi/v3`, see `kube/openapi.rs`);
//! - namespaces: the server starts with [`BUILT_IN_NAMESPACES`] and
//!   [`KubeOptions::namespaces`]; creating anything in another one is a 404
//!   `namespaces "x" not found`; deleting a Namespace deletes its contents;
//! - writes (`kube/writes.rs`): server-side apply (`fieldManager` required,
//!   `force`, conflicts as 409 with the API server's body), merge patch
//!   (strategic merge patch for built-in kinds), POST (`generateName`, 409
//!   AlreadyExists), PUT (409 on a stale `resourceVersion`), DELETE; names,
//!   labels and annotations validated as `ValidateObjectMeta` does (422
//!   Invalid, see `kube/validation.rs`); fields the kind's schema does not declare
//!   refused or dropped per `fieldValidation`; `dryRun=All` stores nothing
//!   and moves no `resourceVersion`; an unchanged write stores nothing; each
//!   manager's `managedFields` time moves only with its own changes;
//! - lists with `labelSelector` ([`LabelSelector`]);
//! - Hive's ClusterSync: `hiveinternal.openshift.io/v1alpha1` ClusterSyncs
//!   report each SyncSet (by `clusterDeploymentRefs`) and SelectorSyncSet (by
//!   the ClusterDeployment's labels) as applied, `sync_delay` after it changed.
//!
//! Not modelled (docs/test-servers.md keeps the list): watch, JSON patch,
//! field selectors, `deletecollection`, Namespace termination (deletion is
//! immediate), types and enums in the schemas, lists atomic in field
//! ownership, RBAC.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::faults::FaultPlan;
use crate::http::{Handler, HttpRequest, HttpResponse, Server, TlsIdentity, CLIENT_CERT_HEADER};

mod cluster_sync;
mod fields;
mod openapi;
mod selector;
mod status;
mod validation;
mod writes;

use fields::Managers;
use status::{not_found, not_found_path, status};
use writes::FieldValidation;

pub use selector::LabelSelector;

/// A kind the server serves (what a CRD or a built-in type registers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// What `kubectl get` also accepts for the plural (`sss`), as the
    /// kind's CRD declares them (`spec.names.shortNames`).
    pub short_names: Vec<String>,
}

impl ResourceType {
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        ResourceType {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            short_names: Vec::new(),
        }
    }

    pub fn with_short_names(mut self, short_names: &[&str]) -> Self {
        self.short_names = short_names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group`, as the API names a resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// The kinds a Hive cluster with the OSD operators serves. Short names are
/// the built-in ones (`ns`, `cm`) and those of Hive's CRDs (openshift/hive
/// `config/crds`: `cd`, `ss`, `sss`, `csync`); the OSD operators' CRDs were
/// not at hand, so their kinds have none here.
pub fn hive_resource_types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("v1", "Namespace", "namespaces", false).with_short_names(&["ns"]),
        ResourceType::new("v1", "ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        ResourceType::new("v1", "Secret", "secrets", true),
        ResourceType::new(
            "hive.openshift.io/v1",
            "ClusterDeployment",
            "clusterdeployments",
            true,
        )
        .with_short_names(&["cd"]),
        ResourceType::new("hive.openshift.io/v1", "SyncSet", "syncsets", true)
            .with_short_names(&["ss"]),
        ResourceType::new(
            "hive.openshift.io/v1",
            "SelectorSyncSet",
            "selectorsyncsets",
            false,
        )
        .with_short_names(&["sss"]),
        ResourceType::new(
            "hiveinternal.openshift.io/v1alpha1",
            "ClusterSync",
            "clustersyncs",
            true,
        )
        .with_short_names(&["csync"]),
        ResourceType::new(
            "pagerduty.openshift.io/v1alpha1",
            "PagerDutyIntegration",
            "pagerdutyintegrations",
            true,
        ),
        ResourceType::new(
            "deadmanssnitch.managed.openshift.io/v1alpha1",
            "DeadmansSnitchIntegration",
            "deadmanssnitchintegrations",
            true,
        ),
    ]
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Bearer tokens accepted.
    pub tokens: Vec<String>,
    /// Served kinds.
    pub resource_types: Vec<ResourceType>,
    /// Added to every request, to model a real API server's latency.
    pub latency: Duration,
    /// How long after a (Selector)SyncSet changes its ClusterSyncs report it applied.
    pub sync_delay: Duration,
    /// Misbehaviours for the next requests (`--faults`).
    pub faults: FaultPlan,
    /// Namespaces that exist from the start, besides [`BUILT_IN_NAMESPACES`]
    /// (the namespaces of the ClusterDeployments a test plays with).
    pub namespaces: Vec<String>,
}

/// The namespaces every server starts with: what a new cluster has,
/// `openshift-config` (Hive runs on OpenShift), `hive`, where a Hive cluster
/// runs its operator, and the namespaces of the OSD operators whose kinds
/// [`hive_resource_types`] serves (their PagerDutyIntegrations and
/// DeadmansSnitchIntegrations live there).
pub const BUILT_IN_NAMESPACES: [&str; 7] = [
    "default",
    "kube-system",
    "kube-public",
    "openshift-config",
    "hive",
    "pagerduty-operator",
    "deadmanssnitch-operator",
];

/// Namespaces the API server refuses to delete (NamespaceLifecycle's
/// immortal namespaces).
const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            tokens: vec!["test-token".to_string()],
            resource_types: hive_resource_types(),
            latency: Duration::ZERO,
            sync_delay: Duration::from_millis(200),
            faults: FaultPlan::default(),
            namespaces: Vec::new(),
        }
    }
}

/// One stored object with its field ownership.
#[derive(Debug, Clone)]
struct Stored {
    object: Value,
    /// Who owns which fields (`metadata.managedFields` is written from it).
    managers: Managers,
    /// When the spec last changed (for the ClusterSync delay).
    changed_at: Instant,
}

/// Object key: (group, plural, namespace, name).
type Key = (String, String, String, String);

#[derive(Debug)]
struct State {
    options: KubeOptions,
    objects: BTreeMap<Key, Stored>,
    resource_version: u64,
    uid: u64,
    requests: u64,
    /// The resourceVersion once the namespaces the server starts with exist.
    started_at_version: u64,
    /// (Selector)SyncSet name → the failure Hive reports for it.
    sync_failures: BTreeMap<String, String>,
}

/// The API's state, shared by the connection threads and the test driving it.
#[derive(Debug)]
pub struct KubeApi {
    state: Mutex<State>,
}

/// A running Kubernetes API test server.
pub struct KubeServer {
    server: Server,
    api: Arc<KubeApi>,
    /// The certificate when serving HTTPS (its own CA: self-signed in tests).
    ca_pem: Option<Vec<u8>>,
}

impl KubeServer {
    pub fn start(options: KubeOptions) -> std::io::Result<KubeServer> {
        KubeServer::start_on("127.0.0.1:0", options)
    }

    pub fn start_on(addr: &str, options: KubeOptions) -> std::io::Result<KubeServer> {
        let faults = options.faults.clone();
        let api = Arc::new(KubeApi::new(options));
        let handler: Arc<dyn Handler> = Arc::new(ApiHandler(Arc::clone(&api)));
        let server = Server::start_faulty_on(addr, handler, faults)?;
        Ok(KubeServer {
            server,
            api,
            ca_pem: None,
        })
    }

    /// Serves `api` (the objects of a server that was stopped) on `addr`:
    /// an API server restarted on the same port with the same storage.
    pub fn start_with_api(
        addr: &str,
        api: Arc<KubeApi>,
        faults: FaultPlan,
    ) -> std::io::Result<KubeServer> {
        let handler: Arc<dyn Handler> = Arc::new(ApiHandler(Arc::clone(&api)));
        let server = Server::start_faulty_on(addr, handler, faults)?;
        Ok(KubeServer {
            server,
            api,
            ca_pem: None,
        })
    }

    /// The API's state, to outlive this server (see [`KubeServer::start_with_api`]).
    pub fn shared_api(&self) -> Arc<KubeApi> {
        Arc::clone(&self.api)
    }

    /// Serves HTTPS with `identity` (a kubeconfig from `kubeconfig` trusts its
    /// certificate).
    pub fn start_tls_on(
        addr: &str,
        options: KubeOptions,
        identity: &TlsIdentity,
    ) -> std::io::Result<KubeServer> {
        let faults = options.faults.clone();
        let api = Arc::new(KubeApi::new(options));
        let handler: Arc<dyn Handler> = Arc::new(ApiHandler(Arc::clone(&api)));
        let server = Server::start_faulty_tls_on(addr, handler, identity, faults)?;
        Ok(KubeServer {
            server,
            api,
            ca_pem: Some(
                identity
                    .ca_pem
                    .clone()
                    .unwrap_or_else(|| identity.cert_pem.clone()),
            ),
        })
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn api(&self) -> &KubeApi {
        &self.api
    }

    /// A kubeconfig for this server with `token` (current-context
    /// `fake-hive`), trusting the server's certificate when it serves HTTPS.
    pub fn kubeconfig(&self, token: &str) -> String {
        let ca = self
            .ca_pem
            .as_ref()
            .map(|pem| {
                format!(
                    "    certificate-authority-data: {}\n",
                    common::base64::encode(pem)
                )
            })
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake-hive\nclusters:\n- name: fake-hive\n  cluster:\n    server: {}\n{ca}users:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: fake-hive\n  context:\n    cluster: fake-hive\n    user: admin\n",
            self.url()
        )
    }

    /// Blocks serving (for the stand-alone binary).
    pub fn wait(self) {
        self.server.wait()
    }
}

struct ApiHandler(Arc<KubeApi>);

impl Handler for ApiHandler {
    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let latency = self.0.lock().options.latency;
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        self.0.handle(request)
    }
}

/// What a request path names.
enum Target {
    Collection {
        rt: ResourceType,
        namespace: String,
    },
    Object {
        rt: ResourceType,
        namespace: String,
        name: String,
    },
}

impl KubeApi {
    fn new(options: KubeOptions) -> Self {
        let mut state = State {
            options,
            objects: BTreeMap::new(),
            resource_version: 1000,
            uid: 0,
            requests: 0,
            started_at_version: 0,
            sync_failures: BTreeMap::new(),
        };
        let namespaces: Vec<String> = BUILT_IN_NAMESPACES
            .iter()
            .map(|ns| ns.to_string())
            .chain(state.options.namespaces.iter().cloned())
            .collect();
        for namespace in namespaces {
            state.seed_namespace(&namespace);
        }
        state.started_at_version = state.resource_version;
        KubeApi {
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the accepted tokens (an empty list rejects everyone).
    pub fn set_tokens(&self, tokens: &[&str]) {
        self.lock().options.tokens = tokens.iter().map(|t| t.to_string()).collect();
    }

    /// Registers a kind (as installing its CRD does).
    pub fn install(&self, rt: ResourceType) {
        let mut state = self.lock();
        if !state.options.resource_types.contains(&rt) {
            state.options.resource_types.push(rt);
        }
    }

    /// Unregisters a kind (as if its CRD were missing).
    pub fn uninstall(&self, kind: &str) {
        self.lock()
            .options
            .resource_types
            .retain(|rt| rt.kind != kind);
    }

    /// Makes ClusterSyncs report the (Selector)SyncSet `name` as failed.
    pub fn fail_sync(&self, name: &str, message: &str) {
        self.lock()
            .sync_failures
            .insert(name.to_string(), message.to_string());
    }

    pub fn set_latency(&self, latency: Duration) {
        self.lock().options.latency = latency;
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Every object written since the server started (by clients, or by
    /// Hive's controllers), in key order: the namespaces it started with are
    /// left out until a client changes them ([`KubeApi::get`] finds them).
    pub fn objects(&self) -> Vec<Value> {
        let state = self.lock();
        state
            .objects
            .values()
            .filter(|s| {
                s.object["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|rv| rv.parse::<u64>().ok())
                    .is_some_and(|rv| rv > state.started_at_version)
            })
            .map(|s| s.object.clone())
            .collect()
    }

    /// One object by kind, namespace ("" when cluster-scoped) and name.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let state = self.lock();
        let rt = state
            .options
            .resource_types
            .iter()
            .find(|rt| rt.kind == kind)?
            .clone();
        let key = (rt.group, rt.plural, namespace.to_string(), name.to_string());
        state.objects.get(&key).map(|s| s.object.clone())
    }

    /// Server-side applies `object` as `manager` (to set up conflicts in tests).
    pub fn apply_as(&self, manager: &str, object: &Value, force: bool) -> Result<Value, u16> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let mut state = self.lock();
        let rt = state
            .options
            .resource_types
            .iter()
            .find(|rt| rt.kind == kind)
            .cloned()
            .ok_or(404u16)?;
        let namespace = if rt.namespaced {
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let response = state.apply(
            &rt,
            &namespace,
            &name,
            object.clone(),
            manager,
            force,
            false,
        );
        if response.status < 300 {
            Ok(serde_json::from_slice(&response.body).unwrap_or(Value::Null))
        } else {
            Err(response.status)
        }
    }

    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let mut state = self.lock();
        state.requests += 1;
        // A bearer token, or (as the API server's x509 authenticator) a client
        // certificate the TLS layer verified against the client CA.
        let authorized = request
            .bearer_token()
            .is_some_and(|token| state.options.tokens.iter().any(|t| t == token))
            || request.header(CLIENT_CERT_HEADER) == Some("verified");
        if !authorized {
            return status(401, "Unauthorized", "Unauthorized");
        }
        let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["api"] => HttpResponse::json(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            ),
            ["apis"] => HttpResponse::json(200, &state.group_list()),
            ["api", "v1"] => state.resource_list("", "v1"),
            ["apis", group, version] => state.resource_list(group, version),
            ["api", "v1", rest @ ..] => state.route(request, "", "v1", rest),
            ["apis", group, version, rest @ ..] => state.route(request, group, version, rest),
            ["openapi", "v3"] => {
                HttpResponse::json(200, &openapi::root(&state.options.resource_types))
            }
            ["openapi", "v3", "api", version] => state.openapi_document("", version),
            ["openapi", "v3", "apis", group, version] => state.openapi_document(group, version),
            ["version"] => HttpResponse::json(
                200,
                &json!({"major": "1", "minor": "29", "gitVersion": "v1.29.0-addon-flow-test"}),
            ),
            _ => not_found_path(),
        }
    }
}

impl State {
    fn group_list(&self) -> Value {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for rt in self
            .options
            .resource_types
            .iter()
            .filter(|rt| !rt.group.is_empty())
        {
            let versions = groups.entry(&rt.group).or_default();
            if !versions.contains(&rt.version.as_str()) {
                versions.push(&rt.version);
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(name, versions)| {
                let versions: Vec<Value> = versions
                    .iter()
                    .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                    .collect();
                json!({"name": name, "versions": versions, "preferredVersion": versions[0]})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn resource_list(&self, group: &str, version: &str) -> HttpResponse {
        let resources: Vec<Value> = self
            .options
            .resource_types
            .iter()
            .filter(|rt| rt.group == group && rt.version == version)
            .map(|rt| {
                // The verbs this server implements (no watch, no deletecollection).
                let mut resource = json!({"name": rt.plural, "singularName": rt.kind.to_lowercase(),
                    "namespaced": rt.namespaced, "kind": rt.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update"]});
                if !rt.short_names.is_empty() {
                    resource["shortNames"] = json!(rt.short_names);
                }
                resource
            })
            .collect();
        if resources.is_empty() {
            return not_found_path();
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        HttpResponse::json(
            200,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }

    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
    fn openapi_document(&self, group: &str, version: &str) -> HttpResponse {
        let types = &self.options.resource_types;
        if !types
            .iter()
            .any(|rt| rt.group == group && rt.version == version)
        {
            return not_found_path();
        }
        HttpResponse::json(200, &openapi::group_version_document(types, group, version))
    }

    fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.options
            .resource_types
            .iter()
            .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
            .cloned()
    }

    fn target(&self, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
        let (namespace, rest) = match rest {
            ["namespaces", ns, tail @ ..] if !tail.is_empty() => (ns.to_string(), tail),
            _ => (String::new(), rest),
        };
        let rt = self.find_type(group, version, rest.first()?)?;
        if rt.namespaced == namespace.is_empty() {
            // A cluster-scoped kind under a namespace, or a namespaced kind
            // without one (only lists may span namespaces).
            if !(rt.namespaced && rest.len() == 1) {
                return None;
            }
        }
        match rest {
            [_] => Some(Target::Collection { rt, namespace }),
            [_, name] => Some(Target::Object {
                rt,
                namespace,
                name: name.to_string(),
            }),
            _ => None,
        }
    }

    fn route(
        &mut self,
        request: &HttpRequest,
        group: &str,
        version: &str,
        rest: &[&str],
    ) -> HttpResponse {
        let Some(target) = self.target(group, version, rest) else {
            return not_found_path();
        };
        let dry_run = request.query_param("dryRun") == Some("All");
        let validation = match FieldValidation::parse(request.query_param("fieldValidation")) {
            Ok(validation) => validation,
            Err(refusal) => return refusal,
        };
        match (request.method.as_str(), target) {
            ("GET", Target::Collection { rt, namespace }) => {
                match LabelSelector::parse(request.query_param("labelSelector").unwrap_or_default())
                {
                    Ok(selector) => self.list(&rt, &namespace, &selector),
                    Err(message) => status(400, "BadRequest", message),
                }
            }
            (
                "GET",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => {
                if rt.kind == "ClusterSync" {
                    self.refresh_cluster_sync(&namespace, &name);
                }
                match self.objects.get(&key(&rt, &namespace, &name)) {
                    Some(stored) => HttpResponse::json(200, &stored.object),
                    None => not_found(&rt, &name),
                }
            }
            (
                "DELETE",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => self.delete(&rt, &namespace, &name, dry_run),
            ("POST", Target::Collection { rt, namespace })
                if !rt.namespaced || !namespace.is_empty() =>
            {
                match parse_body(&request.body) {
                    Ok(body) => self.create(
                        &rt,
                        &namespace,
                        body,
                        &field_manager(request),
                        validation,
                        dry_run,
                    ),
                    Err(message) => status(400, "BadRequest", message),
                }
            }
            (
                "PUT",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => match parse_body(&request.body) {
                Ok(body) => self.replace(
                    &rt,
                    &namespace,
                    &name,
                    body,
                    &field_manager(request),
                    validation,
                    dry_run,
                ),
                Err(message) => status(400, "BadRequest", message),
            },
            (
                "PATCH",
                Target::Object {
                    rt,
                    namespace,
                    name,
                },
            ) => {
                let content_type = request.header("content-type").unwrap_or_default();
                let content_type = content_type.split(';').next().unwrap_or_default().trim();
                let body = match parse_body(&request.body) {
                    Ok(body) => body,
                    Err(message) => return status(400, "BadRequest", message),
                };
                match content_type {
                    "application/apply-patch+yaml" => {
                        let Some(manager) = request.query_param("fieldManager").filter(|m| !m.is_empty()) else {
                            return status(
                                422,
                                "Invalid",
                                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                            );
                        };
                        let force = request.query_param("force") == Some("true");
                        self.apply(&rt, &namespace, &name, body, manager, force, dry_run)
                    }
                    "application/merge-patch+json" => {
                        self.merge_patch(&rt, &namespace, &name, &body, &field_manager(request), validation, dry_run)
                    }
                    // Strategic merge patch exists for built-in kinds only.
                    "application/strategic-merge-patch+json" if rt.group.is_empty() => {
                        self.merge_patch(&rt, &namespace, &name, &body, &field_manager(request), validation, dry_run)
                    }
                    other => status(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/apply-patch+yaml{} (got {other:?})",
                            if rt.group.is_empty() { ", application/strategic-merge-patch+json" } else { "" }),
                    ),
                }
            }
            (method, _) => status(
                405,
                "MethodNotAllowed",
                format!(
                    "the server does not allow this method on the requested resource ({method})"
                ),
            ),
        }
    }

    /// The objects of a kind (in `namespace`, or all when empty) whose
    /// labels `selector` selects.
    fn list(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        selector: &LabelSelector,
    ) -> HttpResponse {
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((g, p, ns, _), stored)| {
                *g == rt.group
                    && *p == rt.plural
                    && (namespace.is_empty() || ns == namespace)
                    && selector.matches(stored.object["metadata"]["labels"].as_object())
            })
            .map(|(_, s)| s.object.clone())
            .collect();
        HttpResponse::json(
            200,
            &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": self.resource_version.to_string()}, "items": items}),
        )
    }
}

fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
    (
        rt.group.clone(),
        rt.plural.clone(),
        namespace.to_string(),
        name.to_string(),
    )
}

/// The `fieldManager` parameter, or (as the API server defaults it) the
/// client's User-Agent up to its first `/`.
fn field_manager(request: &HttpRequest) -> String {
    match request
        .query_param("fieldManager")
        .filter(|m| !m.is_empty())
    {
        Some(manager) => manager.to_string(),
        None => request
            .header("user-agent")
            .and_then(|agent| agent.split('/').next())
            .filter(|prefix| !prefix.is_empty())
            .unwrap_or("unknown")
            .chars()
            .take(128)
            .collect(),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => {
            let text =
                std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
            serde_yaml::from_str(text).map_err(|err| format!("error decoding YAML: {err}"))?
        }
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the body must be an object".into())
    }
}

/// `2024-07-02T10:11:12Z`.
pub fn rfc3339(time: SystemTime) -> String {
    common::time::rfc3339(
        time.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        content_type: &str,
        body: &Value,
    ) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: vec![
                ("authorization".into(), "Bearer test-token".into()),
                ("content-type".into(), content_type.into()),
            ],
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    fn body(response: &HttpResponse) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    const SSS: &str = "/apis/hive.openshift.io/v1/selectorsyncsets/addon-x";

    fn sss(mode: &str) -> Value {
        json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet", "metadata": {"name": "addon-x"},
            "spec": {"resourceApplyMode": mode, "clusterDeploymentSelector": {"matchLabels": {"a": "true"}}}})
    }

    fn apply(api: &KubeApi, manager: &str, force: bool, object: &Value) -> HttpResponse {
        let mut query = vec![("fieldManager", manager)];
        if force {
            query.push(("force", "true"));
        }
        api.handle(&request(
            "PATCH",
            SSS,
            &query,
            "application/apply-patch+yaml",
            object,
        ))
    }

    #[test]
    fn apply_creates_then_is_a_no_op_then_updates() {
        let api = KubeApi::new(KubeOptions::default());
        let created = apply(&api, "addon-flow", false, &sss("Sync"));
        assert_eq!(created.status, 201);
        let first = body(&created);
        assert_eq!(first["metadata"]["generation"], 1);
        let again = body(&apply(&api, "addon-flow", false, &sss("Sync")));
        assert_eq!(
            again["metadata"]["resourceVersion"],
            first["metadata"]["resourceVersion"]
        );
        let updated = body(&apply(&api, "addon-flow", false, &sss("Upsert")));
        assert_ne!(
            updated["metadata"]["resourceVersion"],
            first["metadata"]["resourceVersion"]
        );
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(
            updated["metadata"]["managedFields"][0]["manager"],
            "addon-flow"
        );
        assert_eq!(
            updated["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:resourceApplyMode"],
            json!({})
        );
    }

    #[test]
    fn another_manager_conflicts_unless_forced() {
        let api = KubeApi::new(KubeOptions::default());
        assert_eq!(
            apply(&api, "someone-else", false, &sss("Upsert")).status,
            201
        );
        // The same value is shared ownership, not a conflict.
        assert_eq!(apply(&api, "addon-flow", false, &sss("Upsert")).status, 200);
        let conflict = apply(&api, "addon-flow", false, &sss("Sync"));
        assert_eq!(conflict.status, 409);
        let status = body(&conflict);
        assert_eq!(
            (
                status["kind"].as_str(),
                status["reason"].as_str(),
                status["code"].as_u64()
            ),
            (Some("Status"), Some("Conflict"), Some(409))
        );
        // errors.NewApplyConflict: no object details, one cause per field.
        assert_eq!(
            status,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Apply failed with 1 conflict: conflict with \"someone-else\": .spec.resourceApplyMode",
                "reason": "Conflict",
                "details": {"causes": [{"reason": "FieldManagerConflict",
                    "message": "conflict with \"someone-else\"", "field": ".spec.resourceApplyMode"}]},
                "code": 409})
        );
        assert_eq!(apply(&api, "addon-flow", true, &sss("Sync")).status, 200);
        assert_eq!(
            api.get("SelectorSyncSet", "", "addon-x").unwrap()["spec"]["resourceApplyMode"],
            "Sync"
        );
    }

    /// Sets a manager's `managedFields` time in storage, to see whether a
    /// later write touches it.
    fn age_manager(api: &KubeApi, name: &str, manager: &str, operation: &str, time: &str) {
        let mut state = api.lock();
        let stored = state
            .objects
            .values_mut()
            .find(|s| s.object["metadata"]["name"] == name)
            .unwrap();
        stored
            .managers
            .get_mut(&(manager.to_string(), operation.to_string()))
            .unwrap()
            .time = time.to_string();
        let api_version = stored.object["apiVersion"].as_str().unwrap().to_string();
        stored.object["metadata"]["managedFields"] =
            fields::managed_fields(&stored.managers, &api_version);
    }

    fn manager_times(object: &Value) -> Vec<(String, String)> {
        object["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["manager"].as_str().unwrap().into(),
                    e["time"].as_str().unwrap().into(),
                )
            })
            .collect()
    }

    #[test]
    fn an_apply_sets_only_the_appliers_time_and_a_no_op_sets_none() {
        let api = KubeApi::new(KubeOptions::default());
        apply(&api, "hive", false, &sss("Sync"));
        let mut mine = sss("Sync");
        mine["metadata"]["labels"] = json!({"team": "addons"});
        apply(&api, "addon-flow", false, &mine);
        age_manager(&api, "addon-x", "hive", "Apply", "2020-01-01T00:00:00Z");
        age_manager(
            &api,
            "addon-x",
            "addon-flow",
            "Apply",
            "2020-01-01T00:00:00Z",
        );
        // Nothing changes: nothing is written, not even a time.
        let again = body(&apply(&api, "addon-flow", false, &mine));
        let stored = api.get("SelectorSyncSet", "", "addon-x").unwrap();
        assert_eq!(
            again["metadata"]["resourceVersion"],
            stored["metadata"]["resourceVersion"]
        );
        assert_eq!(
            manager_times(&stored),
            [
                ("addon-flow".into(), "2020-01-01T00:00:00Z".into()),
                ("hive".into(), "2020-01-01T00:00:00Z".into())
            ]
        );
        // A change is the applier's: its time moves, hive's does not.
        mine["metadata"]["labels"]["team"] = json!("fleet");
        let changed = body(&apply(&api, "addon-flow", false, &mine));
        let times = manager_times(&changed);
        assert_eq!(times[1], ("hive".into(), "2020-01-01T00:00:00Z".into()));
        assert_ne!(times[0].1, "2020-01-01T00:00:00Z");
        assert_eq!(changed, api.get("SelectorSyncSet", "", "addon-x").unwrap());
    }

    #[test]
    fn a_dry_run_stores_nothing_and_moves_no_resource_version() {
        let api = KubeApi::new(KubeOptions::default());
        let dry_apply = |object: &Value| {
            api.handle(&request(
                "PATCH",
                SSS,
                &[("fieldManager", "addon-flow"), ("dryRun", "All")],
                "application/apply-patch+yaml",
                object,
            ))
        };
        let server_version = |api: &KubeApi| api.lock().resource_version;
        let before = server_version(&api);
        // A dry-run create: the object as it would be, without a resourceVersion.
        let created = dry_apply(&sss("Sync"));
        assert_eq!(created.status, 201);
        assert_eq!(body(&created)["metadata"]["resourceVersion"], Value::Null);
        assert_eq!(body(&created)["spec"]["resourceApplyMode"], "Sync");
        assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());
        assert_eq!(server_version(&api), before);

        // A dry-run change: the live resourceVersion, nothing stored.
        let live = body(&apply(&api, "addon-flow", false, &sss("Sync")));
        let after_create = server_version(&api);
        let changed = dry_apply(&sss("Upsert"));
        assert_eq!(changed.status, 200);
        assert_eq!(body(&changed)["spec"]["resourceApplyMode"], "Upsert");
        assert_eq!(
            body(&changed)["metadata"]["resourceVersion"],
            live["metadata"]["resourceVersion"]
        );
        assert_eq!(api.get("SelectorSyncSet", "", "addon-x").unwrap(), live);
        assert_eq!(server_version(&api), after_create);
        // And a dry-run delete deletes nothing.
        let deleted = api.handle(&request(
            "DELETE",
            SSS,
            &[("dryRun", "All")],
            "",
            &json!({}),
        ));
        assert_eq!(deleted.status, 200);
        assert_eq!(api.get("SelectorSyncSet", "", "addon-x").unwrap(), live);
    }

    #[test]
    fn an_invalid_name_is_a_422_in_the_api_servers_words() {
        let api = KubeApi::new(KubeOptions::default());
        let mut bad = sss("Sync");
        bad["metadata"]["name"] = json!("Addon_Bad");
        let refused = api.handle(&request(
            "PATCH",
            "/apis/hive.openshift.io/v1/selectorsyncsets/Addon_Bad",
            &[("fieldManager", "addon-flow")],
            "application/apply-patch+yaml",
            &bad,
        ));
        assert_eq!(refused.status, 422);
        let rule = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        assert_eq!(
            body(&refused),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("SelectorSyncSet.hive.openshift.io \"Addon_Bad\" is invalid: metadata.name: Invalid value: \"Addon_Bad\": {rule}"),
                "reason": "Invalid",
                "details": {"name": "Addon_Bad", "group": "hive.openshift.io", "kind": "SelectorSyncSet",
                    "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: \"Addon_Bad\": {rule}"), "field": "metadata.name"}]},
                "code": 422})
        );
        assert!(api.objects().is_empty());
        // A Namespace's name is a label: no dots.
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
        let refused = api.handle(&request(
            "PATCH",
            "/api/v1/namespaces/a.b",
            &[("fieldManager", "addon-flow")],
            "application/apply-patch+yaml",
            &namespace,
        ));
        assert_eq!(
            (refused.status, body(&refused)["message"].clone()),
            (422, json!("Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": must not contain dots"))
        );
    }

    #[test]
    fn create_generates_names_and_refuses_duplicates_and_update_checks_the_version() {
        let api = KubeApi::new(KubeOptions::default());
        let post = |object: &Value| {
            api.handle(&request(
                "POST",
                "/api/v1/namespaces/default/configmaps",
                &[],
                "application/json",
                object,
            ))
        };
        let generated = post(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"generateName": "probe-"}, "data": {"k": "v"}}));
        assert_eq!(generated.status, 201);
        let name = body(&generated)["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            name.starts_with("probe-") && name.len() == "probe-".len() + 5,
            "{name}"
        );
        assert_eq!(body(&generated)["metadata"]["namespace"], "default");
        let unnamed = post(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}));
        assert_eq!(
            body(&unnamed)["details"]["causes"][0],
            json!({"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"})
        );
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
        assert_eq!(post(&config_map).status, 201);
        let duplicate = post(&config_map);
        assert_eq!(
            (
                duplicate.status,
                body(&duplicate)["reason"].clone(),
                body(&duplicate)["message"].clone()
            ),
            (
                409,
                json!("AlreadyExists"),
                json!("configmaps \"c\" already exists")
            )
        );
        let mut stale = config_map.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        let put = api.handle(&request(
            "PUT",
            "/api/v1/namespaces/default/configmaps/c",
            &[],
            "application/json",
            &stale,
        ));
        assert_eq!(put.status, 409);
        assert_eq!(
            body(&put)["message"],
            "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn an_update_takes_the_fields_it_changes_from_their_owner() {
        let api = KubeApi::new(KubeOptions {
            namespaces: vec!["ns".into()],
            ..KubeOptions::default()
        });
        let cd = json!({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
            "metadata": {"name": "cd", "namespace": "ns", "labels": {"x": "1"}}, "spec": {"clusterName": "cd"}});
        api.apply_as("hive", &cd, false).unwrap();
        let patched = api.handle(&request(
            "PATCH",
            "/apis/hive.openshift.io/v1/namespaces/ns/clusterdeployments/cd",
            &[("fieldManager", "someone")],
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"x": "2"}}}),
        ));
        let managed = &body(&patched)["metadata"]["managedFields"];
        let entry = |manager: &str| {
            managed
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["manager"] == manager)
                .cloned()
                .unwrap()
        };
        assert_eq!(entry("someone")["operation"], "Update");
        assert_eq!(
            entry("someone")["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:x": {}}}})
        );
        assert_eq!(
            entry("hive")["fieldsV1"],
            json!({"f:spec": {"f:clusterName": {}}})
        );
        // The previous owner applying its old value again is now a conflict.
        assert_eq!(api.apply_as("hive", &cd, false), Err(409));
    }

    #[test]
    fn undeclared_fields_fail_an_apply_and_follow_field_validation_elsewhere() {
        let api = KubeApi::new(KubeOptions::default());
        let mut typo = sss("Sync");
        typo["spec"]["resourceApplyMod"] = json!("Upsert");
        let refused = apply(&api, "addon-flow", false, &typo);
        assert_eq!(refused.status, 500);
        assert_eq!(
            body(&refused),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "failed to create typed patch object (/addon-x; hive.openshift.io/v1, Kind=SelectorSyncSet): .spec.resourceApplyMod: field not declared in schema",
                "code": 500})
        );
        assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());

        apply(&api, "addon-flow", false, &sss("Sync"));
        let patch = |validation: Option<&str>| {
            let mut query = vec![("fieldManager", "someone")];
            if let Some(validation) = validation {
                query.push(("fieldValidation", validation));
            }
            api.handle(&request(
                "PATCH",
                SSS,
                &query,
                "application/merge-patch+json",
                &json!({"spec": {"resourceApplyMod": "Upsert"}}),
            ))
        };
        let strict = patch(Some("Strict"));
        assert_eq!(
            (strict.status, body(&strict)["message"].clone()),
            (400, json!("SelectorSyncSet in version \"v1\" cannot be handled as a SelectorSyncSet: strict decoding error: unknown field \"spec.resourceApplyMod\""))
        );
        // Warn, the default: dropped, with a warning.
        let warned = patch(None);
        assert_eq!(warned.status, 200);
        assert!(warned.headers.contains(&(
            "Warning".into(),
            "299 - \"unknown field \\\"spec.resourceApplyMod\\\"\"".into()
        )));
        assert_eq!(
            body(&warned)["spec"],
            json!({"resourceApplyMode": "Sync", "clusterDeploymentSelector": {"matchLabels": {"a": "true"}}})
        );
        let ignored = patch(Some("Ignore"));
        assert_eq!(ignored.status, 200);
        assert!(!ignored.headers.iter().any(|(name, _)| name == "Warning"));
    }

    #[test]
    fn openapi_v3_describes_the_served_kinds() {
        let api = KubeApi::new(KubeOptions::default());
        let root = body(&api.handle(&request("GET", "/openapi/v3", &[], "", &json!({}))));
        let url = root["paths"]["apis/hive.openshift.io/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .to_string();
        let (path, hash) = url.split_once('?').unwrap();
        let document = body(&api.handle(&request(
            "GET",
            path,
            &[("hash", hash.trim_start_matches("hash="))],
            "",
            &json!({}),
        )));
        assert_eq!(document["openapi"], "3.0.0");
        assert!(
            document["components"]["schemas"]["io.openshift.hive.v1.SelectorSyncSet"]["properties"]
                ["spec"]["properties"]["resourceApplyMode"]
                .is_object()
        );
        let core = api.handle(&request("GET", "/openapi/v3/api/v1", &[], "", &json!({})));
        assert!(body(&core)["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"].is_object());
        let unknown = api.handle(&request(
            "GET",
            "/openapi/v3/apis/nope.io/v1",
            &[],
            "",
            &json!({}),
        ));
        assert_eq!(unknown.status, 404);
    }

    #[test]
    fn auth_discovery_not_found_and_delete() {
        let api = KubeApi::new(KubeOptions::default());
        let mut anonymous = request("GET", "/apis", &[], "", &json!({}));
        anonymous.headers.clear();
        let denied = api.handle(&anonymous);
        assert_eq!(
            (denied.status, body(&denied)["reason"].clone()),
            (401, json!("Unauthorized"))
        );
        let groups = body(&api.handle(&request("GET", "/apis", &[], "", &json!({}))));
        assert!(groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "hive.openshift.io"));
        let resources = body(&api.handle(&request(
            "GET",
            "/apis/hive.openshift.io/v1",
            &[],
            "",
            &json!({}),
        )));
        assert!(resources["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "SyncSet" && r["namespaced"] == true));
        // Short names as Hive's CRDs declare them, for `kubectl get sss`.
        let short_names = |kind: &str| {
            resources["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == kind)
                .unwrap()["shortNames"]
                .clone()
        };
        assert_eq!(short_names("SelectorSyncSet"), json!(["sss"]));
        assert_eq!(short_names("ClusterDeployment"), json!(["cd"]));
        let core = body(&api.handle(&request("GET", "/api/v1", &[], "", &json!({}))));
        assert!(core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "namespaces" && r["shortNames"] == json!(["ns"])));
        let missing = api.handle(&request(
            "GET",
            "/apis/nope.io/v1/things/x",
            &[],
            "",
            &json!({}),
        ));
        assert_eq!(missing.status, 404);
        let absent = api.handle(&request("GET", SSS, &[], "", &json!({})));
        assert_eq!(
            body(&absent)["message"],
            "selectorsyncsets.hive.openshift.io \"addon-x\" not found"
        );
        apply(&api, "addon-flow", false, &sss("Sync"));
        let deleted = api.handle(&request("DELETE", SSS, &[], "", &json!({})));
        assert_eq!(
            (deleted.status, body(&deleted)["status"].clone()),
            (200, json!("Success"))
        );
        assert!(api.get("SelectorSyncSet", "", "addon-x").is_none());
    }

    #[test]
    fn cluster_sync_reports_a_sync_set_after_the_delay() {
        let api = KubeApi::new(KubeOptions {
            sync_delay: Duration::ZERO,
            namespaces: vec!["cd-ns".into()],
            ..KubeOptions::default()
        });
        let sync_set = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SyncSet",
            "metadata": {"name": "addon-x", "namespace": "cd-ns"},
            "spec": {"clusterDeploymentRefs": [{"name": "cd"}], "resources": []}});
        let response = api.handle(&request(
            "PATCH",
            "/apis/hive.openshift.io/v1/namespaces/cd-ns/syncsets/addon-x",
            &[("fieldManager", "addon-flow"), ("dryRun", "All")],
            "application/apply-patch+yaml",
            &sync_set,
        ));
        assert_eq!(response.status, 201);
        assert!(
            api.get("SyncSet", "cd-ns", "addon-x").is_none(),
            "dry run stored nothing"
        );
        api.apply_as("addon-flow", &sync_set, false).unwrap();
        let cluster_sync = body(&api.handle(&request(
            "GET",
            "/apis/hiveinternal.openshift.io/v1alpha1/namespaces/cd-ns/clustersyncs/cd",
            &[],
            "",
            &json!({}),
        )));
        assert_eq!(cluster_sync["status"]["syncSets"][0]["name"], "addon-x");
        assert_eq!(
            cluster_sync["status"]["syncSets"][0]["observedGeneration"],
            1
        );
        assert_eq!(cluster_sync["status"]["syncSets"][0]["result"], "Success");
    }

    #[test]
    fn merge_patch_sets_a_label() {
        let api = KubeApi::new(KubeOptions {
            namespaces: vec!["ns".into()],
            ..KubeOptions::default()
        });
        let cd = json!({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
            "metadata": {"name": "cd", "namespace": "ns", "labels": {"x": "1"}}, "spec": {}});
        api.apply_as("hive", &cd, false).unwrap();
        let patched = api.handle(&request(
            "PATCH",
            "/apis/hive.openshift.io/v1/namespaces/ns/clusterdeployments/cd",
            &[("fieldManager", "addon-flow")],
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"api.openshift.com/addon-x": "true"}}}),
        ));
        assert_eq!(patched.status, 200);
        assert_eq!(
            body(&patched)["metadata"]["labels"],
            json!({"x": "1", "api.openshift.com/addon-x": "true"})
        );
    }

    #[test]
    fn namespaced_objects_need_their_namespace() {
        let api = KubeApi::new(KubeOptions::default());
        let namespaces =
            body(&api.handle(&request("GET", "/api/v1/namespaces", &[], "", &json!({}))));
        let names: Vec<&str> = namespaces["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ns| ns["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "deadmanssnitch-operator",
                "default",
                "hive",
                "kube-public",
                "kube-system",
                "openshift-config",
                "pagerduty-operator"
            ]
        );
        assert_eq!(namespaces["items"][1]["status"]["phase"], "Active");
        assert_eq!(
            namespaces["items"][1]["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "default"
        );

        // NamespaceLifecycle admission: 404 for the namespace, not the object.
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "cd-east"}, "data": {"k": "v"}});
        let path = "/api/v1/namespaces/cd-east/configmaps/c";
        let apply_config_map = |dry_run: bool| {
            let mut query = vec![("fieldManager", "addon-flow")];
            if dry_run {
                query.push(("dryRun", "All"));
            }
            api.handle(&request(
                "PATCH",
                path,
                &query,
                "application/apply-patch+yaml",
                &config_map,
            ))
        };
        for dry_run in [true, false] {
            let refused = apply_config_map(dry_run);
            assert_eq!(refused.status, 404);
            assert_eq!(
                body(&refused),
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "namespaces \"cd-east\" not found", "reason": "NotFound",
                    "details": {"name": "cd-east", "kind": "namespaces"}, "code": 404})
            );
        }
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cd-east"}});
        api.apply_as("addon-flow", &namespace, false).unwrap();
        assert_eq!(apply_config_map(false).status, 201);

        // Deleting the namespace deletes what lives in it.
        let deleted = api.handle(&request(
            "DELETE",
            "/api/v1/namespaces/cd-east",
            &[],
            "",
            &json!({}),
        ));
        assert_eq!(deleted.status, 200);
        assert!(api.get("ConfigMap", "cd-east", "c").is_none());
        assert!(api.get("Namespace", "", "cd-east").is_none());

        let immortal = api.handle(&request(
            "DELETE",
            "/api/v1/namespaces/default",
            &[],
            "",
            &json!({}),
        ));
        assert_eq!(immortal.status, 403);
        assert_eq!(
            body(&immortal)["message"],
            "namespaces \"default\" is forbidden: this namespace may not be deleted"
        );
        assert!(api.get("Namespace", "", "default").is_some());
    }

    #[test]
    fn lists_select_by_label() {
        let api = KubeApi::new(KubeOptions::default());
        for (name, labels) in [
            (
                "member-a",
                json!({"applyset.kubernetes.io/part-of": "applyset-1", "tier": "a"}),
            ),
            (
                "member-b",
                json!({"applyset.kubernetes.io/part-of": "applyset-1", "tier": "b"}),
            ),
            (
                "other",
                json!({"applyset.kubernetes.io/part-of": "applyset-2"}),
            ),
            ("unlabelled", json!({})),
        ] {
            let object = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
                "metadata": {"name": name, "labels": labels}, "spec": {}});
            api.apply_as("addon-flow", &object, false).unwrap();
        }
        let names = |selector: &str| -> Vec<String> {
            let response = api.handle(&request(
                "GET",
                "/apis/hive.openshift.io/v1/selectorsyncsets",
                &[("labelSelector", selector)],
                "",
                &json!({}),
            ));
            assert_eq!(response.status, 200, "{selector}");
            body(&response)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            names("applyset.kubernetes.io/part-of=applyset-1"),
            ["member-a", "member-b"]
        );
        assert_eq!(
            names("applyset.kubernetes.io/part-of=applyset-1,tier!=a"),
            ["member-b"]
        );
        assert_eq!(names("!applyset.kubernetes.io/part-of"), ["unlabelled"]);
        assert_eq!(
            names("applyset.kubernetes.io/part-of notin (applyset-1)"),
            ["other", "unlabelled"]
        );
        assert_eq!(names("").len(), 4);
        let malformed = api.handle(&request(
            "GET",
            "/apis/hive.openshift.io/v1/selectorsyncsets",
            &[("labelSelector", "tier in a")],
            "",
            &json!({}),
        ));
        assert_eq!(
            (malformed.status, body(&malformed)["reason"].clone()),
            (400, json!("BadRequest"))
        );
        assert_eq!(
            body(&malformed)["message"],
            "unable to parse requirement: found 'a' expected: '('"
        );
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_719_915_072)),
            "2024-07-02T10:11:12Z"
        );
    }
}
