//! `--all`: a managed-tenants tree, add-on folder by add-on folder.
//!
//! Each folder of `TREE/addons/` (or of TREE) is looked at before anything in
//! it is read: its name must be an add-on id (CL0002), so that a hostile name
//! never reaches a path, a Makefile or a shell, and no folder or file on the
//! way to its metadata may be a symlink (CL0003), so that nothing outside the
//! tree is read. A refused folder is reported and still counted as an add-on
//! of the tree (its live objects must be kept); the others are validated on
//! all cores, environment by environment.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::check::schemas::schemas;
use common::cli::io::Source;
use common::cli::listing::EntryKind;
use common::cli::parallel::{for_each_in_order, item_panic, WorkerStack};
use common::model::document::{self, TreePlace};
use common::model::imageset::ImageSetFolder;
use common::model::inventory::AddonIds;
use common::{AddonDocument, Error, Finding, Result};
use serde::Serialize;

use crate::loader;
use crate::validate::{self, Settings};

/// The folder holding one folder per add-on: `TREE/addons`, or TREE itself.
pub fn addons_base(root: &Path) -> PathBuf {
    if root.join("addons").is_dir() {
        root.join("addons")
    } else {
        root.to_path_buf()
    }
}

/// One add-on folder of the tree, as seen before anything in it is read:
/// its name, its environments, and its refusals, which few folders have.
/// A view of what [`AddonFolders`] holds, which also knows where it is.
#[derive(Debug, Clone, Copy)]
pub struct AddonFolder<'a> {
    /// The folder's name, which must be the add-on's id.
    pub name: &'a str,
    /// Why nothing in it is read (CL0002, CL0003); empty when it is read.
    pub refusals: &'a [Finding],
    /// The environments asked about that hold an `addon.yaml` here, one
    /// bit each in [`document::ENVIRONMENTS`] order; a refused folder is in
    /// every environment asked about, since what it holds is not looked at.
    environments: u8,
}

impl AddonFolder<'_> {
    /// The environments of [`AddonFolder::environments`], in
    /// [`document::ENVIRONMENTS`] order, as the one static list of them.
    pub fn environments(&self) -> &'static [&'static str] {
        const SUBSETS: [&[&str]; 8] = [
            &[],
            &["integration"],
            &["stage"],
            &["integration", "stage"],
            &["production"],
            &["integration", "production"],
            &["stage", "production"],
            &["integration", "stage", "production"],
        ];
        SUBSETS[usize::from(self.environments)]
    }
}

/// The bits of `environments` among [`document::ENVIRONMENTS`].
fn environment_bits<'a>(environments: impl IntoIterator<Item = &'a str>) -> u8 {
    environments
        .into_iter()
        .filter_map(|env| {
            document::ENVIRONMENTS
                .iter()
                .position(|known| *known == env)
        })
        .fold(0, |bits, i| bits | 1 << i)
}

/// The add-on folders of a tree, in name order, and the folder that holds
/// them (`addons/`): each folder's path is derived from it
/// ([`AddonFolders::path`]), not held once per add-on.
///
/// Every folder is held while the tree is validated (they are taken in name
/// order), so each costs little: its name in one text with the others, not
/// an allocation of its own, and 32 bytes (issue 24: memory that does not
/// grow with the fleet).
#[derive(Debug)]
pub struct AddonFolders {
    pub base: PathBuf,
    /// The folders' names one after another (in the order they were read).
    names: String,
    held: Vec<HeldFolder>,
}

/// What [`AddonFolders`] holds of one folder.
#[derive(Debug)]
struct HeldFolder {
    /// Where its name is in [`AddonFolders::names`] (start and end).
    name: (u32, u32),
    /// An empty box allocates nothing.
    refusals: Box<[Finding]>,
    environments: u8,
}

impl AddonFolders {
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn get(&self, i: usize) -> AddonFolder<'_> {
        let held = &self.held[i];
        AddonFolder {
            name: name_in(&self.names, held),
            refusals: &held.refusals,
            environments: held.environments,
        }
    }

    /// The folders, in name order.
    pub fn iter(&self) -> impl Iterator<Item = AddonFolder<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Where `folder` is: `addons/<name>`. The name was read lossily, but a
    /// folder that is read has an add-on id for a name (ASCII: a name that
    /// is not one refuses the folder), so this is its real path; a refused
    /// folder's path is only shown.
    pub fn path(&self, folder: &AddonFolder) -> PathBuf {
        self.base.join(folder.name)
    }

    /// The folders' names as an inventory's ids: one text, sized once (at
    /// most the names read).
    pub fn ids(&self) -> AddonIds {
        let mut ids = AddonIds::with_capacity(self.names.len(), self.len());
        for folder in self.iter() {
            // In order; a name twice (two names alike once made lossy) is
            // kept once, as a set keeps it.
            ids.push_in_order(folder.name);
        }
        ids
    }
}

/// Appends `name` (lossily) to `names`; where it is, or None past 4 GiB.
fn append_name(names: &mut String, name: &std::ffi::OsStr) -> Option<(u32, u32)> {
    let start = u32::try_from(names.len()).ok()?;
    names.push_str(&name.to_string_lossy());
    Some((start, u32::try_from(names.len()).ok()?))
}

/// A held folder's name.
fn name_in<'a>(names: &'a str, held: &HeldFolder) -> &'a str {
    &names[held.name.0 as usize..held.name.1 as usize]
}

/// The add-on folders of the tree at `root`, in name order, for
/// `environment` (every environment when None): the folders with an
/// `addon.yaml` for one of them, and every symlink or badly named folder
/// that may be one. The folders are looked into on `jobs` threads (eleven
/// `statx` each, which on one thread held back every worker).
pub fn addon_folders(root: &Path, environment: Option<&str>, jobs: usize) -> Result<AddonFolders> {
    if !root.is_dir() {
        return Err(Error::in_file(
            root,
            "is not a folder; expected a managed-tenants tree (addons/<id>/metadata/<env>/addon.yaml)",
        ));
    }
    let asked: Vec<&'static str> = document::ENVIRONMENTS
        .into_iter()
        .filter(|env| environment.is_none_or(|wanted| wanted == *env))
        .collect();
    let every_asked = environment_bits(asked.iter().copied());
    let base = addons_base(root);
    // Each entry taken as it is read: its name into the one text, and into
    // the list it is looked into in. Both are sized once, from the folder's
    // link count (two more than the folders in it on Linux's usual file
    // systems; a hint only): grown by doubling, each would copy itself into
    // new memory at every step, and the process's peak would hold every
    // copy. Room beyond what is used is never touched, so it costs nothing.
    let hint = std::fs::metadata(&base)
        .map(|meta| usize::try_from(meta.nlink().saturating_sub(2)).unwrap_or(0))
        .unwrap_or(0)
        .min(1 << 20);
    let mut names = String::with_capacity(hint * 32);
    let mut folders = Vec::with_capacity(hint);
    let mut settled = Vec::new();
    let mut names_overflow = false;
    let addons = common::cli::listing::each_entry_kept(&base, |name, kind| {
        if !kind.is_symlink() && !kind.is_dir() {
            return;
        }
        let Some(span) = append_name(&mut names, name) else {
            names_overflow = true;
            return;
        };
        if kind.is_symlink() {
            settled.push(HeldFolder {
                name: span,
                refusals: Box::new([loader::symlinked(&base.join(name))]),
                environments: every_asked,
            });
        } else if kind.is_dir() {
            match name.to_str() {
                Some(_) => folders.push(HeldFolder {
                    name: span,
                    refusals: Box::default(),
                    environments: 0,
                }),
                // Looked into at once, at its real path (and refused,
                // CL0002): its lossy name is not where it is.
                None => settled.extend(inspect(&base, None, name, &asked).map(
                    |(environments, refusals)| HeldFolder {
                        name: span,
                        refusals: refusals.into(),
                        environments,
                    },
                )),
            }
        }
    });
    let addons = addons.map_err(|err| Error::in_file(&base, format!("cannot be listed: {err}")))?;
    if names_overflow {
        return Err(Error::in_file(
            &base,
            "holds more than 4 GiB of folder names",
        ));
    }
    common::cli::parallel::try_update_bounded(&mut folders, jobs, |folder| {
        let name = std::ffi::OsStr::new(name_in(&names, folder));
        if let Some((environments, refusals)) = inspect(&base, Some(&addons), name, &asked) {
            folder.environments = environments;
            folder.refusals = refusals.into();
        }
    })?;
    folders.retain(|folder| folder.environments != 0);
    folders.append(&mut settled);
    // Names in a folder are unique: an unstable sort needs no scratch copy
    // of the list.
    folders.sort_unstable_by(|a, b| name_in(&names, a).cmp(name_in(&names, b)));
    Ok(AddonFolders {
        base,
        names,
        held: folders,
    })
}

/// A real folder of `addons/`: the environments it holds (as bits), and
/// why it is refused, if it is. None when it holds no add-on of the
/// environments asked. `addons` is `base` kept open, where the paths are
/// looked up from (eleven `statx` of four components, not eight).
fn inspect(
    base: &Path,
    addons: Option<&common::cli::listing::Folder>,
    name: &std::ffi::OsStr,
    asked: &[&'static str],
) -> Option<(u8, Vec<Finding>)> {
    let path = base.join(name);
    let mut ways = vec!["metadata".to_string(), "addonimagesets".to_string()];
    for env in asked {
        for rel in [
            format!("metadata/{env}"),
            format!("metadata/{env}/addon.yaml"),
            format!("addonimagesets/{env}"),
        ] {
            ways.push(rel);
        }
    }
    // Each path on the way looked at once (one statx): what it is, if it is.
    let kinds: BTreeMap<&str, Option<EntryKind>> = ways
        .iter()
        .map(|rel| {
            let kind = match addons {
                Some(addons) => addons.entry_kind(&Path::new(name).join(rel)).ok(),
                None => std::fs::symlink_metadata(path.join(rel))
                    .ok()
                    .map(|m| m.file_type().into()),
            };
            (rel.as_str(), kind)
        })
        .collect();
    let exists = |rel: &str| kinds.get(rel).is_some_and(Option::is_some);
    // A link on the way is found before anything behind it is looked at.
    let links: Vec<Finding> = ways
        .iter()
        .filter(|rel| kinds[rel.as_str()].is_some_and(|kind| kind.is_symlink()))
        .map(|rel| loader::symlinked(&path.join(rel)))
        .collect();
    let environments = if links.is_empty() {
        environment_bits(
            asked
                .iter()
                .copied()
                .filter(|env| exists(&format!("metadata/{env}/addon.yaml"))),
        )
    } else {
        environment_bits(asked.iter().copied())
    };
    if environments == 0 {
        return None;
    }
    // A bad name is the one thing said: nothing inside is its add-on's yet.
    let refusals = match loader::folder_name(&path, &name.to_string_lossy()) {
        Some(bad_name) => vec![bad_name],
        None => links,
    };
    Some((environments, refusals))
}

/// One row of the `--all` report.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub id: Option<String>,
    pub environment: Option<String>,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    /// The add-on folder the file belongs to, for the summary.
    #[serde(skip)]
    pub folder: String,
}

impl FileSummary {
    fn new(
        folder: &str,
        file: String,
        id: Option<String>,
        environment: Option<&str>,
        findings: &[Finding],
    ) -> Self {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        FileSummary {
            valid: errors == 0,
            warnings: findings.len() - errors,
            errors,
            file,
            id,
            environment: environment.map(str::to_string),
            folder: folder.to_string(),
        }
    }
}

/// The report rows of one add-on folder, each with its findings.
pub type FileRows = Vec<(FileSummary, Vec<Finding>)>;

/// What validating one add-on folder found.
pub struct FolderOutcome {
    pub rows: FileRows,
    /// The normalised document of each environment's valid add-on.
    pub documents: Vec<AddonDocument>,
    /// The ids the add-on's own files give it.
    pub ids: Vec<String>,
    /// Whether an environment's add-on gave no document.
    pub failed: bool,
}

/// Everything `--all` found.
#[derive(Debug, Default)]
pub struct TreeOutcome {
    pub files: Vec<FileSummary>,
    pub findings: Vec<Finding>,
    /// Every add-on id the tree holds for the environments asked, valid or
    /// not, selected or not: the folder names, and the ids the validated
    /// add-ons' files give where those differ.
    pub addon_ids: BTreeSet<String>,
    /// The selected add-on folders that gave no document (invalid,
    /// unreadable or refused), in folder order.
    pub failed: Vec<String>,
}

/// The add-on folders `--all` validates, and how.
pub struct Tree<'a> {
    pub folders: &'a AddonFolders,
    pub bundles_root: Option<&'a Path>,
    pub settings: &'a Settings,
    /// How many folders are validated at once.
    pub jobs: usize,
    /// The folders to validate; all when None.
    pub only: Option<&'a BTreeSet<String>>,
}

/// Validates the selected folders for the whole report: each environment's
/// add-on and image sets, on `jobs` threads; the bundles of an add-on are
/// read once.
pub fn validate_tree(tree: &Tree) -> Result<TreeOutcome> {
    let mut outcome = TreeOutcome {
        addon_ids: tree.folders.iter().map(|f| f.name.to_string()).collect(),
        ..TreeOutcome::default()
    };
    each_folder(tree, Documents::Drop, |folder, result| {
        for (summary, findings) in result.rows {
            outcome.files.push(summary);
            outcome.findings.extend(findings);
        }
        outcome.addon_ids.extend(result.ids);
        if result.failed {
            outcome.failed.push(folder.name.to_string());
        }
        Ok(())
    })?;
    Ok(outcome)
}

/// Whether [`each_folder`] hands the valid add-ons' documents on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Documents {
    Keep,
    /// Dropped on the worker that made them: a document freed on another
    /// thread goes back to that thread's malloc arena under its lock.
    Drop,
}

/// Validates the selected folders on `jobs` threads and hands each folder's
/// outcome to `consume` in folder order, as soon as it and those before it
/// are done: `--documents` writes each add-on while the next ones are
/// still being checked, and memory holds a few folders, not the tree.
pub fn each_folder(
    tree: &Tree,
    documents: Documents,
    mut consume: impl FnMut(&AddonFolder, FolderOutcome) -> Result<()>,
) -> Result<()> {
    // The folders not selected are passed over where they stand: no list
    // of the selected ones beside the tree's.
    let selected = |folder: &AddonFolder| tree.only.is_none_or(|only| only.contains(folder.name));
    in_order(
        tree.folders.len(),
        |i| tree.folders.get(i),
        tree.jobs,
        |folder| {
            selected(folder).then(|| {
                let dir = tree.folders.path(folder);
                let mut outcome = validate_folder(folder, &dir, tree.bundles_root, tree.settings);
                if documents == Documents::Drop {
                    outcome.documents = Vec::new();
                }
                outcome
            })
        },
        |folder, result| result.map_or(Ok(()), |outcome| consume(folder, outcome)),
    )
}

/// Runs `work` over the `count` items (`item(i)`) on at most `jobs`
/// threads and hands the results to `consume` on the calling thread, in
/// item order, each as soon as the ones before it are in
/// ([`for_each_in_order`]). A `work` that panics is an internal error
/// naming the item, never a dropped result (issue 12); nothing after it is
/// consumed. The first error of `consume` stops the work.
fn in_order<T, R: Send>(
    count: usize,
    item: impl Fn(usize) -> T + Sync,
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(&T, R) -> Result<()>,
) -> Result<()> {
    // Deep stacks: a folder's extra resources render on its worker.
    for_each_in_order(
        count,
        jobs,
        WorkerStack::Deep,
        |i| work(&item(i)),
        |i, result| match result {
            Ok(result) => consume(&item(i), result),
            Err(panic) => Err(item_panic(i, count, panic.as_ref())),
        },
    )
}

/// A refused folder is its refusals; the others are validated.
fn validate_folder(
    folder: &AddonFolder,
    dir: &Path,
    bundles_root: Option<&Path>,
    settings: &Settings,
) -> FolderOutcome {
    if folder.refusals.is_empty() {
        return validate_addon_dir(folder, dir, bundles_root, settings);
    }
    let file = dir.to_string_lossy().into_owned();
    let summary = FileSummary::new(folder.name, file, None, None, folder.refusals);
    FolderOutcome {
        rows: vec![(summary, folder.refusals.to_vec())],
        documents: Vec::new(),
        ids: Vec::new(),
        failed: true,
    }
}

fn validate_addon_dir(
    folder: &AddonFolder,
    dir: &Path,
    bundles_root: Option<&Path>,
    settings: &Settings,
) -> FolderOutcome {
    let mut outcome = FolderOutcome {
        rows: Vec::new(),
        documents: Vec::new(),
        ids: Vec::new(),
        failed: false,
    };
    let mut image_set_rows = Vec::new();
    let bundles = bundles_dir(dir, bundles_root).map(|d| validate::LoadedBundles::load(&d));
    for env in document::ENVIRONMENTS {
        if settings
            .environment
            .as_deref()
            .is_some_and(|wanted| wanted != env)
        {
            continue;
        }
        let place = TreePlace {
            addon_dir: dir.to_path_buf(),
            environment: env.to_string(),
        };
        // Read the image sets once: each is checked here, and the add-on's
        // version is resolved from the same parsed files.
        let image_sets = ImageSetFolder::read(&place.image_sets_dir()).ok();
        for set in image_sets.iter().flat_map(|folder| folder.files.iter()) {
            let findings: Vec<Finding> = validate::check_parsed(
                &set.source,
                set.value.as_ref().unwrap_or(&serde_json::Value::Null),
                &set.duplicate_keys,
                &set.python_values,
                &schemas().image_set,
            )
            .into_iter()
            .filter(|f| settings.selection.is_on(f.code))
            .collect();
            let file = set.path.to_string_lossy().into_owned();
            let summary = FileSummary::new(folder.name, file, None, Some(env), &findings);
            image_set_rows.push((summary, findings));
        }
        for unreadable in image_sets
            .iter()
            .flat_map(|folder| folder.unreadable.iter())
        {
            let finding = Finding::error(
                common::check::finding::codes::DOCUMENT_SHAPE,
                &unreadable.path,
                format!("image set {}", unreadable.reason),
            );
            let summary = FileSummary::new(
                folder.name,
                unreadable.path.to_string_lossy().into_owned(),
                None,
                Some(env),
                std::slice::from_ref(&finding),
            );
            image_set_rows.push((summary, vec![finding]));
        }

        if !folder.environments().contains(&env) {
            continue;
        }
        let path = place.metadata_dir().join("addon.yaml");
        let file = path.to_string_lossy().into_owned();
        let env_settings = Settings {
            environment: None,
            image_sets,
            folder: Some(folder.name.to_string()),
            ..settings.clone()
        };
        let validated = Source::tree_file(&path)
            .and_then(|source| validate::validate_addon(source, bundles.as_ref(), &env_settings));
        let (id, findings) = match validated {
            Ok(validated) => {
                outcome.failed |= validated.document.is_none();
                outcome.documents.extend(validated.document);
                (validated.id, validated.findings)
            }
            Err(err) => {
                outcome.failed = true;
                let finding = match &err {
                    Error::Input { at, message } => validate::unreadable(at, message),
                    other => Finding::error(
                        common::check::finding::codes::DOCUMENT_SHAPE,
                        &path,
                        other.to_string(),
                    ),
                };
                (None, vec![finding])
            }
        };
        outcome.ids.extend(id.clone());
        let summary = FileSummary::new(folder.name, file, id, Some(env), &findings);
        outcome.rows.push((summary, findings));
    }
    outcome.rows.extend(image_set_rows);
    outcome
}

/// The bundle folder of an add-on: `<bundles_root>/<id>`,
/// `<bundles_root>/addons/<id>`, or the tree's own `addons/<id>/bundles`.
fn bundles_dir(addon_dir: &Path, bundles_root: Option<&Path>) -> Option<PathBuf> {
    let id = addon_dir.file_name()?;
    let candidates = bundles_root
        .into_iter()
        .flat_map(|root| [root.join(id), root.join("addons").join(id)])
        .chain([addon_dir.join("bundles")]);
    candidates.into_iter().find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addon(root: &Path, folder: &str, env: &str) {
        let dir = root.join("addons").join(folder).join("metadata").join(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("addon.yaml"), "id: x\n").unwrap();
    }

    #[test]
    fn folders_are_listed_per_environment_and_refused_before_they_are_read() {
        let root = tempfile::tempdir().unwrap();
        addon(root.path(), "good-addon", "stage");
        addon(root.path(), "prod-addon", "production");
        addon(root.path(), "x`id`", "stage");
        std::fs::create_dir_all(root.path().join("addons/no-metadata")).unwrap();

        let stage = addon_folders(root.path(), Some("stage"), 2).unwrap();
        let names: Vec<&str> = stage.iter().map(|f| f.name).collect();
        assert_eq!(names, ["good-addon", "x`id`"]);
        assert!(stage.get(0).refusals.is_empty());
        assert_eq!(stage.get(1).refusals[0].code, "CL0002");

        let every = addon_folders(root.path(), None, 2).unwrap();
        assert_eq!(every.len(), 3);
        assert_eq!(every.get(1).environments(), ["production"]);
        // The inventory's ids, sized once, are the names in order.
        let ids = every.ids();
        assert_eq!(ids, every.iter().map(|f| f.name).collect::<AddonIds>());
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            ["good-addon", "prod-addon", "x`id`"]
        );
    }

    #[test]
    fn the_static_environment_lists_are_the_bits_they_stand_for() {
        for bits in 0..8u8 {
            let folder = AddonFolder {
                name: "x",
                refusals: &[],
                environments: bits,
            };
            let expected: Vec<&str> = document::ENVIRONMENTS
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & 1 << i != 0)
                .map(|(_, env)| *env)
                .collect();
            assert_eq!(folder.environments(), expected, "{bits}");
            assert_eq!(environment_bits(expected.iter().copied()), bits);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_named_in_bytes_that_are_not_utf8_is_looked_into_and_refused() {
        use std::os::unix::ffi::OsStrExt;
        let root = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
        let dir = root.path().join("addons").join(name).join("metadata/stage");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("addon.yaml"), "id: x\n").unwrap();
        addon(root.path(), "good-addon", "stage");

        let folders = addon_folders(root.path(), None, 2).unwrap();
        let names: Vec<&str> = folders.iter().map(|f| f.name).collect();
        assert_eq!(names, ["caf\u{fffd}", "good-addon"]);
        assert_eq!(folders.get(0).refusals[0].code, "CL0002");
        assert_eq!(folders.get(0).environments(), ["stage"]);
    }

    #[test]
    fn results_are_consumed_in_order_with_few_waiting() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let items: Vec<usize> = (0..200).collect();
        let started = AtomicUsize::new(0);
        let mut seen = Vec::new();
        in_order(
            items.len(),
            |i| items[i],
            3,
            |n| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
                n * 2
            },
            |n, doubled| {
                // Workers never run far ahead of what has been consumed.
                assert!(started.load(Ordering::SeqCst) <= n + 1 + 3 * 4, "{n}");
                seen.push(doubled);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_worker_panic_is_an_internal_error_and_a_consumer_error_stops_the_work() {
        let items: Vec<u32> = (0..10).collect();
        let mut consumed = Vec::new();
        let err = in_order(
            items.len(),
            |i| items[i],
            2,
            |n| {
                assert!(*n != 7, "boom on {n}");
                *n
            },
            |_, n| {
                consumed.push(n);
                Ok(())
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        assert!(err.to_string().contains("item 8 of 10: boom on 7"), "{err}");
        assert_eq!(consumed, (0..7).collect::<Vec<_>>());
        let err = in_order(
            items.len(),
            |i| items[i],
            2,
            |n| *n,
            |_, n| match n {
                3 => Err(Error::Invalid("stop".into())),
                _ => Ok(()),
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), Error::Invalid("stop".into()).to_string());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_on_the_way_refuses_the_folder_in_every_environment() {
        let root = tempfile::tempdir().unwrap();
        addon(root.path(), "linked-env", "stage");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(
            &outside,
            root.path().join("addons/linked-env/metadata/production"),
        )
        .unwrap();
        std::os::unix::fs::symlink(&outside, root.path().join("addons/linked-addon")).unwrap();

        let folders = addon_folders(root.path(), None, 2).unwrap();
        assert_eq!(folders.len(), 2);
        for folder in folders.iter() {
            assert_eq!(folder.refusals.len(), 1, "{folder:?}");
            assert_eq!(folder.refusals[0].code, "CL0003");
            assert_eq!(folder.environments().len(), 3);
        }
        assert!(folders.get(1).refusals[0]
            .file
            .ends_with("metadata/production"));
    }
}
