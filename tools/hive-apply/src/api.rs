//! The Kubernetes API calls hive-apply makes, over `common::remote::http`: discovery
//! (plural names and scope, cached per group version; a group's preferred
//! version), server-side apply, JSON merge patch, GET, LIST and DELETE, with
//! the server's `Status` turned into an error that names the object, says
//! what to do, and carries its [`Cause`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use common::model::k8s::{split_api_version, ApiResourceList, Status};
use common::remote::http::{encode_query, Request, Response};
use common::remote::kubeconfig::ApiConnection;
use common::Error;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::answer::Answer;

/// Where a kind lives on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub api_version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        split_api_version(&self.api_version).0
    }

    /// `plural.group`, as the API names resources in its messages
    /// (`syncsets.hive.openshift.io`).
    pub fn qualified(&self) -> String {
        match self.group() {
            "" => self.plural.clone(),
            group => format!("{}.{group}", self.plural),
        }
    }

    /// `kind.group` in lower case, as kubectl names an object in its output
    /// (`syncset.hive.openshift.io/addon-x`).
    pub fn kubectl_kind(&self) -> String {
        match self.group() {
            "" => self.kind.to_lowercase(),
            group => format!("{}.{group}", self.kind.to_lowercase()),
        }
    }

    /// `Kind.group` (`Kind` for the core group): how an ApplySet records it.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind {
            group: self.group().to_string(),
            kind: self.kind.clone(),
        }
    }

    fn base(&self) -> String {
        match split_api_version(&self.api_version) {
            ("", version) => format!("/api/{version}"),
            (group, version) => format!("/apis/{group}/{version}"),
        }
    }

    /// The URL path of the objects of the kind: in one namespace, or (for a
    /// cluster-scoped kind, or `None`) everywhere.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => {
                format!("{}/namespaces/{}/{}", self.base(), segment(ns), self.plural)
            }
            _ => format!("{}/{}", self.base(), self.plural),
        }
    }

    /// The URL path of one object.
    pub fn path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection_path(namespace), segment(name))
    }
}

/// A kind without its version: `SelectorSyncSet.hive.openshift.io`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    /// Reads `Kind.group` or `Kind` (the group is everything after the first dot).
    pub fn parse(text: &str) -> Option<GroupKind> {
        let (kind, group) = text.split_once('.').unwrap_or((text, ""));
        (!kind.is_empty()).then(|| GroupKind {
            group: group.to_string(),
            kind: kind.to_string(),
        })
    }
}

impl std::fmt::Display for GroupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.group.as_str() {
            "" => f.write_str(&self.kind),
            group => write!(f, "{}.{group}", self.kind),
        }
    }
}

/// Escapes what may not appear in a path segment (names are DNS names, so
/// this is only a guard).
fn segment(text: &str) -> String {
    encode_query(text)
}

/// Why a request failed: what would help depends on it, and the report
/// that closes a run says so once per cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The server could not be reached, did not answer in time, failed
    /// (5xx) or answered something that is not the API: a rerun may finish.
    Unavailable,
    /// 401: the credentials were refused.
    Credentials,
    /// 403: the user may not do this.
    Forbidden,
    /// The kind is not served: its CustomResourceDefinition is missing.
    NotServed,
    /// The object's namespace does not exist.
    NoNamespace,
    /// 409: another field manager owns fields we apply.
    Conflict,
    /// 400/415/422: the server rejected the object as written.
    Invalid,
    /// Anything else (an unexpected status, our own fault).
    Other,
}

impl Cause {
    /// What the person running hive-apply can do about it.
    pub fn advice(self) -> &'static str {
        match self {
            Cause::Unavailable => {
                "the server failed or could not be reached: once it answers, running the same command again finishes the job (applying is idempotent)"
            }
            Cause::Credentials => {
                "the credentials were refused: log in again (e.g. `oc login`) or fix the kubeconfig's user, then run again"
            }
            Cause::Forbidden => "the user lacks an RBAC permission: ask for it, then run again",
            Cause::NotServed => {
                "a kind is not served: install its CustomResourceDefinition on the Hive cluster (running again before that fails the same way)"
            }
            Cause::NoNamespace => {
                "a namespace does not exist: put its Namespace in the input (Namespaces are applied first) or create it, then run again"
            }
            Cause::Conflict => {
                "another field manager owns fields we apply, with other values: agree with it, or take the fields over with --force-conflicts (running again unchanged fails the same way)"
            }
            Cause::Invalid => {
                "the server rejected an object as invalid: fix it in the input (the field and the rule are named above)"
            }
            Cause::Other => "fix the cause named above, then run again",
        }
    }
}

/// A failed request: the error to print, and its cause.
#[derive(Debug, Clone)]
pub struct KubeError {
    pub cause: Cause,
    pub error: Error,
}

impl KubeError {
    pub fn new(cause: Cause, error: Error) -> Self {
        KubeError { cause, error }
    }
}

/// An error from below the API (the HTTP client: unreachable, timed out,
/// retries spent on 5xx) or our own.
impl From<Error> for KubeError {
    fn from(error: Error) -> Self {
        let cause = match &error {
            Error::Remote { .. } | Error::TimedOut(_) => Cause::Unavailable,
            _ => Cause::Other,
        };
        KubeError { cause, error }
    }
}

impl From<KubeError> for Error {
    fn from(err: KubeError) -> Self {
        err.error
    }
}

pub type KubeResult<T> = std::result::Result<T, KubeError>;

/// A kind resolved on the server (or why it could not be).
type Resolved = KubeResult<Arc<Resource>>;

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    /// 201 created, 200 updated (or unchanged).
    pub status: u16,
    /// The object returned, in brief.
    pub answer: Answer,
    /// The object returned, JSON text as it came.
    pub body: Vec<u8>,
}

/// A client for one Kubernetes API server.
pub struct KubeClient {
    /// The kubeconfig user's connection: credentials, impersonation, exec
    /// plugin renewal.
    http: ApiConnection,
    /// The server's URL, without credentials.
    server: String,
    field_manager: String,
    /// Discovery per group version: the list, `None` when not served, or
    /// the failure as it was (each keeps its own cause and exit code).
    discovery: Mutex<HashMap<String, KubeResult<Option<ApiResourceList>>>>,
    /// Each `apiVersion` and kind resolved, shared by all its objects.
    resources: Mutex<HashMap<(String, String), Resolved>>,
    /// `/apis`: each group's preferred version, fetched once.
    groups: Mutex<Option<KubeResult<HashMap<String, String>>>>,
    /// Set once the server could not be reached at all.
    unreachable: Mutex<Option<KubeError>>,
}

impl KubeClient {
    pub fn new(http: ApiConnection, field_manager: &str) -> Self {
        KubeClient {
            server: http.base_url(),
            http,
            field_manager: field_manager.to_string(),
            discovery: Mutex::new(HashMap::new()),
            resources: Mutex::new(HashMap::new()),
            groups: Mutex::new(None),
            unreachable: Mutex::new(None),
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// The resource of `apiVersion`/`kind`, from the server's discovery
    /// document; one for all the objects of the kind.
    pub fn resource(&self, api_version: &str, kind: &str) -> KubeResult<Arc<Resource>> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(known) = self
            .resources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return known.clone();
        }
        let resolved = self.resolve(api_version, kind).map(Arc::new);
        self.resources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, resolved.clone());
        resolved
    }

    fn resolve(&self, api_version: &str, kind: &str) -> KubeResult<Resource> {
        let list = self.discover(api_version)?;
        let Some(list) = list else {
            return Err(self.not_served(format!(
                "the server does not serve {api_version} (is the CustomResourceDefinition for {kind} installed?)"
            )));
        };
        find_kind(&list, api_version, kind).ok_or_else(|| {
            self.not_served(format!(
                "the server has no kind {kind} in {api_version} (is its CustomResourceDefinition installed?)"
            ))
        })
    }

    /// The resource of a kind recorded without its version (an ApplySet's
    /// group-kinds), at its group's preferred version; `None` when the
    /// server does not serve it (its CRD, and so its objects, are gone).
    pub fn resource_of(&self, group_kind: &GroupKind) -> KubeResult<Option<Resource>> {
        let api_version = if group_kind.group.is_empty() {
            "v1".to_string()
        } else {
            match self.preferred_versions()?.get(&group_kind.group) {
                Some(version) => format!("{}/{version}", group_kind.group),
                None => return Ok(None),
            }
        };
        Ok(self
            .discover(&api_version)?
            .and_then(|list| find_kind(&list, &api_version, &group_kind.kind)))
    }

    fn not_served(&self, message: String) -> KubeError {
        KubeError::new(Cause::NotServed, Error::remote(self.server(), message))
    }

    fn preferred_versions(&self) -> KubeResult<HashMap<String, String>> {
        let mut cached = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(result) = cached.as_ref() {
            return result.clone();
        }
        let result = self.fetch_groups();
        *cached = Some(result.clone());
        result
    }

    fn fetch_groups(&self) -> KubeResult<HashMap<String, String>> {
        let response = self.get_path("/apis")?;
        if !response.is_success() {
            return Err(self.failure(&response, "discovery of the API groups"));
        }
        let list: Value = response.json(&format!("{} /apis", self.server()))?;
        Ok(list["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|group| {
                Some((
                    group["name"].as_str()?.to_string(),
                    group["preferredVersion"]["version"].as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// Discovers these group versions, the first alone and then the rest
    /// at once (at most `concurrency` requests in flight), so that an input
    /// of several API groups does not wait for their discovery documents
    /// one after another before its first object is sent. The first goes
    /// alone so that a server that cannot be reached, or refuses the
    /// credentials, is asked once, not once per group version. What is
    /// known already is not asked again; each result (a refusal too) is
    /// kept as [`Self::discover`] keeps it.
    pub fn discover_all<'a>(
        &self,
        api_versions: impl IntoIterator<Item = &'a str>,
        concurrency: usize,
    ) {
        let wanted: Vec<&str> = {
            let cache = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
            let distinct: std::collections::BTreeSet<&str> = api_versions
                .into_iter()
                .filter(|v| !cache.contains_key(*v))
                .collect();
            distinct.into_iter().collect()
        };
        let Some((first, rest)) = wanted.split_first() else {
            return;
        };
        if self.discover(first).is_err() || rest.is_empty() {
            return;
        }
        let results = common::cli::parallel::map_bounded(rest, concurrency, |api_version| {
            self.fetch_discovery(api_version)
        });
        let mut cache = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
        for (api_version, result) in rest.iter().zip(results) {
            cache.entry(api_version.to_string()).or_insert(result);
        }
    }

    /// One discovery request per group version and run, even with many
    /// threads asking at once (the lock is held during the request), and a
    /// refusal is remembered too, so a bad token fails once, not per object.
    fn discover(&self, api_version: &str) -> KubeResult<Option<ApiResourceList>> {
        let mut cache = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.get(api_version) {
            return cached.clone();
        }
        let result = self.fetch_discovery(api_version);
        cache.insert(api_version.to_string(), result.clone());
        result
    }

    fn fetch_discovery(&self, api_version: &str) -> KubeResult<Option<ApiResourceList>> {
        let path = match split_api_version(api_version) {
            ("", version) => format!("/api/{version}"),
            (group, version) => format!("/apis/{group}/{version}"),
        };
        let response = self.get_path(&path)?;
        match response.status {
            200 => Ok(Some(
                response.json::<ApiResourceList>(&format!("{} {path}", self.server()))?,
            )),
            404 => Ok(None),
            _ => Err(self.failure(&response, &format!("discovery of {api_version}"))),
        }
    }

    /// A discovery GET. A server that cannot be reached (after the client's
    /// retries) is not tried again for each group version.
    fn get_path(&self, path: &str) -> KubeResult<Response> {
        if let Some(err) = self
            .unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(err);
        }
        self.http
            .send(&Request::new("GET", path).header("Accept", "application/json"))
            .map_err(|err| {
                let err = KubeError::from(err);
                if err.cause == Cause::Unavailable {
                    *self.unreachable.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.clone());
                }
                err
            })
    }

    /// Server-side apply of `body`, the object's JSON (`PATCH` with
    /// `application/apply-patch+yaml`), as our field manager.
    pub fn apply(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        body: Cow<'_, [u8]>,
        force: bool,
        dry_run: bool,
    ) -> KubeResult<Written> {
        self.apply_as(
            &self.field_manager,
            resource,
            namespace,
            name,
            body,
            force,
            dry_run,
        )
    }

    /// Server-side apply as `manager` (the ApplySet parent has its own).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_as(
        &self,
        manager: &str,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        body: Cow<'_, [u8]>,
        force: bool,
        dry_run: bool,
    ) -> KubeResult<Written> {
        let path = format!(
            "{}?fieldManager={}&force={force}",
            resource.path(namespace, name),
            encode_query(manager)
        );
        // JSON is YAML: the apply content type takes either.
        let response = self.patch(path, dry_run, "application/apply-patch+yaml", body)?;
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
    ) -> KubeResult<Written> {
        let path = format!(
            "{}?fieldManager={}",
            resource.path(namespace, name),
            encode_query(&self.field_manager)
        );
        let body = serde_json::to_vec(patch).map_err(Error::internal)?;
        let response = self.patch(path, dry_run, "application/merge-patch+json", body.into())?;
        self.written(response, resource, namespace, name)
    }

    /// The object, or `None` when it does not exist.
    pub fn get(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> KubeResult<Option<Value>> {
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

    /// The objects of the kind in `namespace` (or everywhere), with only
    /// those matching `label_selector` (`key=value`) when one is given: sent
    /// as `labelSelector`, as kubectl does, and checked on what comes back,
    /// so a server that ignores it cannot widen the set. Each object goes to
    /// `each` as it is read, which keeps what it needs of it.
    pub fn list<T>(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        label_selector: Option<(&str, &str)>,
        each: impl Fn(Value) -> T,
    ) -> KubeResult<Vec<T>> {
        let mut path = resource.collection_path(namespace);
        if let Some((key, value)) = label_selector {
            path.push_str(&format!(
                "?labelSelector={}",
                encode_query(&format!("{key}={value}"))
            ));
        }
        let response = self
            .http
            .send(&Request::new("GET", &path).header("Accept", "application/json"))?;
        let what = match namespace.filter(|_| resource.namespaced) {
            Some(ns) => format!("list of {} in namespace {ns:?}", resource.qualified()),
            None => format!("list of {}", resource.qualified()),
        };
        if !response.is_success() {
            return Err(self.failure(&response, &what));
        }
        let matches = |item: &Value| {
            label_selector
                .is_none_or(|(key, value)| item["metadata"]["labels"][key].as_str() == Some(value))
        };
        let mut deserializer = serde_json::Deserializer::from_slice(&response.body);
        let read = ListItems::new(&|item| matches(&item).then(|| each(item)))
            .deserialize(&mut deserializer)
            .and_then(|items| deserializer.end().map(|()| items));
        match read {
            Ok(items) => Ok(items),
            // Said as any answer that is not JSON is.
            Err(err) => Err(
                match response.json::<Value>(&format!("{} {path}", self.server())) {
                    Err(said) => said.into(),
                    Ok(_) => Error::remote(self.server(), format!("{what}: {err}")).into(),
                },
            ),
        }
    }

    /// Deletes the object; `false` when it was already gone.
    pub fn delete(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        dry_run: bool,
    ) -> KubeResult<bool> {
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

    /// PATCHes `body`, of `content_type`, to `path` (an object's path with
    /// its query begun), only as a dry run when `dry_run`.
    fn patch(
        &self,
        mut path: String,
        dry_run: bool,
        content_type: &str,
        body: Cow<'_, [u8]>,
    ) -> KubeResult<Response> {
        if dry_run {
            path.push_str("&dryRun=All");
        }
        let request = Request::new("PATCH", &path)
            .header("Accept", "application/json")
            .body(content_type, body);
        Ok(self.http.send(&request)?)
    }

    fn written(
        &self,
        response: Response,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> KubeResult<Written> {
        let what = describe(resource, namespace, name);
        if response.is_success() {
            let answer = response.json(&what)?;
            return Ok(Written {
                status: response.status,
                answer,
                body: response.body,
            });
        }
        Err(self.failure(&response, &what))
    }

    /// The server's refusal as an error naming the object and the way out.
    fn failure(&self, response: &Response, what: &str) -> KubeError {
        let status: Option<Status> = serde_json::from_slice(&response.body)
            .ok()
            .filter(|s: &Status| s.kind == "Status");
        let (cause, message) = refusal(response.status, status.as_ref(), &response.text());
        KubeError::new(
            cause,
            Error::remote(
                self.server(),
                format!("{what}: HTTP {}: {message}", response.status),
            ),
        )
    }
}

/// A list's `items`, each handed to `keep` as it is parsed; what `keep`
/// returns is kept. An answer without items (or not a mapping) has none,
/// as indexing its parsed value would say, and so has an `items` that is
/// not an array. One visitor reads both levels: `in_items` says which.
struct ListItems<'a, T> {
    keep: &'a dyn Fn(Value) -> Option<T>,
    /// False for the list itself (a mapping), true for its `items` (an array).
    in_items: bool,
}

impl<'a, T> ListItems<'a, T> {
    fn new(keep: &'a dyn Fn(Value) -> Option<T>) -> Self {
        ListItems {
            keep,
            in_items: false,
        }
    }
}

impl<'de, T> DeserializeSeed<'de> for ListItems<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T> Visitor<'de> for ListItems<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && !self.in_items {
                // A repeated `items` keeps its last value.
                items = map.next_value_seed(ListItems {
                    keep: self.keep,
                    in_items: true,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut kept = Vec::new();
        if self.in_items {
            while let Some(item) = seq.next_element::<Value>()? {
                kept.extend((self.keep)(item));
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(kept)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_str<E>(self, _: &str) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
}

fn find_kind(list: &ApiResourceList, api_version: &str, kind: &str) -> Option<Resource> {
    list.resources
        .iter()
        .find(|r| r.kind == kind && !r.name.contains('/'))
        .map(|r| Resource {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            plural: r.name.clone(),
            namespaced: r.namespaced,
        })
}

/// What a refusal means and how to say it: the server's own words (for a
/// 422, each field and the rule it broke, from `details.causes`), then the
/// way out.
fn refusal(code: u16, status: Option<&Status>, body: &str) -> (Cause, String) {
    let message = status
        .map(|s| s.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| common::remote::http::snippet(body));
    let details = status.and_then(|s| s.details.as_ref());
    match code {
        401 => (
            Cause::Credentials,
            format!("{message}: the credentials were refused (expired token? log in again, e.g. `oc login`, or fix the kubeconfig user)"),
        ),
        403 => (
            Cause::Forbidden,
            format!("{message}: the user may not do this; ask for the RBAC permission"),
        ),
        404 if details.is_some_and(|d| d["kind"] == "namespaces") => {
            let namespace = details.and_then(|d| d["name"].as_str()).unwrap_or("?");
            (
                Cause::NoNamespace,
                format!("{message}: the namespace {namespace:?} does not exist; put its Namespace in the input or create it"),
            )
        }
        404 => (
            Cause::Other,
            format!("{message}: not found (does the namespace exist, and is the kind's CustomResourceDefinition installed?)"),
        ),
        409 => (
            Cause::Conflict,
            format!("{message}: another field manager owns these fields with other values; re-run with --force-conflicts to take them over"),
        ),
        400 | 415 | 422 => {
            let causes = field_causes(details);
            let what = if causes.is_empty() {
                message
            } else {
                format!("invalid: {}", causes.join("; "))
            };
            (Cause::Invalid, format!("{what}: the server rejected the object; fix it in the input"))
        }
        500.. => (Cause::Unavailable, format!("{message}: the server failed")),
        _ => (Cause::Other, format!("{message}: the server refused")),
    }
}

/// `field: message` for each cause of a `Status` (`details.causes`).
fn field_causes(details: Option<&Value>) -> Vec<String> {
    details
        .and_then(|d| d["causes"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|cause| {
            let message = cause["message"].as_str().filter(|m| !m.is_empty())?;
            Some(match cause["field"].as_str().filter(|f| !f.is_empty()) {
                Some(field) => format!("{field}: {message}"),
                None => message.to_string(),
            })
        })
        .collect()
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

    fn resource(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Resource {
        Resource {
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
        }
    }

    #[test]
    fn paths_for_core_custom_namespaced_and_cluster_scoped() {
        let ns = resource("v1", "Namespace", "namespaces", false);
        assert_eq!(ns.path(None, "x"), "/api/v1/namespaces/x");
        let cm = resource("v1", "ConfigMap", "configmaps", true);
        assert_eq!(
            cm.path(Some("ns"), "c"),
            "/api/v1/namespaces/ns/configmaps/c"
        );
        assert_eq!(
            cm.collection_path(Some("ns")),
            "/api/v1/namespaces/ns/configmaps"
        );
        assert_eq!(cm.collection_path(None), "/api/v1/configmaps");
        assert_eq!(cm.kubectl_kind(), "configmap");
        assert_eq!(cm.group_kind().to_string(), "ConfigMap");
        let ss = resource("hive.openshift.io/v1", "SyncSet", "syncsets", true);
        assert_eq!(
            ss.path(Some("cd"), "addon-x"),
            "/apis/hive.openshift.io/v1/namespaces/cd/syncsets/addon-x"
        );
        assert_eq!(ss.qualified(), "syncsets.hive.openshift.io");
        assert_eq!(ss.kubectl_kind(), "syncset.hive.openshift.io");
        assert_eq!(ss.group_kind().to_string(), "SyncSet.hive.openshift.io");
        assert_eq!(
            describe(&ss, Some("cd"), "addon-x"),
            "syncsets.hive.openshift.io \"addon-x\" in namespace \"cd\""
        );
    }

    /// What indexing the parsed answer would find: `items` of a mapping
    /// when it is an array, nothing for any other shape.
    #[test]
    fn list_items_keeps_only_the_elements_of_a_lists_items() {
        let read = |text: &str| -> Vec<Value> {
            let keep = |item: Value| (item != Value::Null).then_some(item);
            let mut deserializer = serde_json::Deserializer::from_str(text);
            ListItems::new(&keep)
                .deserialize(&mut deserializer)
                .unwrap()
        };
        let kept = read(r#"{"kind": "List", "items": [{"a": 1}, null, 2], "x": [3]}"#);
        assert_eq!(
            kept,
            vec![serde_json::json!({"a": 1}), serde_json::json!(2)]
        );
        assert_eq!(
            read(r#"{"items": [1], "items": [4]}"#),
            vec![Value::from(4)]
        );
        for nothing in [
            r#"[{"items": [1]}]"#,
            r#"{"items": {"items": [1]}}"#,
            r#"{"items": "x"}"#,
            r#"{"other": [1]}"#,
            "true",
            "1",
            "-1",
            "1.5",
            r#""s""#,
            "null",
        ] {
            assert_eq!(read(nothing), Vec::<Value>::new(), "{nothing}");
        }
    }

    #[test]
    fn group_kinds_read_as_kubectl_writes_them() {
        let gk = GroupKind::parse("SelectorSyncSet.hive.openshift.io").unwrap();
        assert_eq!(gk.kind, "SelectorSyncSet");
        assert_eq!(gk.group, "hive.openshift.io");
        assert_eq!(GroupKind::parse("Secret").unwrap().group, "");
        assert_eq!(GroupKind::parse(""), None);
    }

    /// The body a real API server sends for an invalid name (kubectl apply
    /// of `Addon_Bad`).
    #[test]
    fn a_422_names_the_field_and_the_rule() {
        let status: Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "SelectorSyncSet.hive.openshift.io \"Addon_Bad\" is invalid: metadata.name: Invalid value: \"Addon_Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            "reason": "Invalid", "code": 422,
            "details": {"name": "Addon_Bad", "group": "hive.openshift.io", "kind": "SelectorSyncSet",
                "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: \"Addon_Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", "field": "metadata.name"}]}
        }))
        .unwrap();
        let (cause, message) = refusal(422, Some(&status), "");
        assert_eq!(cause, Cause::Invalid);
        assert!(
            message.starts_with("invalid: metadata.name: Invalid value: \"Addon_Bad\": a lowercase RFC 1123 subdomain"),
            "{message}"
        );
        assert!(message.ends_with("fix it in the input"), "{message}");
        // Without causes, the server's message is kept.
        let (_, plain) = refusal(422, None, "{\"oops\": 1}");
        assert!(plain.contains("oops"), "{plain}");
    }

    #[test]
    fn a_missing_namespace_is_its_own_cause() {
        let status: Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "namespaces \"redhat-x\" not found", "reason": "NotFound", "code": 404,
            "details": {"name": "redhat-x", "kind": "namespaces"}
        }))
        .unwrap();
        let (cause, message) = refusal(404, Some(&status), "");
        assert_eq!(cause, Cause::NoNamespace);
        assert!(
            message.contains("the namespace \"redhat-x\" does not exist"),
            "{message}"
        );
        assert_eq!(refusal(409, None, "").0, Cause::Conflict);
        assert_eq!(refusal(503, None, "").0, Cause::Unavailable);
        assert_eq!(refusal(401, None, "").0, Cause::Credentials);
    }
}
