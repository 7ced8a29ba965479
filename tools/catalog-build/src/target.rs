//! Where the images go: the catalog's repository and tag, the bundles'
//! repository, the OCI layout, the base image and which registries are
//! reached over plain HTTP, resolved once from the arguments.

use std::path::PathBuf;

use common::{Error, Result};
use oci_client::Reference;

use crate::base::{BaseImage, DEFAULT_BASE_IMAGE};
use crate::{registry, Args};

/// Where the images go, resolved from the arguments.
pub(crate) struct Target {
    /// The catalog's repository (`registry/path`), when pushing or naming.
    pub(crate) repo: Option<Reference>,
    pub(crate) bundle_repo: String,
    /// Where the package image of a bundles folder with a `package/` goes:
    /// `<repo>-package`, as mtcli's `<registry>/<addon>-package`.
    pub(crate) package_repo: String,
    pub(crate) tag: String,
    pub(crate) layout: Option<PathBuf>,
    pub(crate) base: BaseImage,
    pub(crate) insecure_registries: Vec<String>,
}

impl Target {
    pub(crate) fn from_args(args: &Args, has_document: bool) -> Result<Self> {
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
        let package_repo = match &repo {
            Some(repo) => format!("{}/{}-package", repo.resolve_registry(), repo.repository()),
            None => "localhost/catalog-package".to_string(),
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
            package_repo,
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
}
