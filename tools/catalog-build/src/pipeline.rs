//! One add-on's build, from its bundle folder to a pushed (or written)
//! catalog: the build cache lookup, the upgrade graph check, the bundle
//! images, the catalog image on its base, and the push or the OCI layout.

use std::path::{Path, PathBuf};

use common::model::bundle::{self, Bundle};
use common::oci::fbc::{self, BundleRef};
use common::oci::Image;
use common::{Error, Finding, Result};
use oci_client::Reference;

use crate::base::{base_pin, load_base};
use crate::output::{push_catalog, write_layout, Placed, PACKAGE_LAYOUT_NAME};
use crate::registry::{self, PushJob, Registry};
use crate::target::Target;
use crate::{cache, images, package, Args, CatalogResult};

/// Builds (or finds in the build cache) and pushes one add-on's catalog from
/// the bundle folder `bundles`, as `args` say.
///
/// `client` is the registry client, made on first use and then reused (a
/// stream builds many catalogs against the same registries: one TLS setup
/// and one credential lookup, not one per add-on).
pub(crate) fn build(
    args: &Args,
    bundles: &Path,
    has_document: bool,
    client: &mut Option<Registry>,
) -> Result<CatalogResult> {
    let prepared = prepare(args, bundles, has_document, client, None)?;
    let registry = registry_for(&prepared.target, args, client)?;
    let verified = prepared
        .hit()
        .is_some_and(|hit| registry.has_manifests(&hit.images));
    finish(prepared, bundles, registry, verified)
}

/// One build, before anything is built: where it goes, and what the build
/// cache holds for its input.
pub(crate) struct Prepared {
    pub(crate) target: Target,
    pub(crate) cache: Option<CacheLookup>,
}

/// The build cache's folder, this input's key, and the build recorded
/// under it (trusted only once the registry confirms its images).
pub(crate) struct CacheLookup {
    pub(crate) dir: PathBuf,
    pub(crate) key: String,
    pub(crate) hit: Option<cache::CachedBuild>,
}

impl Prepared {
    /// The recorded build for this input, to be verified in the registry.
    pub(crate) fn hit(&self) -> Option<&cache::CachedBuild> {
        self.cache.as_ref().and_then(|lookup| lookup.hit.as_ref())
    }
}

/// The registry client for `target`, made on first use and then reused.
pub(crate) fn registry_for<'a>(
    target: &Target,
    args: &Args,
    client: &'a mut Option<Registry>,
) -> Result<&'a mut Registry> {
    let reusable = client
        .as_ref()
        .is_some_and(|registry| registry.insecure == target.insecure_registries);
    if !reusable {
        *client = Some(Registry::new(
            target.insecure_registries.clone(),
            args.request_timeout,
        )?);
    }
    client
        .as_mut()
        .ok_or_else(|| Error::internal("the registry client was not made"))
}

/// The build cache's folder when a build looks its input up there: a push
/// (a layout is always written) without `--no-cache`, where a cache
/// folder can be named.
pub(crate) fn cache_lookup_dir(args: &Args) -> Option<PathBuf> {
    match (&args.oci_layout, args.no_cache) {
        (None, false) => cache::cache_dir(),
        _ => None,
    }
}

/// Resolves the target and looks the input up in the build cache
/// ([`cache_lookup_dir`]). `folder_input` is the bundle folder's
/// part of the cache key ([`cache::folder_input`]) when it was read ahead.
pub(crate) fn prepare(
    args: &Args,
    bundles: &Path,
    has_document: bool,
    client: &mut Option<Registry>,
    folder_input: Option<Result<Vec<u8>>>,
) -> Result<Prepared> {
    let target = Target::from_args(args, has_document)?;
    let Some(dir) = cache_lookup_dir(args) else {
        return Ok(Prepared {
            target,
            cache: None,
        });
    };
    let registry = registry_for(&target, args, client)?;
    let Some(base_pin) = base_pin(&target, registry) else {
        return Ok(Prepared {
            target,
            cache: None,
        });
    };
    let repo = target
        .repo
        .as_ref()
        .map(Reference::whole)
        .unwrap_or_default();
    let folder_input = match folder_input {
        Some(read_ahead) => read_ahead?,
        None => cache::folder_input(bundles)?,
    };
    let key = cache::key_of(
        &[
            env!("CARGO_PKG_VERSION"),
            BUILD_RECIPE,
            &repo,
            &target.bundle_repo,
            &target.tag,
            &base_pin,
        ],
        &folder_input,
    );
    let hit = cache::load(&dir, &key);
    Ok(Prepared {
        target,
        cache: Some(CacheLookup { dir, key, hit }),
    })
}

/// What a build makes of its input, in the build cache's key: changed
/// whenever the same input gives other images or another result, so that
/// no entry recorded by an earlier build answers for this one (the tool's
/// version alone does not change between commits). 2: bundles' `package/`
/// built into a package image; 3: layers compressed at deflate level 1.
const BUILD_RECIPE: &str = "recipe 3";

/// Finishes a prepared build: the cached result when `verified` (the
/// registry still has every image of the hit), else the build and push,
/// recorded in the cache.
pub(crate) fn finish(
    prepared: Prepared,
    bundles_dir: &Path,
    registry: &mut Registry,
    verified: bool,
) -> Result<CatalogResult> {
    // The summary line counts this build's pushes only.
    registry.stats = registry::PushStats::default();
    if let Some(hit) = prepared.hit().filter(|_| verified) {
        common::cli::note_line(format_args!(
            "catalog-build: pushed {}: unchanged since the last push, 0 blob(s) uploaded; the registry still has its {} image(s)",
            hit.catalog_reference,
            hit.images.len()
        ));
        return Ok(CatalogResult {
            image: hit.catalog_reference.clone(),
            digest: hit.catalog_digest.clone(),
            base: hit.base.clone(),
            package_image: hit.package_image.clone(),
            summary: hit.summary.clone(),
        });
    }
    let Prepared { target, cache } = prepared;

    let tree = load_bundles(bundles_dir)?;
    let bundles: Vec<&Bundle> = tree.all_bundles().collect();
    // The graph does not depend on digests: a bad graph (or package) is
    // refused before any image is built, and nothing is pushed.
    check_upgrade_graph(&bundles, &target.bundle_repo)?;
    let package = package::read_package(bundles_dir)?
        .map(|content| images::package_image(&content).map(|image| place_package(&target, image)))
        .transpose()?;
    let base = load_base(&target, registry)?;
    // Pushed as soon as each is built (the package first); written to a
    // layout once all are.
    let mut placed = match &target.layout {
        Some(_) => place_bundles(
            &target,
            &bundles,
            build_bundle_images(&bundles, |_, _| true)?,
        ),
        None => push_while_building(registry, &target, &bundles, package.as_ref())?,
    };
    let refs: Vec<(&Bundle, String)> = bundles
        .iter()
        .zip(&placed)
        .map(|(bundle, placed)| (*bundle, placed.by_digest()))
        .collect();
    let catalog = render_catalog(&refs)?;
    let layer = images::catalog_layer(&catalog)?;
    let main_package = tree
        .main()
        .and_then(|m| m.bundles.last())
        .and_then(Bundle::package)
        .unwrap_or_default()
        .to_string();
    let summary = images::summarize(&catalog, &main_package, &refs);
    let package_image = package.as_ref().map(Placed::by_digest);
    placed.extend(package);

    let catalog_image = images::catalog_image(&base.image, layer)?;
    let catalog_ref = match &target.layout {
        Some(dir) => write_layout(dir, &target, &placed, &catalog_image)?,
        None => push_catalog(registry, &target, &catalog_image, base.source.as_ref())?,
    };
    let result = CatalogResult {
        image: catalog_ref,
        digest: catalog_image.digest().to_string(),
        base: base.image.name.clone(),
        package_image,
        summary,
    };
    if let (Some(lookup), Some(repo)) = (&cache, &target.repo) {
        record(lookup, repo, &placed, &result);
    }
    Ok(result)
}

/// Records a pushed build in the build cache (a failure to write it is a
/// warning: the next run builds again).
fn record(lookup: &CacheLookup, repo: &Reference, placed: &[Placed], result: &CatalogResult) {
    let mut images: Vec<cache::CachedImage> = placed
        .iter()
        .map(|placed| cache::CachedImage {
            tag_reference: placed.tag_reference(),
            digest: placed.image.digest().to_string(),
        })
        .collect();
    images.push(cache::CachedImage {
        tag_reference: repo.whole(),
        digest: result.digest.clone(),
    });
    let stored = cache::store(
        &lookup.dir,
        &lookup.key,
        &cache::CachedBuild {
            catalog_reference: result.image.clone(),
            catalog_digest: result.digest.clone(),
            base: result.base.clone(),
            package_image: result.package_image.clone(),
            summary: result.summary.clone(),
            images,
        },
    );
    if let Some(warning) = stored {
        common::cli::note("catalog-build", warning);
    }
}

/// Checks the upgrade graph as opm does, with the bundles named by tag
/// (the graph is the same whatever the digests turn out to be).
fn check_upgrade_graph(bundles: &[&Bundle], bundle_repo: &str) -> Result<()> {
    let by_tag: Vec<(&Bundle, String)> = bundles
        .iter()
        .map(|bundle| (*bundle, format!("{bundle_repo}:{}", bundle_tag(bundle))))
        .collect();
    render_catalog(&by_tag).map(drop)
}

/// The FBC for bundles named by image reference; any graph problem is an
/// exit-1 error listing all of them.
fn render_catalog(refs: &[(&Bundle, String)]) -> Result<fbc::DeclarativeConfig> {
    let bundle_refs: Vec<BundleRef<'_>> = refs
        .iter()
        .map(|(bundle, image)| BundleRef { bundle, image })
        .collect();
    let catalog = fbc::build_catalog(&bundle_refs).map_err(graph_error)?;
    let mut problems = fbc::check_catalog(&catalog);
    if !problems.is_empty() {
        fbc::locate_csv_files(&mut problems, &bundle_refs);
        return Err(graph_error(problems));
    }
    Ok(catalog)
}

/// Builds the bundle images on all cores (compressing the layers is most of
/// the local work); the result is in input order, so it stays reproducible.
/// `on_built` sees each image as soon as it is built (by its index), and
/// false from it stops the build (the pushes failed). A worker that panics
/// becomes `Error::Internal` (common::cli::parallel), as in the other tools,
/// instead of a second hand-rolled thread scope.
fn build_bundle_images(
    bundles: &[&Bundle],
    on_built: impl Fn(usize, &Image) -> bool + Sync,
) -> Result<Vec<Image>> {
    let threads = common::cli::parallel::cores();
    let progress = common::cli::progress::Progress::counter("bundles built", bundles.len() as u64);
    let numbered: Vec<(usize, &Bundle)> = bundles.iter().copied().enumerate().collect();
    let built = common::cli::parallel::map_each(&numbered, threads, |(index, bundle)| {
        let image = images::bundle_image(bundle)?;
        progress.inc(1);
        if !on_built(*index, &image) {
            return Err(Error::internal("the pushes stopped"));
        }
        Ok(image)
    });
    progress.finish();
    built.into_iter().collect()
}

/// The bundle images with where each goes, in bundle order.
fn place_bundles(target: &Target, bundles: &[&Bundle], images: Vec<Image>) -> Vec<Placed> {
    bundles
        .iter()
        .zip(images)
        .map(|(bundle, image)| Placed {
            repository: target.bundle_repo.clone(),
            tag: bundle_tag(bundle),
            layout_name: bundle_tag(bundle),
            image,
            what: bundle.csv.name.clone(),
        })
        .collect()
}

/// The package image with where it goes.
fn place_package(target: &Target, image: Image) -> Placed {
    Placed {
        repository: target.package_repo.clone(),
        tag: target.tag.clone(),
        layout_name: PACKAGE_LAYOUT_NAME.to_string(),
        image,
        what: "package".into(),
    }
}

/// Builds the bundle images and pushes each (the package image first) as
/// soon as it is built, so that the registry receives while the cores
/// compress; returns them placed, in bundle order, once all are pushed.
fn push_while_building(
    registry: &mut Registry,
    target: &Target,
    bundles: &[&Bundle],
    package: Option<&Placed>,
) -> Result<Vec<Placed>> {
    // Every image has its layer and config; every tag is checked first.
    let tags = bundles
        .iter()
        .map(|bundle| tag_reference(&target.bundle_repo, &bundle_tag(bundle)))
        .collect::<Result<Vec<Reference>>>()?;
    let mut destinations = tags.clone();
    if let Some(package) = package {
        destinations.push(tag_reference(&package.repository, &package.tag)?);
    }
    let what = format!("pushing {} bundle image(s)", destinations.len());
    let blobs = 2 * destinations.len();
    let built = registry.push_while(&what, blobs, &destinations, |queue| {
        if let (Some(package), Some(at)) = (package, destinations.get(tags.len())) {
            queue.push(package.push_job(at.clone()));
        }
        build_bundle_images(bundles, |index, image| {
            queue.push(PushJob {
                target: tags[index].clone(),
                image: image.clone(),
                mount_from: None,
                what: bundles[index].csv.name.clone(),
            })
        })
    })??;
    Ok(place_bundles(target, bundles, built))
}

/// `repository:tag` as an image reference.
fn tag_reference(repository: &str, tag: &str) -> Result<Reference> {
    Reference::try_from(format!("{repository}:{tag}"))
        .map_err(|err| Error::usage(format!("image name {repository}:{tag}: {err}")))
}

fn list<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    findings
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the bundle tree; any bundle-structure finding (BD codes) is an
/// exit-1 error listing all of them. Warnings are printed and let through.
fn load_bundles(dir: &Path) -> Result<bundle::BundleTree> {
    let (tree, findings) = bundle::load_tree(dir);
    for warning in findings.iter().filter(|f| !f.is_error()) {
        common::cli::note("catalog-build", format_args!("warning: {warning}"));
    }
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
    if !errors.is_empty() {
        return Err(Error::input(
            common::Location::of_path(dir),
            format!(
                "the bundles cannot be built ({} problem(s)):\n{}",
                errors.len(),
                list(errors.into_iter())
            ),
        ));
    }
    if tree.all_bundles().next().is_none() {
        return Err(Error::in_file(dir, "holds no bundle"));
    }
    Ok(tree)
}

fn graph_error(problems: Vec<fbc::GraphProblem>) -> Error {
    Error::Invalid(format!(
        "error: the upgrade graph is invalid ({} problem(s)); nothing was pushed:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

fn bundle_tag(bundle: &Bundle) -> String {
    format!(
        "{}-v{}",
        bundle.package().unwrap_or("bundle"),
        bundle.version
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn fixture_tree() -> bundle::BundleTree {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/catalog/good");
        load_bundles(&dir).unwrap()
    }

    #[test]
    fn each_bundle_image_is_handed_on_as_soon_as_it_is_built_and_a_refusal_stops_the_build() {
        let tree = fixture_tree();
        let bundles: Vec<&Bundle> = tree.all_bundles().collect();
        let seen = Mutex::new(Vec::new());
        let built = build_bundle_images(&bundles, |index, image| {
            seen.lock()
                .unwrap()
                .push((index, image.digest().to_string()));
            true
        })
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        let expected: Vec<(usize, String)> = built
            .iter()
            .enumerate()
            .map(|(index, image)| (index, image.digest().to_string()))
            .collect();
        assert_eq!(seen, expected, "every image, by its index, once");

        let err = build_bundle_images(&bundles, |_, _| false).unwrap_err();
        assert!(err.to_string().contains("the pushes stopped"), "{err}");
    }
}
