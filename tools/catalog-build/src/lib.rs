//! catalog-build: OLM bundle images and the file-based catalog image from an
//! add-on's bundle folders, built without a daemon, reproducibly, and pushed
//! to a registry (or written as an OCI image layout).
//!
//! `lib.rs` holds the command line and its I/O; `pipeline` is one build
//! (cache lookup, bundle images, catalog), `output` its push or layout,
//! `target` where the images go, `base` the base image, `images` the
//! images as pure functions, `package` a bundles folder's package/,
//! `imagesets` --imagesets-out, `registry` the registry end, `fleet` a
//! stream of add-ons.

mod base;
mod cache;
mod fleet;
mod images;
mod imagesets;
mod output;
mod package;
mod pipeline;
mod push_layout;
mod registry;
mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Parser;
use common::cli::io::{Format, OutputArgs, Source};
use common::{AddonDocument, Result};
use serde::Serialize;

use pipeline::build;

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
/// and `opm serve /configs`. A bundles folder with a package/ also gets its
/// package image (FROM scratch, the files under /package, pushed to
/// <repo>-package), named as packageImage. The same input gives the same
/// digests.
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
        required_unless_present_any = ["bundles_root", "push_layout"],
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
    /// tree (addons/<name>/addonimagesets/<env>/<name>.v<version>.yaml, or the
    /// file already there for that version, updated in place), or,
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

    /// Write the images into this OCI image layout instead of pushing them.
    /// With --repo, image references in the catalog use that repo, and
    /// `catalog-build --push-layout DIR` pushes them all later.
    #[arg(long, value_name = "DIR")]
    oci_layout: Option<PathBuf>,

    /// Push every image of an OCI layout written earlier with --oci-layout
    /// DIR --repo REGISTRY/REPO, each where it was built to go: the bundle
    /// and package images, then the catalog that names them.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["input", "bundles", "bundles_root", "repo_prefix", "repo", "bundle_repo", "oci_layout", "imagesets_out", "base_image", "no_cache"]
    )]
    push_layout: Option<PathBuf>,

    /// Reach the registries over plain HTTP (loopback registries always are).
    #[arg(long)]
    insecure: bool,

    /// How long the registry may stay silent (connecting, or between reads of
    /// an answer) before the push fails with exit 3. The registry client
    /// bounds idle time, not a whole request: a large layer may take longer.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = common::text::time::parse_duration)]
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogResult {
    image: String,
    digest: String,
    base: String,
    /// The package image by digest, when the bundles have a `package/`.
    package_image: Option<String>,
    #[serde(flatten)]
    summary: common::model::addon::BundlesSummary,
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
        ("Write an OCI layout instead of pushing:", "catalog-build --bundles bundles/addons/my-addon --repo quay.io/osd-addons/my-addon --oci-layout ./catalog"),
        ("Push that layout later, bundles first:", "catalog-build --push-layout ./catalog"),
    ],
};

/// Runs catalog-build on a command line (the binary's whole `main`) and returns its exit code.
pub fn uumain(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    common::tool_main(args, &MAN, run)
}

fn run(args: Args) -> Result<()> {
    if let Some(dir) = &args.push_layout {
        return push_layout::run(&args, dir);
    }
    if args.bundles_root.is_some() {
        return fleet::run(&args);
    }
    let document = read_document(args.input.as_deref())?;
    let bundles = args.bundles.clone().unwrap_or_default();
    let image_sets = image_set_targets(&args, &bundles)?;
    let result = build(&args, &bundles, document.is_some(), &mut None)?;
    write_image_sets(image_sets.as_ref(), &result)?;
    write_result(document, result, args.output.format(Format::Json))
}

/// `--imagesets-out`: where the image sets of a build go, checked before
/// the build so that a bad config.yaml or a symlinked folder stops it
/// before anything is pushed.
fn image_set_targets(args: &Args, bundles: &Path) -> Result<Option<imagesets::Targets>> {
    args.imagesets_out
        .as_deref()
        .map(|tree| imagesets::Targets::prepare(tree, bundles))
        .transpose()
}

/// Writes the image sets (or addon.yaml edits) of a build.
fn write_image_sets(targets: Option<&imagesets::Targets>, result: &CatalogResult) -> Result<()> {
    let Some(targets) = targets else {
        return Ok(());
    };
    let images = imagesets::Images {
        index_image: &result.image,
        package_image: result.package_image.as_deref(),
    };
    for written in targets.write(&images, &result.summary)? {
        common::cli::note_line(format_args!("catalog-build: {written}"));
    }
    Ok(())
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
            common::cli::io::write_document(&document, format)
        }
        None => common::cli::io::write_document(&result, format),
    }
}

/// Points the document at the built catalog: `indexImage` (and the image
/// set's) and the `bundles` summary.
fn set_catalog(document: &mut AddonDocument, result: CatalogResult) {
    document.metadata.index_image = Some(result.image.clone());
    if let Some(set) = &mut document.image_set {
        set.index_image = result.image;
        if result.package_image.is_some() {
            set.package_image = result.package_image;
        }
    }
    document.bundles = Some(result.summary);
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
    common::model::document::load_valid(source).map(Some)
}
