//! `--prune=all`: the input is the whole desired state of the fleet, and
//! the objects it applied form a Kubernetes ApplySet ([`crate::applyset`]).
//!
//! In kubectl's order: the set's members are listed (each kind the parent
//! records, and the input's, in each recorded namespace, by the `part-of`
//! label); the parent is updated to the union of what it recorded and what
//! the input holds; every input object is applied with the label, except
//! one that is live exactly as we would apply it; then members the input no
//! longer holds are deleted, and the parent is narrowed to what is left.
//!
//! A prune deletes only on proof: the input ends with an inventory of the
//! whole environment ([`Inventory::for_prune`]), and the member's add-on
//! (its [`ADDON_LABEL`]) either left the tree or is in this input and no
//! longer renders it. An add-on the inventory lists but the input lacks
//! failed upstream: its members are kept. `--max-deletions` caps the rest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use common::cli::error::Location;
use common::model::inventory::{check_deletions, Inventory, ADDON_LABEL};
use common::{Error, Result};
use serde_json::{json, Value};

use crate::answer::Answer;
use crate::api::{KubeClient, Resource};
use crate::apply::{
    self, applied_by, delete_stale, live_key, parallel_map, ApplyOptions, Done, DryRun, ObjectKey,
    Outcome, Planned, Stale,
};
use crate::applyset::{ApplySet, ParentRef, Scope, PART_OF};
use crate::objects::compact;
use crate::report::Report;

/// The annotation holding the sha256 of the object as we last applied it.
pub const APPLIED_DIGEST: &str = "addon-flow.openshift.io/applied-digest";

/// What `--prune=all` needs beyond the objects.
pub struct Settings<'a> {
    /// Where the input came from, for the refusals.
    pub input: Location,
    pub inventory: Option<&'a Inventory>,
    /// Why the inventory, though present, does not prove the input whole.
    pub unproven: Option<&'a str>,
    /// The set's parent, when it can be named (`--applyset`, or the inventory's environment).
    pub parent: Option<ParentRef>,
    pub max_deletions: usize,
}

/// What a prune needs of a live object, read from it as it is listed.
#[derive(Debug)]
struct LiveObject {
    resource: Arc<Resource>,
    /// Its add-on ([`ADDON_LABEL`]): whether the inventory lets it go.
    addon: Option<String>,
    /// Its set ([`PART_OF`]): kept when no set can be named.
    part_of: Option<String>,
    /// The object in brief, when it is live exactly as the input's object
    /// of its key would be applied: it is not sent again.
    unchanged: Option<Answer>,
}

/// The live objects found before applying, by key.
type Live = BTreeMap<ObjectKey, LiveObject>;

/// Reads a listed object (of `resource`) into what a prune keeps of it.
type Judge<'a> = dyn Fn(&Arc<Resource>, Value) -> (ObjectKey, LiveObject) + Sync + 'a;

/// Runs `--prune=all` over the planned objects, recording in `report` what
/// was done, what failed and why the prune may have been refused. An
/// error is returned only before anything was written.
pub fn run(
    client: &KubeClient,
    mut planned: Vec<Planned>,
    settings: &Settings,
    options: &ApplyOptions,
    report: &mut Report,
) -> Result<()> {
    let mut applyset = match &settings.parent {
        Some(parent) => Some(ApplySet::fetch(client, parent.clone()).map_err(Error::from)?),
        None => None,
    };
    let input_scope = scope_of(&planned);
    let set_id = applyset.as_ref().map(|set| set.id.clone());
    for p in planned.iter_mut() {
        p.member_of = set_id.clone();
        p.annotate = true;
    }
    let by_key: HashMap<ObjectKey, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key(), i))
        .collect();
    let read_live = |resource: &Arc<Resource>, object: Value| {
        let key = live_key(resource, &object);
        let labels = &object["metadata"]["labels"];
        let part_of = labels[PART_OF].as_str().map(str::to_string);
        let unchanged = match (options.dry_run, by_key.get(&key)) {
            (DryRun::None, Some(&i)) => {
                let p = &planned[i];
                // Without a set to name, an object keeps the set it is in.
                let member_of = match (&p.member_of, &p.manifest.part_of) {
                    (None, None) => part_of.as_deref(),
                    (member_of, _) => member_of.as_deref(),
                };
                applies_unchanged(&object, p, member_of, client.field_manager())
                    .then(|| in_brief(&object, options))
            }
            _ => None,
        };
        let addon = labels[ADDON_LABEL].as_str().map(str::to_string);
        let live = LiveObject {
            resource: resource.clone(),
            addon,
            part_of,
            unchanged,
        };
        (key, live)
    };
    let (lists, selector) = match &applyset {
        Some(set) => {
            let scope = set.recorded.union(&input_scope);
            let lists = member_lists(client, &scope, &planned, report);
            (lists, Some((PART_OF, set.id.as_str())))
        }
        None => (input_lists(&planned), None),
    };
    let mut live = list_all(client, &lists, selector, options, report, &read_live);
    match &applyset {
        Some(set) => check_membership(&planned, &set.id, &settings.input)?,
        // No set to name: each object keeps the membership it has, so that
        // applying it does not take it out of its set.
        None => keep_membership(&mut planned, &live),
    }

    let to_apply = if options.dry_run == DryRun::None && report.is_clean() {
        let (to_apply, unchanged) = split_unchanged(planned, &mut live);
        report.done.extend(unchanged);
        to_apply
    } else {
        planned
    };
    if let Some(set) = applyset
        .as_mut()
        .filter(|_| options.dry_run != DryRun::Client)
    {
        // Before any member is applied: a member of a kind or namespace the
        // parent does not record would be out of every later prune's sight.
        let superset = set.recorded.union(&input_scope);
        if let Err(err) = set.record(client, &superset, options.server_dry_run()) {
            report.fail(set.parent.describe(), err);
            return Ok(());
        }
    }
    if options.dry_run == DryRun::Client {
        report.done.extend(apply::would_apply(&to_apply, options));
    } else {
        let results = apply::run(client, &to_apply, options);
        report.record_done(to_apply.iter().map(|p| p.manifest.describe()).zip(results));
    }
    if !report.is_clean() {
        // The parent keeps the union: nothing is lost from the set's sight.
        return Ok(());
    }

    let proof = match settings.unproven {
        Some(why) => Err(why.to_string()),
        None => Inventory::for_prune(settings.inventory).map_err(|refusal| refusal.to_string()),
    };
    let inventory = match proof {
        Ok(inventory) => inventory,
        Err(refusal) => {
            let applied = match options.dry_run {
                DryRun::None => "the objects were applied",
                _ => "a dry run writes nothing",
            };
            report.refuse(Error::input(
                settings.input.clone(),
                format!("--prune=all refused: {refusal}; nothing was deleted ({applied})"),
            ));
            return Ok(());
        }
    };
    let Some(mut set) = applyset else {
        // An inventory always names the parent (`addon-flow-<environment>`).
        return Err(Error::internal(
            "--prune=all has an inventory but no ApplySet parent",
        ));
    };
    prune_members(
        client,
        &mut set,
        live,
        inventory,
        settings,
        options,
        report,
        &input_scope,
    );
    Ok(())
}

/// Deletes the members the input no longer holds, on the inventory's proof,
/// within the cap; then narrows the parent to what is left.
#[allow(clippy::too_many_arguments)]
fn prune_members(
    client: &KubeClient,
    set: &mut ApplySet,
    live: Live,
    inventory: &Inventory,
    settings: &Settings,
    options: &ApplyOptions,
    report: &mut Report,
    input_scope: &Scope,
) {
    let applied: BTreeSet<ObjectKey> = report.done.iter().map(done_key).collect();
    let input_addons: BTreeSet<String> = report
        .done
        .iter()
        .filter_map(|d| d.object.as_ref()?.addon.clone())
        .collect();
    let mut stale = Vec::new();
    let mut kept_scope = input_scope.clone();
    let mut kept: BTreeMap<Kept, Vec<String>> = BTreeMap::new();
    for (key, object) in live.into_iter().filter(|(key, _)| !applied.contains(key)) {
        let resource = object.resource;
        match judge(object.addon.as_deref(), inventory, &input_addons) {
            None => stale.push(Stale {
                resource,
                namespace: key.2,
                name: key.3,
            }),
            Some(why) => {
                kept_scope.add(&resource, key.2.as_deref());
                kept.entry(why).or_default().push(apply::object_name(
                    &resource,
                    key.2.as_deref(),
                    &key.3,
                ));
            }
        }
    }
    for (why, objects) in &kept {
        report.note(why.explain(inventory, objects));
    }
    if let Err(message) = check_deletions(stale.len(), settings.max_deletions) {
        for s in &stale {
            report.note(format!(
                "would prune {}{}",
                s.describe(),
                options.dry_run.mark()
            ));
        }
        report.refuse(Error::input(settings.input.clone(), message));
        return;
    }
    let results = delete_stale(client, &stale, options);
    report.record_done(stale.iter().map(Stale::describe).zip(results));
    if report.is_clean() && options.dry_run != DryRun::Client {
        if let Err(err) = set.record(client, &kept_scope, options.server_dry_run()) {
            report.fail(set.parent.describe(), err);
        }
    }
}

/// Why a member the input lacks is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kept {
    /// Its add-on is in the inventory but not in the input: it failed upstream.
    FailedUpstream(String),
    /// It names no add-on, so the inventory cannot vouch for its removal.
    NoAddon,
}

impl Kept {
    fn explain(&self, inventory: &Inventory, objects: &[String]) -> String {
        match self {
            Kept::FailedUpstream(addon) => {
                let stages: BTreeSet<&str> = inventory
                    .failed
                    .iter()
                    .filter(|f| f.id.as_deref() == Some(addon.as_str()))
                    .map(|f| f.stage.as_str())
                    .collect();
                let how = if stages.is_empty() {
                    "it did not reach this stage".to_string()
                } else {
                    format!("it failed in {}", stages.into_iter().collect::<Vec<_>>().join(", "))
                };
                format!(
                    "kept the {} object(s) of add-on {addon}: the inventory lists it but the input lacks it ({how})",
                    objects.len()
                )
            }
            Kept::NoAddon => format!(
                "kept {} object(s) of the set without the {ADDON_LABEL} label (the inventory cannot say they left the tree): {}",
                objects.len(),
                shown(objects)
            ),
        }
    }
}

fn shown(objects: &[String]) -> String {
    let mut text = objects
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > 5 {
        text.push_str(&format!(" and {} more", objects.len() - 5));
    }
    text
}

/// Whether a member the input lacks (of add-on `addon`, by its label) may
/// go (`None`) or why it stays.
fn judge(
    addon: Option<&str>,
    inventory: &Inventory,
    input_addons: &BTreeSet<String>,
) -> Option<Kept> {
    let Some(addon) = addon else {
        return Some(Kept::NoAddon);
    };
    let failed = inventory
        .failed
        .iter()
        .any(|f| f.id.as_deref() == Some(addon));
    if !inventory.holds(addon) {
        // The add-on left the tree.
        return None;
    }
    if input_addons.contains(addon) && !failed {
        // The add-on is here and no longer renders this object.
        return None;
    }
    Some(Kept::FailedUpstream(addon.to_string()))
}

fn done_key(done: &Done) -> ObjectKey {
    (
        done.resource.group().to_string(),
        done.resource.kind.clone(),
        done.namespace.clone(),
        done.name.clone(),
    )
}

/// The kinds and namespaces of the planned objects.
fn scope_of(planned: &[Planned]) -> Scope {
    let mut scope = Scope::default();
    for p in planned {
        scope.add(&p.resource, p.namespace.as_deref());
    }
    scope
}

/// One list call: a kind, in a namespace when it is namespaced.
type Listing = (Arc<Resource>, Option<String>);

/// What to list for the set's members (by the `part-of` label): each kind
/// of `scope` (at the input's version when the input has it, else the
/// group's preferred one; a kind no longer served has no objects), in each
/// namespace of `scope` when namespaced.
fn member_lists(
    client: &KubeClient,
    scope: &Scope,
    planned: &[Planned],
    report: &mut Report,
) -> Vec<Listing> {
    let mut lists: Vec<Listing> = Vec::new();
    for group_kind in &scope.group_kinds {
        let resource = match planned
            .iter()
            .find(|p| &p.resource.group_kind() == group_kind)
        {
            Some(p) => p.resource.clone(),
            None => match client.resource_of(group_kind) {
                Ok(Some(resource)) => Arc::new(resource),
                Ok(None) => {
                    report.note(format!(
                        "the set records kind {group_kind}, which the server no longer serves: it has no objects left"
                    ));
                    continue;
                }
                Err(err) => {
                    report.fail(format!("the set's kind {group_kind}"), err);
                    continue;
                }
            },
        };
        if resource.namespaced {
            lists.extend(
                scope
                    .namespaces
                    .iter()
                    .map(|ns| (resource.clone(), Some(ns.clone()))),
            );
        } else {
            lists.push((resource, None));
        }
    }
    lists
}

/// What to list without a set: the input's kinds, in its namespaces.
fn input_lists(planned: &[Planned]) -> Vec<Listing> {
    let mut lists: Vec<Listing> = Vec::new();
    for p in planned {
        let list = (p.resource.clone(), p.namespace.clone());
        if !lists.contains(&list) {
            lists.push(list);
        }
    }
    lists
}

fn list_all(
    client: &KubeClient,
    lists: &[Listing],
    selector: Option<(&str, &str)>,
    options: &ApplyOptions,
    report: &mut Report,
    read: &Judge,
) -> Live {
    let results = parallel_map(lists, options.concurrency, |(resource, namespace)| {
        client.list(resource, namespace.as_deref(), selector, |item| {
            read(resource, item)
        })
    });
    let mut live = Live::new();
    let what = lists.iter().map(|(resource, namespace)| match namespace {
        Some(ns) => format!("the {} in namespace {ns}", resource.qualified()),
        None => format!("the {}", resource.qualified()),
    });
    for items in report.record(what.zip(results)) {
        live.extend(items);
    }
    live
}

/// An input that sets the set label itself, to another set, is refused:
/// the object cannot be in two.
fn check_membership(planned: &[Planned], id: &str, input: &Location) -> Result<()> {
    for p in planned {
        if let Some(other) = p.manifest.part_of.as_deref().filter(|v| *v != id) {
            return Err(Error::input(
                input.clone().field(format!("{}.metadata.labels[{PART_OF}]", p.manifest.at)),
                format!("is {other:?}, but --prune=all makes the object a member of {id}; remove the label"),
            ));
        }
    }
    Ok(())
}

/// Gives each object the `part-of` label its live copy has.
fn keep_membership(planned: &mut [Planned], live: &Live) {
    for p in planned.iter_mut() {
        let live_set = live.get(&p.key()).and_then(|l| l.part_of.clone());
        if let (Some(id), None) = (live_set, &p.manifest.part_of) {
            p.member_of = Some(id);
        }
    }
}

/// Sets label `key` of an object (with its metadata) to `value`.
pub fn set_label(object: &mut Value, key: &str, value: &str) {
    set_metadata_entry(object, "labels", key, value);
}

/// Sets annotation `key` of an object (with its metadata) to `value`.
pub fn set_annotation(object: &mut Value, key: &str, value: &str) {
    set_metadata_entry(object, "annotations", key, value);
}

fn set_metadata_entry(object: &mut Value, map: &str, key: &str, value: &str) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let entries = metadata.entry(map).or_insert_with(|| json!({}));
        if let Some(entries) = entries.as_object_mut() {
            entries.insert(key.into(), json!(value));
        }
    }
}

/// The digest of what we apply for one object (before the annotation is added).
pub fn applied_digest(object: &Value) -> String {
    let text = serde_json::to_string(object).unwrap_or_default();
    common::oci::sha256_digest(text.as_bytes())
}

/// Whether the live object is exactly what applying `planned` (as a
/// member of `member_of`) would make it. Our digest annotation says what we
/// applied last; it is not proof that nobody changed it since, so every
/// field we apply must also hold our value live. An object another manager
/// changed is applied again, which restores it or reports the conflict, as
/// plain hive-apply does.
fn applies_unchanged(
    live: &Value,
    planned: &Planned,
    member_of: Option<&str>,
    field_manager: &str,
) -> bool {
    let live_digest = &live["metadata"]["annotations"][APPLIED_DIGEST];
    if !live_digest.is_string() || !applied_by(live, field_manager) {
        return false;
    }
    let (wanted, digest) = planned.prepared_with(member_of);
    digest.is_some_and(|digest| live_digest == digest.as_str()) && holds(live, &wanted, true)
}

/// A live object as a result: in brief, and whole when the output prints it.
fn in_brief(object: &Value, options: &ApplyOptions) -> Answer {
    let answer = Answer::of(object);
    match options.keep_objects {
        true => answer.keeping(compact(object).into_bytes()),
        false => answer,
    }
}

/// Splits the objects into those to apply and those live exactly as we
/// would apply them (done, `unchanged`, and out of the live set: pruning
/// never needs them again).
fn split_unchanged(planned: Vec<Planned>, live: &mut Live) -> (Vec<Planned>, Vec<Done>) {
    let mut to_apply = Vec::new();
    let mut unchanged = Vec::new();
    for p in planned {
        let key = p.key();
        let same = live.get(&key).is_some_and(|l| l.unchanged.is_some());
        match same.then(|| live.remove(&key)).flatten() {
            Some(object) => unchanged.push(Done {
                resource: object.resource,
                namespace: p.namespace,
                name: p.manifest.name,
                outcome: Outcome::Unchanged,
                object: object.unchanged,
            }),
            None => to_apply.push(p),
        }
    }
    (to_apply, unchanged)
}

/// Whether `live` holds every field of `wanted` with the same value (maps
/// field by field, anything else whole). `apiVersion` and `kind` of the
/// object itself are not compared: a list's items may leave them out.
fn holds(live: &Value, wanted: &Value, top: bool) -> bool {
    match (live, wanted) {
        (Value::Object(live), Value::Object(wanted)) => wanted.iter().all(|(key, value)| {
            (top && (key == "apiVersion" || key == "kind"))
                || live.get(key).is_some_and(|l| holds(l, value, false))
        }),
        _ => live == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::inventory::Scope as InventoryScope;

    #[test]
    fn the_digest_is_of_the_content_before_annotation() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
        assert_ne!(applied_digest(&object), applied_digest(&changed));
    }

    #[test]
    fn live_holds_what_we_apply_only_when_every_field_agrees() {
        let wanted = json!({"apiVersion": "hive.openshift.io/v1", "kind": "SelectorSyncSet",
            "metadata": {"name": "a", "labels": {"x": "1"}},
            "spec": {"resourceApplyMode": "Sync", "resources": [{"kind": "Namespace"}]}});
        let mut live = wanted.clone();
        live["metadata"]["resourceVersion"] = json!("7");
        live["metadata"]["labels"]["added-by-someone"] = json!("y");
        live.as_object_mut().unwrap().remove("kind");
        assert!(
            holds(&live, &wanted, true),
            "fields of others and server fields are not ours"
        );
        let mut edited = live.clone();
        edited["spec"]["resourceApplyMode"] = json!("Upsert");
        assert!(
            !holds(&edited, &wanted, true),
            "another manager changed our field"
        );
        let mut removed = live.clone();
        removed["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("x");
        assert!(!holds(&removed, &wanted, true));
        let mut longer = live.clone();
        longer["spec"]["resources"] = json!([{"kind": "Namespace"}, {"kind": "Secret"}]);
        assert!(!holds(&longer, &wanted, true), "a list is compared whole");
    }

    fn inventory(addons: &[&str], failed: &[&str]) -> Inventory {
        let mut inventory = Inventory::new(
            "stage",
            InventoryScope::Whole,
            None,
            addons.iter().map(|a| a.to_string()).collect(),
        );
        for id in failed {
            inventory.record_failure(Some(id), "catalog-build");
        }
        inventory
    }

    #[test]
    fn a_member_goes_only_when_its_add_on_left_or_no_longer_renders_it() {
        let inventory = inventory(&["here", "failed", "missing"], &["failed"]);
        let input: BTreeSet<String> = ["here".to_string()].into();
        assert_eq!(
            judge(Some("gone"), &inventory, &input),
            None,
            "left the tree"
        );
        assert_eq!(
            judge(Some("here"), &inventory, &input),
            None,
            "no longer rendered"
        );
        assert_eq!(
            judge(Some("failed"), &inventory, &input),
            Some(Kept::FailedUpstream("failed".into()))
        );
        assert_eq!(
            judge(Some("missing"), &inventory, &input),
            Some(Kept::FailedUpstream("missing".into())),
            "listed but absent: it failed upstream"
        );
        assert_eq!(judge(None, &inventory, &input), Some(Kept::NoAddon));
        let note =
            Kept::FailedUpstream("failed".into()).explain(&inventory, &["a".into(), "b".into()]);
        assert_eq!(
            note,
            "kept the 2 object(s) of add-on failed: the inventory lists it but the input lacks it (it failed in catalog-build)"
        );
    }
}
