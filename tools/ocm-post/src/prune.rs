//! `--prune`: deleting from OCM the add-ons the environment no longer holds.
//!
//! "Not in my input" is not "removed from the tree": a stage drops a failed
//! add-on from the stream, and a stream may be cut short or be a selection.
//! So a prune acts only on the inventory that ends a fleet stream
//! (`common::model::inventory`): it runs only when that inventory is of the whole
//! environment (and of the environment the OCM URL is, when that is known),
//! deletes only the add-ons it does not list (an add-on that failed on the
//! way is still listed, and kept), and deletes at most `--max-deletions` of
//! them. Otherwise nothing is deleted and the refusal says why (exit 1); the
//! add-ons themselves are still published.

use std::collections::BTreeSet;
use std::fmt;

use common::model::inventory::{check_deletions, Inventory, Refusal};
use common::remote::ocm::{object_path, Service};
use common::remote::ocm_auth::OcmApi;
use common::{Error, Result};

use crate::publish::PlannedRequest;

/// What a prune decides on.
#[derive(Debug, Clone)]
pub struct PruneInput<'a> {
    /// The inventory that ended the input, if any.
    pub inventory: Option<&'a Inventory>,
    /// The add-on ids of the input: never deleted, whatever the inventory says.
    pub in_input: &'a BTreeSet<String>,
    /// The add-ons whose document failed in this run.
    pub failed_here: &'a BTreeSet<String>,
    /// The environment the OCM URL is, when it is one of the three.
    pub target_environment: Option<&'a str>,
    /// `--max-deletions`.
    pub max_deletions: usize,
}

/// What a prune may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunePlan {
    /// The inventory's environment, for messages.
    pub environment: String,
    /// OCM's add-ons the inventory does not list, in OCM's order.
    pub delete: Vec<String>,
    /// OCM's add-ons that failed a stage but are still in the tree: kept,
    /// with the stage that dropped them.
    pub kept_failed: Vec<(String, String)>,
}

/// Why a prune deletes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No inventory of the whole environment ended the input.
    NotWhole(Refusal),
    /// The inventory is of another environment than the OCM URL.
    OtherEnvironment { inventory: String, target: String },
    /// OCM lists an id that cannot be put into a path.
    NotAnId(String),
    /// More deletions than `--max-deletions`.
    TooMany { delete: Vec<String>, max: usize },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotWhole(refusal) => write!(f, "not pruning: {refusal}; nothing was deleted"),
            Refused::OtherEnvironment { inventory, target } => write!(
                f,
                "not pruning: the inventory is of the {inventory} environment, and the OCM URL is \
                 {target}'s; nothing was deleted"
            ),
            Refused::NotAnId(why) => {
                write!(f, "not pruning: OCM lists {why}; nothing was deleted")
            }
            Refused::TooMany { delete, max } => f.write_str(
                &check_deletions(delete.len(), *max)
                    .err()
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Decides a prune from OCM's add-on ids. Pure: the refusal, or what to
/// delete and what is kept because it failed on the way.
pub fn plan(input: &PruneInput, ocm_ids: &[String]) -> std::result::Result<PrunePlan, Refused> {
    let inventory = Inventory::for_prune(input.inventory).map_err(Refused::NotWhole)?;
    if let Some(target) = input.target_environment {
        if target != inventory.environment {
            return Err(Refused::OtherEnvironment {
                inventory: inventory.environment.clone(),
                target: target.to_string(),
            });
        }
    }
    let delete: Vec<String> = ocm_ids
        .iter()
        .filter(|id| !inventory.holds(id) && !input.in_input.contains(*id))
        .cloned()
        .collect();
    if let Some(why) = delete
        .iter()
        .find_map(|id| common::model::names::ocm_id("add-on id", id).err())
    {
        return Err(Refused::NotAnId(why));
    }
    if check_deletions(delete.len(), input.max_deletions).is_err() {
        return Err(Refused::TooMany {
            delete,
            max: input.max_deletions,
        });
    }
    let failed_upstream = inventory
        .failed
        .iter()
        .filter_map(|failure| Some((failure.id.as_deref()?, failure.stage.as_str())));
    let failed_here = input.failed_here.iter().map(|id| (id.as_str(), "ocm-post"));
    let mut kept_failed: Vec<(String, String)> = Vec::new();
    for (id, stage) in failed_upstream.chain(failed_here) {
        let in_ocm = ocm_ids.iter().any(|listed| listed == id);
        if in_ocm && inventory.holds(id) && !kept_failed.iter().any(|(kept, _)| kept == id) {
            kept_failed.push((id.to_string(), stage.to_string()));
        }
    }
    Ok(PrunePlan {
        environment: inventory.environment.clone(),
        delete,
        kept_failed,
    })
}

/// Plans the prune and carries it out: deletes each add-on, or with
/// `dry_run` (the base URL to show) only says what it would delete and
/// returns the DELETE requests. Every line about a deletion says which.
pub fn run(
    api: &OcmApi,
    service: Service,
    input: &PruneInput,
    ocm_ids: &[String],
    dry_run: Option<&str>,
) -> (Vec<PlannedRequest>, Result<()>) {
    let marker = if dry_run.is_some() { "dry run: " } else { "" };
    let plan = match plan(input, ocm_ids) {
        Ok(plan) => plan,
        Err(refused) => {
            if let Refused::TooMany { delete, .. } = &refused {
                for id in delete {
                    common::cli::note_line(format_args!(
                        "ocm-post: {marker}the prune would delete add-on {id} (not deleted)"
                    ));
                }
            }
            return (Vec::new(), Err(Error::Invalid(refused.to_string())));
        }
    };
    for (id, stage) in &plan.kept_failed {
        common::cli::note_line(format_args!(
            "ocm-post: {marker}keeping add-on {id} in OCM: it failed in {stage}, and the {} tree still holds it",
            plan.environment
        ));
    }
    if plan.delete.is_empty() {
        common::cli::note_line(format_args!(
            "ocm-post: {marker}nothing to prune: OCM holds no add-on the {} inventory lacks",
            plan.environment
        ));
    }
    let why = format!("not in the {} inventory", plan.environment);
    let mut planned = Vec::new();
    let mut failures = Vec::new();
    for id in &plan.delete {
        let path = object_path(service.addons_path(), id);
        match dry_run {
            Some(base) => {
                common::cli::note_line(format_args!(
                    "ocm-post: dry run: would delete add-on {id} ({why})"
                ));
                planned.push(PlannedRequest::new("DELETE", base, &path, None));
            }
            None => {
                if let Err(err) = delete(api, &path, id, &why) {
                    failures.push(err);
                }
            }
        }
    }
    (planned, crate::install::worst(failures))
}

/// Deletes one add-on; one already gone is success.
fn delete(api: &OcmApi, path: &str, id: &str, why: &str) -> Result<()> {
    let response = api.call("DELETE", path, None)?;
    if response.is_success() || response.status == 404 {
        common::cli::note_line(format_args!(
            "ocm-post: deleted add-on {id} ({why}; --prune)"
        ));
        return Ok(());
    }
    Err(api.refused("DELETE", path, &response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::inventory::Scope;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| id.to_string()).collect()
    }

    fn whole(addons: &[&str]) -> Inventory {
        Inventory::new("stage", Scope::Whole, None, set(addons).into())
    }

    fn input<'a>(
        inventory: Option<&'a Inventory>,
        in_input: &'a BTreeSet<String>,
        failed_here: &'a BTreeSet<String>,
    ) -> PruneInput<'a> {
        PruneInput {
            inventory,
            in_input,
            failed_here,
            target_environment: None,
            max_deletions: 5,
        }
    }

    #[test]
    fn only_what_the_whole_inventory_lacks_is_deleted() {
        let none = BTreeSet::new();
        let input_ids = set(&["a"]);
        let inventory = whole(&["a", "b"]);
        let plan = plan(
            &input(Some(&inventory), &input_ids, &none),
            &ids(&["a", "b", "gone", "also-gone"]),
        )
        .unwrap();
        assert_eq!(plan.delete, ["gone", "also-gone"]);
        assert_eq!(plan.environment, "stage");
    }

    #[test]
    fn without_an_inventory_of_the_whole_environment_nothing_is_deleted() {
        let none = BTreeSet::new();
        let ocm = ids(&["a", "b"]);
        let refused = plan(&input(None, &none, &none), &ocm).unwrap_err();
        assert_eq!(refused, Refused::NotWhole(Refusal::Missing));
        assert!(
            refused.to_string().contains("nothing was deleted"),
            "{refused}"
        );
        let selection = Inventory::new(
            "stage",
            Scope::Selection,
            Some("--changed-since origin/main".into()),
            set(&["a"]).into(),
        );
        let refused = plan(&input(Some(&selection), &none, &none), &ocm).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("a selection of the environment (--changed-since origin/main)"),
            "{refused}"
        );
    }

    #[test]
    fn an_addon_that_failed_on_the_way_is_kept_and_said_so() {
        let none = BTreeSet::new();
        let here = set(&["c"]);
        let mut inventory = whole(&["a", "b", "c"]);
        inventory.record_failure(Some("b"), "catalog-build");
        let plan = plan(
            &input(Some(&inventory), &none, &here),
            &ids(&["a", "b", "c"]),
        )
        .unwrap();
        assert!(plan.delete.is_empty());
        assert_eq!(
            plan.kept_failed,
            [
                ("b".to_string(), "catalog-build".to_string()),
                ("c".to_string(), "ocm-post".to_string())
            ]
        );
    }

    #[test]
    fn more_deletions_than_the_cap_delete_nothing() {
        let none = BTreeSet::new();
        let inventory = whole(&[]);
        let mut capped = input(Some(&inventory), &none, &none);
        capped.max_deletions = 2;
        let refused = plan(&capped, &ids(&["x", "y", "z"])).unwrap_err();
        assert_eq!(
            refused,
            Refused::TooMany {
                delete: ids(&["x", "y", "z"]),
                max: 2
            }
        );
        let text = refused.to_string();
        assert!(
            text.contains(
                "would delete 3 objects, more than --max-deletions 2; nothing was deleted"
            ),
            "{text}"
        );
        capped.max_deletions = 3;
        assert_eq!(
            plan(&capped, &ids(&["x", "y", "z"])).unwrap().delete.len(),
            3
        );
    }

    #[test]
    fn an_inventory_of_another_environment_or_an_id_that_is_not_one_deletes_nothing() {
        let none = BTreeSet::new();
        let inventory = whole(&["a"]);
        let mut production = input(Some(&inventory), &none, &none);
        production.target_environment = Some("production");
        let refused = plan(&production, &ids(&["a", "b"])).unwrap_err();
        assert!(
            refused.to_string().contains(
                "the inventory is of the stage environment, and the OCM URL is production's"
            ),
            "{refused}"
        );
        production.target_environment = Some("stage");
        assert!(plan(&production, &ids(&["a", "b"])).is_ok());
        let refused = plan(&production, &ids(&["a", "../b"])).unwrap_err();
        assert!(matches!(refused, Refused::NotAnId(_)), "{refused}");
    }
}
