//! OCM answers (an add-on, a version or installation list, an error body,
//! any status) through what ocm-post reads them with.

use crate::response;
use common::remote::ocm::{self, AddonPayload, VersionPayload};
use serde_json::Value;

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let answer = response(data);
    let _ = ocm::describe_error(answer.status, &answer.body);
    let _ = answer.json::<AddonPayload>("https://api.fuzz");
    let _ = answer.json::<VersionPayload>("https://api.fuzz");
    // What ocm-post reads every answer with, then --show's merge of the
    // versions list into the add-on (it indexes into the object it got).
    if let Ok(mut addon) = common::remote::ocm_auth::read_object("https://api.fuzz", &answer) {
        let items = addon.get("items").cloned();
        addon["versions"] = items.unwrap_or(Value::Array(Vec::new()));
        let _ = ocm_post::publish::without_id(&addon);
        let _ = common::cli::io::render(&addon, common::cli::io::Format::Yaml);
    }
}
