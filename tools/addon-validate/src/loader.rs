//! What managed-tenants-cli's command-line loader refuses beyond the Addon
//! constructor (the `CL` codes). Its `core/addons_loader.load_addons` walks
//! the add-on folders of a tree (`Addon.name` is the folder's name). Only
//! addon-validate checks these: the other tools read what they are given.

use std::path::Path;

use common::finding_codes::cl as codes;
use common::{names, FieldPath, Finding};

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
