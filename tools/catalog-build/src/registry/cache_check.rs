//! The build cache's question to the registry: does it still hold every
//! image of a cached build? Asked with plain requests where no credentials
//! are needed, else through oci-client; many builds at once.

use std::collections::BTreeMap;

use common::oci;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::push::PUSH_CONCURRENCY;
use super::retry::{digest_result, logged};
use super::Registry;

/// How many manifest `HEAD`s the cache check sends at once: each is a tiny
/// answer, and a stream's unchanged run is made of thousands of them.
const CHECK_CONCURRENCY: usize = 16;

/// What a manifest `HEAD` accepts: the media types our images and the
/// base images we pull are written in.
pub(super) const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    oci::MEDIA_TYPE_MANIFEST,
    oci::MEDIA_TYPE_INDEX,
    oci::MEDIA_TYPE_DOCKER_MANIFEST,
    oci::MEDIA_TYPE_DOCKER_LIST,
];

impl Registry {
    /// Whether the registry still holds a cached build's images (bundle
    /// images first, the catalog last; see [`CacheCheck`]).
    pub fn has_manifests(&mut self, images: &[crate::cache::CachedImage]) -> bool {
        self.has_manifests_each(&[images])
            .into_iter()
            .all(|found| found)
    }

    /// [`Self::has_manifests`] for many builds at once: a stream's cache
    /// check asks the registry about every add-on together,
    /// [`CHECK_CONCURRENCY`] requests at a time, instead of one add-on after
    /// another.
    pub fn has_manifests_each(&mut self, sets: &[&[crate::cache::CachedImage]]) -> Vec<bool> {
        let planned: Vec<Option<Vec<CacheCheck>>> =
            sets.iter().map(|set| CacheCheck::plan(set)).collect();
        let all: Vec<&CacheCheck> = planned.iter().flatten().flatten().collect();
        let found = match self.check_plainly(&all) {
            Some(found) => found,
            None => self.check_through_oci_client(&all),
        };
        let mut start = 0;
        planned
            .iter()
            .map(|checks| match checks {
                None => false,
                Some(checks) => {
                    let of_set = &found[start..start + checks.len()];
                    start += checks.len();
                    of_set.iter().all(|&one| one)
                }
            })
            .collect()
    }

    /// Each check answered with plain requests, for registries we hold no
    /// credentials for. oci-client asks a registry's `/v2/` for a token
    /// before every request when the registry needs none (it caches tokens
    /// only), which doubles the requests of the cache check a fleet's
    /// unchanged run is made of. None (use oci-client) when a registry wants
    /// credentials (401/403) or answers anything else.
    fn check_plainly(&mut self, checks: &[&CacheCheck]) -> Option<Vec<bool>> {
        let mut requests = Vec::with_capacity(checks.len());
        for check in checks {
            let reference = check.reference();
            let registry = reference.resolve_registry().to_string();
            if self.wants_token.contains(&registry)
                || !matches!(self.auth_for(reference).ok()?, RegistryAuth::Anonymous)
            {
                return None;
            }
            let endpoint = self.endpoint(reference);
            let (base, repository) = endpoint.repository.split_once("/v2/")?;
            self.plain_client(base)?;
            let path = match check {
                CacheCheck::Manifest { .. } => {
                    format!("/v2/{repository}/manifests/{}", endpoint.reference)
                }
                CacheCheck::Tags { .. } => format!("/v2/{repository}/tags/list"),
            };
            requests.push((registry, base.to_string(), path, *check));
        }
        let plain = &self.plain;
        let answers = common::cli::parallel::map_bounded(&requests, CHECK_CONCURRENCY, |request| {
            let (_, base, path, check) = request;
            match check {
                CacheCheck::Manifest { digest, .. } => {
                    let head = common::remote::http::Request::new("HEAD", path)
                        .header("Accept", MANIFEST_MEDIA_TYPES.join(", "));
                    match plain[base].send(&head) {
                        Ok(answer) if answer.status == 200 => {
                            Some(answer.header("Docker-Content-Digest") == Some(digest.as_str()))
                        }
                        Ok(answer) if answer.status == 404 => Some(false),
                        _ => None,
                    }
                }
                CacheCheck::Tags { tags, .. } => {
                    let listed = list_tags_plainly(&plain[base], path)?;
                    Some(tags.iter().all(|tag| listed.contains(tag)))
                }
            }
        });
        for ((registry, ..), answer) in requests.iter().zip(&answers) {
            if answer.is_none() {
                self.wants_token.insert(registry.clone());
            }
        }
        answers.into_iter().collect()
    }

    /// Each check answered through oci-client (with its credentials and
    /// token flow), [`PUSH_CONCURRENCY`] at a time. A check that cannot be
    /// asked (no credentials) is `false`: the build runs and says why.
    fn check_through_oci_client(&mut self, checks: &[&CacheCheck]) -> Vec<bool> {
        let mut asked = Vec::with_capacity(checks.len());
        for check in checks {
            let reference = check.reference().clone();
            let auth = self.auth_for(&reference).ok();
            let url = match check {
                CacheCheck::Manifest { .. } => self.endpoint(&reference).manifest(),
                CacheCheck::Tags { .. } => {
                    format!("{}/tags/list", self.endpoint(&reference).repository)
                }
            };
            asked.push((reference, auth, (*check).clone(), url));
        }
        let client = self.client.clone();
        self.runtime.block_on(async move {
            let mut running = tokio::task::JoinSet::new();
            let mut pending = asked.into_iter().enumerate();
            let ask = |client: Client,
                       (index, (reference, auth, check, url)): (
                usize,
                (Reference, Option<RegistryAuth>, CacheCheck, String),
            )| async move {
                let Some(auth) = auth else {
                    return (index, false);
                };
                let found = match check {
                    CacheCheck::Manifest { digest, .. } => {
                        logged("HEAD", url, 0, digest_result, || {
                            client.fetch_manifest_digest(&reference, &auth)
                        })
                        .await
                        .is_ok_and(|found| found == digest)
                    }
                    CacheCheck::Tags { tags, .. } => {
                        list_tags_through_oci_client(&client, &reference, &auth, &url)
                            .await
                            .is_some_and(|listed| tags.iter().all(|tag| listed.contains(tag)))
                    }
                };
                (index, found)
            };
            let mut found = vec![false; checks.len()];
            for item in pending.by_ref().take(PUSH_CONCURRENCY) {
                running.spawn(ask(client.clone(), item));
            }
            while let Some(joined) = running.join_next().await {
                // One missing image makes its build a miss; the others still
                // get their answer.
                if let Ok((index, true)) = joined {
                    found[index] = true;
                }
                if let Some(item) = pending.next() {
                    running.spawn(ask(client.clone(), item));
                }
            }
            found
        })
    }
}

/// One question a cache hit puts to the registry before it is trusted.
///
/// The catalog's tag must still point at the recorded digest (the output
/// names that digest). The bundle images are asked per repository, with one
/// tags listing: every recorded bundle tag must still be there. That is one
/// request per repository instead of one per bundle version (an add-on with
/// 40 versions is 2 requests, not 41), and it still tells a wiped registry,
/// a deleted repository and a deleted tag; a bundle tag moved to another
/// image is not seen (`--no-cache` rebuilds and re-checks everything).
#[derive(Debug, Clone)]
pub enum CacheCheck {
    Manifest {
        reference: Reference,
        digest: String,
    },
    Tags {
        repository: Reference,
        tags: Vec<String>,
    },
}

impl CacheCheck {
    /// The checks for one cached build (bundle images first, the catalog
    /// last); None when a recorded reference no longer parses.
    fn plan(images: &[crate::cache::CachedImage]) -> Option<Vec<CacheCheck>> {
        let (catalog, bundles) = images.split_last()?;
        let mut by_repository: BTreeMap<String, (Reference, Vec<String>)> = BTreeMap::new();
        for image in bundles {
            let reference = Reference::try_from(image.tag_reference.as_str()).ok()?;
            let tag = reference.tag()?.to_string();
            let repository = format!(
                "{}/{}",
                reference.resolve_registry(),
                reference.repository()
            );
            by_repository
                .entry(repository)
                .or_insert_with(|| (reference.clone(), Vec::new()))
                .1
                .push(tag);
        }
        let mut checks: Vec<CacheCheck> = by_repository
            .into_values()
            .map(|(repository, tags)| CacheCheck::Tags { repository, tags })
            .collect();
        checks.push(CacheCheck::Manifest {
            reference: Reference::try_from(catalog.tag_reference.as_str()).ok()?,
            digest: catalog.digest.clone(),
        });
        Some(checks)
    }

    fn reference(&self) -> &Reference {
        match self {
            CacheCheck::Manifest { reference, .. } => reference,
            CacheCheck::Tags { repository, .. } => repository,
        }
    }
}

/// The most tags-listing pages followed for one repository.
const MAX_TAG_PAGES: usize = 100;

/// A repository's tags (`GET /v2/<name>/tags/list`, following the `Link`
/// header's next page). `Some(empty)` when the repository is unknown (404);
/// None when the registry wants credentials or answers anything else.
fn list_tags_plainly(
    client: &common::remote::http::Client,
    first_page: &str,
) -> Option<std::collections::BTreeSet<String>> {
    let mut tags = std::collections::BTreeSet::new();
    let mut page = first_page.to_string();
    for _ in 0..MAX_TAG_PAGES {
        let answer = client
            .send(
                &common::remote::http::Request::new("GET", &page)
                    .header("Accept", "application/json"),
            )
            .ok()?;
        match answer.status {
            200 => {}
            404 => return Some(tags),
            _ => return None,
        }
        let listed: TagList = serde_json::from_slice(&answer.body).ok()?;
        tags.extend(listed.tags.unwrap_or_default());
        match answer.header("Link").and_then(next_page) {
            Some(next) => page = next,
            None => return Some(tags),
        }
    }
    Some(tags)
}

/// The distribution spec's tags listing; `tags` may be null.
#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// The path of `Link: </v2/name/tags/list?n=100&last=x>; rel="next"`.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), r#"rel="next""# | "rel=next"))
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|path| path.starts_with('/'))
    })
}

/// [`list_tags_plainly`] through oci-client, page by page (a page shorter
/// than asked is the last).
async fn list_tags_through_oci_client(
    client: &Client,
    repository: &Reference,
    auth: &RegistryAuth,
    url: &str,
) -> Option<std::collections::BTreeSet<String>> {
    const PAGE: usize = 100;
    let mut tags = std::collections::BTreeSet::new();
    let mut last: Option<String> = None;
    for _ in 0..MAX_TAG_PAGES {
        let page = logged(
            "GET",
            url.to_string(),
            0,
            |page: &oci_client::client::TagResponse| format!("200 ({} tag(s))", page.tags.len()),
            || client.list_tags(repository, auth, Some(PAGE), last.as_deref()),
        )
        .await
        .ok()?;
        let full = page.tags.len() >= PAGE;
        last = page.tags.last().cloned();
        tags.extend(page.tags);
        if !full {
            break;
        }
    }
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_build_is_checked_with_one_tags_listing_per_bundle_repository_and_the_catalog_by_digest(
    ) {
        let image = |tag_reference: &str, digest: &str| crate::cache::CachedImage {
            tag_reference: tag_reference.into(),
            digest: digest.into(),
        };
        let checks = CacheCheck::plan(&[
            image("r.io/org/a-bundle:a-v1.0.0", "sha256:1"),
            image("r.io/org/a-bundle:a-v1.1.0", "sha256:2"),
            image("r.io/org/dep-bundle:dep-v0.1.0", "sha256:3"),
            image("r.io/org/a:latest", "sha256:4"),
        ])
        .unwrap();
        let shown: Vec<String> = checks
            .iter()
            .map(|check| match check {
                CacheCheck::Tags { repository, tags } => {
                    format!("tags {} {}", repository.repository(), tags.join(","))
                }
                CacheCheck::Manifest { reference, digest } => {
                    format!("manifest {} {digest}", reference.whole())
                }
            })
            .collect();
        assert_eq!(
            shown,
            [
                "tags org/a-bundle a-v1.0.0,a-v1.1.0",
                "tags org/dep-bundle dep-v0.1.0",
                "manifest r.io/org/a:latest sha256:4",
            ]
        );
        assert!(CacheCheck::plan(&[]).is_none());
    }

    #[test]
    fn the_next_tags_page_comes_from_the_link_header() {
        assert_eq!(
            next_page(r#"</v2/org/a/tags/list?n=100&last=v9>; rel="next""#).as_deref(),
            Some("/v2/org/a/tags/list?n=100&last=v9")
        );
        assert_eq!(next_page(r#"</v2/x>; rel="prev""#), None);
        assert_eq!(
            next_page(r#"<https://elsewhere/v2/x>; rel="next""#),
            None,
            "only a path on the same registry is followed"
        );
    }
}
