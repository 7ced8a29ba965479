//! Folder listings for the tree walks (addon-validate reads about 5,500
//! folders at 500 add-ons).
//!
//! `std::fs::read_dir` goes through libc's `opendir`, which stats every folder
//! and mallocs a 32 KiB buffer for it: 5,500 `fstat` calls and 180 MB of
//! large allocations, which also make malloc consolidate its free lists (3% of
//! a tree's validation). Here a folder costs `openat`, `getdents64` until the
//! end and `close`, into a buffer that starts small, through rustix (already
//! in the tree for tempfile).

use std::ffi::OsStr;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, CWD};

/// What a folder entry is, as the listing tells it (a symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl EntryKind {
    pub fn is_file(self) -> bool {
        self == EntryKind::File
    }

    pub fn is_dir(self) -> bool {
        self == EntryKind::Dir
    }

    pub fn is_symlink(self) -> bool {
        self == EntryKind::Symlink
    }
}

impl From<std::fs::FileType> for EntryKind {
    fn from(kind: std::fs::FileType) -> Self {
        if kind.is_symlink() {
            EntryKind::Symlink
        } else if kind.is_dir() {
            EntryKind::Dir
        } else if kind.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        }
    }
}

/// One entry of a folder: its path (the folder joined with its name) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: EntryKind,
}

impl Entry {
    pub fn file_name(&self) -> &OsStr {
        self.path.file_name().unwrap_or_default()
    }
}

/// A folder kept open after it was listed: its files are opened by name,
/// relative to it, so the kernel looks up one path component instead of
/// every component of the full path (about 1.5 µs less a file, 9,000 files
/// in a validation of the bench tree).
#[derive(Debug)]
pub struct Folder {
    dir: Dir,
}

impl Folder {
    /// Opens the entry `name` to read, following a symlink as
    /// `File::open` of its full path would. The open never waits: a FIFO
    /// (or a symlink to one) opens at once, for the caller to refuse.
    pub fn open(&self, name: &OsStr) -> std::io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            self.dir.fd()?,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// What the entry at `rel` inside this folder is, not following a
    /// symlink at its end (`symlink_metadata` of a path this folder starts).
    pub fn entry_kind(&self, rel: &Path) -> std::io::Result<EntryKind> {
        let stat = rustix::fs::statat(self.dir.fd()?, rel, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        })
    }

    /// [`list_sorted_unless_symlink`] of `dir`, which is at `rel` inside this
    /// folder: opened by `rel`, so the kernel walks two components for a
    /// bundle's `<version>/manifests`, not the eight of its full path. `rel`
    /// is looked up as `dir` would be but for the folders above this one.
    pub fn list_sorted_unless_symlink(
        &self,
        rel: &Path,
        dir: &Path,
    ) -> std::io::Result<Option<(Folder, Vec<Entry>)>> {
        sorted_unless_symlink(list_with(self.dir.fd()?, rel, dir, OFlags::NOFOLLOW), dir)
    }
}

/// The entries of `dir` but `.` and `..`, in the order the file system gives
/// them. A symlink to a folder is listed through, as `read_dir` does. The
/// error is the one `read_dir` would give (NotFound, NotADirectory, ...), and
/// an entry that cannot be read fails the listing: it is never left out.
pub fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    list_with(CWD, dir, dir, OFlags::empty()).map(|(_, entries)| entries)
}

/// [`list`], and the folder kept open to read its files and folders.
pub fn list_kept(dir: &Path) -> std::io::Result<(Folder, Vec<Entry>)> {
    list_with(CWD, dir, dir, OFlags::empty())
}

/// [`list`], sorted by name.
pub fn list_sorted(dir: &Path) -> std::io::Result<Vec<Entry>> {
    list_sorted_kept(dir).map(|(_, entries)| entries)
}

/// [`list_sorted`], and the folder kept open to read its files.
pub fn list_sorted_kept(dir: &Path) -> std::io::Result<(Folder, Vec<Entry>)> {
    let (folder, mut entries) = list_with(CWD, dir, dir, OFlags::empty())?;
    sort(&mut entries);
    Ok((folder, entries))
}

/// [`list_sorted_kept`] of a folder that must not be reached through a
/// symlink: `Ok(None)` when `dir` itself is one. The open refuses the link,
/// so this costs no `statx` before the listing.
pub fn list_sorted_unless_symlink(dir: &Path) -> std::io::Result<Option<(Folder, Vec<Entry>)>> {
    sorted_unless_symlink(list_with(CWD, dir, dir, OFlags::NOFOLLOW), dir)
}

/// The listing of `dir` opened without following a symlink, sorted; None
/// when `dir` is a symlink.
fn sorted_unless_symlink(
    listed: std::io::Result<(Folder, Vec<Entry>)>,
    dir: &Path,
) -> std::io::Result<Option<(Folder, Vec<Entry>)>> {
    match listed {
        Ok((folder, mut entries)) => {
            sort(&mut entries);
            Ok(Some((folder, entries)))
        }
        // Linux refuses a symlink opened so with ENOTDIR (O_DIRECTORY is
        // checked first; ELOOP elsewhere), which a file also gives: told
        // apart by a look at `dir` itself, on this rare path only.
        Err(err)
            if [rustix::io::Errno::NOTDIR, rustix::io::Errno::LOOP]
                .iter()
                .any(|errno| err.raw_os_error() == Some(errno.raw_os_error())) =>
        {
            match std::fs::symlink_metadata(dir) {
                Ok(meta) if meta.file_type().is_symlink() => Ok(None),
                _ => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

fn sort(entries: &mut [Entry]) {
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
}

/// Lists the folder at `open` (relative to `at`), whose path is `dir`.
fn list_with(
    at: BorrowedFd,
    open: &Path,
    dir: &Path,
    extra: OFlags,
) -> std::io::Result<(Folder, Vec<Entry>)> {
    let mut entries = Vec::new();
    let folder = visit_with(at, open, dir, extra, |name, kind| {
        entries.push(Entry {
            path: dir.join(name),
            kind,
        })
    })?;
    Ok((folder, entries))
}

/// [`list`] without keeping the listing: `visit` sees each entry's name
/// and kind as it is read, so a folder of 5,000 add-ons costs no list of
/// 5,000 paths.
pub fn each_entry(dir: &Path, visit: impl FnMut(&OsStr, EntryKind)) -> std::io::Result<()> {
    each_entry_kept(dir, visit).map(drop)
}

/// [`each_entry`], and the folder kept open to look into its entries.
pub fn each_entry_kept(
    dir: &Path,
    visit: impl FnMut(&OsStr, EntryKind),
) -> std::io::Result<Folder> {
    visit_with(CWD, dir, dir, OFlags::empty(), visit)
}

/// Lists the folder at `open` (relative to `at`), whose path is `dir`,
/// handing each entry to `visit`; the folder, still open, is returned.
fn visit_with(
    at: BorrowedFd,
    open: &Path,
    dir: &Path,
    extra: OFlags,
    mut visit: impl FnMut(&OsStr, EntryKind),
) -> std::io::Result<Folder> {
    let fd = rustix::fs::openat(
        at,
        open,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | extra,
        Mode::empty(),
    )?;
    let mut listing = Dir::new(fd)?;
    while let Some(entry) = listing.read() {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            // A file system that does not store types in its folders:
            // asked of the entry itself, as `DirEntry::file_type` does.
            FileType::Unknown => std::fs::symlink_metadata(dir.join(name))?
                .file_type()
                .into(),
            _ => EntryKind::Other,
        };
        visit(name, kind);
    }
    Ok(Folder { dir: listing })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_folders_and_symlinks_sorted_without_dot_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yaml"), "b").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("c")).unwrap();
        let entries = list_sorted(dir.path()).unwrap();
        let seen: Vec<(&str, EntryKind)> = entries
            .iter()
            .map(|e| (e.file_name().to_str().unwrap(), e.kind))
            .collect();
        assert_eq!(
            seen,
            [
                ("a", EntryKind::Dir),
                ("b.yaml", EntryKind::File),
                ("c", EntryKind::Symlink)
            ]
        );
        assert_eq!(entries[1].path, dir.path().join("b.yaml"));
    }

    #[test]
    fn a_missing_folder_or_a_file_gives_the_error_read_dir_gives() {
        let dir = tempfile::tempdir().unwrap();
        let missing = list(&dir.path().join("nope")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        std::fs::write(dir.path().join("f"), "").unwrap();
        let file = list(&dir.path().join("f")).unwrap_err();
        assert_eq!(file.kind(), std::io::ErrorKind::NotADirectory);
    }

    /// A folder holding `real/x` and `link`, a symlink to `real`.
    fn linked_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/x"), "").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        dir
    }

    #[test]
    fn a_symlink_to_a_folder_is_listed_through_and_a_fifo_is_other() {
        let dir = linked_folder();
        let through = list(&dir.path().join("link")).unwrap();
        assert_eq!(through.len(), 1);
        assert_eq!(through[0].path, dir.path().join("link/x"));
        let fifo = dir.path().join("real/fifo");
        rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::RUSR | Mode::WUSR, 0).unwrap();
        let kinds: Vec<EntryKind> = list_sorted(&dir.path().join("real"))
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, [EntryKind::Other, EntryKind::File]);
    }

    #[test]
    fn a_folder_kept_open_lists_and_looks_up_by_relative_paths_as_by_full_ones() {
        let dir = linked_folder();
        std::fs::create_dir_all(dir.path().join("real/sub/deeper")).unwrap();
        let (top, _) = list_kept(dir.path()).unwrap();
        // Listed from the kept folder: the same entries, with full paths.
        let sub = dir.path().join("real/sub");
        let (_, entries) = top
            .list_sorted_unless_symlink(Path::new("real/sub"), &sub)
            .unwrap()
            .unwrap();
        assert_eq!(entries, list_sorted(&sub).unwrap());
        assert_eq!(entries[0].path, sub.join("deeper"));
        // A symlink at the end is refused, one on the way followed, as
        // `list_sorted_unless_symlink` of the full path does.
        let link = dir.path().join("link");
        assert!(top
            .list_sorted_unless_symlink(Path::new("link"), &link)
            .unwrap()
            .is_none());
        let through = top
            .list_sorted_unless_symlink(Path::new("link/sub"), &link.join("sub"))
            .unwrap();
        assert!(through.is_some());
        let missing = top.list_sorted_unless_symlink(Path::new("nope"), &dir.path().join("nope"));
        assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        // Kinds without following the last symlink.
        let kind = |rel: &str| top.entry_kind(Path::new(rel)).map_err(|e| e.kind());
        assert_eq!(kind("real"), Ok(EntryKind::Dir));
        assert_eq!(kind("real/x"), Ok(EntryKind::File));
        assert_eq!(kind("link"), Ok(EntryKind::Symlink));
        assert_eq!(kind("link/x"), Ok(EntryKind::File));
        assert_eq!(kind("nope"), Err(std::io::ErrorKind::NotFound));
    }

    #[test]
    fn a_symlinked_folder_is_told_apart_from_a_missing_one() {
        let dir = linked_folder();
        std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
        let (_, real) = list_sorted_unless_symlink(&dir.path().join("real"))
            .unwrap()
            .unwrap();
        assert_eq!(real.len(), 1);
        for refused in ["link", "dangling"] {
            let listed = list_sorted_unless_symlink(&dir.path().join(refused)).unwrap();
            assert!(listed.is_none(), "{refused}");
        }
        let missing = list_sorted_unless_symlink(&dir.path().join("nope")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        let file = list_sorted_unless_symlink(&dir.path().join("real/x")).unwrap_err();
        assert_eq!(file.kind(), std::io::ErrorKind::NotADirectory);
    }

    #[test]
    fn a_kept_folder_opens_its_files_and_follows_a_symlink_as_open_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("a.yaml", dir.path().join("b.yaml")).unwrap();
        let (folder, entries) = list_sorted_kept(dir.path()).unwrap();
        let read = |name: &str| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut folder.open(OsStr::new(name)).unwrap(), &mut text)
                .map(|_| text)
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(read("a.yaml").unwrap(), "a: 1\n");
        assert_eq!(read("b.yaml").unwrap(), "a: 1\n");
        let missing = folder.open(OsStr::new("nope")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn each_entry_sees_what_list_lists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let mut seen = Vec::new();
        each_entry(dir.path(), |name, kind| {
            seen.push((name.to_os_string(), kind))
        })
        .unwrap();
        seen.sort();
        let listed: Vec<_> = list_sorted(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.file_name().to_os_string(), e.kind))
            .collect();
        assert_eq!(seen, listed);
        let missing = each_entry(&dir.path().join("nope"), |_, _| {}).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn a_name_that_is_not_utf8_is_kept_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let name = OsStr::from_bytes(b"bad-\xff");
        std::fs::create_dir(dir.path().join(name)).unwrap();
        let entries = list(dir.path()).unwrap();
        assert_eq!(entries[0].file_name(), name);
    }
}
