//! OCM on loopback: the add-on endpoints of clusters_mgmt (and their
//! addons_mgmt twins), cluster add-on installations, OCM's error body, bearer
//! auth, and an OAuth2 token endpoint like Red Hat SSO's.
//!
//! What it checks is what OCM checks and what a client can get wrong: a
//! missing or unknown bearer token is 401, a duplicate id is 409, a PATCH
//! naming `id` or an unknown add-on is an error, bodies must be JSON objects.
//! It reads every body as OCM's generated server does, through the service's
//! model (`common::remote::ocm::model`): a field the model does not define is
//! dropped, a wrong type is a 400 with OCM's error body. It answers objects
//! as the SDK writes them: `kind`, `href`, `id`, and what it kept.
//! Tests can queue failures (`fail_next`) and read back every request.
//!
//! Started with [`ControllerOptions`] that name clusters, it also acts as
//! OCM does on an install (see `ocm_controller`): installations start
//! `pending`, the SyncSet goes into Hive, telemetry moves the state, and an
//! uninstall is `deleting` until the SyncSet is gone. `addon_inquiries`
//! answer the add-on with each requirement's status on the cluster.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use common::remote::ocm::model::{self, Object};
use common::remote::ocm::Service;
use serde_json::{json, Map, Value};

use crate::http::{HttpRequest, HttpResponse, Server};
use crate::kube::rfc3339;
use crate::ocm_controller::{
    operator_of, spawn_loop, Controller, ControllerOptions, Decision, Seen,
};

/// The refresh (offline) token the token endpoint accepts.
pub const REFRESH_TOKEN: &str = "fake-ocm-refresh-token";
/// The service account the token endpoint accepts.
pub const CLIENT_ID: &str = "fake-ocm-client";
pub const CLIENT_SECRET: &str = "fake-ocm-client-secret";
/// An access token accepted without an exchange (as `OCM_TOKEN`).
pub const ACCESS_TOKEN: &str = "fake-ocm-static-access-token";

const SERVICES: [(&str, &str); 2] = [
    ("/api/clusters_mgmt/v1", "CLUSTERS-MGMT"),
    ("/api/addons_mgmt/v1", "ADDONS-MGMT"),
];

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

/// A failure to answer instead of the real thing, once.
#[derive(Debug, Clone)]
struct Injected {
    method: String,
    status: u16,
    reason: String,
}

#[derive(Default)]
struct State {
    /// Per service prefix: add-on id → add-on.
    addons: BTreeMap<String, BTreeMap<String, Value>>,
    /// Per service prefix: (add-on id, version id) → version.
    versions: BTreeMap<String, BTreeMap<(String, String), Value>>,
    /// (cluster id, add-on id) → installation.
    installations: BTreeMap<(String, String), Value>,
    issued_tokens: Vec<String>,
    token_requests: Vec<Vec<(String, String)>>,
    requests: Vec<Recorded>,
    failures: VecDeque<Injected>,
    token_lifetime_seconds: u64,
    /// Cluster id → why it may not install add-ons (unfulfilled requirements).
    refusals: BTreeMap<String, String>,
    /// State changes that wait for an installation to be read.
    after_reads: Vec<AfterReads>,
}

/// An installation's next state, set once it has been read `reads` more
/// times: a test moves the state on an event the stand-in sees (a client
/// read the old state), never after a sleep.
#[derive(Debug, Clone)]
struct AfterReads {
    key: (String, String),
    reads: usize,
    state: String,
    description: String,
}

/// The shared state behind a running fake OCM.
#[derive(Clone, Default)]
pub struct Ocm {
    state: Arc<Mutex<State>>,
    /// Acting as OCM on installs, when started with clusters.
    controller: Option<Arc<Controller>>,
}

/// A running fake OCM; stops when dropped.
pub struct FakeOcm {
    server: Server,
    pub ocm: Ocm,
    _controller: StopOnDrop,
}

/// Stops the controller's loop when the fake OCM goes.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl FakeOcm {
    /// Starts on a free loopback port.
    pub fn start() -> std::io::Result<FakeOcm> {
        FakeOcm::start_on("127.0.0.1:0")
    }

    pub fn start_on(addr: &str) -> std::io::Result<FakeOcm> {
        FakeOcm::start_acting(addr, ControllerOptions::default())
    }

    /// Starts a fake OCM that acts on installs for the clusters `options`
    /// names (see `ocm_controller`).
    pub fn start_acting(addr: &str, options: ControllerOptions) -> std::io::Result<FakeOcm> {
        let faults = options.faults.clone();
        let controller = Controller::new(options)
            .map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))?;
        let acts = controller.acts();
        let interval = controller.interval();
        let ocm = Ocm {
            controller: acts.then(|| Arc::new(controller)),
            ..Ocm::default()
        };
        ocm.lock().token_lifetime_seconds = 900;
        let handler = ocm.clone();
        let server = Server::start_faulty_on(
            addr,
            Arc::new(move |request: &HttpRequest| handler.handle(request)),
            faults,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        if acts {
            let worker = ocm.clone();
            spawn_loop(interval, stop.clone(), move || worker.reconcile_all());
        }
        Ok(FakeOcm {
            server,
            ocm,
            _controller: StopOnDrop(stop),
        })
    }

    /// The API URL (`--url`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The OAuth2 token endpoint (`--token-url`).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.url())
    }

    /// Blocks serving (for the stand-alone binary).
    pub fn wait(self) {
        self.server.wait()
    }
}

impl std::ops::Deref for FakeOcm {
    type Target = Ocm;
    fn deref(&self) -> &Ocm {
        &self.ocm
    }
}

impl State {
    /// One more read of an installation: the state changes waiting for it
    /// come one read closer, and those due are made.
    fn count_a_read(&mut self, key: &(String, String)) {
        let mut due = Vec::new();
        self.after_reads.retain_mut(|change| {
            if change.key != *key {
                return true;
            }
            change.reads = change.reads.saturating_sub(1);
            if change.reads == 0 {
                due.push(change.clone());
            }
            change.reads > 0
        });
        for change in due {
            if let Some(installation) = self.installations.get_mut(key) {
                installation["state"] = json!(change.state);
                installation["state_description"] = json!(change.description);
                installation["updated_timestamp"] = json!(rfc3339(std::time::SystemTime::now()));
            }
        }
    }
}

impl Ocm {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next request with `method` gets `status` with OCM's error body
    /// (a 429 also gets `Retry-After: 0`). Queued failures are used in order.
    pub fn fail_next(&self, method: &str, status: u16, reason: &str) {
        self.lock().failures.push_back(Injected {
            method: method.to_string(),
            status,
            reason: reason.to_string(),
        });
    }

    /// Every API request so far (token requests excluded).
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The form of every token request so far.
    pub fn token_requests(&self) -> Vec<Vec<(String, String)>> {
        self.lock().token_requests.clone()
    }

    /// The access tokens the token endpoint handed out.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued_tokens.clone()
    }

    /// How long issued tokens live (`expires_in`).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.lock().token_lifetime_seconds = seconds;
    }

    /// The add-on stored under clusters_mgmt.
    pub fn addon(&self, id: &str) -> Option<Value> {
        self.lock()
            .addons
            .get(SERVICES[0].0)
            .and_then(|addons| addons.get(id))
            .cloned()
    }

    /// A stored version under clusters_mgmt.
    pub fn version(&self, addon: &str, version: &str) -> Option<Value> {
        self.lock()
            .versions
            .get(SERVICES[0].0)
            .and_then(|versions| versions.get(&(addon.to_string(), version.to_string())))
            .cloned()
    }

    /// Sets the state of an add-on installation on a cluster (creating it),
    /// as OCM would report while the add-on installs.
    pub fn set_installation_state(&self, cluster: &str, addon: &str, state: &str) {
        self.set_installation(cluster, addon, state, "");
    }

    /// Sets the state and `state_description` of an installation (creating it).
    pub fn set_installation(&self, cluster: &str, addon: &str, state: &str, description: &str) {
        let mut guard = self.lock();
        let entry = guard
            .installations
            .entry((cluster.to_string(), addon.to_string()))
            .or_insert_with(|| installation(cluster, addon, &Value::Null));
        entry["state"] = json!(state);
        entry["state_description"] = json!(description);
    }

    /// Sets the state and `state_description` of an existing installation
    /// once it has been read (GET) `reads` more times: the answer to the
    /// last of those reads still has the old state, the next read the new.
    pub fn set_installation_after_reads(
        &self,
        cluster: &str,
        addon: &str,
        reads: usize,
        state: &str,
        description: &str,
    ) {
        self.lock().after_reads.push(AfterReads {
            key: (cluster.to_string(), addon.to_string()),
            reads,
            state: state.to_string(),
            description: description.to_string(),
        });
    }

    /// Makes `cluster` fail every add-on requirement (inquiries say no, with `reason`).
    pub fn refuse_installs_on(&self, cluster: &str, reason: &str) {
        self.lock()
            .refusals
            .insert(cluster.to_string(), reason.to_string());
    }

    /// The installation of `addon` on `cluster`, as OCM would answer it.
    pub fn installation(&self, cluster: &str, addon: &str) -> Option<Value> {
        self.lock()
            .installations
            .get(&(cluster.to_string(), addon.to_string()))
            .cloned()
    }

    /// One pass of the controller over every installation: what it needs is
    /// read under the lock, the remote calls are made without it, and each
    /// decision is applied only if the installation did not change meanwhile.
    fn reconcile_all(&self) {
        let Some(controller) = &self.controller else {
            return;
        };
        let seen: Vec<Seen> = {
            let state = self.lock();
            state
                .installations
                .iter()
                .map(|((cluster, addon), installation)| Seen {
                    cluster: cluster.clone(),
                    addon: addon.clone(),
                    state: installation["state"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    operator: state
                        .addons
                        .get(SERVICES[0].0)
                        .and_then(|addons| addons.get(addon))
                        .map(operator_of)
                        .unwrap_or_default(),
                })
                .collect()
        };
        for item in seen {
            let Some(decision) = controller.reconcile(&item) else {
                continue;
            };
            let mut state = self.lock();
            let key = (item.cluster.clone(), item.addon.clone());
            let Some(installation) = state.installations.get_mut(&key) else {
                continue;
            };
            if installation["state"] != json!(item.state) {
                continue;
            }
            match decision {
                Decision::Remove => {
                    state.installations.remove(&key);
                }
                Decision::State {
                    state: new_state,
                    description,
                    operator_version,
                } => {
                    let changed = installation["state"] != json!(new_state)
                        || installation["state_description"] != json!(description);
                    if changed {
                        installation["state"] = json!(new_state);
                        installation["state_description"] = json!(description);
                        if let Some(version) = operator_version {
                            installation["operator_version"] = json!(version);
                        }
                        installation["updated_timestamp"] =
                            json!(rfc3339(std::time::SystemTime::now()));
                    }
                }
            }
        }
    }

    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        if request.path == "/token" {
            return self.token(request);
        }
        let body: Value = if request.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&request.body).unwrap_or(Value::Null)
        };
        let mut state = self.lock();
        state.requests.push(Recorded {
            method: request.method.clone(),
            path: request.path.clone(),
            token: request.bearer_token().map(str::to_string),
            body: body.clone(),
        });
        let Some((prefix, code)) = SERVICES
            .iter()
            .find(|(prefix, _)| request.path.starts_with(prefix))
        else {
            return error(
                404,
                "CLUSTERS-MGMT",
                &format!("The resource '{}' doesn't exist", request.path),
            );
        };
        let authorized = request.bearer_token().is_some_and(|token| {
            token == ACCESS_TOKEN || state.issued_tokens.iter().any(|issued| issued == token)
        });
        if !authorized {
            return error(
                401,
                code,
                "Request doesn't contain the 'Authorization' header with a valid bearer token",
            );
        }
        if let Some(position) = state
            .failures
            .iter()
            .position(|f| f.method == request.method)
        {
            let failure = state
                .failures
                .remove(position)
                .unwrap_or_else(|| unreachable!("position is in range"));
            let response = error(failure.status, code, &failure.reason);
            return if failure.status == 429 {
                response.header("Retry-After", "0")
            } else {
                response
            };
        }
        let rest = request.path[prefix.len()..]
            .trim_end_matches('/')
            .to_string();
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let method = request.method.as_str();
        let href = |tail: &str| format!("{prefix}/{tail}");
        let needs_object = matches!(method, "POST" | "PATCH");
        if needs_object && !body.is_object() {
            return error(400, code, "The request body is not a JSON object");
        }
        // Read as the generated server reads it: through the service's model,
        // unknown fields dropped, a wrong type refused.
        let body = match model_object(&segments).filter(|_| needs_object) {
            Some(object) => match model::read(service_of(prefix), object, &body) {
                Ok(read) => read,
                Err(err) => {
                    return error(400, code, &format!("Can't read the request body: {err}"))
                }
            },
            None => body,
        };
        match segments.as_slice() {
            ["addons"] => match method {
                "GET" => {
                    let items: Vec<Value> = state
                        .addons
                        .get(*prefix)
                        .map(|m| m.values().cloned().collect())
                        .unwrap_or_default();
                    list("AddOnList", request, items)
                }
                "POST" => {
                    let id = match id_and(&body, "name", "Add-on", code) {
                        Ok(id) => id,
                        Err(refusal) => return refusal,
                    };
                    let addons = state.addons.entry(prefix.to_string()).or_default();
                    if addons.contains_key(&id) {
                        return error(409, code, &format!("Add-on with id '{id}' already exists"));
                    }
                    let mut stored = body.clone();
                    stored["href"] = json!(href(&format!("addons/{id}")));
                    addons.insert(id, stored.clone());
                    HttpResponse::json(201, &stored)
                }
                _ => not_allowed(code, method),
            },
            ["addons", id] => {
                let id = id.to_string();
                let addons = state.addons.entry(prefix.to_string()).or_default();
                let Some(existing) = addons.get_mut(&id) else {
                    return error(404, code, &format!("Add-on '{id}' not found"));
                };
                match method {
                    "GET" => HttpResponse::json(200, existing),
                    "PATCH" => patched(existing, &body, code),
                    "DELETE" => {
                        addons.remove(&id);
                        if let Some(versions) = state.versions.get_mut(*prefix) {
                            versions.retain(|(addon, _), _| *addon != id);
                        }
                        HttpResponse::new(204)
                    }
                    _ => not_allowed(code, method),
                }
            }
            ["addons", id, "versions"] => {
                let id = id.to_string();
                if !state
                    .addons
                    .get(*prefix)
                    .is_some_and(|addons| addons.contains_key(&id))
                {
                    return error(404, code, &format!("Add-on '{id}' not found"));
                }
                let versions = state.versions.entry(prefix.to_string()).or_default();
                match method {
                    "GET" => {
                        let items = entries_of(versions, &id);
                        list("AddOnVersionList", request, items)
                    }
                    "POST" => {
                        let version = match id_and(&body, "source_image", "Add-on version", code) {
                            Ok(version) => version,
                            Err(refusal) => return refusal,
                        };
                        let key = (id.clone(), version.clone());
                        if versions.contains_key(&key) {
                            return error(
                                409,
                                code,
                                &format!("Add-on version '{version}' of '{id}' already exists"),
                            );
                        }
                        let mut stored = body.clone();
                        stored["href"] = json!(href(&format!("addons/{id}/versions/{version}")));
                        versions.insert(key, stored.clone());
                        HttpResponse::json(201, &stored)
                    }
                    _ => not_allowed(code, method),
                }
            }
            ["addons", id, "versions", version] => {
                let key = (id.to_string(), version.to_string());
                let versions = state.versions.entry(prefix.to_string()).or_default();
                let Some(existing) = versions.get_mut(&key) else {
                    return error(
                        404,
                        code,
                        &format!("Add-on version '{version}' of '{id}' not found"),
                    );
                };
                match method {
                    "GET" => HttpResponse::json(200, existing),
                    "PATCH" => patched(existing, &body, code),
                    "DELETE" => {
                        versions.remove(&key);
                        HttpResponse::new(204)
                    }
                    _ => not_allowed(code, method),
                }
            }
            ["clusters", cluster, "addons"] => {
                let cluster = cluster.to_string();
                match method {
                    "GET" => {
                        let items = entries_of(&state.installations, &cluster);
                        list("AddOnInstallationList", request, items)
                    }
                    "POST" => {
                        let Some(addon) = text_at(&body, "/addon/id") else {
                            return error(400, code, "Add-on installation needs 'addon.id'");
                        };
                        if !state
                            .addons
                            .get(*prefix)
                            .is_some_and(|addons| addons.contains_key(&addon))
                        {
                            return error(404, code, &format!("Add-on '{addon}' not found"));
                        }
                        if let Some(controller) = &self.controller {
                            if !controller.knows_cluster(&cluster) {
                                return error(404, code, &format!("Cluster '{cluster}' not found"));
                            }
                        }
                        let key = (cluster.clone(), addon.clone());
                        if state.installations.contains_key(&key) {
                            return error(
                                409,
                                code,
                                &format!(
                                    "Add-on '{addon}' is already installed on cluster '{cluster}'"
                                ),
                            );
                        }
                        let mut created = installation(
                            &cluster,
                            &addon,
                            body.get("parameters").unwrap_or(&Value::Null),
                        );
                        if self.controller.is_some() {
                            created["state"] = json!("pending");
                        }
                        let latest_version = state.versions.get(*prefix).and_then(|versions| {
                            versions
                                .keys()
                                .filter(|(a, _)| *a == addon)
                                .map(|(_, v)| v.clone())
                                .max_by(|a, b| version_order(a).cmp(&version_order(b)))
                        });
                        if let Some(version) = latest_version {
                            created["addon_version"] = json!({"kind": "AddOnVersionLink", "id": version,
                                "href": href(&format!("addons/{addon}/versions/{version}"))});
                        }
                        state.installations.insert(key, created.clone());
                        HttpResponse::json(201, &created)
                    }
                    _ => not_allowed(code, method),
                }
            }
            ["clusters", cluster, "addons", addon] => {
                let key = (cluster.to_string(), addon.to_string());
                let Some(existing) = state.installations.get_mut(&key) else {
                    return error(
                        404,
                        code,
                        &format!("Add-on '{addon}' is not installed on cluster '{cluster}'"),
                    );
                };
                match method {
                    "GET" => {
                        let answer = HttpResponse::json(200, existing);
                        state.count_a_read(&key);
                        answer
                    }
                    "PATCH" => {
                        merge(existing, &body);
                        existing["updated_timestamp"] =
                            json!(rfc3339(std::time::SystemTime::now()));
                        HttpResponse::json(200, existing)
                    }
                    "DELETE" => {
                        // Acting as OCM: deleting until the SyncSet is gone.
                        if self.controller.is_some() {
                            existing["state"] = json!("deleting");
                            existing["state_description"] = json!("uninstalling");
                        } else {
                            state.installations.remove(&key);
                        }
                        HttpResponse::new(204)
                    }
                    _ => not_allowed(code, method),
                }
            }
            ["clusters", cluster, "addon_inquiries"] if method == "GET" => {
                let items = state
                    .addons
                    .get(*prefix)
                    .map(|addons| {
                        addons
                            .values()
                            .map(|addon| inquiry(addon, state.refusals.get(*cluster)))
                            .collect()
                    })
                    .unwrap_or_default();
                list("AddOnList", request, items)
            }
            ["clusters", cluster, "addon_inquiries", addon] if method == "GET" => {
                if let Some(controller) = &self.controller {
                    if !controller.knows_cluster(cluster) {
                        return error(404, code, &format!("Cluster '{cluster}' not found"));
                    }
                }
                match state.addons.get(*prefix).and_then(|a| a.get(*addon)) {
                    Some(found) => {
                        HttpResponse::json(200, &inquiry(found, state.refusals.get(*cluster)))
                    }
                    None => error(404, code, &format!("Add-on '{addon}' not found")),
                }
            }
            _ => error(
                404,
                code,
                &format!("The resource '{}' doesn't exist", request.path),
            ),
        }
    }

    /// The OAuth2 token endpoint: `refresh_token` and `client_credentials`
    /// grants as a form body, RFC 6749 answers.
    fn token(&self, request: &HttpRequest) -> HttpResponse {
        let form = request.form();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut state = self.lock();
        state.token_requests.push(form.clone());
        if request.method != "POST" {
            return oauth_error(405, "invalid_request", "use POST");
        }
        let accepted = match field("grant_type") {
            Some("refresh_token") => {
                field("refresh_token") == Some(REFRESH_TOKEN) && field("client_id").is_some()
            }
            Some("client_credentials") => {
                field("client_id") == Some(CLIENT_ID)
                    && field("client_secret") == Some(CLIENT_SECRET)
            }
            _ => {
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    "grant_type must be refresh_token or client_credentials",
                )
            }
        };
        if !accepted {
            return oauth_error(
                400,
                "invalid_grant",
                "Invalid refresh token or client credentials",
            );
        }
        let token = format!("fake-ocm-access-{}", state.issued_tokens.len() + 1);
        state.issued_tokens.push(token.clone());
        HttpResponse::json(
            200,
            &json!({
                "access_token": token,
                "expires_in": state.token_lifetime_seconds,
                "token_type": "Bearer",
                "refresh_token": REFRESH_TOKEN,
                "scope": "openid"
            }),
        )
    }
}

/// Which service a path prefix is.
fn service_of(prefix: &str) -> Service {
    if prefix == SERVICES[1].0 {
        Service::AddonsMgmt
    } else {
        Service::ClustersMgmt
    }
}

/// The object of the model a POST or PATCH on this path carries.
fn model_object(segments: &[&str]) -> Option<Object> {
    match segments {
        ["addons"] | ["addons", _] => Some(Object::AddOn),
        ["addons", _, "versions"] | ["addons", _, "versions", _] => Some(Object::Version),
        ["clusters", _, "addons"] | ["clusters", _, "addons", _] => Some(Object::Installation),
        _ => None,
    }
}

/// The add-on as an inquiry answers it: each requirement with its status on
/// the cluster (all unfulfilled, with `refusal` as the reason, on a refused
/// cluster; a refused cluster and an add-on without requirements get one
/// synthetic `cluster` requirement so the refusal can be told).
fn inquiry(addon: &Value, refusal: Option<&String>) -> Value {
    let mut answer = addon.clone();
    let mut requirements: Vec<Value> = addon
        .pointer("/requirements")
        .and_then(|r| r.get("items").or(Some(r)))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requirements.is_empty() && refusal.is_some() {
        requirements
            .push(json!({"id": "cluster", "resource": "cluster", "enabled": true, "data": {}}));
    }
    for requirement in &mut requirements {
        requirement["status"] = match refusal {
            Some(reason) => json!({"fulfilled": false, "error_msgs": [reason]}),
            None => json!({"fulfilled": true}),
        };
    }
    // A list of structs: a JSON array, as the SDK writes it.
    answer["requirements"] = Value::Array(requirements);
    answer
}

/// Sorts version ids as semvers where they are.
fn version_order(id: &str) -> (Vec<u64>, String) {
    (
        id.split('.').map(|p| p.parse().unwrap_or(0)).collect(),
        id.to_string(),
    )
}

fn installation(cluster: &str, addon: &str, parameters: &Value) -> Value {
    let now = rfc3339(std::time::SystemTime::now());
    json!({
        "kind": "AddOnInstallation",
        "id": addon,
        "href": format!("/api/clusters_mgmt/v1/clusters/{cluster}/addons/{addon}"),
        "addon": {"kind": "AddOnLink", "id": addon, "href": format!("/api/clusters_mgmt/v1/addons/{addon}")},
        "state": "installing",
        "state_description": "",
        "creation_timestamp": now,
        "updated_timestamp": now,
        "parameters": if parameters.is_null() { json!({"items": []}) } else { parameters.clone() },
    })
}

/// A shallow JSON merge, as OCM's PATCH applies the fields it is given.
/// A PATCH of an add-on or version: `body` merged into `existing`, which
/// it answers with; the `id` cannot change (400).
fn patched(existing: &mut Value, body: &Value, code: &str) -> HttpResponse {
    if body.get("id").is_some() {
        return error(400, code, "Attribute 'id' cannot be changed");
    }
    merge(existing, body);
    HttpResponse::json(200, existing)
}

fn merge(target: &mut Value, patch: &Value) {
    if let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// OCM's paged list (`page`, `size`, `total`, `items`).
/// The string at `pointer` in a request body, if it is one.
fn text_at(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The `id` of a created object's body (`what`: "Add-on", "Add-on
/// version"), which also needs a non-empty `field`; else OCM's 400 saying
/// which is required.
fn id_and(body: &Value, field: &str, what: &str, code: &str) -> Result<String, HttpResponse> {
    let required = |name: &str| error(400, code, &format!("{what} '{name}' is required"));
    let id = text_at(body, "/id").ok_or_else(|| required("id"))?;
    if text_at(body, &format!("/{field}")).is_none_or(|text| text.is_empty()) {
        return Err(required(field));
    }
    Ok(id)
}

/// The objects stored under `first` (an add-on's versions, a cluster's
/// installations), in key order.
fn entries_of(map: &BTreeMap<(String, String), Value>, first: &str) -> Vec<Value> {
    map.iter()
        .filter(|((key, _), _)| key == first)
        .map(|(_, value)| value.clone())
        .collect()
}

fn list(kind: &str, request: &HttpRequest, items: Vec<Value>) -> HttpResponse {
    let page: usize = request
        .query_param("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1);
    let size: usize = request
        .query_param("size")
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(100);
    let total = items.len();
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let mut body = Map::new();
    body.insert("kind".into(), json!(kind));
    body.insert("page".into(), json!(page));
    body.insert("size".into(), json!(page_items.len()));
    body.insert("total".into(), json!(total));
    body.insert("items".into(), Value::Array(page_items));
    HttpResponse::json(200, &Value::Object(body))
}

/// OCM's error body.
fn error(status: u16, code: &str, reason: &str) -> HttpResponse {
    let service = if code == "ADDONS-MGMT" {
        "addons_mgmt"
    } else {
        "clusters_mgmt"
    };
    HttpResponse::json(
        status,
        &json!({
            "kind": "Error",
            "id": status.to_string(),
            "href": format!("/api/{service}/v1/errors/{status}"),
            "code": format!("{code}-{status}"),
            "reason": reason,
            "operation_id": "fake-ocm-operation"
        }),
    )
}

fn not_allowed(code: &str, method: &str) -> HttpResponse {
    error(405, code, &format!("Method '{method}' is not allowed here"))
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, token: Option<&str>, body: Value) -> HttpRequest {
        let mut headers = Vec::new();
        if let Some(token) = token {
            headers.push(("authorization".to_string(), format!("Bearer {token}")));
        }
        HttpRequest {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers,
            body: if body.is_null() {
                Vec::new()
            } else {
                serde_json::to_vec(&body).unwrap()
            },
        }
    }

    fn json_of(response: &HttpResponse) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn creates_conflicts_patches_and_deletes() {
        let ocm = Ocm::default();
        let path = "/api/clusters_mgmt/v1/addons";
        let addon = json!({"id": "a", "name": "A", "enabled": true});
        assert_eq!(
            ocm.handle(&request("POST", path, Some(ACCESS_TOKEN), addon.clone()))
                .status,
            201
        );
        let conflict = ocm.handle(&request("POST", path, Some(ACCESS_TOKEN), addon));
        assert_eq!(conflict.status, 409);
        assert_eq!(json_of(&conflict)["code"], "CLUSTERS-MGMT-409");
        let patched = ocm.handle(&request(
            "PATCH",
            &format!("{path}/a"),
            Some(ACCESS_TOKEN),
            json!({"enabled": false}),
        ));
        assert_eq!(json_of(&patched)["enabled"], false);
        assert_eq!(
            ocm.handle(&request(
                "PATCH",
                &format!("{path}/a"),
                Some(ACCESS_TOKEN),
                json!({"id": "a"})
            ))
            .status,
            400
        );
        let listed = json_of(&ocm.handle(&request("GET", path, Some(ACCESS_TOKEN), Value::Null)));
        assert_eq!(listed["total"], 1);
        assert_eq!(
            ocm.handle(&request(
                "DELETE",
                &format!("{path}/a"),
                Some(ACCESS_TOKEN),
                Value::Null
            ))
            .status,
            204
        );
        let missing = ocm.handle(&request(
            "GET",
            &format!("{path}/a"),
            Some(ACCESS_TOKEN),
            Value::Null,
        ));
        assert_eq!(json_of(&missing)["kind"], "Error");
        assert_eq!(missing.status, 404);
    }

    #[test]
    fn bodies_are_read_through_the_model_of_the_service() {
        let ocm = Ocm::default();
        let post =
            |path: &str, body: Value| ocm.handle(&request("POST", path, Some(ACCESS_TOKEN), body));
        // clusters_mgmt drops what its model does not define, and answers
        // as the SDK writes: kind, href, id and what it kept.
        let created = post(
            "/api/clusters_mgmt/v1/addons",
            json!({"id": "a", "name": "A", "made_up": 1,
                   "config": {"add_on_secret_propagations": [{"source_secret": "s"}]},
                   "parameters": {"items": [{"id": "p", "order": 1}]}}),
        );
        assert_eq!(created.status, 201);
        assert_eq!(
            json_of(&created),
            json!({"kind": "AddOn", "id": "a", "href": "/api/clusters_mgmt/v1/addons/a", "name": "A",
                   "config": {"kind": "AddOnConfig"},
                   "parameters": {"items": [{"kind": "AddOnParameter", "id": "p"}]}})
        );
        // addons_mgmt keeps its own names.
        let created = post(
            "/api/addons_mgmt/v1/addons",
            json!({"id": "a", "name": "A", "config": {"add_on_secret_propagations": [{"source_secret": "s"}]}}),
        );
        assert_eq!(
            json_of(&created)["config"]["add_on_secret_propagations"][0]["source_secret"],
            "s"
        );
        // A wrong type is a 400 with OCM's error body naming the field.
        let refused = post(
            "/api/clusters_mgmt/v1/addons",
            json!({"id": "b", "name": "B", "enabled": "yes"}),
        );
        assert_eq!(refused.status, 400);
        let body = json_of(&refused);
        assert_eq!(body["kind"], "Error");
        assert_eq!(body["id"], "400");
        assert_eq!(body["code"], "CLUSTERS-MGMT-400");
        assert_eq!(body["href"], "/api/clusters_mgmt/v1/errors/400");
        assert!(
            body["reason"].as_str().unwrap().contains("field 'enabled'"),
            "{body}"
        );
        let refused = ocm.handle(&request(
            "PATCH",
            "/api/clusters_mgmt/v1/addons/a",
            Some(ACCESS_TOKEN),
            json!({"parameters": [{"id": "p"}]}),
        ));
        assert_eq!(
            refused.status, 400,
            "a list of linked objects is {{\"items\": [...]}}"
        );
        assert!(ocm.addon("b").is_none());
    }

    #[test]
    fn installs_addons_on_clusters() {
        let ocm = Ocm::default();
        let addons = "/api/clusters_mgmt/v1/addons";
        let installs = "/api/clusters_mgmt/v1/clusters/c1/addons";
        let body = json!({"addon": {"id": "a"}});
        let missing = ocm.handle(&request("POST", installs, Some(ACCESS_TOKEN), body.clone()));
        assert_eq!(missing.status, 404, "the add-on must exist first");
        ocm.handle(&request(
            "POST",
            addons,
            Some(ACCESS_TOKEN),
            json!({"id": "a", "name": "A"}),
        ));
        let created = ocm.handle(&request("POST", installs, Some(ACCESS_TOKEN), body.clone()));
        assert_eq!(created.status, 201);
        assert_eq!(json_of(&created)["state"], "installing");
        assert_eq!(
            ocm.handle(&request("POST", installs, Some(ACCESS_TOKEN), body))
                .status,
            409
        );
        ocm.set_installation_state("c1", "a", "ready");
        let listed =
            json_of(&ocm.handle(&request("GET", installs, Some(ACCESS_TOKEN), Value::Null)));
        assert_eq!(listed["kind"], "AddOnInstallationList");
        assert_eq!(listed["items"][0]["state"], "ready");
        let path = format!("{installs}/a");
        assert_eq!(
            ocm.handle(&request("DELETE", &path, Some(ACCESS_TOKEN), Value::Null))
                .status,
            204
        );
        assert_eq!(
            ocm.handle(&request("GET", &path, Some(ACCESS_TOKEN), Value::Null))
                .status,
            404
        );
    }

    #[test]
    fn a_state_change_waits_for_its_reads() {
        let ocm = Ocm::default();
        ocm.set_installation("c1", "a", "installing", "");
        ocm.set_installation_after_reads("c1", "a", 2, "ready", "done");
        let path = "/api/clusters_mgmt/v1/clusters/c1/addons/a";
        let read = || {
            json_of(&ocm.handle(&request("GET", path, Some(ACCESS_TOKEN), Value::Null)))["state"]
                .clone()
        };
        assert_eq!(read(), "installing");
        assert_eq!(
            read(),
            "installing",
            "the second read still sees the old state"
        );
        assert_eq!(read(), "ready");
        assert_eq!(
            ocm.installation("c1", "a").unwrap()["state_description"],
            "done"
        );
    }

    #[test]
    fn refuses_requests_without_a_known_token() {
        let ocm = Ocm::default();
        let response = ocm.handle(&request(
            "GET",
            "/api/clusters_mgmt/v1/addons",
            Some("made-up"),
            Value::Null,
        ));
        assert_eq!(response.status, 401);
        assert_eq!(
            ocm.handle(&request(
                "GET",
                "/api/clusters_mgmt/v1/addons",
                None,
                Value::Null
            ))
            .status,
            401
        );
    }

    #[test]
    fn token_endpoint_exchanges_refresh_tokens() {
        let ocm = Ocm::default();
        let mut token_request = request("POST", "/token", None, Value::Null);
        token_request.body = format!(
            "grant_type=refresh_token&client_id=cloud-services&refresh_token={REFRESH_TOKEN}"
        )
        .into_bytes();
        let answer = json_of(&ocm.handle(&token_request));
        let token = answer["access_token"].as_str().unwrap().to_string();
        assert_eq!(
            ocm.handle(&request(
                "GET",
                "/api/clusters_mgmt/v1/addons",
                Some(&token),
                Value::Null
            ))
            .status,
            200
        );
        token_request.body =
            b"grant_type=refresh_token&client_id=cloud-services&refresh_token=wrong".to_vec();
        assert_eq!(ocm.handle(&token_request).status, 400);
    }

    #[test]
    fn injected_failures_are_answered_once() {
        let ocm = Ocm::default();
        ocm.fail_next("GET", 503, "maintenance");
        let path = "/api/clusters_mgmt/v1/addons";
        assert_eq!(
            ocm.handle(&request("GET", path, Some(ACCESS_TOKEN), Value::Null))
                .status,
            503
        );
        assert_eq!(
            ocm.handle(&request("GET", path, Some(ACCESS_TOKEN), Value::Null))
                .status,
            200
        );
    }
}
