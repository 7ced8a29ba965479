//! The catalogue of checks, and which of them a run enables.
//!
//! Families: `SC` the managed-tenants JSON schemas, `MT` the rest of what the
//! managed-tenants loader refuses, `BD` bundle structure, and `AM` the
//! addon-metadata-operator validators (AM0001..AM0017), run offline; `DF`
//! warnings name where managed-tenants-cli renders the add-on differently
//! from us (README, "Differences from managed-tenants-cli"). The
//! checks marked "(every tool)" are loading rules (`common::load_rules`):
//! every tool that reads an add-on runs them too.

use common::{Error, Result};

/// What a check needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The add-on metadata (and its image set) alone.
    Metadata,
    /// `--bundles`.
    Bundles,
    /// A remote service; not run by this offline tool.
    Network,
}

pub struct Check {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub needs: Needs,
}

const fn check(
    code: &'static str,
    name: &'static str,
    description: &'static str,
    needs: Needs,
) -> Check {
    Check {
        code,
        name,
        description,
        needs,
    }
}

pub const CHECKS: &[Check] = &[
    check("SC0001", "required", "a field the schema requires is missing", Needs::Metadata),
    check("SC0002", "type", "a field has the wrong type", Needs::Metadata),
    check("SC0003", "pattern", "a string does not match the schema's pattern", Needs::Metadata),
    check("SC0004", "enum", "a value is not one of the allowed values", Needs::Metadata),
    check("SC0005", "unknown_field", "a field the schema does not know (typos included)", Needs::Metadata),
    check("SC0006", "duplicate_key", "a key appears twice in one mapping", Needs::Metadata),
    check("SC0007", "minimum", "a number is below its minimum", Needs::Metadata),
    check("SC0008", "min_items", "a list has too few items", Needs::Metadata),
    check("SC0009", "format", "text holds control characters", Needs::Metadata),
    check("SC0010", "dependency", "a field needs another one (editable_direction needs options, ...)", Needs::Metadata),
    check("SC0011", "document", "the file is not a mapping of fields", Needs::Metadata),
    check("MT0001", "image_set", "addonImageSetVersion resolves to a valid image set", Needs::Metadata),
    check("MT0002", "image_set_skipped", "an image set file could not be considered (warning)", Needs::Metadata),
    check("MT0003", "extra_resources", "every extraResources file exists beside addon.yaml", Needs::Metadata),
    check("MT0004", "extra_resource_template", "every extra resource renders as Jinja2 into one Kubernetes object (every tool)", Needs::Metadata),
    check("BD0001", "bundle_version_dir", "bundle folders are named with a semantic version", Needs::Bundles),
    check("BD0002", "bundle_annotations", "metadata/annotations.yaml exists with package and channels", Needs::Bundles),
    check("BD0003", "bundle_manifests", "manifests/ holds exactly one ClusterServiceVersion, all YAML", Needs::Bundles),
    check("BD0004", "csv_version", "the CSV's spec.version is a semver without 'v' and matches the folder", Needs::Bundles),
    check("BD0005", "skip_range", "olm.skipRange is a valid semver range", Needs::Bundles),
    check("BD0006", "unsafe_file", "no symlink leaves the bundle folder, no folder on the way to a bundle is a symlink; every file is readable", Needs::Bundles),
    check("BD0007", "bundle_channels", "the bundle's default channel is one of its channels", Needs::Bundles),
    check("BD0008", "bundle_layout", "every operator folder holds bundles", Needs::Bundles),
    check("BD0009", "bundle_names", "package, channel and CSV names are DNS-1123 names; file names are UTF-8 without control characters", Needs::Bundles),
    check("AM0001", "default_channel", "defaultChannel matches the head bundle's channel annotations", Needs::Bundles),
    check("AM0002", "label_format", "label is 'api.openshift.com/addon-<id>'", Needs::Metadata),
    check("AM0003", "operator_name", "operatorName matches each bundle's package, CSV name and replaces", Needs::Bundles),
    check("AM0004", "icon_base64", "icon is a base64-encoded PNG", Needs::Metadata),
    check("AM0005", "test_harness", "testHarness is a quay.io image reference (existence needs Quay: not checked)", Needs::Metadata),
    check("AM0006", "dms_snitchnamepostfix", "deadmanssnitch.snitchNamePostFix does not begin with 'hive-' (every tool)", Needs::Metadata),
    check("AM0007", "csv_install_modes", "installMode is supported by every bundle's CSV", Needs::Bundles),
    check("AM0008", "ensure_namespace", "targetNamespace is in namespaces; namespaces start with 'redhat-'", Needs::Metadata),
    check("AM0009", "addon_parameters", "addOnParameters defaults match their validation or options", Needs::Metadata),
    check("AM0010", "k8s_resource_and_field_names", "namespaces, labels, annotations and secret names are valid Kubernetes names", Needs::Metadata),
    check("AM0011", "sku_validation", "an OCM quota rule exists for ocmQuotaName (needs OCM: not run)", Needs::Network),
    check("AM0012", "csv_permissions", "the head CSV's RBAC has no wildcard API groups, no wildcard on foreign resources, no cluster-wide secrets/configmaps", Needs::Bundles),
    check("AM0013", "addon_requirements", "every addOnRequirements entry has data", Needs::Metadata),
    check("AM0015", "csv_deployments", "every container of the head CSV has probes and CPU/memory requests and limits", Needs::Bundles),
    check("AM0016", "unique_resource", "additional catalog sources, secrets and credentials requests have unique names (every tool)", Needs::Metadata),
    check("AM0017", "pull_secret_name", "pullSecretName names one of config.secrets (every tool)", Needs::Metadata),
    check("DF0001", "mtcli_retyped_scalar", "warning: a string mtcli inserts unquoted, which YAML 1.1 reads as a number, boolean or null ('0123', 'on', 'null', '1.10')", Needs::Metadata),
    check("DF0002", "mtcli_env_block_scalar", "warning: an env value with leading whitespace or a line break, which mtcli's block scalar changes", Needs::Metadata),
    check("DF0003", "mtcli_python_repr", "warning: deadmanssnitch.clusterDeploymentSelector holding null or a backslash, which mtcli's Python repr changes", Needs::Metadata),
    check("DF0004", "mtcli_starting_csv_without_catalog", "warning: startingCSV without a catalog, which mtcli writes into the OperatorGroup", Needs::Metadata),
];

/// Which checks are on: `--enable` (only these) and `--disable` (not
/// these). An entry is a code (`AM0004`) or a family prefix (`AM`, `SC`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    enable: Vec<String>,
    disable: Vec<String>,
}

impl Selection {
    /// Builds a selection from the comma lists of the flags; an entry that
    /// names no check is a usage error.
    pub fn new(enable: &[String], disable: &[String]) -> Result<Selection> {
        let split = |lists: &[String]| -> Result<Vec<String>> {
            let mut out = Vec::new();
            for entry in lists
                .iter()
                .flat_map(|l| l.split(','))
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                let entry = entry.to_ascii_uppercase();
                if !CHECKS.iter().any(|c| c.code.starts_with(&entry)) {
                    return Err(Error::usage(format!(
                        "{entry:?} names no check (see --list-checks)"
                    )));
                }
                out.push(entry);
            }
            Ok(out)
        };
        Ok(Selection {
            enable: split(enable)?,
            disable: split(disable)?,
        })
    }

    pub fn is_on(&self, code: &str) -> bool {
        let matches = |list: &[String]| list.iter().any(|entry| code.starts_with(entry.as_str()));
        (self.enable.is_empty() || matches(&self.enable)) && !matches(&self.disable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted_within_families() {
        let mut codes: Vec<&str> = CHECKS.iter().map(|c| c.code).collect();
        let len = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), len);
        for check in CHECKS {
            assert!(
                common::finding::codes::REQUIRED.len() == check.code.len(),
                "{}",
                check.code
            );
        }
    }

    /// The sources that emit findings, without their test modules.
    const EMITTING_SOURCES: &[(&str, &str)] = &[
        (
            "common/src/finding.rs",
            include_str!("../../../common/src/finding.rs"),
        ),
        (
            "common/src/bundle/mod.rs",
            include_str!("../../../common/src/bundle/mod.rs"),
        ),
        (
            "common/src/document.rs",
            include_str!("../../../common/src/document.rs"),
        ),
        (
            "common/src/load_rules.rs",
            include_str!("../../../common/src/load_rules.rs"),
        ),
        ("rules.rs", include_str!("rules.rs")),
        ("differences.rs", include_str!("differences.rs")),
        ("validate.rs", include_str!("validate.rs")),
        ("png.rs", include_str!("png.rs")),
    ];

    /// Every quoted `XX0000` finding code in `source` outside its tests.
    fn quoted_codes(source: &str) -> Vec<String> {
        let code_part = source.split("#[cfg(test)]").next().unwrap_or(source);
        let bytes = code_part.as_bytes();
        let mut codes = Vec::new();
        for start in 0..bytes.len().saturating_sub(7) {
            let candidate = &bytes[start..start + 8];
            if candidate[0] == b'"'
                && candidate[7] == b'"'
                && candidate[1..3].iter().all(u8::is_ascii_uppercase)
                && candidate[3..7].iter().all(u8::is_ascii_digit)
            {
                codes.push(code_part[start + 1..start + 7].to_string());
            }
        }
        codes
    }

    #[test]
    fn list_checks_table_matches_the_codes_the_rules_emit() {
        let listed: std::collections::BTreeSet<&str> = CHECKS.iter().map(|c| c.code).collect();
        let mut emitted = std::collections::BTreeSet::new();
        for (file, source) in EMITTING_SOURCES {
            for code in quoted_codes(source) {
                assert!(
                    listed.contains(code.as_str()),
                    "{file} emits {code}, which --list-checks does not list"
                );
                emitted.insert(code);
            }
        }
        for check in CHECKS.iter().filter(|c| c.needs != Needs::Network) {
            assert!(
                emitted.contains(check.code),
                "--list-checks lists {} ({}), which no rule emits",
                check.code,
                check.name
            );
        }
    }

    #[test]
    fn enable_and_disable_take_codes_and_families() {
        let all = Selection::new(&[], &[]).unwrap();
        assert!(all.is_on("AM0004"));
        let no_am = Selection::new(&[], &["am".into()]).unwrap();
        assert!(!no_am.is_on("AM0004") && no_am.is_on("SC0001"));
        let mtcli = Selection::new(
            &["SC,MT".into(), "AM0016,AM0017".into()],
            &["SC0006".into()],
        )
        .unwrap();
        assert!(
            mtcli.is_on("SC0001")
                && mtcli.is_on("AM0017")
                && !mtcli.is_on("AM0004")
                && !mtcli.is_on("SC0006")
        );
        assert!(Selection::new(&["XY0001".into()], &[]).is_err());
    }
}
