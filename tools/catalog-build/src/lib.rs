//! catalog-build: OLM bundle images and the file-based catalog image from an
//! add-on's bundle folders, built without a daemon, reproducibly, and pushed
//! to a registry (or written as an OCI image layout).

mod cache;
mod fleet;
mod images;
mod imagesets;
mod registry;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Parser;
use common::bundle::{self, Bundle};
use common::fbc::{self, BundleRef};
use common::io::{Format, OutputArgs, Source};
use common::oci::{Image, OciLayout};
use common::{AddonDocument, Error, Finding, Result};
use oci_client::Reference;
use serde::Serialize;

use images::BaseContent;
use registry::{PushJob, Registry};

const DEFAULT_BASE_IMAGE: &str = "quay.io/operator-framework/opm:latest";

/// Build OLM bundle images and the file-based catalog (FBC) image from an
/// add-on's bundle folders, without a daemon, and push them.
///
/// For each bundle version (main/<semver>/ and every dependency operator's
/// <operator>/<semver>/, or a folder of <semver>/ bundles) it builds a
/// bundle image (FROM scratch, /manifests and /metadata, the annotations as
/// labels) and pushes it to <repo>-bundle by digest. It renders the FBC
/// (olm.package, one olm.channel per annotated channel with replaces, skips
/// and skipRange from the CSVs, one olm.bundle per version with the
/// properties opm writes), checks the upgrade graph as opm does (one head
/// per channel, no cycles, every entry reachable, the default channel
/// exists), and builds the catalog image: the base image's layers plus one
/// /configs layer, label operators.operatorframework.io.index.configs.v1,
/// and `opm serve /configs`. The same input gives the same digests.
///
/// Input: the add-on document (from addon-validate) as FILE or on stdin, or
/// nothing. Output: the document with indexImage set to repo@sha256:... and
/// a `bundles` summary; without a document, a JSON result (image, digest,
/// package, defaultChannel, channels, bundles).
///
/// Credentials: REGISTRY_AUTH_FILE, else ~/.docker/config.json, else (for
/// quay.io) QUAY_USER/QUAY_APIKEY. Plain HTTP only for loopback registries or
/// with --insecure. An unchanged input is answered from the build cache once
/// the registry confirms it still has every image (--no-cache rebuilds).
///
/// Exit codes: 0 built and pushed; 1 bad bundles or graph (nothing is
/// pushed); 2 usage; 3 registry error (unreachable, 401, refused).
#[derive(Debug, Clone, Parser)]
#[command(name = "catalog-build", version, verbatim_doc_comment)]
struct Args {
    /// The add-on document (JSON or YAML, or an addon.yaml); `-` or nothing
    /// reads stdin when it is not a terminal. Empty input means no document.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,

    /// The add-on's bundle folder (managed-tenants-bundles layout).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "bundles_root",
        conflicts_with = "bundles_root"
    )]
    bundles: Option<PathBuf>,

    /// For a stream of add-on documents: each add-on's bundles are
    /// ROOT/<id>/ (add-ons without a folder there pass through unchanged).
    #[arg(long, value_name = "ROOT", requires = "repo_prefix")]
    bundles_root: Option<PathBuf>,

    /// With --bundles-root: push each add-on's catalog to REGISTRY/ORG/<id>.
    #[arg(
        long,
        value_name = "REGISTRY/ORG",
        requires = "bundles_root",
        conflicts_with = "repo"
    )]
    repo_prefix: Option<String>,

    /// Where to push the catalog image, like quay.io/osd-addons/my-addon.
    #[arg(long, value_name = "REGISTRY/REPO")]
    repo: Option<String>,

    /// Where to push bundle images [default: <repo>-bundle].
    #[arg(long, value_name = "REGISTRY/REPO")]
    bundle_repo: Option<String>,

    /// After the build, write the image set of every add-on and environment
    /// that the bundles' main/config.yaml lists into this managed-tenants
    /// tree (addons/<name>/addonimagesets/<env>/<name>.v<version>.yml), or,
    /// for an add-on without image sets, set indexImage in its addon.yaml.
    #[arg(long, value_name = "TREE")]
    imagesets_out: Option<PathBuf>,

    /// The catalog image's tag. Bundle images are tagged <package>-v<version>.
    #[arg(long, value_name = "TAG", default_value = "latest")]
    tag: String,

    /// The base image: a registry reference (pulled by digest), `scratch`,
    /// or `oci:DIR[:NAME]` (an OCI layout) [default: quay.io/operator-framework/opm:latest,
    /// or scratch with --oci-layout]. `opm serve` needs the opm base.
    #[arg(long, value_name = "REF")]
    base_image: Option<String>,

    /// Write the images into this OCI image layout instead of pushing them
    /// (`skopeo copy oci:DIR:TAG docker://...` pushes them later). With
    /// --repo, image references in the catalog use that repo.
    #[arg(long, value_name = "DIR")]
    oci_layout: Option<PathBuf>,

    /// Reach the registries over plain HTTP (loopback registries always are).
    #[arg(long)]
    insecure: bool,

    /// How long the registry may stay silent (connecting, or between reads of
    /// an answer) before the push fails with exit 3. The registry client
    /// bounds idle time, not a whole request: a large layer may take longer.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = common::time::parse_duration)]
    request_timeout: std::time::Duration,

    /// Rebuild and re-check every blob even when the input is unchanged since
    /// the last successful push (the build cache lives in
    /// $XDG_CACHE_HOME/addon-flow/catalog-build).
    #[arg(long)]
    no_cache: bool,

    #[command(flatten)]
    output: OutputArgs,
}

/// The result printed when there is no add-on document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogResult {
    image: String,
    digest: String,
    base: String,
    #[serde(flatten)]
    summary: common::addon::BundlesSummary,
}

/// The command line: flags and help text, for `--help`, man pages and completions.
pub fn uu_app() -> clap::Command {
    common::cli::command::<Args>()
}

/// What the man page says beyond `--help`.
pub const MAN: common::ManPage = common::ManPage {
    summary: "build OLM bundle images and the file-based catalog image without a daemon, and push them",
    environment: &[
        ("REGISTRY_AUTH_FILE", "the registry auth file (containers-auth.json format); default ~/.docker/config.json"),
        ("QUAY_USER, QUAY_APIKEY", "Quay.io robot credentials, sent to quay.io only"),
        ("XDG_CACHE_HOME", "the build cache lives in XDG_CACHE_HOME/addon-flow/catalog-build (else ~/.cache/addon-flow/catalog-build)"),
    ],
    files: &[
        ("~/.docker/config.json", "registry credentials when REGISTRY_AUTH_FILE is not set"),
        ("BUNDLES/main/X.Y.Z/", "the bundles: manifests/ and metadata/annotations.yaml"),
    ],
    examples: &[
        ("Build and push an add-on's catalog:", "addon-validate addon.yaml | catalog-build --bundles bundles/addons/my-addon --repo quay.io/osd-addons/my-addon"),
        ("Write an OCI layout instead of pushing:", "catalog-build --bundles bundles/addons/my-addon --oci-layout ./catalog"),
    ],
};

/// Runs catalog-build on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(args: Args) -> Result<()> {
    if args.bundles_root.is_some() {
        return fleet::run(&args);
    }
    let document = read_document(args.input.as_deref())?;
    let bundles = args.bundles.clone().unwrap_or_default();
    let result = build(&args, &bundles, document.is_some(), &mut None)?;
    write_image_sets(&args, &bundles, &result)?;
    write_result(document, result, args.output.format(Format::Json))
}

/// `--imagesets-out`: the image sets (or addon.yaml edits) for a build.
fn write_image_sets(args: &Args, bundles: &Path, result: &CatalogResult) -> Result<()> {
    let Some(tree) = &args.imagesets_out else {
        return Ok(());
    };
    for written in imagesets::write_all(tree, bundles, &result.image, &result.summary)? {
        common::cli::note_line(format_args!("catalog-build: {written}"));
    }
    Ok(())
}

/// Builds (or finds in the build cache) and pushes one add-on's catalog from
/// the bundle folder `bundles`, as `args` say.
///
/// `client` is the registry client, made on first use and then reused (a
/// stream builds many catalogs against the same registries: one TLS setup
/// and one credential lookup, not one per add-on).
fn build(
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
struct Prepared {
    target: Target,
    cache: Option<CacheLookup>,
}

/// The build cache's folder, this input's key, and the build recorded
/// under it (trusted only once the registry confirms its images).
struct CacheLookup {
    dir: PathBuf,
    key: String,
    hit: Option<cache::CachedBuild>,
}

impl Prepared {
    /// The recorded build for this input, to be verified in the registry.
    fn hit(&self) -> Option<&cache::CachedBuild> {
        self.cache.as_ref().and_then(|lookup| lookup.hit.as_ref())
    }
}

/// The registry client for `target`, made on first use and then reused.
fn registry_for<'a>(
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
fn prepare(
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

/// Finishes a prepared build: the cached result when `verified` (the
/// registry still has every image of the hit), else the build and push,
/// recorded in the cache.
fn finish(
    prepared: Prepared,
    bundles: &Path,
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
            summary: hit.summary.clone(),
        });
    }
    let Prepared { target, cache } = prepared;

    let tree = load_bundles(bundles)?;
    let bundles: Vec<&Bundle> = tree.all_bundles().collect();
    // The graph does not depend on digests: a bad graph is refused before
    // any image is built, and nothing is pushed.
    check_upgrade_graph(&bundles, &target.bundle_repo)?;
    let built: Vec<(&Bundle, Image)> = bundles
        .iter()
        .copied()
        .zip(build_bundle_images(&bundles)?)
        .collect();
    let refs: Vec<(&Bundle, String)> = built
        .iter()
        .map(|(bundle, image)| {
            (
                *bundle,
                format!("{}@{}", target.bundle_repo, image.digest()),
            )
        })
        .collect();
    let catalog = render_catalog(&refs)?;
    let layer = images::catalog_layer(&catalog)?;
    let main_package = tree
        .main()
        .and_then(|m| m.bundles.last())
        .and_then(Bundle::package)
        .unwrap_or_default()
        .to_string();

    let base = load_base(&target, registry)?;
    let catalog_image = images::catalog_image(&base.image, layer)?;
    let catalog_ref = match &target.layout {
        Some(dir) => write_layout(dir, &target, &built, &catalog_image)?,
        None => push_all(
            registry,
            &target,
            &built,
            &catalog_image,
            base.source.as_ref(),
        )?,
    };
    let result = CatalogResult {
        image: catalog_ref,
        digest: catalog_image.digest().to_string(),
        base: base.image.name.clone(),
        summary: images::summarize(&catalog, &main_package, &refs),
    };
    if let (Some(CacheLookup { dir, key, .. }), Some(repo)) = (&cache, &target.repo) {
        let mut pushed: Vec<cache::CachedImage> = built
            .iter()
            .map(|(bundle, image)| cache::CachedImage {
                tag_reference: format!("{}:{}", target.bundle_repo, bundle_tag(bundle)),
                digest: image.digest().to_string(),
            })
            .collect();
        pushed.push(cache::CachedImage {
            tag_reference: repo.whole(),
            digest: result.digest.clone(),
        });
        let stored = cache::store(
            dir,
            key,
            &cache::CachedBuild {
                catalog_reference: result.image.clone(),
                catalog_digest: result.digest.clone(),
                base: result.base.clone(),
                summary: result.summary.clone(),
                images: pushed,
            },
        );
        if let Some(warning) = stored {
            common::cli::note("catalog-build", warning);
        }
    }
    Ok(result)
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
    let problems = fbc::check_catalog(&catalog);
    if !problems.is_empty() {
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

/// Writes the add-on document with `indexImage` and `bundles` set, or the
/// catalog result when there is no document.
fn write_result(
    document: Option<AddonDocument>,
    result: CatalogResult,
    format: Format,
) -> Result<()> {
    match document {
        Some(mut document) => {
            set_catalog(&mut document, result);
            common::io::write_document(&document, format)
        }
        None => common::io::write_document(&result, format),
    }
}

/// Points the document at the built catalog: `indexImage` (and the image
/// set's) and the `bundles` summary.
fn set_catalog(document: &mut AddonDocument, result: CatalogResult) {
    document.metadata.index_image = Some(result.image.clone());
    if let Some(set) = &mut document.image_set {
        set.index_image = result.image;
    }
    document.bundles = Some(result.summary);
}

/// What identifies the base image for the build cache: `scratch`, the
/// digest of an `oci:` layout's index, or the registry digest of the base
/// reference (a moved tag is a different base). None when it cannot be told
/// (the full build then reports why).
fn base_pin(target: &Target, registry: &mut Registry) -> Option<String> {
    match &target.base {
        BaseImage::Scratch => Some("scratch".to_string()),
        BaseImage::Layout { dir, name } => {
            let index = std::fs::read(dir.join("index.json")).ok()?;
            Some(format!(
                "{}:{}:{}",
                target.base,
                name.as_deref().unwrap_or(""),
                common::oci::sha256_digest(&index)
            ))
        }
        BaseImage::Registry(reference) => registry.manifest_digest(reference),
    }
}

/// Reads the add-on document: FILE, or stdin when it is not a terminal;
/// empty input is no document.
fn read_document(path: Option<&Path>) -> Result<Option<AddonDocument>> {
    let source = match path {
        Some(path) if path != Path::new("-") => Source::read(Some(path))?,
        _ => {
            // No document: catalog-build also runs alone, on bundles only.
            if std::io::stdin().is_terminal() {
                return Ok(None);
            }
            let source = Source::stdin()?;
            if source.text.trim().is_empty() {
                return Ok(None);
            }
            source
        }
    };
    common::document::load_valid(source).map(Some)
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

/// Where the images go, resolved from the arguments.
struct Target {
    /// The catalog's repository (`registry/path`), when pushing or naming.
    repo: Option<Reference>,
    bundle_repo: String,
    tag: String,
    layout: Option<PathBuf>,
    base: BaseImage,
    insecure_registries: Vec<String>,
}

/// The `--base-image` argument, parsed once.
#[derive(Debug, Clone, PartialEq)]
enum BaseImage {
    /// No base layers: enough for the catalog's content, not for `opm serve`.
    Scratch,
    /// `oci:DIR[:NAME]`, an OCI image layout on disk.
    Layout { dir: PathBuf, name: Option<String> },
    /// A registry reference, pulled by digest.
    Registry(Reference),
}

impl BaseImage {
    fn parse(text: &str) -> Result<Self> {
        if text == "scratch" {
            return Ok(BaseImage::Scratch);
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            let (dir, name) = split_layout_ref(rest);
            return Ok(BaseImage::Layout {
                dir: PathBuf::from(dir),
                name: name.map(str::to_string),
            });
        }
        Reference::try_from(text)
            .map(BaseImage::Registry)
            .map_err(|err| Error::usage(format!("--base-image {text:?}: {err}")))
    }
}

impl std::fmt::Display for BaseImage {
    /// As given on the command line (a registry reference in full).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseImage::Scratch => f.write_str("scratch"),
            BaseImage::Layout { dir, name: None } => write!(f, "oci:{}", dir.display()),
            BaseImage::Layout {
                dir,
                name: Some(name),
            } => write!(f, "oci:{}:{name}", dir.display()),
            BaseImage::Registry(reference) => f.write_str(&reference.whole()),
        }
    }
}

impl Target {
    fn from_args(args: &Args, has_document: bool) -> Result<Self> {
        if args.repo.is_none() && args.oci_layout.is_none() {
            return Err(Error::usage(
                "give --repo REGISTRY/REPO to push, or --oci-layout DIR to write an OCI image layout",
            ));
        }
        if has_document && args.repo.is_none() {
            return Err(Error::usage(
                "an add-on document needs --repo: its indexImage must name the registry the catalog will be pulled from",
            ));
        }
        let repo = match &args.repo {
            Some(repo) => Some(parse_repo("--repo", repo, &args.tag)?),
            None => None,
        };
        let bundle_repo = match (&args.bundle_repo, &repo) {
            (Some(bundle_repo), _) => {
                let parsed = parse_repo("--bundle-repo", bundle_repo, "latest")?;
                format!("{}/{}", parsed.resolve_registry(), parsed.repository())
            }
            (None, Some(repo)) => {
                format!("{}/{}-bundle", repo.resolve_registry(), repo.repository())
            }
            (None, None) => "localhost/catalog-bundle".to_string(),
        };
        Reference::try_from(format!("{bundle_repo}:{}", args.tag))
            .map_err(|err| Error::usage(format!("--tag {:?}: {err}", args.tag)))?;
        let base = match &args.base_image {
            Some(base) => BaseImage::parse(base)?,
            None if args.oci_layout.is_some() => BaseImage::Scratch,
            None => BaseImage::parse(DEFAULT_BASE_IMAGE)?,
        };
        let mut registries: Vec<String> = Vec::new();
        if let Some(repo) = &repo {
            registries.push(repo.resolve_registry().to_string());
        }
        if let Some(host) = bundle_repo.split('/').next() {
            registries.push(host.to_string());
        }
        if let BaseImage::Registry(reference) = &base {
            registries.push(reference.resolve_registry().to_string());
        }
        let insecure_registries = registries
            .into_iter()
            .filter(|r| args.insecure || registry::is_loopback(r))
            .collect();
        Ok(Target {
            repo,
            bundle_repo,
            tag: args.tag.clone(),
            layout: args.oci_layout.clone(),
            base,
            insecure_registries,
        })
    }
}

/// `registry/path` with no tag or digest, parsed with `tag` added.
fn parse_repo(flag: &str, repo: &str, tag: &str) -> Result<Reference> {
    let bad = |why: String| Error::usage(format!("{flag} {repo:?}: {why}"));
    if repo.contains('@')
        || repo
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
    {
        return Err(bad(
            "give the repository without a tag or digest (the tag is --tag)".into(),
        ));
    }
    let first = repo.split('/').next().unwrap_or_default();
    if !repo.contains('/') || !(first.contains('.') || first.contains(':') || first == "localhost")
    {
        return Err(bad(
            "expected REGISTRY/REPO, like quay.io/osd-addons/my-addon".into(),
        ));
    }
    Reference::try_from(format!("{repo}:{tag}")).map_err(|err| bad(err.to_string()))
}

/// The base image and, for a registry base, where its blobs can be mounted from.
struct LoadedBase {
    image: BaseContent,
    source: Option<Reference>,
}

fn load_base(target: &Target, registry: &mut Registry) -> Result<LoadedBase> {
    let reference = match &target.base {
        BaseImage::Scratch => {
            return Ok(LoadedBase {
                image: BaseContent::scratch(),
                source: None,
            })
        }
        BaseImage::Layout { dir, name } => {
            let image = OciLayout::new(dir).read_image(name.as_deref())?;
            return Ok(LoadedBase {
                image: BaseContent::from_image(&image, target.base.to_string())?,
                source: None,
            });
        }
        BaseImage::Registry(reference) => reference,
    };
    // The layers' bytes are only needed when they cannot be mounted inside
    // the target registry: for an OCI layout, or another registry.
    let same_registry = target
        .repo
        .as_ref()
        .is_some_and(|r| r.resolve_registry() == reference.resolve_registry());
    let with_layers = target.layout.is_some() || !same_registry;
    let (image, pinned) = registry.pull(reference, with_layers)?;
    let pinned_ref = Reference::try_from(pinned.as_str()).map_err(|err| {
        Error::remote(
            target.base.to_string(),
            format!("cannot pin by digest: {err}"),
        )
    })?;
    common::cli::note_line(format_args!("catalog-build: base image {pinned}"));
    Ok(LoadedBase {
        image: BaseContent::from_image(&image, pinned)?,
        source: Some(pinned_ref),
    })
}

/// `DIR[:NAME]` of an `oci:` reference.
fn split_layout_ref(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((dir, name)) if !name.contains('/') && !dir.is_empty() => (dir, Some(name)),
        _ => (text, None),
    }
}

fn bundle_tag(bundle: &Bundle) -> String {
    format!(
        "{}-v{}",
        bundle.package().unwrap_or("bundle"),
        bundle.version
    )
}

/// Writes every image into the OCI layout; returns the catalog's reference.
fn write_layout(
    dir: &Path,
    target: &Target,
    built: &[(&Bundle, Image)],
    catalog: &Image,
) -> Result<String> {
    let layout = OciLayout::new(dir);
    let mut named: Vec<(String, &Image)> = built
        .iter()
        .map(|(bundle, image)| (bundle_tag(bundle), image))
        .collect();
    named.push((target.tag.clone(), catalog));
    let written = layout.write_images(&named)?;
    if target.base == BaseImage::Scratch {
        common::cli::note_line(format_args!(
            "catalog-build: note: the catalog image is on `scratch` (no network needed); for `opm serve` build on --base-image {DEFAULT_BASE_IMAGE}"
        ));
    }
    common::cli::note_line(format_args!(
        "catalog-build: wrote {} image(s) to the OCI layout {} ({written} new blob(s)); push with skopeo copy oci:{}:{} docker://REGISTRY/REPO:{}",
        named.len(),
        dir.display(),
        dir.display(),
        target.tag,
        target.tag
    ));
    Ok(match &target.repo {
        Some(repo) => format!(
            "{}/{}@{}",
            repo.resolve_registry(),
            repo.repository(),
            catalog.digest()
        ),
        None => format!("oci:{}:{}", dir.display(), target.tag),
    })
}

/// Pushes the bundle images, then the catalog; returns the catalog's
/// `repo@sha256:` reference. A failure stops at once with an error: nothing
/// is reported as built unless every image was pushed.
fn push_all(
    registry: &mut Registry,
    target: &Target,
    built: &[(&Bundle, Image)],
    catalog: &Image,
    base_source: Option<&Reference>,
) -> Result<String> {
    let Some(repo) = &target.repo else {
        return Err(Error::usage("pushing needs --repo"));
    };
    let mut jobs = Vec::with_capacity(built.len());
    for (bundle, image) in built {
        let target = Reference::try_from(format!("{}:{}", target.bundle_repo, bundle_tag(bundle)))
            .map_err(|err| Error::usage(format!("bundle image name: {err}")))?;
        jobs.push(PushJob {
            target,
            image: image.clone(),
            mount_from: None,
            what: bundle.csv.name.clone(),
        });
    }
    let what = format!("pushing {} bundle image(s)", jobs.len());
    registry.push_all(&what, jobs)?;
    // The catalog goes last: it names the bundle images, which must exist.
    registry.push_all(
        &format!("pushing the catalog {}", repo.whole()),
        vec![PushJob {
            target: repo.clone(),
            image: catalog.clone(),
            mount_from: base_source.cloned(),
            what: "catalog".into(),
        }],
    )?;
    let pushed = format!(
        "{}/{}@{}",
        repo.resolve_registry(),
        repo.repository(),
        catalog.digest()
    );
    let stats = registry.stats;
    common::cli::note_line(format_args!(
        "catalog-build: pushed {pushed}: {} blob(s) uploaded ({} bytes), {} already present, {} mounted, {} manifest(s) written",
        stats.uploaded_blobs, stats.uploaded_bytes, stats.present_blobs, stats.mounted_blobs, stats.manifests_written
    ));
    Ok(pushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_need_a_registry_host_and_no_tag() {
        assert!(parse_repo("--repo", "quay.io/osd-addons/x", "latest").is_ok());
        assert!(parse_repo("--repo", "127.0.0.1:5000/x", "latest").is_ok());
        assert!(parse_repo("--repo", "osd-addons/x", "latest").is_err());
        assert!(parse_repo("--repo", "quay.io/x:v1", "latest").is_err());
        assert!(parse_repo("--repo", "quay.io/x@sha256:00", "latest").is_err());
    }

    #[test]
    fn base_image_is_parsed_once_into_scratch_layout_or_registry() {
        assert_eq!(BaseImage::parse("scratch").unwrap(), BaseImage::Scratch);
        let layout = BaseImage::parse("oci:/tmp/base:v1").unwrap();
        assert_eq!(
            layout,
            BaseImage::Layout {
                dir: PathBuf::from("/tmp/base"),
                name: Some("v1".into())
            }
        );
        assert_eq!(layout.to_string(), "oci:/tmp/base:v1");
        assert_eq!(
            BaseImage::parse("oci:/tmp/base").unwrap().to_string(),
            "oci:/tmp/base"
        );
        match BaseImage::parse("127.0.0.1:5000/opm:latest").unwrap() {
            BaseImage::Registry(reference) => {
                assert_eq!(reference.resolve_registry(), "127.0.0.1:5000")
            }
            other => panic!("expected a registry reference, got {other:?}"),
        }
        let err = BaseImage::parse("Not A Reference").unwrap_err();
        assert_eq!(err.exit_status(), common::ExitStatus::Usage);
        assert!(err.to_string().contains("--base-image"), "{err}");
    }

    #[test]
    fn layout_references_split_at_the_last_colon() {
        assert_eq!(split_layout_ref("/tmp/base:v1"), ("/tmp/base", Some("v1")));
        assert_eq!(split_layout_ref("/tmp/base"), ("/tmp/base", None));
    }
}
