//! One add-on's build, from its bundle folder to a pushed (or written)
//! catalog: the build cache lookup, the upgrade graph check, the bundle
//! images, the catalog image on its base, and the push or the OCI layout.

use std::path::{Path, PathBuf};

use common::bundle::{self, Bundle};
use common::fbc::{self, BundleRef};
use common::oci::Image;
use common::{Error, Finding, Result};
use oci_client::Reference;

use crate::base::{base_pin, load_base};
use crate::output::{push_all, write_layout, Placed, PACKAGE_LAYOUT_NAME};
use crate::registry::{self, Registry};
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
    let prepared = prepare(args, bundles, has_document, client)?;
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

/// Resolves the target and looks the input up in the build cache (pushes
/// only: a layout is always written).
pub(crate) fn prepare(
    args: &Args,
    bundles: &Path,
    has_document: bool,
    client: &mut Option<Registry>,
) -> Result<Prepared> {
    let target = Target::from_args(args, has_document)?;
    let dir = match (&target.layout, args.no_cache) {
        (None, false) => cache::cache_dir(),
        _ => None,
    };
    let Some(dir) = dir else {
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
    let key = cache::input_key(
        bundles,
        &[
            env!("CARGO_PKG_VERSION"),
            BUILD_RECIPE,
            &repo,
            &target.bundle_repo,
            &target.tag,
            &base_pin,
        ],
    )?;
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
/// built into a package image.
const BUILD_RECIPE: &str = "recipe 2";

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
    let package = package::read_package(bundles_dir)?;
    let mut placed: Vec<Placed> = bundles
        .iter()
        .zip(build_bundle_images(&bundles)?)
        .map(|(bundle, image)| Placed {
            repository: target.bundle_repo.clone(),
            tag: bundle_tag(bundle),
            layout_name: bundle_tag(bundle),
            image,
            what: bundle.csv.name.clone(),
        })
        .collect();
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
    let package_image = match &package {
        Some(content) => {
            let package = Placed {
                repository: target.package_repo.clone(),
                tag: target.tag.clone(),
                layout_name: PACKAGE_LAYOUT_NAME.to_string(),
                image: images::package_image(content)?,
                what: "package".into(),
            };
            let reference = package.by_digest();
            placed.push(package);
            Some(reference)
        }
        None => None,
    };

    let base = load_base(&target, registry)?;
    let catalog_image = images::catalog_image(&base.image, layer)?;
    let catalog_ref = match &target.layout {
        Some(dir) => write_layout(dir, &target, &placed, &catalog_image)?,
        None => push_all(
            registry,
            &target,
            &placed,
            &catalog_image,
            base.source.as_ref(),
        )?,
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
/// A worker that panics becomes `Error::Internal` (common::parallel), as in
/// the other tools, instead of a second hand-rolled thread scope.
fn build_bundle_images(bundles: &[&Bundle]) -> Result<Vec<Image>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let progress = common::progress::Progress::counter("bundles built", bundles.len() as u64);
    let built = common::parallel::map_each(bundles, threads, |bundle| {
        let image = images::bundle_image(bundle);
        progress.inc(1);
        image
    });
    progress.finish();
    built.into_iter().collect()
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
