//! Publishing a stream of add-ons: each add-on (and its version) brought in
//! line with OCM by comparison, up to `--jobs` at once, then the add-ons OCM
//! has that the input does not, listed (or, with `--prune`, deleted).

use std::collections::BTreeMap;

use serde_json::Value;

use common::io::Format;
use common::ocm::Service;
use common::ocm_auth::OcmApi;
use common::stream::StreamItem;
use common::{Error, Result};

use crate::publish::plan;
use crate::sync;

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
    /// `--prune`.
    pub prune: bool,
}

/// The add-on id of a stream's document: its own, or the one read from a
/// broken document.
fn item_id(item: &StreamItem) -> Option<&str> {
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
    let mut places: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for item in &items {
        if let Some(id) = item_id(item) {
            places
                .entry(id.to_string())
                .or_default()
                .push(item.position);
        }
    }
    items
        .into_iter()
        .map(|mut item| {
            let repeated = item_id(&item)
                .and_then(|id| places.get(id))
                .filter(|positions| positions.len() > 1);
            if let Some(positions) = repeated {
                let listed: Vec<String> = positions.iter().map(ToString::to_string).collect();
                item.document = Err(Error::Invalid(format!(
                    "the input holds add-on {} {} times (documents {}): give each add-on once; none of them was published",
                    item_id(&item).unwrap_or_default(),
                    positions.len(),
                    listed.join(", ")
                )));
            }
            item
        })
        .collect()
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

/// Publishes (or, with --diff, compares) every add-on of the stream, then
/// lists the add-ons OCM has that the stream does not (deleted with --prune).
pub fn publish_stream(
    api: &OcmApi,
    options: &Options,
    stream: Vec<common::stream::StreamItem>,
    format: Format,
) -> Result<()> {
    let total = stream.len();
    let mut outcomes = common::stream::Outcomes::new("ocm-post", total);
    let mut listed = std::collections::BTreeSet::new();
    let items: Vec<(String, Result<common::AddonDocument>)> = stream
        .into_iter()
        .map(|item| {
            let name = item.name();
            listed.extend(item.id.clone());
            if let Ok(document) = &item.document {
                listed.insert(document.metadata.id.clone());
            }
            (name, item.document)
        })
        .collect();
    // Each add-on is its own reads and writes: `--jobs` of them at once,
    // the answers kept in stream order.
    let valid: Vec<&common::AddonDocument> = items
        .iter()
        .filter_map(|(_, document)| document.as_ref().ok())
        .collect();
    let done = outcomes.counter();
    // A bad document is done already: nothing is sent for it.
    done.inc((items.len() - valid.len()) as u64);
    let mut answers = common::parallel::map_each(&valid, options.jobs, |document| {
        let answer = publish_one(api, options, document);
        done.inc(1);
        answer
    })
    .into_iter();
    let mut written = Vec::new();
    for (name, document) in items {
        let result = document.and_then(|_| {
            answers
                .next()
                .unwrap_or_else(|| Err(Error::internal("an add-on of the stream went unanswered")))
        });
        if let Some(value) = outcomes.record(&name, result) {
            written.push(value);
        }
    }
    let collection = options.service.addons_path();
    if total < 2 && !options.prune && !options.compare_only {
        // One add-on published: the rest of OCM is not this run's business.
        return finish_publish(options, written, format, outcomes);
    }
    let extra: Vec<String> = sync::list_ids(api, collection)?
        .into_iter()
        .filter(|id| !listed.contains(id))
        .collect();
    if !extra.is_empty() {
        common::cli::note_line(format_args!(
            "ocm-post: {} add-on(s) in OCM are not in the input: {}{}",
            extra.len(),
            extra.join(", "),
            if options.prune && !options.compare_only {
                ""
            } else {
                " (not deleted; --prune deletes them)"
            }
        ));
    }
    // A document that could not be read may be one of the add-ons OCM
    // lists: never prune on a stream with failures.
    if options.prune && !options.compare_only && outcomes.failures() > 0 {
        common::cli::note_line(format_args!(
            "ocm-post: not pruning: {} document(s) of the input failed",
            outcomes.failures()
        ));
    } else if options.prune && !options.compare_only {
        for id in &extra {
            outcomes.record(id, sync::delete(api, collection, id));
        }
    }
    finish_publish(options, written, format, outcomes)
}

/// Writes what OCM answered (or, with --diff, the comparisons) and the
/// stream's exit status.
fn finish_publish(
    options: &Options,
    written: Vec<Value>,
    format: Format,
    outcomes: common::stream::Outcomes,
) -> Result<()> {
    if options.compare_only {
        // One comparison list per add-on: flattened, one record per object.
        let records: Vec<Value> = written
            .into_iter()
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .collect();
        common::stream::write_documents(&records, None, format)?;
    } else if !written.is_empty() {
        common::stream::write_documents(&written, None, format)?;
    }
    outcomes.finish()
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
