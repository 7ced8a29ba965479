//! The rules an add-on must pass whenever it is loaded, by any tool: the
//! cross-field rules whose breach would put a broken object into a SyncSet or
//! OCM (a CatalogSource pointing at a secret that will not exist, two objects
//! of one name, a snitch name Hive reserves), and the extra resources, which
//! must render as Jinja2 into a Kubernetes object. managed-tenants runs its
//! loader's rules each time it loads an add-on; [`crate::document::load`]
//! runs these each time, so `syncset-render addon.yaml` refuses what
//! `addon-validate addon.yaml` refuses, with the same findings.
//!
//! A document that went through addon-validate is not trusted blindly: the
//! rules are cheap (a few comparisons and one render per extra resource), so
//! they simply run on every load, and nothing has to mark a document as
//! validated.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::addon::AddonDocument;
use crate::field_path::FieldPath;
use crate::finding::Finding;

/// The codes of the loading rules, for `--list-checks` and `--disable`.
pub mod codes {
    pub use crate::finding_codes::am::{DMS_SNITCH_NAME, PULL_SECRET_NAME, UNIQUE_NAMES};
    pub use crate::finding_codes::mt::EXTRA_RESOURCE_TEMPLATE;
}

/// Runs every loading rule. `file` is the add-on's name in findings;
/// `templates_dir` the folder of the extra resource files when they came
/// from a tree (their findings then name the template file and its line).
pub fn load_rules(
    file: &str,
    document: &AddonDocument,
    templates_dir: Option<&Path>,
) -> Vec<Finding> {
    let mut findings = dms_snitch_name(file, document);
    findings.extend(unique_names(file, document));
    findings.extend(pull_secret_name(file, document));
    findings.extend(extra_resource_templates(file, document, templates_dir));
    findings
}

fn field(name: &str) -> FieldPath {
    FieldPath::root().key(name)
}

/// AM0006: the snitch name post-fix may not begin with `hive-`.
pub fn dms_snitch_name(file: &str, document: &AddonDocument) -> Vec<Finding> {
    let post_fix = document
        .metadata
        .deadmanssnitch
        .as_ref()
        .and_then(|d| d.snitch_name_post_fix.as_deref());
    match post_fix {
        Some(post_fix) if post_fix.starts_with("hive-") => vec![Finding::error(
            codes::DMS_SNITCH_NAME,
            file,
            "the snitch name post-fix begins with 'hive-', which Hive reserves",
        )
        .at(&field("deadmanssnitch").key("snitchNamePostFix"))
        .expected("a post-fix not starting with 'hive-'")
        .found(post_fix)],
        _ => Vec::new(),
    }
}

/// AM0016: additional catalog sources, secrets and credentials requests have
/// unique names (each becomes an object named after it).
pub fn unique_names(file: &str, document: &AddonDocument) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut report = |path: FieldPath, what: &str, names: Vec<&str>| {
        let mut seen = BTreeSet::new();
        for (i, name) in names.into_iter().enumerate() {
            if !seen.insert(name) {
                out.push(
                    Finding::error(
                        codes::UNIQUE_NAMES,
                        file,
                        format!("{what} name {name:?} is used more than once"),
                    )
                    .at(&path.index(i))
                    .expected(format!("unique {what} names"))
                    .found(name),
                );
            }
        }
    };
    report(
        field("additionalCatalogSources"),
        "additional catalog source",
        document
            .additional_catalog_sources()
            .iter()
            .map(|c| c.name.as_str())
            .collect(),
    );
    report(
        field("config").key("secrets"),
        "secret",
        document.secrets().iter().map(|c| c.name.as_str()).collect(),
    );
    report(
        field("credentialsRequests"),
        "credentials request",
        document
            .metadata
            .credentials_requests
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect(),
    );
    out
}

/// AM0017: `pullSecretName` is one of the secrets the add-on propagates.
///
/// Naming a secret that is not among `config.secrets` is an error (a typo: the
/// CatalogSource would wait for a secret that never comes). An add-on with
/// no `config.secrets` at all is only warned about: managed-tenants' loader
/// refuses it, but managed-tenants' own reference renderings include such
/// add-ons (fixtures mutated after loading), and the secret may be put on
/// the cluster by other means; our conformance with those renderings stays.
pub fn pull_secret_name(file: &str, document: &AddonDocument) -> Vec<Finding> {
    let Some(pull) = document.pull_secret_name() else {
        return Vec::new();
    };
    let secrets: Vec<&str> = document.secrets().iter().map(|s| s.name.as_str()).collect();
    if secrets.contains(&pull) {
        return Vec::new();
    }
    let finding = if secrets.is_empty() {
        Finding::warning(
            codes::PULL_SECRET_NAME,
            file,
            "pullSecretName names a secret, but the add-on propagates no secrets; \
             the CatalogSource needs it on the cluster by other means",
        )
        .expected("a config.secrets entry of that name (there are no secrets)")
    } else {
        Finding::error(
            codes::PULL_SECRET_NAME,
            file,
            "pullSecretName is not one of the add-on's secrets",
        )
        .expected(format!("one of {}", secrets.join(", ")))
    };
    vec![finding.at(&field("pullSecretName")).found(pull)]
}

/// MT0004: every extra resource renders (as Jinja2, with `ADDON`) into one
/// Kubernetes object, so a broken template is found before any deploy.
pub fn extra_resource_templates(
    file: &str,
    document: &AddonDocument,
    templates_dir: Option<&Path>,
) -> Vec<Finding> {
    let Some(templates) = &document.extra_resource_templates else {
        return Vec::new();
    };
    let names = document.metadata.extra_resources.iter().flatten();
    let mut out = Vec::new();
    for (i, name) in names.enumerate() {
        let Some(text) = templates.get(name) else {
            continue;
        };
        let problem = match crate::jinja::render_extra_resource(name, text, document) {
            Err(err) => Some((
                err.line,
                format!("does not render as Jinja2: {}", err.message),
            )),
            Ok(rendered) => kubernetes_object_problem(&rendered).map(|why| (None, why)),
        };
        let Some((line, why)) = problem else { continue };
        let finding = match templates_dir {
            Some(dir) => {
                let finding = Finding::error(
                    codes::EXTRA_RESOURCE_TEMPLATE,
                    dir.join(name),
                    format!("extra resource {name:?} {why}"),
                );
                match line {
                    Some(line) => finding.line(line),
                    None => finding.line(1),
                }
            }
            None => Finding::error(
                codes::EXTRA_RESOURCE_TEMPLATE,
                file,
                format!(
                    "extra resource {name:?} {why}{}",
                    line.map(|l| format!(" (template line {l})"))
                        .unwrap_or_default()
                ),
            )
            .at(&field("extraResources").index(i)),
        };
        out.push(finding.expected("a Jinja2 template of one Kubernetes object (apiVersion, kind)"));
    }
    out
}

/// Why rendered text is not one Kubernetes object, if it is not.
pub fn kubernetes_object_problem(rendered: &str) -> Option<String> {
    match crate::yaml::parse_one(rendered) {
        Err(err) => Some(format!("is not YAML once rendered: {err}")),
        Ok(parsed) => match &parsed.value {
            Value::Object(map)
                if map.get("apiVersion").is_some_and(Value::is_string)
                    && map.get("kind").is_some_and(Value::is_string) =>
            {
                None
            }
            _ => Some("is not a Kubernetes object once rendered (no apiVersion and kind)".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addon::{AddonConfig, ConfigSecret};
    use std::collections::BTreeMap;

    fn document() -> AddonDocument {
        crate::testing::minimal_document(serde_json::json!({}))
    }

    fn codes_and_paths(findings: Vec<Finding>) -> Vec<String> {
        findings
            .into_iter()
            .map(|f| format!("{} {}", f.code, f.path))
            .collect()
    }

    #[test]
    fn a_clean_addon_passes_every_loading_rule() {
        assert!(load_rules("addon.yaml", &document(), None).is_empty());
    }

    #[test]
    fn snitch_post_fix_may_not_start_with_hive() {
        let mut doc = document();
        doc.metadata.deadmanssnitch = Some(crate::addon::DeadmansSnitch {
            snitch_name_post_fix: Some("hive-x".into()),
            ..Default::default()
        });
        assert_eq!(
            codes_and_paths(load_rules("a", &doc, None)),
            ["AM0006 deadmanssnitch.snitchNamePostFix"]
        );
    }

    #[test]
    fn duplicate_secret_and_unknown_pull_secret() {
        let mut doc = document();
        let secret = |name: &str| ConfigSecret {
            name: name.into(),
            secret_type: "Opaque".into(),
            vault_path: "p".into(),
            version: 1,
            fields: vec![],
        };
        doc.metadata.config = Some(AddonConfig {
            env: None,
            secrets: Some(vec![secret("a"), secret("a")]),
        });
        doc.metadata.pull_secret_name = Some("pull".into());
        let findings = load_rules("a", &doc, None);
        assert!(findings.iter().all(Finding::is_error));
        assert_eq!(
            codes_and_paths(findings),
            ["AM0016 config.secrets[1]", "AM0017 pullSecretName"]
        );
    }

    #[test]
    fn a_pull_secret_without_any_config_secrets_is_a_warning() {
        let mut doc = document();
        doc.metadata.pull_secret_name = Some("pull".into());
        let findings = load_rules("a", &doc, None);
        assert_eq!(findings.len(), 1);
        assert!(!findings[0].is_error());
        assert_eq!(findings[0].code, "AM0017");
    }

    #[test]
    fn a_template_that_does_not_render_is_found_at_its_line() {
        let mut doc = document();
        doc.metadata.extra_resources = Some(vec!["ok.yaml.j2".into(), "bad.yaml.j2".into()]);
        doc.extra_resource_templates = Some(BTreeMap::from([
            (
                "ok.yaml.j2".to_string(),
                "apiVersion: v1\nkind: ConfigMap\n".to_string(),
            ),
            (
                "bad.yaml.j2".to_string(),
                "apiVersion: v1\nkind: {{ ADDON.metadata.nope.x }}\n".to_string(),
            ),
        ]));
        let findings = load_rules("addon.yaml", &doc, Some(Path::new("meta")));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].file, "meta/bad.yaml.j2");
        assert_eq!(findings[0].line, Some(2));
        let findings = load_rules("addon.json", &doc, None);
        assert_eq!(codes_and_paths(findings), ["MT0004 extraResources[1]"]);
    }

    #[test]
    fn a_template_must_render_a_kubernetes_object() {
        assert!(kubernetes_object_problem("apiVersion: v1\nkind: X\n").is_none());
        assert!(kubernetes_object_problem("just text").is_some());
        assert!(kubernetes_object_problem("a: [").is_some());
    }
}
