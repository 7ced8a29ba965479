//! Planning (each object's kind resolved and namespace placed), and
//! applying (or deleting) many objects with bounded concurrency, each sent
//! straight from its compact text and its answer kept in brief.
//!
//! Every step is idempotent (server-side apply, merge patch, delete of what
//! may be gone), so after a failure of the server's (unreachable, 5xx)
//! running the same command again finishes the job without losing or
//! duplicating an object.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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

    /// What is sent: the object's JSON, as read when nothing changes it.
    pub fn body(&self) -> Vec<u8> {
        if self.as_read() {
            return self.manifest.body().as_bytes().to_vec();
        }
        compact(&self.prepared().0).into_bytes()
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
    let (first, second): (Vec<usize>, Vec<usize>) =
        (0..planned.len()).partition(|&i| is_container(&planned[i]) != options.delete);
    let mut results: Vec<Option<KubeResult<Done>>> = (0..planned.len()).map(|_| None).collect();
    let what = if options.delete {
        "objects deleted"
    } else {
        "objects applied"
    };
    let progress = common::cli::progress::Progress::counter(what, planned.len() as u64);
    let mut failed_namespaces: BTreeMap<String, Cause> = BTreeMap::new();
    for wave in [first, second] {
        let done = parallel_map(&wave, options.concurrency, |&i| {
            let item = &planned[i];
            let result = match item
                .namespace
                .as_ref()
                .and_then(|ns| failed_namespaces.get(ns).map(|c| (ns, c)))
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
        });
        for (i, result) in wave.into_iter().zip(done) {
            if let (Err(err), "Namespace") = (&result, planned[i].manifest.kind.as_str()) {
                failed_namespaces.insert(planned[i].manifest.name.clone(), err.cause);
            }
            results[i] = Some(result);
        }
    }
    progress.finish();
    results.into_iter().flatten().collect()
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
