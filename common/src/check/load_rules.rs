//! The rules an add-on must pass whenever it is loaded, by any tool: the
//! cross-field rules whose breach would put a broken object into a SyncSet or
//! OCM (a CatalogSource pointing at a secret that will not exist, two objects
//! of one name, a snitch name Hive reserves), and the extra resources, which
//! must render as Jinja2 into a Kubernetes object. managed-tenants runs its
//! loader's rules each time it loads an add-on; [`crate::model::document::load`]
//! runs these each time, so `syncset-render addon.yaml` refuses what
//! `addon-validate addon.yaml` refuses, with the same findings.
//!
//! A document that went through addon-validate is not trusted blindly: it
//! is sealed (`crate::model::seal`), and only a document whose seal is the digest
//! of exactly what was read skips them; any other, a document edited by hand
//! since included, runs them again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::check::field_path::FieldPath;
use crate::check::finding::Finding;
use crate::model::addon::AddonDocument;
use crate::text::jinja::{self, TemplateError, TemplateFiles};

/// The codes of the loading rules, for `--list-checks` and `--disable`.
pub mod codes {
    pub use crate::check::finding_codes::am::{DMS_SNITCH_NAME, PULL_SECRET_NAME, UNIQUE_NAMES};
    pub use crate::check::finding_codes::df::{
        EXTRA_RESOURCE_DOCUMENT_MARKER, MTCLI_TEMPLATE_NAME,
    };
    pub use crate::check::finding_codes::mt::EXTRA_RESOURCE_TEMPLATE;
}

/// The templates of an add-on read from a tree: its metadata folder (the
/// findings name files there) and the reader of its files, which also
/// finds the files the extra resources include.
pub struct TemplateTree {
    pub dir: PathBuf,
    pub files: Arc<dyn TemplateFiles>,
}

/// Runs every loading rule. `file` is the add-on's name in findings;
/// `tree` where the extra resource files came from, when from a tree (their
/// findings then name the template file and its line); without one, the
/// document's `extraResourceTemplates` are the files.
pub fn load_rules(
    file: &str,
    document: &AddonDocument,
    tree: Option<&TemplateTree>,
) -> Vec<Finding> {
    let mut findings = dms_snitch_name(file, document);
    findings.extend(unique_names(file, document));
    findings.extend(pull_secret_name(file, document));
    findings.extend(extra_resource_templates(file, document, tree));
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

/// MT0004: every extra resource renders (as mtcli renders it, with `ADDON`)
/// into one Kubernetes object, so a broken template is found before any
/// deploy; DF0005 and DF0006 where mtcli would render it otherwise.
pub fn extra_resource_templates(
    file: &str,
    document: &AddonDocument,
    tree: Option<&TemplateTree>,
) -> Vec<Finding> {
    let Some(templates) = &document.extra_resource_templates else {
        return Vec::new();
    };
    let files: Arc<dyn TemplateFiles> = match tree {
        Some(tree) => tree.files.clone(),
        None => Arc::new(templates.clone()),
    };
    let renderer = jinja::Renderer::new(files, document);
    let names = document.metadata.extra_resources.iter().flatten();
    let mut out = Vec::new();
    for (i, name) in names.enumerate() {
        if !templates.contains_key(name) {
            // Unreadable: already a finding of its own (MT0003).
            continue;
        }
        let place = ExtraResourcePlace {
            file,
            tree,
            name,
            index: i,
        };
        let rendered = match renderer.render(name) {
            Ok(rendered) => rendered,
            Err(err) => {
                out.push(place.render_error(&err));
                continue;
            }
        };
        match jinja::extra_resource_object(&rendered.text) {
            Ok(object) if object.document_marker => out.push(place.document_marker()),
            Ok(_) => {}
            Err(why) => out.push(place.error(None, None, &why)),
        }
        for (loaded, _) in &rendered.loaded {
            if jinja::shadowed_by_mtcli(loaded) {
                out.push(place.shadowed(loaded));
            }
        }
    }
    out
}

/// Where one extra resource's findings point: its file and line when it
/// came from a tree, else the add-on's `extraResources[i]`.
struct ExtraResourcePlace<'a> {
    file: &'a str,
    tree: Option<&'a TemplateTree>,
    name: &'a str,
    index: usize,
}

impl ExtraResourcePlace<'_> {
    fn finding(
        &self,
        error: bool,
        code: crate::check::finding_codes::Code,
        template: Option<&str>,
        line: Option<usize>,
        message: String,
    ) -> Finding {
        let make = |file: String, message: String| {
            if error {
                Finding::error(code, file, message)
            } else {
                Finding::warning(code, file, message)
            }
        };
        match self.tree {
            Some(tree) => make(
                tree.dir
                    .join(template.unwrap_or(self.name))
                    .display()
                    .to_string(),
                message,
            )
            .line(line.unwrap_or(1)),
            None => {
                let at = match (template, line) {
                    (Some(template), Some(line)) => format!(" ({template}, template line {line})"),
                    (Some(template), None) => format!(" ({template})"),
                    (None, Some(line)) => format!(" (template line {line})"),
                    (None, None) => String::new(),
                };
                make(self.file.to_string(), format!("{message}{at}"))
                    .at(&field("extraResources").index(self.index))
            }
        }
    }

    fn error(&self, template: Option<&str>, line: Option<usize>, why: &str) -> Finding {
        let included = template
            .map(|t| format!(" (in the template it includes, {t:?})"))
            .unwrap_or_default();
        self.finding(
            true,
            codes::EXTRA_RESOURCE_TEMPLATE,
            template,
            line,
            format!("extra resource {:?}{included} {why}", self.name),
        )
        .expected("a Jinja2 template of one Kubernetes object (apiVersion, kind), as managed-tenants-cli renders it")
    }

    fn render_error(&self, err: &TemplateError) -> Finding {
        self.error(
            err.template.as_deref(),
            err.line,
            &format!("does not render as Jinja2: {}", err.message),
        )
    }

    fn document_marker(&self) -> Finding {
        self.finding(
            false,
            codes::EXTRA_RESOURCE_DOCUMENT_MARKER,
            None,
            None,
            format!(
                "extra resource {:?} starts with a YAML document marker (---): managed-tenants-cli \
                 writes it into its List as '- ---' and fails to read the add-on; addon-flow reads \
                 the document (drop the marker to render the same in both)",
                self.name
            ),
        )
    }

    fn shadowed(&self, template: &str) -> Finding {
        self.finding(
            false,
            codes::MTCLI_TEMPLATE_NAME,
            (template != self.name).then_some(template),
            None,
            format!(
                "template {template:?} is named like a file of managed-tenants-cli's own package: \
                 mtcli loads its managedtenants/data/{template} instead of the add-on's file; \
                 addon-flow renders the add-on's (rename the file to render the same in both)"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::addon::{AddonConfig, ConfigSecret};
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
        doc.metadata.deadmanssnitch = Some(crate::model::addon::DeadmansSnitch {
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
        let templates = doc.extra_resource_templates.clone().unwrap();
        let tree = TemplateTree {
            dir: PathBuf::from("meta"),
            files: Arc::new(templates),
        };
        let findings = load_rules("addon.yaml", &doc, Some(&tree));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].file, "meta/bad.yaml.j2");
        assert_eq!(findings[0].line, Some(2));
        let findings = load_rules("addon.json", &doc, None);
        assert_eq!(codes_and_paths(findings), ["MT0004 extraResources[1]"]);
    }
}
