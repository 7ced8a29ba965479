//! What managed-tenants-cli's command-line loader refuses beyond the Addon
//! constructor (the `CL` codes). Its `core/addons_loader.load_addons` walks
//! the add-on folders of a tree (`Addon.name` is the folder's name) and
//! loads each with `imageset_latest_only=True`. Only addon-validate checks
//! these: the other tools render what they are given, pins included.

use std::path::Path;

use common::check::finding_codes::cl as codes;
use common::model::addon::{AddonDocument, ImageSetVersion};
use common::{model::names, FieldPath, Finding};

/// CL0001: `addonImageSetVersion` pins a version. mtcli's loader: "Pointing
/// to a specific version is not allowed. Please use only latest. See
/// https://issues.redhat.com/browse/MTSRE-453 for more info".
pub fn pinned_image_set(file: &str, document: &AddonDocument) -> Option<Finding> {
    let Some(Some(ImageSetVersion::Version(version))) = &document.metadata.addon_image_set_version
    else {
        return None;
    };
    Some(
        Finding::error(
            codes::IMAGE_SET_LATEST_ONLY,
            file,
            format!(
                "addonImageSetVersion pins {version}: pointing to a specific version is not \
                 allowed, use only latest (managed-tenants-cli, MTSRE-453)"
            ),
        )
        .at(&FieldPath::root().key("addonImageSetVersion"))
        .expected("latest, or null for no image set (--disable CL0001 keeps a pin)")
        .found(version.clone()),
    )
}

/// CL0002: a folder under `addons/` whose name is no add-on id. Nothing in
/// it is read: the name would reach paths, Makefile targets and shells.
pub fn folder_name(folder: &Path, name: &str) -> Option<Finding> {
    names::addon_id(name).err().map(|why| {
        Finding::error(
            codes::ADDON_FOLDER_NAME,
            folder,
            format!("the add-on folder's name {why}; nothing in it is read"),
        )
        .expected("addons/<id>/, named with the add-on's id")
    })
}

/// CL0002: an add-on whose `id` is not its folder's name; managed-tenants
/// keeps each add-on in `addons/<id>/`.
pub fn folder_is_id(file: &str, folder: &str, id: &str) -> Option<Finding> {
    (folder != id).then(|| {
        Finding::error(
            codes::ADDON_FOLDER_NAME,
            file,
            format!("the add-on's id is {id:?} but its folder is {folder:?}"),
        )
        .at(&FieldPath::root().key("id"))
        .expected(format!("the add-on in addons/{id}/, or id: {folder}"))
    })
}

/// CL0003: a symlink where `--all` expects an add-on folder, its metadata
/// or image set folders, or its addon.yaml. It is not followed.
pub fn symlinked(path: &Path) -> Finding {
    Finding::error(
        codes::ADDON_FOLDER_SYMLINK,
        path,
        "is a symlink, which is not followed: an add-on is read only from the tree's own \
         folders",
    )
    .expected("a folder (or file) of the tree, not a link")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(version: serde_json::Value) -> AddonDocument {
        let mut value = common::testing::minimal_addon_named("my-addon");
        value["addonImageSetVersion"] = version;
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_a_pinned_version_is_refused() {
        let pinned = pinned_image_set("a.yaml", &document("1.2.0".into())).unwrap();
        assert_eq!(pinned.code, "CL0001");
        assert_eq!(pinned.path, "addonImageSetVersion");
        assert!(pinned.message.contains("use only latest"));
        assert!(pinned_image_set("a.yaml", &document("latest".into())).is_none());
        assert!(pinned_image_set("a.yaml", &document(serde_json::Value::Null)).is_none());
    }

    #[test]
    fn folder_names_are_add_on_ids_and_their_add_ons_ids() {
        assert!(folder_name(Path::new("addons/my-addon"), "my-addon").is_none());
        let hostile = folder_name(Path::new("addons/x`id`"), "x`id`").unwrap();
        assert_eq!(hostile.code, "CL0002");
        assert!(hostile.message.contains("is not an add-on id"));
        assert!(folder_is_id("f", "my-addon", "my-addon").is_none());
        let moved = folder_is_id("f", "old-name", "my-addon").unwrap();
        assert_eq!(moved.path, "id");
    }
}
