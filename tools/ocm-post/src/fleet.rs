//! Publishing a stream of add-ons: each add-on (and its version) brought in
//! line with OCM by comparison, up to `--jobs` at once, then the add-ons OCM
//! has beyond the environment listed (or, with `--prune`, deleted: see
//! `prune`).

use std::collections::{BTreeMap, BTreeSet};

use common::cli::io::Format;
use common::cli::stream::{Outcomes, Stream, StreamItem};
use common::remote::ocm::Service;
use common::remote::ocm_auth::OcmApi;
use common::{Error, Result};

use crate::install::worst;
use crate::planned::PlannedStream;
use crate::prune::{self, PruneInput};
use crate::publish::{plan, PlannedRequest};
use crate::{api_url, sync};

/// How a stream is published.
#[derive(Debug, Clone)]
pub struct Options {
    pub service: Service,
    /// Publish each add-on's image set version too (not `--no-version`).
    pub with_version: bool,
    /// `--diff`: compare only, change nothing.
    pub compare_only: bool,
    /// `--jobs`: add-ons at once.
    pub jobs: usize,
    /// `--prune`, with its `--max-deletions`.
    pub prune: Option<usize>,
    /// The input, as warnings name it (a path, or `<stdin>`).
    pub source: String,
}

/// Says where what we send differs from what managed-tenants-cli sends
/// (DF warnings), once per add-on.
fn warn_differences(options: &Options, document: &common::AddonDocument) {
    for finding in
        common::remote::ocm::mtcli_differences(document, options.service, &options.source)
    {
        common::cli::note_line(finding);
    }
}

/// The add-on id of a stream's document: its own, or the one read from a
/// broken document.
pub(crate) fn item_id(item: &StreamItem) -> Option<&str> {
    match &item.document {
        Ok(document) => Some(document.metadata.id.as_str()),
        Err(_) => item.id.as_deref(),
    }
}

/// Refuses every document whose add-on id the stream holds more than once.
/// Publishing them at once would race (a random winner, sometimes a 409),
/// and which one is meant cannot be told: none of them is published, the
/// same way whatever their order, and the message names every place.
pub fn refuse_repeated_ids(items: Vec<StreamItem>) -> Vec<StreamItem> {
    let repeated = repeated_ids(&items, |item| Some((item_id(item)?, item.position)));
    items
        .into_iter()
        .map(|mut item| {
            if let Some((id, positions)) = item_id(&item).and_then(|id| repeated.get_key_value(id))
            {
                item.document = Err(repeated_error(id, positions));
            }
            item
        })
        .collect()
}

/// The add-on ids that stand at more than one of `items` (`place` gives an
/// item's id and its document's position, when it has an id), with every
/// position they stand at, in stream order.
pub(crate) fn repeated_ids<'a, T>(
    items: &'a [T],
    place: impl Fn(&'a T) -> Option<(&'a str, usize)>,
) -> BTreeMap<String, Vec<usize>> {
    // The items' numbers sorted by id: 4 bytes an item, not a map of every
    // id (a fleet's stream holds thousands, nearly never one twice). A
    // stream is far below 4 GiB documents.
    let id = |i: &u32| place(&items[*i as usize]).map(|(id, _)| id);
    let mut order: Vec<u32> = (0..items.len() as u32)
        .filter(|i| id(i).is_some())
        .collect();
    // Stable: the copies of an id stay in stream order.
    order.sort_by(|a, b| id(a).cmp(&id(b)));
    let mut repeated: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for run in order
        .chunk_by(|a, b| id(a) == id(b))
        .filter(|run| run.len() > 1)
    {
        let places = run.iter().filter_map(|i| place(&items[*i as usize]));
        let positions = places.clone().map(|(_, position)| position).collect();
        if let Some((id, _)) = places.into_iter().next() {
            repeated.insert(id.to_string(), positions);
        }
    }
    repeated
}

/// Why a document whose add-on id the stream holds at `positions` (more
/// than one) is refused.
pub(crate) fn repeated_error(id: &str, positions: &[usize]) -> Error {
    let listed: Vec<String> = positions.iter().map(ToString::to_string).collect();
    Error::Invalid(format!(
        "the input holds add-on {id} {} times (documents {}): give each add-on once; none of them was published",
        positions.len(),
        listed.join(", ")
    ))
}

/// Publishes one add-on (and its version) by comparison, or with `--diff`
/// only compares them; the answer is what OCM holds afterwards.
fn publish_one(
    api: &OcmApi,
    options: &Options,
    document: &common::AddonDocument,
) -> Result<serde_json::Value> {
    let steps = plan(document, options.service, options.with_version)?;
    if options.compare_only {
        let mut compared = Vec::new();
        for step in &steps {
            compared.push(sync::compare_with_ocm(api, step)?.0);
        }
        return serde_json::to_value(compared).map_err(Error::internal);
    }
    let mut answered = sync::sync(api, &steps[0])?;
    if let Some(step) = steps.get(1) {
        // OCM links the version from the add-on (AddOn.version).
        answered["version"] = sync::sync(api, step)?;
    }
    Ok(answered)
}

/// The add-on ids of a stream's documents, and those of the documents that
/// already failed (unreadable, or repeated).
fn ids_of(items: &[StreamItem]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for item in items {
        if let Some(id) = item_id(item) {
            all.insert(id.to_string());
            if item.document.is_err() {
                failed.insert(id.to_string());
            }
        }
    }
    (all, failed)
}

/// Publishes (or, with --diff, compares) every add-on of the stream, then
/// lists the add-ons OCM has beyond the environment, or with `--prune`
/// deletes those the environment's inventory does not list.
pub fn publish_stream(
    api: &OcmApi,
    options: &Options,
    stream: Stream,
    base: &str,
    format: Format,
) -> Result<()> {
    let Stream { items, inventory } = stream;
    let total = items.len();
    let mut outcomes = Outcomes::new("ocm-post", total);
    let (in_input, mut failed_here) = ids_of(&items);
    let items: Vec<(String, Option<String>, Result<common::AddonDocument>)> = items
        .into_iter()
        .map(|item| {
            let id = item_id(&item).map(str::to_string);
            (item.name(), id, item.document)
        })
        .collect();
    // Each add-on is its own reads and writes: `--jobs` of them at once,
    // the answers kept in stream order.
    let valid: Vec<&common::AddonDocument> = items
        .iter()
        .filter_map(|(_, _, document)| document.as_ref().ok())
        .collect();
    for document in &valid {
        warn_differences(options, document);
    }
    let done = outcomes.counter();
    // A bad document is done already: nothing is sent for it.
    done.inc((items.len() - valid.len()) as u64);
    let mut answers = common::cli::parallel::map_each(&valid, options.jobs, |document| {
        let answer = publish_one(api, options, document);
        done.inc(1);
        answer
    })
    .into_iter();
    let mut written = Vec::new();
    for (name, id, document) in items {
        let result = document.and_then(|_| {
            answers
                .next()
                .unwrap_or_else(|| Err(Error::internal("an add-on of the stream went unanswered")))
        });
        match outcomes.record(&name, result) {
            Some(value) => written.push(value),
            None => failed_here.extend(id),
        }
    }
    let mut failures = Vec::new();
    if total >= 2 || options.prune.is_some() || options.compare_only {
        // One add-on published alone: the rest of OCM is not this run's business.
        let beyond = beyond_the_input(
            api,
            options,
            inventory.as_ref(),
            &in_input,
            &failed_here,
            base,
            None,
        );
        failures.extend(beyond.1.err());
    }
    if options.compare_only {
        // One comparison list per add-on: flattened, one record per object.
        written = written
            .into_iter()
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .collect();
        common::cli::stream::write_documents(&written, None, format)?;
    } else if !written.is_empty() {
        common::cli::stream::write_documents(&written, None, format)?;
    }
    failures.extend(outcomes.finish().err());
    worst(failures)
}

/// `--dry-run --prune`: the requests publishing would send, planned
/// offline, and the deletions the prune would make, read from OCM's list.
pub fn plan_with_prune(
    api: &OcmApi,
    options: &Options,
    stream: PlannedStream,
    base: &str,
    format: Format,
) -> Result<()> {
    let (in_input, failed_here) = stream.ids();
    let inventory = stream.inventory.clone();
    let mut outcomes = Outcomes::new("ocm-post", stream.len());
    let mut requests = stream.report(&mut outcomes)?;
    let (deletions, pruned) = beyond_the_input(
        api,
        options,
        inventory.as_ref(),
        &in_input,
        &failed_here,
        base,
        Some(base),
    );
    requests.extra = deletions;
    if !requests.is_empty() {
        requests.write(format)?;
    }
    worst(
        outcomes
            .finish()
            .err()
            .into_iter()
            .chain(pruned.err())
            .collect(),
    )
}

/// `--dry-run`: the requests publishing each add-on would send, each bad
/// document recorded as failed; nothing on stdout when no add-on could be
/// planned (the next stage must not take an empty list for a result).
pub fn plan_stream(stream: PlannedStream, format: Format) -> Result<()> {
    let mut outcomes = Outcomes::new("ocm-post", stream.len());
    let requests = stream.report(&mut outcomes)?;
    if !requests.is_empty() {
        requests.write(format)?;
    }
    outcomes.finish()
}

/// Reads OCM's add-on list, then lists the add-ons beyond the environment
/// or, with `--prune` (and not `--diff`), prunes them (`dry_run`: only says
/// which, and returns the DELETE requests).
fn beyond_the_input(
    api: &OcmApi,
    options: &Options,
    inventory: Option<&common::model::inventory::Inventory>,
    in_input: &BTreeSet<String>,
    failed_here: &BTreeSet<String>,
    base: &str,
    dry_run: Option<&str>,
) -> (Vec<PlannedRequest>, Result<()>) {
    let ocm_ids = match sync::list_ids(api, options.service.addons_path()) {
        Ok(ids) => ids,
        Err(err) => return (Vec::new(), Err(err)),
    };
    match options.prune.filter(|_| !options.compare_only) {
        Some(max_deletions) => {
            let input = PruneInput {
                inventory,
                in_input,
                failed_here,
                target_environment: api_url::environment_of(base),
                max_deletions,
            };
            prune::run(api, options.service, &input, &ocm_ids, dry_run)
        }
        None => {
            let extra: Vec<&str> = ocm_ids
                .iter()
                .filter(|id| !in_input.contains(*id) && !inventory.is_some_and(|i| i.holds(id)))
                .map(String::as_str)
                .collect();
            if !extra.is_empty() {
                common::cli::note_line(format_args!(
                    "ocm-post: {} add-on(s) in OCM are not in the input: {} (not deleted; --prune deletes those an inventory of the whole environment lacks)",
                    extra.len(),
                    extra.join(", ")
                ));
            }
            (Vec::new(), Ok(()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(position: usize, id: &str) -> StreamItem {
        StreamItem {
            position,
            id: Some(id.to_string()),
            document: Ok(common::testing::minimal_document(
                serde_json::json!({"id": id, "label": format!("api.openshift.com/addon-{id}")}),
            )),
        }
    }

    #[test]
    fn every_copy_of_a_repeated_id_is_refused_the_others_go_through() {
        let broken = StreamItem {
            position: 4,
            id: Some("aa".into()),
            document: Err(Error::Invalid("broken".into())),
        };
        let items = refuse_repeated_ids(vec![item(1, "aa"), item(2, "bb"), item(3, "aa"), broken]);
        assert!(items[1].document.is_ok());
        let first = items[0].document.as_ref().unwrap_err().to_string();
        assert!(
            first.contains("the input holds add-on aa 3 times (documents 1, 3, 4)"),
            "{first}"
        );
        for index in [2, 3] {
            assert_eq!(
                items[index].document.as_ref().unwrap_err().to_string(),
                first
            );
        }
    }
}
