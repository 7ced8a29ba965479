//! An add-on document (what addon-validate prints) through the pure stages
//! after it: syncset-render's render and templates, ocm-post's payloads.

use common::cli::io::{Origin, Source};
use common::remote::ocm::{self, Service};
use syncset_render::{render, ClusterDeploymentRef, RenderOptions, Target};

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let Ok(source) = Source::from_bytes(Origin::Stdin, data.to_vec()) else {
        return;
    };
    let Ok(document) = common::model::document::load_valid(source) else {
        return;
    };
    let targets = [
        Target::Selector,
        Target::ClusterDeployments(vec![ClusterDeploymentRef {
            namespace: "uhc-production-abc".to_string(),
            name: "cluster-1".to_string(),
        }]),
    ];
    let options = [
        RenderOptions::default(),
        RenderOptions {
            install_plan_approval: Some("Manual".to_string()),
        },
    ];
    for target in &targets {
        for option in &options {
            let _ = render(&document, target, option);
        }
    }
    let _ = syncset_render::template::extra_resources(&document);
    for service in [Service::ClustersMgmt, Service::AddonsMgmt] {
        let payload = ocm::addon_payload(&document, service);
        let _ = serde_json::to_vec(&payload);
        let _ = ocm::version_payload(&document, service);
        for with_version in [false, true] {
            if let Ok(steps) = ocm_post::publish::plan(&document, service, with_version) {
                for step in &steps {
                    let _ = ocm_post::publish::without_id(&step.body);
                }
            }
        }
    }
}
