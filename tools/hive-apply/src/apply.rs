//! Planning (each object's kind resolved and namespace placed), and
//! applying (or deleting) many objects with bounded concurrency, each sent
//! straight from its compact text and its answer kept in brief.
//!
//! Every step is idempotent (server-side apply, merge patch, delete of what
//! may be gone), so after a failure of the server's (unreachable, 5xx)
//! running the same command again finishes the job without losing or
//! duplicating an object.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::cli::parallel::{for_each_in_order, worker_panic, WorkerStack};

use common::Error;
use serde_json::{json, Value};

use crate::answer::Answer;
use crate::api::{Cause, KubeClient, KubeError, KubeResult, Resource};
use crate::applyset::PART_OF;
use crate::objects::{compact, Manifest};
use crate::prune::{applied_digest, set_annotation, set_label, APPLIED_DIGEST};

/// What was done to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Created,
    /// Applied over an existing object (changed or not).
    Applied,
    Deleted,
    /// Deleted by `--prune`: no longer in the input.
    Pruned,
    /// `--prune=all`: live exactly as we would apply it; not sent again.
    Unchanged,
    AlreadyGone,
}

impl Outcome {
    pub fn verb(&self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Applied => "serverside-applied",
            Outcome::Deleted => "deleted",
            Outcome::Pruned => "pruned",
            Outcome::Unchanged => "unchanged",
            Outcome::AlreadyGone => "already gone",
        }
    }
}

/// `--dry-run`: what a run may change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Apply and delete for real.
    #[default]
    None,
    /// The API server checks every write and stores nothing (`dryRun=All`).
    Server,
    /// Nothing is written; the server is only read (to list what a prune would delete).
    Client,
}

impl DryRun {
    /// The mark kubectl puts at the end of each line of a dry run.
    pub fn mark(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Server => " (server dry run)",
            DryRun::Client => " (dry run)",
        }
    }
}

/// One object's result.
#[derive(Debug, Clone)]
pub struct Done {
    pub resource: Arc<Resource>,
    pub namespace: Option<String>,
    pub name: String,
    pub outcome: Outcome,
    /// The object as the server returned it (apply), as it is live
    /// (unchanged) or as it would be sent (client dry run); none for a delete.
    pub object: Option<Answer>,
}

impl Done {
    /// `syncset.hive.openshift.io/addon-x -n ns created`, as kubectl names
    /// objects (`kind.group/name`), with the namespace.
    pub fn summary(&self) -> String {
        format!(
            "{} {}",
            object_name(&self.resource, self.namespace.as_deref(), &self.name),
            self.outcome.verb()
        )
    }
}

/// `syncset.hive.openshift.io/addon-x -n ns`.
pub fn object_name(resource: &Resource, namespace: Option<&str>, name: &str) -> String {
    let mut line = format!("{}/{name}", resource.kubectl_kind());
    if let Some(ns) = namespace.filter(|_| resource.namespaced) {
        line.push_str(&format!(" -n {ns}"));
    }
    line
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub force_conflicts: bool,
    pub dry_run: DryRun,
    pub delete: bool,
    pub concurrency: usize,
    /// For namespaced objects that name none (the kubeconfig context's, else `default`).
    pub default_namespace: String,
    /// The output prints the objects: only then is each answer kept whole.
    pub keep_objects: bool,
}

impl ApplyOptions {
    /// Whether writes carry `dryRun=All`.
    pub fn server_dry_run(&self) -> bool {
        self.dry_run == DryRun::Server
    }
}

/// Runs `work` over `items` on at most `concurrency` threads, results in
/// input order; a panic becomes that item's internal error
/// ([`common::cli::parallel::map_each`]).
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> KubeResult<R> + Sync,
) -> Vec<KubeResult<R>> {
    common::cli::parallel::map_each(items, concurrency, |item| Ok(work(item)))
        .into_iter()
        .map(|result| result.unwrap_or_else(|panic| Err(KubeError::from(panic))))
        .collect()
}

/// `(group, kind, namespace, name)`: one object on the server.
pub type ObjectKey = (String, String, Option<String>, String);

/// An object ready to send: its kind resolved on the server, its namespace
/// placed (the context's for a namespaced object that names none; none for
/// a cluster-scoped one), and for `--prune=all` its set label and digest.
#[derive(Debug, Clone)]
pub struct Planned {
    pub manifest: Manifest,
    pub resource: Arc<Resource>,
    pub namespace: Option<String>,
    /// The ApplySet whose `part-of` label the object gets.
    pub member_of: Option<String>,
    /// Whether the object carries the digest of what is applied
    /// ([`APPLIED_DIGEST`]).
    pub annotate: bool,
}

impl Planned {
    pub fn key(&self) -> ObjectKey {
        (
            self.resource.group().to_string(),
            self.resource.kind.clone(),
            self.namespace.clone(),
            self.manifest.name.clone(),
        )
    }

    /// Whether the object is sent exactly as read.
    fn as_read(&self) -> bool {
        self.member_of.is_none()
            && !self.annotate
            && !self.manifest.moves_to(self.namespace.as_deref())
    }

    /// The object as it is sent, and (when it carries one) the digest of it
    /// without the digest: placed in its namespace, with its set label.
    pub fn prepared(&self) -> (Value, Option<String>) {
        self.prepared_with(self.member_of.as_deref())
    }

    /// [`Planned::prepared`] as a member of `member_of`.
    pub fn prepared_with(&self, member_of: Option<&str>) -> (Value, Option<String>) {
        let mut object = self.manifest.object();
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            match &self.namespace {
                Some(ns) => {
                    metadata.insert("namespace".into(), json!(ns));
                }
                None => {
                    metadata.remove("namespace");
                }
            }
        }
        if let Some(id) = member_of {
            set_label(&mut object, PART_OF, id);
        }
        let digest = self.annotate.then(|| {
            let digest = applied_digest(&object);
            set_annotation(&mut object, APPLIED_DIGEST, &digest);
            digest
        });
        (object, digest)
    }

    /// What is sent: the object's JSON, as read (not copied) when nothing
    /// changes it.
    pub fn body(&self) -> Cow<'_, [u8]> {
        if self.as_read() {
            return Cow::Borrowed(self.manifest.body().as_bytes());
        }
        Cow::Owned(compact(&self.prepared().0).into_bytes())
    }
}

/// The key of a live object of `resource`.
pub fn live_key(resource: &Resource, object: &Value) -> ObjectKey {
    (
        resource.group().to_string(),
        resource.kind.clone(),
        object["metadata"]["namespace"]
            .as_str()
            .filter(|_| resource.namespaced)
            .map(str::to_string),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Resolves each manifest's kind (discovery, once per kind) and places its
/// namespace. A kind the server does not serve fails that object.
pub fn plan(
    client: &KubeClient,
    manifests: Vec<Manifest>,
    options: &ApplyOptions,
) -> Vec<KubeResult<Planned>> {
    client.discover_all(
        manifests.iter().map(|m| m.api_version.as_str()),
        options.concurrency,
    );
    manifests
        .into_iter()
        .map(|manifest| {
            let resource = client.resource(&manifest.api_version, &manifest.kind)?;
            let namespace = resource.namespaced.then(|| {
                manifest
                    .namespace
                    .clone()
                    .unwrap_or_else(|| options.default_namespace.clone())
            });
            Ok(Planned {
                manifest,
                resource,
                namespace,
                member_of: None,
                annotate: false,
            })
        })
        .collect()
}

/// Kinds others live in: applied first, deleted last.
fn is_container(planned: &Planned) -> bool {
    matches!(
        planned.manifest.kind.as_str(),
        "Namespace" | "CustomResourceDefinition"
    )
}
/// Applies (or deletes) every planned object: Namespaces (and CRDs) first
/// when applying, last when deleting. Returns each object's result, in
/// input order; a failure of one does not stop the others, but an object
/// whose Namespace (in the input) failed is not sent: it fails with that
/// cause.
pub fn run(
    client: &KubeClient,
    planned: &[Planned],
    options: &ApplyOptions,
) -> Vec<KubeResult<Done>> {
    let mut results = Vec::with_capacity(planned.len());
    run_in_order(client, planned, options, |_, result| results.push(result));
    results
}

/// [`run`], handing each object's result to `sink` (with its index in
/// `planned`) as soon as it and every object before it are done: the
/// output is written while the rest are still applied, in input order,
/// instead of after them all. A Namespace (or CRD), applied first, waits
/// for its place; the others wait for an earlier one only within
/// [`REORDER_WINDOW`](common::cli::parallel::REORDER_WINDOW) objects per
/// thread.
pub fn run_in_order(
    client: &KubeClient,
    planned: &[Planned],
    options: &ApplyOptions,
    mut sink: impl FnMut(usize, KubeResult<Done>),
) {
    let (first, second): (Vec<usize>, Vec<usize>) =
        (0..planned.len()).partition(|&i| is_container(&planned[i]) != options.delete);
    let what = if options.delete {
        "objects deleted"
    } else {
        "objects applied"
    };
    let progress = common::cli::progress::Progress::counter(what, planned.len() as u64);
    let mut failed_namespaces: BTreeMap<String, Cause> = BTreeMap::new();
    // The first wave's results, until the second reaches their place.
    let mut held: BTreeMap<usize, KubeResult<Done>> = BTreeMap::new();
    for (number, wave) in [first, second].into_iter().enumerate() {
        let failed = &failed_namespaces;
        let mut finished = Vec::new();
        map_in_order(
            wave.len(),
            options.concurrency,
            |k| {
                let item = &planned[wave[k]];
                let result = match item
                    .namespace
                    .as_ref()
                    .and_then(|ns| failed.get(ns).map(|c| (ns, c)))
                {
                    Some((ns, cause)) if !options.delete => Err(KubeError::new(
                        *cause,
                        Error::remote(
                            client.server(),
                            format!(
                                "not applied: its Namespace {ns:?} (in the input) failed, see above"
                            ),
                        ),
                    )),
                    _ => one(client, item, options),
                };
                progress.inc(1);
                result
            },
            |k, result| {
                let i = wave[k];
                if number == 0 {
                    if let (Err(err), "Namespace") = (&result, planned[i].manifest.kind.as_str()) {
                        finished.push((planned[i].manifest.name.clone(), err.cause));
                    }
                    held.insert(i, result);
                    return;
                }
                while let Some(entry) = held.first_entry().filter(|e| *e.key() < i) {
                    let (at, earlier) = entry.remove_entry();
                    sink(at, earlier);
                }
                sink(i, result);
            },
        );
        failed_namespaces.extend(finished);
    }
    for (at, result) in held {
        sink(at, result);
    }
    progress.finish();
}

/// Runs `work` on `0..count` on at most `concurrency` threads and hands
/// each result to `sink`, on the calling thread, in index order, each as
/// soon as those before it are in ([`for_each_in_order`], which bounds how
/// far ahead of the output the threads run). A panic becomes that item's
/// internal error.
pub fn map_in_order<R: Send>(
    count: usize,
    concurrency: usize,
    work: impl Fn(usize) -> KubeResult<R> + Sync,
    mut sink: impl FnMut(usize, KubeResult<R>),
) {
    let sunk = for_each_in_order(
        count,
        concurrency,
        WorkerStack::Default,
        work,
        |k, result| {
            sink(
                k,
                result.unwrap_or_else(|panic| Err(KubeError::from(worker_panic(panic.as_ref())))),
            );
            Ok(())
        },
    );
    debug_assert!(sunk.is_ok(), "a sink that cannot fail stopped the work");
}

fn one(client: &KubeClient, planned: &Planned, options: &ApplyOptions) -> KubeResult<Done> {
    let resource = &planned.resource;
    let ns = planned.namespace.as_deref();
    let name = &planned.manifest.name;
    if options.delete {
        let gone = client.delete(resource, ns, name, options.server_dry_run())?;
        return Ok(Done {
            outcome: if gone {
                Outcome::Deleted
            } else {
                Outcome::AlreadyGone
            },
            resource: resource.clone(),
            namespace: planned.namespace.clone(),
            name: name.clone(),
            object: None,
        });
    }
    let written = client.apply(
        resource,
        ns,
        name,
        planned.body(),
        options.force_conflicts,
        options.server_dry_run(),
    )?;
    let answer = match options.keep_objects {
        true => written.answer.keeping(written.body),
        false => written.answer,
    };
    Ok(Done {
        outcome: if written.status == 201 {
            Outcome::Created
        } else {
            Outcome::Applied
        },
        resource: resource.clone(),
        namespace: planned.namespace.clone(),
        name: name.clone(),
        object: Some(answer),
    })
}

/// What a `--dry-run=client` run would apply: the objects as planned.
pub fn would_apply(planned: &[Planned], options: &ApplyOptions) -> Vec<Done> {
    planned
        .iter()
        .map(|p| {
            let object = p.prepared().0;
            let answer = Answer::of(&object);
            Done {
                resource: p.resource.clone(),
                namespace: p.namespace.clone(),
                name: p.manifest.name.clone(),
                outcome: Outcome::Applied,
                object: Some(match options.keep_objects {
                    true => answer.keeping(compact(&object).into_bytes()),
                    false => answer,
                }),
            }
        })
        .collect()
}

/// An object a prune would delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub resource: Arc<Resource>,
    pub namespace: Option<String>,
    pub name: String,
}

impl Stale {
    pub fn describe(&self) -> String {
        object_name(&self.resource, self.namespace.as_deref(), &self.name)
    }
}

/// `--prune`: objects of the input's namespaced kinds and names, in other
/// namespaces, that this field manager applied and the input no longer lists
/// (a cluster dropped from `--cluster-deployment`: its SyncSet goes). Objects
/// of other names (other add-ons) and other managers are never touched.
pub fn prune_candidates(
    client: &KubeClient,
    done: &[Done],
    field_manager: &str,
) -> KubeResult<Vec<Stale>> {
    let mut kinds: Vec<(Arc<Resource>, BTreeSet<String>)> = Vec::new();
    for d in done.iter().filter(|d| d.resource.namespaced) {
        match kinds.iter_mut().find(|(r, _)| *r == d.resource) {
            Some((_, names)) => {
                names.insert(d.name.clone());
            }
            None => kinds.push((d.resource.clone(), BTreeSet::from([d.name.clone()]))),
        }
    }
    let kept: BTreeSet<ObjectKey> = done
        .iter()
        .map(|d| {
            (
                d.resource.group().to_string(),
                d.resource.kind.clone(),
                d.namespace.clone(),
                d.name.clone(),
            )
        })
        .collect();
    let mut stale = Vec::new();
    for (resource, names) in &kinds {
        let live = client.list(resource, None, None, |item| {
            (live_key(resource, &item), applied_by(&item, field_manager))
        })?;
        for (key, ours) in live {
            if ours && names.contains(&key.3) && !kept.contains(&key) {
                stale.push(Stale {
                    resource: resource.clone(),
                    namespace: key.2,
                    name: key.3,
                });
            }
        }
    }
    Ok(stale)
}

/// Whether `field_manager` applied (server-side) fields of the live object.
pub fn applied_by(object: &Value, field_manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e["manager"] == field_manager && e["operation"] == "Apply")
        })
}

/// Deletes the objects a prune found stale, with bounded concurrency; one
/// already gone counts as done. A client dry run sends nothing.
pub fn delete_stale(
    client: &KubeClient,
    stale: &[Stale],
    options: &ApplyOptions,
) -> Vec<KubeResult<Done>> {
    parallel_map(stale, options.concurrency, |s| {
        let gone = match options.dry_run {
            DryRun::Client => true,
            _ => client.delete(
                &s.resource,
                s.namespace.as_deref(),
                &s.name,
                options.server_dry_run(),
            )?,
        };
        Ok(Done {
            resource: s.resource.clone(),
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            outcome: if gone {
                Outcome::Pruned
            } else {
                Outcome::AlreadyGone
            },
            object: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::cli::parallel::REORDER_WINDOW;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn parallel_map_keeps_order_and_bounds_threads() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        let out = parallel_map(&items, 4, |x| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(x * 2)
        });
        let out: Vec<u32> = out.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(out, (0..40).map(|x| x * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }

    /// Results come out in input order, each as soon as those before it
    /// are done: the first is out before the last has started, and no
    /// more than the window wait behind a slow one.
    #[test]
    fn results_come_out_in_order_as_they_finish_within_the_window() {
        let count = 200;
        let started = std::sync::Mutex::new(Vec::new());
        let finished = AtomicUsize::new(0);
        let mut seen = Vec::new();
        let mut most_waiting = 0;
        let mut first_out_before = None;
        map_in_order(
            count,
            4,
            |k| {
                started.lock().unwrap().push(k);
                // The first is slow: the others finish and wait for it.
                std::thread::sleep(Duration::from_millis(if k == 0 { 40 } else { 1 }));
                finished.fetch_add(1, Ordering::SeqCst);
                Ok(k * 2)
            },
            |k, result| {
                let waiting = finished.load(Ordering::SeqCst) - seen.len() - 1;
                most_waiting = most_waiting.max(waiting);
                if k == 0 {
                    first_out_before = Some(started.lock().unwrap().len());
                }
                seen.push((k, result.unwrap()));
            },
        );
        assert_eq!(seen, (0..count).map(|k| (k, k * 2)).collect::<Vec<_>>());
        assert!(first_out_before.unwrap() < count, "written as they finish");
        // The consumer counts an item consumed as it takes it, so while it
        // writes item k, workers may start items up to k + window: as many
        // as the window may be done and waiting, no more.
        assert!(most_waiting <= 4 * REORDER_WINDOW, "{most_waiting} waited");
        let failed = std::cell::Cell::new(0);
        map_in_order(
            5,
            2,
            |k| {
                if k == 3 {
                    panic!("boom");
                }
                Ok(k)
            },
            |k, result| {
                if let Err(err) = result {
                    assert_eq!(k, 3);
                    assert!(err.error.to_string().contains("boom"));
                    failed.set(failed.get() + 1);
                }
            },
        );
        assert_eq!(failed.get(), 1);
    }

    /// An object sent as read is sent from its text, not a copy of it.
    #[test]
    fn an_object_sent_as_read_is_borrowed_not_copied() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns"}});
        let manifest = Manifest::from_value(object, crate::objects::Position::Item(0)).unwrap();
        let resource = Arc::new(Resource {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
        });
        let mut planned = Planned {
            manifest,
            resource,
            namespace: Some("ns".into()),
            member_of: None,
            annotate: false,
        };
        assert!(
            matches!(planned.body(), Cow::Borrowed(b) if b == planned.manifest.body().as_bytes())
        );
        // Placed elsewhere, it is written anew.
        planned.namespace = Some("other".into());
        let sent: Value = serde_json::from_slice(&planned.body()).unwrap();
        assert_eq!(sent["metadata"]["namespace"], "other");
    }

    #[test]
    fn a_worker_panic_becomes_an_internal_error_not_a_crash() {
        let items: Vec<u32> = (0..8).collect();
        let out = parallel_map(&items, 3, |&x| {
            if x == 5 {
                panic!("valid client auth certificate");
            }
            Ok(x)
        });
        assert_eq!(out.len(), 8);
        for (i, result) in out.iter().enumerate() {
            match result {
                Ok(x) => assert_eq!(*x as usize, i),
                Err(err) => {
                    assert_eq!(i, 5);
                    assert!(matches!(err.error, Error::Internal(_)), "{:?}", err.error);
                    assert!(err
                        .error
                        .to_string()
                        .contains("valid client auth certificate"));
                }
            }
        }
    }
}
