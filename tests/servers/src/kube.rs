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
mod routes;
mod selector;
mod status;
mod validation;
mod writes;

use fields::Managers;
use status::{not_found_path, status};

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
        KubeServer::start_with_api(addr, Arc::new(KubeApi::new(options)), faults)
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
                    common::text::base64::encode(pem)
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
        let body = routes::parse_write_body(request);
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
            ["api", "v1", rest @ ..] => state.route(request, body, "", "v1", rest),
            ["apis", group, version, rest @ ..] => state.route(request, body, group, version, rest),
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

fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
    (
        rt.group.clone(),
        rt.plural.clone(),
        namespace.to_string(),
        name.to_string(),
    )
}

/// `2024-07-02T10:11:12Z`.
pub fn rfc3339(time: SystemTime) -> String {
    common::text::time::rfc3339(
        time.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests;
