//! Every finding code any tool emits, in one table: its code, its check name
//! (for `--enable`/`--disable` docs), the worst severity it is reported with,
//! what it needs to run and a one-line summary. `addon-validate
//! --list-checks` prints this table, and `Finding::error`/`Finding::warning`
//! take a [`Code`], which only this module can make, so a code cannot be
//! emitted without being listed.
//!
//! Families: `SC` the managed-tenants JSON schemas, `MT` the rest of what the
//! managed-tenants loader refuses, `CL` what its command-line loader refuses
//! on top (pinned image sets, add-on folders), `BD` bundle structure, `AM` the
//! addon-metadata-operator validators (run offline), `DF` where
//! managed-tenants-cli renders the add-on differently from us. Checks marked
//! "(every tool)" are loading rules (`common::check::load_rules`).

use std::fmt;

use crate::check::finding::Severity;

/// A listed finding code such as `AM0004`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// `pad`, not `write_str`: tables (`--list-checks`) align codes with `{:<7}`.
impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.0)
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.0
    }
}

/// What a check needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The add-on metadata (and its image set) alone.
    Metadata,
    /// The add-on's bundles (`addon-validate --bundles`).
    Bundles,
    /// A remote service; not run by the offline tools.
    Network,
}

impl Needs {
    pub fn as_str(self) -> &'static str {
        match self {
            Needs::Metadata => "metadata",
            Needs::Bundles => "bundles",
            Needs::Network => "network",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    pub code: Code,
    /// The constant's name in its family module (`ICON_BASE64`), so a test can
    /// find where it is emitted.
    pub constant: &'static str,
    /// The check's name, as addon-metadata-operator and mtcli call it.
    pub check: &'static str,
    /// `Error` if the code can fail validation; `Warning` if it only warns.
    pub severity: Severity,
    pub needs: Needs,
    pub summary: &'static str,
}

macro_rules! registry {
    ($( $(#[$family_doc:meta])* $family:ident {
        $( $(#[$doc:meta])* $constant:ident = $code:literal, $check:literal, $severity:ident, $needs:ident,
           $summary:literal; )*
    } )*) => {
        $(
            $(#[$family_doc])*
            pub mod $family {
                use super::Code;
                $( $(#[$doc])* pub const $constant: Code = Code($code); )*
            }
        )*
        /// Every code, family by family, in code order.
        pub const ALL: &[Listed] = &[
            $( $( Listed {
                code: $family::$constant,
                constant: stringify!($constant),
                check: $check,
                severity: Severity::$severity,
                needs: Needs::$needs,
                summary: $summary,
            }, )* )*
        ];
    };
}

#[rustfmt::skip]
registry! {
    /// The managed-tenants JSON schemas.
    sc {
        REQUIRED = "SC0001", "required", Error, Metadata, "a field the schema requires is missing";
        TYPE = "SC0002", "type", Error, Metadata, "a field has the wrong type";
        PATTERN = "SC0003", "pattern", Error, Metadata, "a string does not match the schema's pattern";
        ENUM = "SC0004", "enum", Error, Metadata, "a value is not one of the allowed values";
        UNKNOWN_FIELD = "SC0005", "unknown_field", Error, Metadata, "a field the schema does not know (typos included)";
        DUPLICATE_KEY = "SC0006", "duplicate_key", Error, Metadata, "a key appears twice in one mapping";
        MINIMUM = "SC0007", "minimum", Error, Metadata, "a number is below its minimum";
        MIN_ITEMS = "SC0008", "min_items", Error, Metadata, "a list has too few items";
        FORMAT = "SC0009", "format", Error, Metadata, "text holds control characters";
        DEPENDENCY = "SC0010", "dependency", Error, Metadata, "a field needs another one (editable_direction needs options, ...)";
        DOCUMENT_SHAPE = "SC0011", "document", Error, Metadata, "the file is not a mapping of fields";
    }
    /// What the managed-tenants loader refuses beyond the schemas.
    mt {
        /// `addonImageSetVersion` could not be resolved to an image set.
        IMAGE_SET = "MT0001", "image_set", Error, Metadata, "addonImageSetVersion resolves to a valid image set";
        /// An image set file was passed over (not YAML, no version in its name).
        IMAGE_SET_SKIPPED = "MT0002", "image_set_skipped", Warning, Metadata, "an image set file could not be considered";
        /// An `extraResources` file is missing, outside the metadata folder,
        /// a symlink leading out of it, or not a regular file (a FIFO).
        EXTRA_RESOURCE = "MT0003", "extra_resources", Error, Metadata, "every extraResources file is a regular file beside addon.yaml (no symlink out of the folder, no FIFO)";
        /// An extra resource does not render into one Kubernetes object.
        EXTRA_RESOURCE_TEMPLATE = "MT0004", "extra_resource_template", Error, Metadata, "every extra resource renders as Jinja2 into one Kubernetes object (every tool)";
        /// Two image set files of one folder carry the same version.
        IMAGE_SET_DUPLICATE_VERSION = "MT0005", "image_set_duplicate_version", Error, Metadata, "one image set file per version in addonimagesets/<env>/";
    }
    /// What managed-tenants-cli's command-line loader refuses beyond the
    /// Addon constructor (`core/addons_loader`: `load_addons` reads a tree's
    /// add-on folders, `instantiate_addon` passes `imageset_latest_only`).
    /// addon-validate alone checks them; the other tools read what they are
    /// given.
    cl {
        /// `addonImageSetVersion` pins a version instead of `latest`.
        IMAGE_SET_LATEST_ONLY = "CL0001", "image_set_latest_only", Error, Metadata, "addonImageSetVersion is 'latest' (or null), not a pinned version: mtcli's loader says 'use only latest'";
        /// An add-on folder's name is no add-on id, or not its add-on's id.
        ADDON_FOLDER_NAME = "CL0002", "addon_folder_name", Error, Metadata, "each add-on folder is named with its add-on's id (the id pattern), so no other name reaches a path, a Makefile or a shell (--all)";
        /// An add-on folder, or a folder or file on the way into it, is a symlink.
        ADDON_FOLDER_SYMLINK = "CL0003", "addon_folder_symlink", Error, Metadata, "addons/<id>, metadata, metadata/<env>, addon.yaml and addonimagesets/<env> are not symlinks: nothing is read from outside the tree (--all)";
    }
    /// Bundle structure.
    bd {
        /// A bundle folder is not named with a semantic version.
        VERSION_DIR = "BD0001", "bundle_version_dir", Error, Bundles, "bundle folders are named with a semantic version";
        /// `metadata/annotations.yaml` is missing or unusable.
        ANNOTATIONS = "BD0002", "bundle_annotations", Error, Bundles, "metadata/annotations.yaml exists with package and channels";
        /// `manifests/` is missing, has no CSV or several, or a file is not YAML.
        MANIFESTS = "BD0003", "bundle_manifests", Error, Bundles, "manifests/ holds exactly one ClusterServiceVersion, all YAML";
        /// The CSV's `spec.version` is missing, starts with `v`, or differs from the folder.
        CSV_VERSION = "BD0004", "csv_version", Error, Bundles, "the CSV's spec.version is a semver without 'v' and matches the folder";
        /// `olm.skipRange` is not a semver range.
        SKIP_RANGE = "BD0005", "skip_range", Error, Bundles, "olm.skipRange is a valid semver range";
        /// A symlink leads outside the bundle folder, a folder on the way to a
        /// bundle is a symlink, or a file cannot be read.
        UNSAFE_FILE = "BD0006", "unsafe_file", Error, Bundles, "no symlink leaves the bundle folder, no folder on the way to a bundle is a symlink; every file is readable";
        /// The default channel annotation names no channel of the bundle.
        CHANNELS = "BD0007", "bundle_channels", Error, Bundles, "the bundle's default channel is one of its channels";
        /// An operator folder holds no bundle, or the tree has no main operator.
        LAYOUT = "BD0008", "bundle_layout", Error, Bundles, "every operator folder holds bundles";
        /// A name that becomes a path, a tar entry or an image tag (package,
        /// channel, CSV name, file name) is not a valid Kubernetes/OLM name.
        NAME = "BD0009", "bundle_names", Error, Bundles, "package, channel and CSV names are DNS-1123 names; file names are UTF-8 without control characters";
    }
    /// The addon-metadata-operator validators.
    am {
        DEFAULT_CHANNEL = "AM0001", "default_channel", Error, Bundles, "defaultChannel matches the head bundle's channel annotations";
        LABEL_FORMAT = "AM0002", "label_format", Error, Metadata, "label is 'api.openshift.com/addon-<id>'";
        OPERATOR_NAME = "AM0003", "operator_name", Error, Bundles, "operatorName matches each bundle's package, CSV name and replaces";
        ICON_BASE64 = "AM0004", "icon_base64", Error, Metadata, "icon is a base64-encoded PNG";
        TEST_HARNESS = "AM0005", "test_harness", Error, Metadata, "testHarness is a quay.io image reference (existence needs Quay: not checked)";
        /// `deadmanssnitch.snitchNamePostFix` begins with `hive-`.
        DMS_SNITCH_NAME = "AM0006", "dms_snitchnamepostfix", Error, Metadata, "deadmanssnitch.snitchNamePostFix does not begin with 'hive-' (every tool)";
        CSV_INSTALL_MODES = "AM0007", "csv_install_modes", Error, Bundles, "installMode is supported by every bundle's CSV";
        NAMESPACES = "AM0008", "ensure_namespace", Error, Metadata, "targetNamespace is in namespaces; namespaces start with 'redhat-'";
        ADDON_PARAMETERS = "AM0009", "addon_parameters", Error, Metadata, "addOnParameters defaults match their validation or options";
        K8S_NAMES = "AM0010", "k8s_resource_and_field_names", Error, Metadata, "namespaces, labels, annotations and secret names are valid Kubernetes names";
        SKU = "AM0011", "sku_validation", Error, Network, "an OCM quota rule exists for ocmQuotaName (needs OCM: not run)";
        CSV_PERMISSIONS = "AM0012", "csv_permissions", Error, Bundles, "the head CSV's RBAC has no wildcard API groups, no wildcard on foreign resources, no cluster-wide secrets/configmaps";
        ADDON_REQUIREMENTS = "AM0013", "addon_requirements", Error, Metadata, "every addOnRequirements entry has data";
        CSV_DEPLOYMENTS = "AM0015", "csv_deployments", Error, Bundles, "every container of the head CSV has probes and CPU/memory requests and limits";
        /// Two additional catalog sources, secrets or credentials requests share a name.
        UNIQUE_NAMES = "AM0016", "unique_resource", Error, Metadata, "additional catalog sources, secrets and credentials requests have unique names (every tool)";
        /// `pullSecretName` names no propagated secret.
        PULL_SECRET_NAME = "AM0017", "pull_secret_name", Error, Metadata, "pullSecretName names one of config.secrets (every tool)";
    }
    /// Where managed-tenants-cli renders the add-on differently from us.
    df {
        /// A string mtcli inserts unquoted, which YAML 1.1 reads as another type.
        RETYPED_SCALAR = "DF0001", "mtcli_retyped_scalar", Warning, Metadata, "a string mtcli inserts unquoted, which YAML 1.1 reads as a number, boolean or null ('0123', 'on', 'null', '1.10')";
        /// An env value mtcli's block scalar changes.
        ENV_BLOCK_SCALAR = "DF0002", "mtcli_env_block_scalar", Warning, Metadata, "an env value with leading whitespace or a line break, which mtcli's block scalar changes";
        /// A clusterDeploymentSelector mtcli's Python repr changes.
        PYTHON_REPR = "DF0003", "mtcli_python_repr", Warning, Metadata, "deadmanssnitch.clusterDeploymentSelector holding null or a backslash, which mtcli's Python repr changes";
        /// startingCSV without a catalog, which mtcli writes into the OperatorGroup.
        STARTING_CSV_WITHOUT_CATALOG = "DF0004", "mtcli_starting_csv_without_catalog", Warning, Metadata, "startingCSV without a catalog, which mtcli writes into the OperatorGroup";
        /// An extra resource starting with `---`, which mtcli cannot read.
        EXTRA_RESOURCE_DOCUMENT_MARKER = "DF0005", "mtcli_extra_resource_document_marker", Warning, Metadata, "an extra resource starting with a YAML document marker (---), which mtcli writes into its List as '- ---' and fails on (every tool)";
        /// A template named like a file of mtcli's package, which mtcli loads instead.
        MTCLI_TEMPLATE_NAME = "DF0006", "mtcli_template_name", Warning, Metadata, "an extra resource or include named like a file of mtcli's own package (macros.j2, selectorsyncset.yaml.j2), which mtcli loads instead of the add-on's (every tool)";
        /// Secrets published to clusters_mgmt, which mtcli names with addons_mgmt's field.
        SECRET_PROPAGATIONS_FIELD = "DF0007", "mtcli_secret_propagations_field", Warning, Metadata, "config.secrets published to clusters_mgmt, where mtcli's add_on_secret_propagations is not a field (ocm-post sends secret_propagations)";
        /// Parameters published to clusters_mgmt, which mtcli sends with an `order`.
        PARAMETER_ORDER = "DF0008", "mtcli_parameter_order", Warning, Metadata, "addOnParameters published to clusters_mgmt, whose AddOnParameter has no order (ocm-post leaves it out)";
    }
}

/// The row of a code, if it is listed.
pub fn lookup(code: &str) -> Option<&'static Listed> {
    ALL.iter().find(|listed| listed.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_honours_width_so_list_checks_columns_line_up() {
        assert_eq!(
            format!("{:<7}|", ALL[0].code),
            format!("{:<7}|", ALL[0].code.as_str())
        );
    }

    #[test]
    fn codes_and_constant_names_are_unique_and_well_formed() {
        let mut codes: Vec<&str> = ALL.iter().map(|l| l.code.as_str()).collect();
        let mut constants: Vec<&str> = ALL.iter().map(|l| l.constant).collect();
        let len = codes.len();
        codes.sort_unstable();
        codes.dedup();
        constants.sort_unstable();
        constants.dedup();
        assert_eq!((codes.len(), constants.len()), (len, len));
        for listed in ALL {
            let code = listed.code.as_str().as_bytes();
            assert!(
                code.len() == 6
                    && code[..2].iter().all(u8::is_ascii_uppercase)
                    && code[2..].iter().all(u8::is_ascii_digit),
                "{}",
                listed.code
            );
        }
    }

    #[test]
    fn lookup_finds_listed_codes_only() {
        assert_eq!(lookup("AM0004").map(|l| l.check), Some("icon_base64"));
        assert!(lookup("ZZ0001").is_none());
    }
}
