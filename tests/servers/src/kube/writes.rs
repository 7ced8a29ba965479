//! Writes: server-side apply, merge patch, create (POST), update (PUT) and
//! delete. Every write goes through the API server's pipeline in its order:
//! NamespaceLifecycle admission (404 for a missing namespace), the kind's
//! defaults, `ValidateObjectMeta` (422), then storage. A dry run
//! (`dryRun=All`) goes through the same steps and stores nothing: a created
//! object comes back without a `resourceVersion`, a changed one with the
//! live one, and the server's resourceVersion does not move.
//!
//! Fields the kind's schema does not declare ([`super::openapi`]): an apply
//! that sends one fails as structured-merge-diff fails it (500, `field not
//! declared in schema`, as real servers still answer); other writes follow
//! `fieldValidation`: `Strict` is a 400, `Warn` (the default) drops the
//! field with a `Warning` header, `Ignore` drops it silently.
//!
//! Field ownership follows server-side apply: an apply owns what it sets and
//! conflicts (409) with another manager owning a field it sets to another
//! value; an update (merge patch, POST, PUT) takes the fields it changes from
//! whoever owned them. A write that changes nothing stores nothing (same
//! `resourceVersion`, same `managedFields`); a write that does sets the
//! writer's `managedFields` time, never another manager's.

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::fields::{
    changed_paths, content, get_path, json_merge_patch, leaf_paths, managed_fields, merge_into,
    overlaps, remove_path, same_ownership, strip_server_fields, Manager, Managers, Ownership, Path,
};
use super::openapi::{cached_schema, dotted, prune, undeclared_fields};
use super::status::{
    apply_conflict, details, forbidden, namespace_not_found, not_found, status, status_with,
    typed_patch_failure,
};
use super::validation::{invalid, object_meta_errors};
use super::{key, rfc3339, ResourceType, State, Stored, IMMORTAL_NAMESPACES};
use crate::http::HttpResponse;

/// `fieldValidation`: what a write that is not an apply does with fields the
/// kind does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// The query parameter's value; absent is `Warn`, the server's default.
    pub fn parse(value: Option<&str>) -> Result<FieldValidation, HttpResponse> {
        match value.unwrap_or("Warn") {
            "Ignore" => Ok(FieldValidation::Ignore),
            "Warn" | "" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            other => Err(status(
                400,
                "BadRequest",
                format!("fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""),
            )),
        }
    }
}

/// How a write that is not an apply is made: by whom (`fieldManager`, or
/// the client's user agent), what it does with undeclared fields, and
/// whether it is a dry run (`dryRun=All`: answered, not stored).
#[derive(Debug, Clone, Copy)]
pub(super) struct WriteOptions<'a> {
    pub(super) manager: &'a str,
    pub(super) validation: FieldValidation,
    pub(super) dry_run: bool,
}

impl WriteOptions<'_> {
    /// The manager entry an update by these options writes (an apply's is
    /// `Apply`).
    fn updater(&self) -> Manager {
        (self.manager.to_string(), "Update".to_string())
    }
}

/// What a write proposes, before the pipeline decides.
struct Write<'a> {
    rt: &'a ResourceType,
    namespace: &'a str,
    /// The name on the URL (or generated, for a POST).
    name: String,
    /// The stored object, when there is one.
    existing: Option<Stored>,
    /// A POST: an existing object is a 409 AlreadyExists, not an update.
    create_only: bool,
    /// The object to store (the server's metadata is set by the pipeline).
    object: Value,
    /// Field ownership after the write.
    managers: Managers,
    /// Whose entry's time a change sets.
    writer: Manager,
    dry_run: bool,
}

impl State {
    /// Whether the Namespace `name` exists (NamespaceLifecycle admission
    /// refuses to create anything in one that does not).
    pub(super) fn namespace_exists(&self, name: &str) -> bool {
        self.objects.contains_key(&(
            String::new(),
            "namespaces".into(),
            String::new(),
            name.into(),
        ))
    }

    /// Stores the Namespace `name` as if created before any client came.
    pub(super) fn seed_namespace(&mut self, name: &str) {
        let rt = ResourceType::new("v1", "Namespace", "namespaces", false);
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let response = self.commit(Write {
            rt: &rt,
            namespace: "",
            name: name.to_string(),
            existing: None,
            create_only: true,
            object,
            managers: Managers::new(),
            writer: (String::new(), String::new()),
            dry_run: false,
        });
        assert!(
            response.status < 300 || response.status == 409,
            "{name:?} cannot be a namespace: {}",
            String::from_utf8_lossy(&response.body)
        );
    }

    /// Deletes an object; a Namespace takes everything in it along (at once:
    /// a real server marks it `Terminating` and its controller empties it).
    pub(super) fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        dry_run: bool,
    ) -> HttpResponse {
        let Some(stored) = self.objects.get(&key(rt, namespace, name)) else {
            return not_found(rt, name);
        };
        let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
        if is_namespace && IMMORTAL_NAMESPACES.contains(&name) {
            return forbidden(rt, name, "this namespace may not be deleted");
        }
        let mut deleted = details(&rt.group, &rt.plural, name);
        deleted["uid"] = stored.object["metadata"]["uid"].clone();
        if !dry_run {
            self.objects.remove(&key(rt, namespace, name));
            if is_namespace {
                self.objects.retain(|(_, _, ns, _), _| ns != name);
            }
        }
        status_with(200, "", "", Some(deleted))
    }

    /// Server-side apply (`application/apply-patch+yaml`) of `body` by `manager`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        manager: &str,
        force: bool,
        dry_run: bool,
    ) -> HttpResponse {
        if let Some(refusal) = refused_apply(rt, namespace, name, &body) {
            return refusal;
        }
        let mut applied = body;
        strip_server_fields(&mut applied);
        let applied_paths = leaf_paths(&applied);
        let existing = self.objects.get(&key(rt, namespace, name)).cloned();
        let (live, mut managers) = match &existing {
            Some(stored) => (stored.object.clone(), stored.managers.clone()),
            None => (json!({}), Managers::new()),
        };
        let applier: Manager = (manager.to_string(), "Apply".to_string());
        // Conflicts: another manager owns a field we set to a different value.
        let conflicts: Vec<(Manager, Path)> = managers
            .iter()
            .filter(|(m, _)| **m != applier)
            .flat_map(|(m, entry)| {
                entry
                    .fields
                    .iter()
                    .filter(|path| {
                        applied_paths.contains(*path)
                            && get_path(&live, path) != get_path(&applied, path)
                    })
                    .map(move |path| (m.clone(), path.clone()))
            })
            .collect();
        if !conflicts.is_empty() && !force {
            return apply_conflict(&conflicts, &managers, &rt.api_version());
        }
        // Forced: the conflicting fields change hands.
        for (other, path) in &conflicts {
            if let Some(entry) = managers.get_mut(other) {
                entry.fields.remove(path);
            }
        }
        // Fields this manager applied before and no longer does, owned by
        // nobody else, go.
        let previous: BTreeSet<Path> = managers
            .get(&applier)
            .map(|entry| entry.fields.clone())
            .unwrap_or_default();
        let others: BTreeSet<Path> = managers
            .iter()
            .filter(|(m, _)| **m != applier)
            .flat_map(|(_, entry)| entry.fields.iter().cloned())
            .collect();
        let mut object = live;
        for path in previous
            .iter()
            .filter(|p| !applied_paths.contains(*p) && !others.contains(*p))
        {
            remove_path(&mut object, path);
        }
        merge_into(&mut object, applied);
        let time = managers
            .get(&applier)
            .map(|entry| entry.time.clone())
            .unwrap_or_default();
        managers.insert(
            applier.clone(),
            Ownership {
                fields: applied_paths,
                time,
            },
        );
        self.commit(Write {
            rt,
            namespace,
            name: name.to_string(),
            existing,
            create_only: false,
            object,
            managers,
            writer: applier,
            dry_run,
        })
    }

    /// A JSON merge patch (RFC 7386) of an existing object; a strategic merge
    /// patch of a built-in kind is read the same way once its `$` directives
    /// are dropped (none of our built-in kinds has a list with a merge key).
    pub(super) fn merge_patch(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        patch: &Value,
        options: WriteOptions,
    ) -> HttpResponse {
        let Some(stored) = self.objects.get(&key(rt, namespace, name)).cloned() else {
            return not_found(rt, name);
        };
        let mut object = stored.object.clone();
        json_merge_patch(&mut object, &without_directives(patch));
        if let Some(response) = check_identity(rt, namespace, Some(name), &object) {
            return response;
        }
        self.update_with(rt, namespace, name, stored, object, options)
    }

    /// PUT: replaces an existing object. A `resourceVersion` in the body must
    /// be the live one (optimistic concurrency).
    pub(super) fn replace(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        options: WriteOptions,
    ) -> HttpResponse {
        if let Some(response) = check_identity(rt, namespace, Some(name), &body) {
            return response;
        }
        let Some(stored) = self.objects.get(&key(rt, namespace, name)).cloned() else {
            return not_found(rt, name);
        };
        let wanted = body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !wanted.is_empty()
            && Some(wanted) != stored.object["metadata"]["resourceVersion"].as_str()
        {
            return status_with(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again", rt.qualified()),
                Some(details(&rt.group, &rt.plural, name)),
            );
        }
        self.update_with(rt, namespace, name, stored, body, options)
    }

    /// POST: creates an object; `metadata.generateName` makes up its name.
    pub(super) fn create(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        body: Value,
        options: WriteOptions,
    ) -> HttpResponse {
        if let Some(response) = check_identity(rt, namespace, None, &body) {
            return response;
        }
        let mut object = body;
        let warnings = match cleaned(rt, &mut object, options.validation) {
            Ok(warnings) => warnings,
            Err(refusal) => return refusal,
        };
        let mut name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let prefix = object["metadata"]["generateName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() && !prefix.is_empty() {
            name = format!("{prefix}{}", self.random_suffix());
            object["metadata"]["name"] = json!(name);
        }
        let writer = options.updater();
        let mut managers = Managers::new();
        managers.insert(
            writer.clone(),
            Ownership {
                fields: leaf_paths(&object),
                time: String::new(),
            },
        );
        let existing = self.objects.get(&key(rt, namespace, &name)).cloned();
        let response = self.commit(Write {
            rt,
            namespace,
            name,
            existing,
            create_only: true,
            object,
            managers,
            writer,
            dry_run: options.dry_run,
        });
        with_warnings(response, &warnings)
    }

    /// An update (merge patch or PUT) of `stored` to `object`: the manager
    /// takes the fields it changed from whoever owned them.
    fn update_with(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        stored: Stored,
        mut object: Value,
        options: WriteOptions,
    ) -> HttpResponse {
        let warnings = match cleaned(rt, &mut object, options.validation) {
            Ok(warnings) => warnings,
            Err(refusal) => return refusal,
        };
        // The main resource does not write status (the status subresource does).
        if let Some(status) = stored.object.get("status") {
            object["status"] = status.clone();
        }
        let changed = changed_paths(&content(&stored.object), &content(&object));
        let writer = options.updater();
        let mut managers = stored.managers.clone();
        for (m, entry) in managers.iter_mut() {
            if *m != writer {
                entry
                    .fields
                    .retain(|p| !changed.iter().any(|c| overlaps(p, c)));
            }
        }
        let now_present: BTreeSet<Path> = changed
            .into_iter()
            .filter(|p| get_path(&object, p).is_some())
            .collect();
        let entry = managers.entry(writer.clone()).or_insert_with(|| Ownership {
            fields: BTreeSet::new(),
            time: String::new(),
        });
        entry.fields.extend(now_present);
        let response = self.commit(Write {
            rt,
            namespace,
            name: name.to_string(),
            existing: Some(stored),
            create_only: false,
            object,
            managers,
            writer,
            dry_run: options.dry_run,
        });
        with_warnings(response, &warnings)
    }

    /// Admission, defaults, validation, then storage (see the module doc).
    fn commit(&mut self, mut write: Write) -> HttpResponse {
        let rt = write.rt;
        let created = write.existing.is_none();
        if created && rt.namespaced && !self.namespace_exists(write.namespace) {
            return namespace_not_found(write.namespace);
        }
        if rt.namespaced {
            write.object["metadata"]["namespace"] = json!(write.namespace);
        }
        set_defaults(rt, &mut write.object);
        let errors = object_meta_errors(rt, &write.object);
        if !errors.is_empty() {
            return invalid(rt, &write.name, &errors);
        }
        if let (Some(_), true) = (&write.existing, write.create_only) {
            return status_with(
                409,
                "AlreadyExists",
                format!("{} {:?} already exists", rt.qualified(), write.name),
                Some(details(&rt.group, &rt.plural, &write.name)),
            );
        }
        write.managers.retain(|_, entry| !entry.fields.is_empty());
        if let Some(stored) = &write.existing {
            if content(&stored.object) == content(&write.object)
                && same_ownership(&stored.managers, &write.managers)
            {
                return HttpResponse::json(200, &stored.object);
            }
        }
        let now = rfc3339(SystemTime::now());
        if let Some(entry) = write.managers.get_mut(&write.writer) {
            entry.time = now.clone();
        }
        let live = write.existing.as_ref().map(|s| &s.object);
        let spec_changed =
            live.is_none_or(|live| generation_fields(live) != generation_fields(&write.object));
        let mut object = write.object;
        let metadata = &mut object["metadata"];
        match live {
            None => {
                let uid = if write.dry_run {
                    self.uid + 1
                } else {
                    self.uid += 1;
                    self.uid
                };
                metadata["uid"] = json!(format!("00000000-0000-4000-8000-{uid:012x}"));
                metadata["creationTimestamp"] = json!(now);
            }
            Some(live) => {
                for field in ["uid", "creationTimestamp"] {
                    metadata[field] = live["metadata"][field].clone();
                }
            }
        }
        // Custom resources count spec changes in `generation`; the built-in
        // kinds served here (Namespace, ConfigMap, Secret) have none.
        if !rt.group.is_empty() {
            let previous = live
                .and_then(|l| l["metadata"]["generation"].as_i64())
                .unwrap_or(0);
            metadata["generation"] = json!(if spec_changed {
                previous + 1
            } else {
                previous.max(1)
            });
        }
        match (write.dry_run, live) {
            (false, _) => metadata["resourceVersion"] = json!(self.next_resource_version()),
            (true, Some(live)) => {
                metadata["resourceVersion"] = live["metadata"]["resourceVersion"].clone()
            }
            (true, None) => {
                if let Some(map) = metadata.as_object_mut() {
                    map.remove("resourceVersion");
                }
            }
        }
        if write.managers.is_empty() {
            if let Some(map) = metadata.as_object_mut() {
                map.remove("managedFields");
            }
        } else {
            metadata["managedFields"] = managed_fields(&write.managers, &rt.api_version());
        }
        if !write.dry_run {
            let changed_at = match &write.existing {
                Some(stored) if !spec_changed => stored.changed_at,
                _ => Instant::now(),
            };
            // Written first, so the object is stored without a copy.
            let response = HttpResponse::json(if created { 201 } else { 200 }, &object);
            self.objects.insert(
                key(rt, write.namespace, &write.name),
                Stored {
                    object,
                    managers: write.managers,
                    changed_at,
                },
            );
            return response;
        }
        HttpResponse::json(if created { 201 } else { 200 }, &object)
    }

    pub(super) fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// Five characters from the alphabet apimachinery's `SimpleNameGenerator`
    /// draws from (no vowels, no look-alikes).
    fn random_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        let mut seed = nanos ^ (self.resource_version << 20) ^ self.uid;
        (0..5)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ALPHABET[((seed >> 33) % ALPHABET.len() as u64) as usize] as char
            })
            .collect()
    }
}

/// Applies `fieldValidation` to the fields the schema does not declare:
/// the warnings to send, or the refusal.
fn drop_undeclared(
    rt: &ResourceType,
    object: &mut Value,
    validation: FieldValidation,
) -> Result<Vec<String>, HttpResponse> {
    let undeclared = undeclared_fields(&cached_schema(rt), object);
    let unknown: Vec<String> = undeclared
        .iter()
        .map(|path| format!("unknown field {:?}", dotted(path).trim_start_matches('.')))
        .collect();
    if validation == FieldValidation::Strict && !unknown.is_empty() {
        return Err(status(
            400,
            "BadRequest",
            format!(
                "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
                unknown.join(", "),
                kind = rt.kind,
                version = rt.version
            ),
        ));
    }
    prune(object, &undeclared);
    Ok(match validation {
        FieldValidation::Warn => unknown,
        _ => Vec::new(),
    })
}

/// Each warning as a `Warning: 299 - "..."` header (RFC 7234), on success.
fn with_warnings(mut response: HttpResponse, warnings: &[String]) -> HttpResponse {
    if response.status < 300 {
        for warning in warnings {
            response = response.header("Warning", format!("299 - {warning:?}"));
        }
    }
    response
}

/// Everything but `metadata` and `status`: a change there is a new generation.
fn generation_fields(object: &Value) -> Value {
    let mut copy = content(object);
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
    }
    copy
}

/// A strategic merge patch without its `$` directives (`$patch`,
/// `$retainKeys`, `$setElementOrder/...`, `$deleteFromPrimitiveList/...`).
fn without_directives(patch: &Value) -> Value {
    match patch {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the API server sets on every write of a kind (its strategy's
/// `PrepareForCreate`/`PrepareForUpdate`): a Namespace carries its name as
/// the `kubernetes.io/metadata.name` label, the `kubernetes` finalizer and
/// the `Active` phase.
fn set_defaults(rt: &ResourceType, object: &mut Value) {
    if !(rt.group.is_empty() && rt.plural == "namespaces") {
        return;
    }
    let name = object["metadata"]["name"].clone();
    if name.is_string() {
        object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    }
    if object["spec"]["finalizers"].is_null() {
        object["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    object["status"] = json!({"phase": "Active"});
}

/// Why an apply of `body` is refused before it is compared with anything:
/// it names another object than the URL, sets `managedFields`, or sets a
/// field the kind does not declare (structured-merge-diff's 500).
fn refused_apply(
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    body: &Value,
) -> Option<HttpResponse> {
    if let Some(response) = check_identity(rt, namespace, Some(name), body) {
        return Some(response);
    }
    if body["metadata"].get("managedFields").is_some() {
        return Some(status(
            400,
            "BadRequest",
            "metadata.managedFields must be nil",
        ));
    }
    let undeclared = undeclared_fields(&cached_schema(rt), body);
    (!undeclared.is_empty()).then(|| typed_patch_failure(rt, namespace, name, &undeclared))
}

/// What an update (POST, PUT, merge patch) does first to the object it
/// stores: fields the kind does not declare dropped (or refused) as
/// `validation` says, the server's own fields stripped. The warnings to send.
fn cleaned(
    rt: &ResourceType,
    object: &mut Value,
    validation: FieldValidation,
) -> Result<Vec<String>, HttpResponse> {
    let warnings = drop_undeclared(rt, object, validation)?;
    strip_server_fields(object);
    Ok(warnings)
}

/// The URL and the body must name the same object (`name` is `None` for a
/// POST, where the body alone names it).
fn check_identity(
    rt: &ResourceType,
    namespace: &str,
    name: Option<&str>,
    body: &Value,
) -> Option<HttpResponse> {
    let bad_request = |message: String| Some(status(400, "BadRequest", message));
    if body["apiVersion"].as_str() != Some(rt.api_version().as_str())
        || body["kind"].as_str() != Some(rt.kind.as_str())
    {
        return bad_request(format!(
            "the body is {} {}, but the URL names {} {}",
            body["apiVersion"],
            body["kind"],
            rt.api_version(),
            rt.kind
        ));
    }
    if let Some(name) = name {
        if body["metadata"]["name"].as_str() != Some(name) {
            return bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                body["metadata"]["name"].as_str().unwrap_or_default()
            ));
        }
    }
    match body["metadata"]["namespace"].as_str() {
        Some(ns) if ns != namespace && rt.namespaced => bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_string(),
        ),
        _ => None,
    }
}
