//! Publishing by comparison: read each object from OCM first, then POST when
//! it is missing, PATCH when something we send differs, and nothing when it
//! is equal, so a fleet run with nothing changed sends no write at all.
//! The comparison is also what `--diff` prints.

use serde::Serialize;
use serde_json::Value;

use common::Result;

use crate::publish::{without_id, Upsert};
use common::remote::ocm_auth::OcmApi;

/// One field where OCM's object differs from what we send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The JSON path of the field, like `parameters.items[0].default_value`.
    pub field: String,
    /// OCM's value (`null` when it has none).
    pub ocm: Value,
    pub ours: Value,
}

/// The fields of `ours` whose value OCM does not have. Only what we send is
/// compared (and of it only what OCM keeps, see `compared`): fields OCM adds
/// (`kind`, `href`, defaults) are not differences.
pub fn differences(ocm: &Value, ours: &Value) -> Vec<Difference> {
    let mut found = Vec::new();
    compare("", ocm, ours, &mut found);
    found
}

fn compare(path: &str, ocm: &Value, ours: &Value, found: &mut Vec<Difference>) {
    match (ocm, ours) {
        (Value::Object(theirs), Value::Object(mine)) => {
            for (key, value) in mine {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                compare(
                    &field,
                    theirs.get(key).unwrap_or(&Value::Null),
                    value,
                    found,
                );
            }
        }
        (Value::Array(theirs), Value::Array(mine)) if theirs.len() == mine.len() => {
            for (i, (a, b)) in theirs.iter().zip(mine).enumerate() {
                compare(&format!("{path}[{i}]"), a, b, found);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if ocm == ours => {}
        _ => found.push(Difference {
            field: path.to_string(),
            ocm: ocm.clone(),
            ours: ours.clone(),
        }),
    }
}

/// What of our body is compared with OCM's object: the fields the target
/// service's model keeps. A field OCM drops on reading never comes back, so
/// comparing it would PATCH the object on every run.
fn compared(step: &Upsert) -> Value {
    common::remote::ocm::model::kept_fields(step.service, step.object, &without_id(&step.body))
}

/// What was found (and, unless comparing only, done) for one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not in OCM: created (or, with --diff, would be).
    Missing,
    /// In OCM with other values: patched (or would be).
    Different,
    Equal,
}

/// The comparison of one object, as `--diff` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub what: &'static str,
    pub id: String,
    pub state: State,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

/// Reads the object from OCM and compares it with what we would send.
/// Returns the comparison and OCM's object when it exists.
pub fn compare_with_ocm(api: &OcmApi, step: &Upsert) -> Result<(Comparison, Option<Value>)> {
    let path = &step.path;
    let response = api.call("GET", path, None)?;
    if response.status == 404 {
        let comparison = Comparison {
            what: step.what,
            id: step.id.clone(),
            state: State::Missing,
            differences: Vec::new(),
        };
        return Ok((comparison, None));
    }
    if !response.is_success() {
        return Err(api.refused("GET", path, &response));
    }
    let existing = api.body(&response)?;
    let differences = differences(&existing, &compared(step));
    let state = if differences.is_empty() {
        State::Equal
    } else {
        State::Different
    };
    let comparison = Comparison {
        what: step.what,
        id: step.id.clone(),
        state,
        differences,
    };
    Ok((comparison, Some(existing)))
}

/// Brings one object in line: POST when missing, PATCH (without `id`) when
/// different, nothing when equal. Returns what OCM holds afterwards.
pub fn sync(api: &OcmApi, step: &Upsert) -> Result<Value> {
    let (comparison, existing) = compare_with_ocm(api, step)?;
    match comparison.state {
        State::Equal => {
            common::cli::note_line(format_args!(
                "ocm-post: {} {} unchanged",
                step.what, step.id
            ));
            Ok(existing.unwrap_or(Value::Null))
        }
        State::Missing => {
            let response = api.call("POST", &step.collection, Some(&step.body))?;
            if !response.is_success() {
                return Err(api.refused("POST", &step.collection, &response));
            }
            common::cli::note_line(format_args!("ocm-post: created {} {}", step.what, step.id));
            api.body(&response)
        }
        State::Different => {
            let path = &step.path;
            let response = api.call("PATCH", path, Some(&without_id(&step.body)))?;
            if !response.is_success() {
                return Err(api.refused("PATCH", path, &response));
            }
            let fields: Vec<&str> = comparison
                .differences
                .iter()
                .map(|d| d.field.as_str())
                .collect();
            common::cli::note_line(format_args!(
                "ocm-post: updated {} {} ({})",
                step.what,
                step.id,
                fields.join(", ")
            ));
            api.body(&response)
        }
    }
}

/// How many add-ons one page of the list asks for.
const PAGE_SIZE: usize = 100;

/// How many pages `list_ids` reads at most: 100,000 add-ons, hundreds of
/// times what OCM holds. A list that has not ended by then never will.
const MAX_LIST_PAGES: usize = 1000;

/// The ids of every add-on in OCM, page by page, until a page is empty or
/// `total` ids are read. A list that never gets there (pages that repeat
/// themselves, or that go on past [`MAX_LIST_PAGES`]) is OCM misbehaving:
/// an error, never an endless loop.
pub fn list_ids(api: &OcmApi, collection: &str) -> Result<Vec<String>> {
    let mut listing = Listing::new(MAX_LIST_PAGES);
    loop {
        let path = format!("{collection}?page={}&size={PAGE_SIZE}", listing.pages + 1);
        let response = api.call("GET", &path, None)?;
        if !response.is_success() {
            return Err(api.refused("GET", &path, &response));
        }
        let body = api.body(&response)?;
        match listing.add_page(&body) {
            Ok(true) => return Ok(listing.ids),
            Ok(false) => {}
            Err(why) => {
                return Err(common::Error::remote(
                    api.base_url(),
                    format!("GET {path}: {why}; no add-on was deleted or listed as extra"),
                ))
            }
        }
    }
}

/// The add-on list read so far.
#[derive(Debug)]
struct Listing {
    ids: Vec<String>,
    seen: std::collections::BTreeSet<String>,
    pages: usize,
    max_pages: usize,
}

impl Listing {
    fn new(max_pages: usize) -> Listing {
        Listing {
            ids: Vec::new(),
            seen: std::collections::BTreeSet::new(),
            pages: 0,
            max_pages,
        }
    }

    /// Takes one page's answer; `Ok(true)` when the list is complete.
    fn add_page(&mut self, body: &Value) -> std::result::Result<bool, String> {
        self.pages += 1;
        let items = body["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if items.is_empty() {
            return Ok(true);
        }
        let before = self.ids.len();
        for id in items.iter().filter_map(|item| item["id"].as_str()) {
            if self.seen.insert(id.to_string()) {
                self.ids.push(id.to_string());
            }
        }
        let total = body["total"].as_u64().unwrap_or(0) as usize;
        if self.ids.len() >= total {
            return Ok(true);
        }
        if self.ids.len() == before {
            return Err(format!(
                "OCM's add-on list repeats itself: page {} holds no add-on not already listed, with {} of the {total} it announces read",
                self.pages,
                self.ids.len()
            ));
        }
        if self.pages >= self.max_pages {
            return Err(format!(
                "OCM's add-on list did not end within {} pages ({} add-ons read, {total} announced)",
                self.pages,
                self.ids.len()
            ));
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_fields_we_send_are_compared() {
        let ocm = json!({"id": "x", "kind": "AddOn", "href": "/x", "name": "X", "enabled": true,
                         "parameters": {"items": [{"id": "size", "kind": "AddOnParameter"}]}});
        let ours = json!({"name": "X", "enabled": true, "parameters": {"items": [{"id": "size"}]}});
        assert_eq!(differences(&ocm, &ours), vec![]);
    }

    #[test]
    fn a_changed_field_is_named_with_both_values() {
        let ocm =
            json!({"name": "X", "parameters": {"items": [{"id": "a"}]}, "resource_cost": 1.0});
        let ours = json!({"name": "Y", "parameters": {"items": [{"id": "b"}]}, "resource_cost": 1,
                          "docs_link": "https://d"});
        let found = differences(&ocm, &ours);
        let fields: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["name", "parameters.items[0].id", "docs_link"]);
        assert_eq!(found[0].ocm, json!("X"));
        assert_eq!(found[0].ours, json!("Y"));
        assert_eq!(found[2].ocm, Value::Null);
    }

    fn page(ids: &[&str], total: usize) -> Value {
        let items: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        json!({"kind": "AddOnList", "page": 1, "size": items.len(), "total": total, "items": items})
    }

    #[test]
    fn a_list_ends_at_its_total_or_on_an_empty_page() {
        let mut listing = Listing::new(10);
        assert_eq!(listing.add_page(&page(&["a", "b"], 3)), Ok(false));
        assert_eq!(listing.add_page(&page(&["c"], 3)), Ok(true));
        assert_eq!(listing.ids, ["a", "b", "c"]);
        let mut listing = Listing::new(10);
        assert_eq!(listing.add_page(&page(&["a"], 5)), Ok(false));
        assert_eq!(
            listing.add_page(&page(&[], 5)),
            Ok(true),
            "an empty page ends it"
        );
    }

    #[test]
    fn a_list_that_never_reaches_its_total_is_an_error() {
        // The same page again and again (a server that ignores `page`).
        let mut listing = Listing::new(10);
        assert_eq!(listing.add_page(&page(&["a"], 1000)), Ok(false));
        let err = listing.add_page(&page(&["a"], 1000)).unwrap_err();
        assert!(err.contains("repeats itself: page 2"), "{err}");
        // New add-ons on every page, for ever.
        let mut listing = Listing::new(3);
        assert_eq!(listing.add_page(&page(&["a"], 1000)), Ok(false));
        assert_eq!(listing.add_page(&page(&["b"], 1000)), Ok(false));
        let err = listing.add_page(&page(&["c"], 1000)).unwrap_err();
        assert!(
            err.contains("did not end within 3 pages (3 add-ons read, 1000 announced)"),
            "{err}"
        );
    }

    #[test]
    fn a_field_the_service_does_not_keep_is_no_difference() {
        let step = Upsert {
            what: "add-on",
            service: common::remote::ocm::Service::ClustersMgmt,
            object: common::remote::ocm::model::Object::AddOn,
            collection: "/api/clusters_mgmt/v1/addons".into(),
            id: "x".into(),
            path: "/api/clusters_mgmt/v1/addons/x".into(),
            body: json!({"id": "x", "name": "X", "not_in_the_model": 1,
                         "parameters": {"items": [{"id": "a", "order": 1}]}}),
        };
        // OCM's answer, as it keeps what it read.
        let ocm = json!({"kind": "AddOn", "id": "x", "href": "/x", "name": "X",
                         "parameters": {"items": [{"kind": "AddOnParameter", "id": "a"}]}});
        assert_eq!(differences(&ocm, &compared(&step)), vec![]);
        assert_eq!(
            differences(&ocm, &without_id(&step.body)).len(),
            2,
            "compared whole, they differ"
        );
    }

    #[test]
    fn arrays_of_another_length_differ_as_a_whole() {
        let found = differences(&json!({"a": [1, 2]}), &json!({"a": [1]}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "a");
    }
}
