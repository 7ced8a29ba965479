//! Document I/O shared by every tool: read one input (a file, or stdin for `-`
//! or no argument), YAML or JSON; write one output, JSON or YAML, in a single
//! write so a failing tool never leaves half a document behind.

use std::fmt;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::error::{Error, Location, Result};
use crate::text::yaml::{self, Parsed, SourceMap};

/// Inputs larger than this are refused: no add-on document or manifest comes
/// near it, and reading on would only exhaust memory.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Stdin,
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Stdin => f.write_str("<stdin>"),
            // As `path.display()` writes it, without its second pass over
            // the bytes to count them for a width no caller asks for.
            Origin::File(path) => f.pad(&path.to_string_lossy()),
        }
    }
}

/// A document format, for input detection and for `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Yaml,
}

/// The text of one input, checked to be a readable UTF-8 document.
#[derive(Debug, Clone)]
pub struct Source {
    pub origin: Origin,
    pub text: String,
}

impl Source {
    /// Reads `arg` (a path), or stdin when it is `None` or `-`.
    pub fn read(arg: Option<&Path>) -> Result<Source> {
        Source::read_limited(arg, MAX_DOCUMENT_BYTES)
    }

    /// Like [`Source::read`], for inputs that may legitimately be larger than
    /// one document (hive-apply's object lists for thousands of clusters).
    pub fn read_limited(arg: Option<&Path>, limit: usize) -> Result<Source> {
        match arg {
            Some(path) if path.as_os_str() != "-" => Source::file_limited(path, limit),
            _ => {
                let bytes = read_capped(std::io::stdin().lock(), limit, 0).map_err(|err| {
                    Error::input(Location::new("<stdin>"), format!("cannot read: {err}"))
                })?;
                Source::from_bytes_limited(Origin::Stdin, bytes, limit)
            }
        }
    }

    pub fn stdin() -> Result<Source> {
        Source::read_limited(None, MAX_DOCUMENT_BYTES)
    }

    pub fn file(path: &Path) -> Result<Source> {
        Source::file_limited(path, MAX_DOCUMENT_BYTES)
    }

    /// [`Source::file`] of a file a tree holds (an add-on's `addon.yaml`):
    /// only a regular file is read; a FIFO or a device is refused at once,
    /// never waited on.
    pub fn tree_file(path: &Path) -> Result<Source> {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        Source::opened(path, opened, Found::InTree, MAX_DOCUMENT_BYTES)
    }

    /// [`Source::file`] of an entry of a folder kept open after its
    /// listing: opened by name, relative to the folder (and as
    /// [`Source::tree_file`]: a regular file only).
    pub fn file_in(folder: &crate::cli::listing::Folder, path: &Path) -> Result<Source> {
        let opened = folder.open(path.file_name().unwrap_or_default());
        Source::opened(path, opened, Found::InTree, MAX_DOCUMENT_BYTES)
    }

    fn file_limited(path: &Path, limit: usize) -> Result<Source> {
        Source::opened(path, std::fs::File::open(path), Found::Named, limit)
    }

    /// The document of the file at `path`, opened as `opened`.
    fn opened(
        path: &Path,
        opened: std::io::Result<std::fs::File>,
        found: Found,
        limit: usize,
    ) -> Result<Source> {
        let too_large = || too_large_document(Location::of_path(path), limit);
        let (file, len) = check_opened(path, opened, found, limit, too_large)?;
        let bytes = read_capped(file, limit, len)
            .map_err(|err| Error::in_file(path, describe_io_error(&err)))?;
        Source::from_bytes_limited(Origin::File(path.to_path_buf()), bytes, limit)
    }

    /// Checks raw bytes: size, binary data, UTF-8 (a leading BOM is dropped).
    pub fn from_bytes(origin: Origin, bytes: Vec<u8>) -> Result<Source> {
        Source::from_bytes_limited(origin, bytes, MAX_DOCUMENT_BYTES)
    }

    fn from_bytes_limited(origin: Origin, bytes: Vec<u8>, limit: usize) -> Result<Source> {
        check_text_limited(&origin, &bytes, limit)?;
        let mut text = String::from_utf8(bytes).unwrap_or_default();
        if text.starts_with('\u{feff}') {
            text.remove(0);
        }
        Ok(Source { origin, text })
    }

    pub fn from_text(origin: Origin, text: impl Into<String>) -> Source {
        Source {
            origin,
            text: text.into(),
        }
    }

    pub fn location(&self) -> Location {
        Location::new(self.origin.to_string())
    }

    /// The path of the file, if the input is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::File(path) => Some(path),
            Origin::Stdin => None,
        }
    }

    /// JSON when it looks like JSON (a `.json` file, or text opening with `{`
    /// or `[` that parses as JSON), YAML otherwise.
    pub fn format(&self) -> Format {
        if self.looks_like_json() {
            Format::Json
        } else {
            Format::Yaml
        }
    }

    fn looks_like_json(&self) -> bool {
        let by_name = self
            .path()
            .and_then(|p| p.extension())
            .is_some_and(|ext| ext == "json");
        by_name || matches!(self.text.trim_start().as_bytes().first(), Some(b'{' | b'['))
    }

    /// Parses the single document the input must hold.
    pub fn parse(&self) -> Result<Parsed> {
        let json_error = match self.parse_json() {
            Some(Ok(parsed)) => return Ok(parsed),
            Some(Err(err)) => Some(err),
            None => None,
        };
        yaml::parse_one(&self.text).map_err(|err| self.syntax_error(err, json_error))
    }

    /// Parses a stream of documents (`---` separated YAML, or one JSON value).
    pub fn parse_stream(&self) -> Result<Vec<Parsed>> {
        let json_error = match self.parse_json() {
            Some(Ok(parsed)) => return Ok(vec![parsed]),
            Some(Err(err)) => Some(err),
            None => None,
        };
        yaml::parse_stream(&self.text).map_err(|err| self.syntax_error(err, json_error))
    }

    /// The text as JSON, when it looks like JSON (`None` when it does not).
    /// A failure is kept: YAML reads flow mappings JSON does not, so YAML is
    /// tried next, but when YAML fails too the JSON error may say it better.
    fn parse_json(&self) -> Option<std::result::Result<Parsed, serde_json::Error>> {
        self.looks_like_json().then(|| {
            serde_json::from_str(&self.text).map(|value| Parsed {
                value,
                ..Parsed::default()
            })
        })
    }

    /// The error for a text that is neither JSON nor YAML: JSON's when the
    /// JSON ends early (the one thing to say about a document cut short,
    /// where YAML would point at the last line with a message about flow
    /// mappings), else YAML's.
    fn syntax_error(&self, err: yaml::YamlError, json_error: Option<serde_json::Error>) -> Error {
        if let Some(early) = json_error.as_ref().and_then(json_ends_early) {
            let line = json_error.map_or(err.line, |e| e.line());
            return Error::input(self.location().line(line), early);
        }
        not_json_or_yaml(self.location(), self.looks_like_json(), &err)
    }

    /// Lines of the document's fields, for reporting.
    pub fn source_map(&self) -> SourceMap {
        SourceMap::build(&self.text)
    }
}

/// What to say about JSON that stops before its end (serde_json's EOF
/// errors): which closing mark is missing; `None` for any other error.
pub fn json_ends_early(err: &serde_json::Error) -> Option<String> {
    if err.classify() != serde_json::error::Category::Eof {
        return None;
    }
    let text = err.to_string();
    let missing = if text.starts_with("EOF while parsing an object") {
        "its closing `}` is missing"
    } else if text.starts_with("EOF while parsing a list") {
        "its closing `]` is missing"
    } else if text.starts_with("EOF while parsing a string") {
        "a string's closing `\"` is missing"
    } else {
        "a value is missing"
    };
    Some(format!(
        "is JSON that ends early: {missing} (was the document cut short?)"
    ))
}

/// Checks that bytes are a document we can read: not too large, no binary
/// data, UTF-8. Returns the text (without a leading BOM) without copying.
pub fn check_text<'a>(origin: &Origin, bytes: &'a [u8]) -> Result<&'a str> {
    check_text_limited(origin, bytes, MAX_DOCUMENT_BYTES)
}

fn check_text_limited<'a>(origin: &Origin, bytes: &'a [u8], limit: usize) -> Result<&'a str> {
    let at = || Location::new(origin.to_string());
    if bytes.len() > limit {
        return Err(too_large_document(at(), limit));
    }
    if let Some(offset) = memchr_zero(bytes) {
        return Err(Error::input(
            at(),
            format!(
                "holds binary data (a NUL byte at offset {offset}), expected YAML or JSON text"
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        Error::input(
            at(),
            format!(
                "is not UTF-8 text (invalid byte at offset {}), expected YAML or JSON",
                err.valid_up_to()
            ),
        )
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// The offset of the first NUL byte: every byte a tree job reads is
/// looked at here (byte by byte, 4% of `addon-validate --all`).
fn memchr_zero(bytes: &[u8]) -> Option<usize> {
    crate::text::bytes::first_where(bytes, |b| b == 0)
}

/// Parses a stream of YAML documents from checked text, errors naming `origin`.
pub fn parse_text_stream(origin: &Origin, text: &str) -> Result<Vec<Parsed>> {
    yaml::parse_stream(text).map_err(|err| {
        Error::input(
            Location::new(origin.to_string()).line(err.line),
            format!("is not valid YAML: {} (column {})", err.message, err.column),
        )
    })
}

/// Reads at most `limit + 1` bytes, so that "too large" is seen without
/// reading a huge input whole. `size_hint` is a file's length from its
/// metadata (0 when unknown): the file is then read with one `read` asking
/// for a byte more than that, whose short count is the end of a regular
/// file, where reading to the end would take a second `read` to see the end
/// (two of the five system calls of each file a tree job reads). A file
/// that grew, or gave less, is read on to its end as any input is.
pub fn read_capped(
    mut reader: impl Read,
    limit: usize,
    size_hint: u64,
) -> std::io::Result<Vec<u8>> {
    let cap = limit as u64 + 1;
    let expected = size_hint.min(cap) as usize;
    let mut bytes = Vec::new();
    if expected > 0 && (expected as u64) < cap {
        bytes.resize(expected + 1, 0);
        let read = loop {
            match reader.read(&mut bytes) {
                Ok(read) => break read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        bytes.truncate(read);
        if read == expected {
            return Ok(bytes);
        }
    }
    reader
        .take(cap - bytes.len() as u64)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Opens the document file at `path` to read: a folder, or a file over
/// `limit` bytes (`too_large` is the caller's words for it), is refused
/// before any of it is read. Returns the file and its length.
pub fn open_document(
    path: &Path,
    limit: usize,
    too_large: impl FnOnce() -> Error,
) -> Result<(std::fs::File, u64)> {
    let opened = std::fs::File::open(path);
    check_opened(path, opened, Found::Named, limit, too_large)
}

/// How a document's file was come to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Named by the user: a pipe (`<(...)`) is read as a file is.
    Named,
    /// Listed in a tree: only a regular file is read (a FIFO or a device
    /// there, or a symlink to one, is refused, never waited on).
    InTree,
}

/// What a file that is not a regular file is, in words.
pub fn not_regular(file_type: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() {
        None
    } else if file_type.is_fifo() {
        Some("a FIFO (named pipe), whose reading would wait for a writer for ever")
    } else if file_type.is_dir() {
        Some("a folder")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_block_device() || file_type.is_char_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

/// [`open_document`] of a file already opened.
fn check_opened(
    path: &Path,
    opened: std::io::Result<std::fs::File>,
    found: Found,
    limit: usize,
    too_large: impl FnOnce() -> Error,
) -> Result<(std::fs::File, u64)> {
    let fail = |err: std::io::Error| Error::in_file(path, describe_io_error(&err));
    let file = opened.map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    if metadata.is_dir() {
        return Err(Error::in_file(
            path,
            "is a directory, expected a YAML or JSON file",
        ));
    }
    if let Some(kind) = not_regular(&metadata.file_type()).filter(|_| found == Found::InTree) {
        return Err(Error::in_file(
            path,
            format!("is {kind}, not a regular file; expected a YAML file"),
        ));
    }
    if metadata.len() > limit as u64 {
        return Err(too_large());
    }
    Ok((file, metadata.len()))
}

/// The error for a text YAML could not read, at the line `err` names in
/// `location`; one that `looks_like_json` was tried as JSON first.
pub fn not_json_or_yaml(location: Location, looks_like_json: bool, err: &yaml::YamlError) -> Error {
    let what = if looks_like_json {
        "is not valid JSON or YAML"
    } else {
        "is not valid YAML"
    };
    Error::input(
        location.line(err.line),
        format!("{what}: {} (column {})", err.message, err.column),
    )
}

/// The error for a document over `limit` bytes, at `location`.
pub fn too_large_document(location: Location, limit: usize) -> Error {
    Error::input(
        location,
        format!(
            "is larger than {} MiB; refusing to read it as a document",
            limit >> 20
        ),
    )
}

/// The error of a file that could not be read: its path, then `cannot read
/// the <what>: ` and the cause in words ([`describe_io_error`]).
pub fn cannot_read(path: &Path, what: &str, err: &std::io::Error) -> Error {
    Error::in_file(
        path,
        format!("cannot read the {what}: {}", describe_io_error(err)),
    )
}

/// Turns an I/O error into words a user acts on.
pub fn describe_io_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    }
}

/// The `-o json|yaml` flag every tool has.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Output format. Default: JSON when stdout is a pipe or a file, so tools
    /// compose; on a terminal, the tool's usual format.
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
}

impl OutputArgs {
    /// The format to write: the flag, else JSON into a pipe, else `on_terminal`.
    pub fn format(&self, on_terminal: Format) -> Format {
        self.output.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                on_terminal
            } else {
                Format::Json
            }
        })
    }
}

/// Serialises a value as pretty JSON or YAML, ending with a newline. The
/// values are ours, so a failure is an internal error, not bad input.
pub fn render<T: Serialize + ?Sized>(value: &T, format: Format) -> Result<String> {
    let failed = |err: String| Error::internal(format!("cannot serialise the output: {err}"));
    match format {
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(value).map_err(|err| failed(err.to_string()))?;
            text.push('\n');
            Ok(text)
        }
        Format::Yaml => yaml::to_yaml_string(value).map_err(failed),
    }
}

/// One record of a stream of records (events, results): a compact JSON
/// line, or a YAML document that starts with `---`. `what` names the record
/// in the internal error a value that cannot be serialised is.
pub fn render_record<T: Serialize + ?Sized>(
    value: &T,
    format: Format,
    what: &str,
) -> Result<String> {
    match format {
        Format::Json => {
            let mut line = serde_json::to_string(value)
                .map_err(|err| Error::internal(format!("cannot serialise the {what}: {err}")))?;
            line.push('\n');
            Ok(line)
        }
        Format::Yaml => Ok(format!("---\n{}", render(value, Format::Yaml)?)),
    }
}

/// A temporary file that keeps `what` aside until the stream ends could not
/// be written or read back: say so, and where to look.
pub fn spool_error(what: &str, err: std::io::Error) -> Error {
    Error::input(
        Location::new("<temporary file>"),
        format!(
            "cannot keep {what} aside until the stream ends: {err} \
             (is TMPDIR writable and not full?)"
        ),
    )
}

/// Writes text to stdout in one piece. A reader that went away (`| head`) is
/// not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    stdout_result(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// The outcome of writing to stdout; a reader that went away (`| head`) is not an error.
pub fn stdout_result(written: std::io::Result<()>) -> Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::input(
            Location::new("<stdout>"),
            format!("cannot write: {err}"),
        )),
    }
}

/// Renders a value and writes it to stdout. YAML is written in chunks as it
/// is emitted rather than built as one String first, so a huge List (an
/// add-on with 300,000 namespaces, issue 14) costs its compact JSON, not
/// both texts; the JSON is complete before the first byte goes out.
pub fn write_document<T: Serialize + ?Sized>(value: &T, format: Format) -> Result<()> {
    match format {
        Format::Json => write_stdout(&render(value, format)?),
        Format::Yaml => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match yaml::write_yaml(value, &mut out) {
                Ok(()) => stdout_result(out.flush()),
                Err(yaml::EmitError::Io(err)) => stdout_result(Err(err)),
                Err(yaml::EmitError::Serialise(message)) => Err(Error::internal(format!(
                    "cannot serialise the output: {message}"
                ))),
            }
        }
    }
}

/// Writes a file so that readers see the old content or the new, never half:
/// a temporary file in the same directory, synced, then renamed into place.
///
/// The file gets the mode it would have had if written in place: a file it
/// replaces keeps its mode, and a new file gets what any file a tool creates
/// gets, 0666 less the umask. (The temporary file alone would be 0600, so an
/// image set that was 0644 would come back private.)
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let fail = |err: std::io::Error| {
        Error::in_file(path, format!("cannot write: {}", describe_io_error(&err)))
    };
    let mut temp = new_file_in(dir).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    if let Some(kept) = mode_of_regular_file(path) {
        temp.as_file().set_permissions(kept).map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|err| fail(err.error))?;
    Ok(())
}

/// A temporary file created as `open(2)` creates any new file: mode 0666,
/// less the umask (the kernel applies it; std has no way to read it).
fn new_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// What an optional path must be where it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (not a FIFO, which would block a read).
    File,
    Folder,
}

/// Whether the optional `path` is there: `Ok(false)` when nothing is,
/// `Ok(true)` when it is a `kind` itself (a link is not followed, so it is
/// neither), else an error that names the path and says it should hold
/// `expected`.
pub fn optional_entry(path: &Path, kind: EntryKind, expected: &str) -> Result<bool> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(false);
    };
    let (is_kind, name) = match kind {
        EntryKind::File => (meta.is_file(), "a regular file"),
        EntryKind::Folder => (meta.is_dir(), "a folder"),
    };
    if is_kind {
        Ok(true)
    } else {
        Err(Error::in_file(
            path,
            format!("is not {name} (expected {expected})"),
        ))
    }
}

/// The permissions of `path` when it is a regular file (not through a
/// symlink: the rename replaces the link itself).
fn mode_of_regular_file(path: &Path) -> Option<std::fs::Permissions> {
    std::fs::symlink_metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|meta| meta.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_that_cannot_be_serialised_is_an_internal_error_not_bad_input() {
        let value = std::collections::BTreeMap::from([((1u8, 2u8), 3u8)]);
        for (err, named) in [
            (render(&value, Format::Json).unwrap_err(), "the output"),
            (
                render_record(&value, Format::Json, "event").unwrap_err(),
                "the event",
            ),
        ] {
            assert!(matches!(err, Error::Internal(_)), "{err:?}");
            let shown = err.to_string();
            assert!(
                shown.contains(&format!("cannot serialise {named}")),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_record_is_a_json_line_or_a_yaml_document() {
        let value = serde_json::json!({"cluster": "c1", "state": "ready"});
        assert_eq!(
            render_record(&value, Format::Json, "event").unwrap(),
            "{\"cluster\":\"c1\",\"state\":\"ready\"}\n"
        );
        assert_eq!(
            render_record(&value, Format::Yaml, "event").unwrap(),
            "---\ncluster: c1\nstate: ready\n"
        );
    }

    #[test]
    fn an_optional_entry_is_absent_the_kind_asked_or_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let (file, folder) = (dir.path().join("VERSION"), dir.path().join("package"));
        assert!(!optional_entry(&file, EntryKind::File, "a version").unwrap());
        std::fs::write(&file, "1.0.0").unwrap();
        std::fs::create_dir(&folder).unwrap();
        assert!(optional_entry(&file, EntryKind::File, "a version").unwrap());
        assert!(optional_entry(&folder, EntryKind::Folder, "a package").unwrap());
        let err = optional_entry(&folder, EntryKind::File, "a version").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is not a regular file (expected a version)"),
            "{err}"
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&folder, &link).unwrap();
            let err = optional_entry(&link, EntryKind::Folder, "a package").unwrap_err();
            assert!(
                err.to_string()
                    .contains("link: is not a folder (expected a package)"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_file_that_cannot_be_read_is_named_with_what_it_is_and_why() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = cannot_read(Path::new("ca.pem"), "CA file", &missing);
        assert_eq!(
            err.to_string(),
            "ca.pem: cannot read the CA file: no such file or directory"
        );
        assert_eq!(err.exit_status(), crate::ExitStatus::Invalid);
    }

    #[test]
    fn refuses_binary_non_utf8_and_huge_inputs() {
        let err = Source::from_bytes(Origin::Stdin, b"a: \x00b".to_vec()).unwrap_err();
        assert!(err.to_string().contains("binary data"), "{err}");
        let err = Source::from_bytes(Origin::Stdin, b"a: \xff\xfe".to_vec()).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let err =
            Source::from_bytes(Origin::Stdin, vec![b'a'; MAX_DOCUMENT_BYTES + 1]).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn detects_json_and_yaml() {
        let json = Source::from_text(Origin::Stdin, "{\"a\": 1}");
        assert_eq!(json.format(), Format::Json);
        assert_eq!(json.parse().unwrap().value, serde_json::json!({"a": 1}));
        let flow_yaml = Source::from_text(Origin::Stdin, "{a: 1}");
        assert_eq!(
            flow_yaml.parse().unwrap().value,
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            Source::from_text(Origin::Stdin, "a: 1").format(),
            Format::Yaml
        );
    }

    #[test]
    fn syntax_errors_name_the_origin_and_line() {
        let source = Source::from_text(Origin::File("x/addon.yaml".into()), "a: 1\nb: [\n");
        let err = source.parse().unwrap_err();
        assert!(err.to_string().starts_with("x/addon.yaml:"), "{err}");
        assert_eq!(err.exit_status() as u8, 1);
    }

    #[test]
    fn json_that_ends_early_says_so_in_one_error_at_its_last_line() {
        let document = "{\n  \"id\": \"a\",\n  \"spec\": {\n    \"x\": [1, 2]\n  }\n";
        let source = Source::from_text(Origin::File("cut.json".into()), document);
        let err = source.parse().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cut.json:6: is JSON that ends early: its closing `}` is missing (was the document cut short?)"
        );
        let err = source.parse_stream().unwrap_err();
        assert!(err.to_string().contains("ends early"), "{err}");
        let list = Source::from_text(Origin::Stdin, "[1, 2");
        assert!(list
            .parse()
            .unwrap_err()
            .to_string()
            .contains("closing `]` is missing"));
        // JSON that is wrong otherwise keeps the message it had.
        let wrong = Source::from_text(Origin::Stdin, "{\"a\": 1,, \"b\": 2}");
        assert!(!wrong
            .parse()
            .unwrap_err()
            .to_string()
            .contains("ends early"));
    }

    #[test]
    fn missing_files_and_directories_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Source::file(&dir.path().join("nope.yaml")).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        let err = Source::file(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn read_capped_takes_a_file_of_its_size_in_one_read_and_reads_on_when_it_differs() {
        /// Counts the reads, giving at most `chunk` bytes each.
        struct Counted<'a> {
            data: &'a [u8],
            chunk: usize,
            reads: usize,
        }
        impl Read for Counted<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.reads += 1;
                let n = buf.len().min(self.chunk).min(self.data.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
        }
        let data = b"0123456789";
        let read = |size_hint: u64, chunk: usize, limit: usize| {
            let mut reader = Counted {
                data,
                chunk,
                reads: 0,
            };
            let bytes = read_capped(&mut reader, limit, size_hint).unwrap();
            (bytes, reader.reads)
        };
        // The length the metadata gave: one read.
        assert_eq!(read(10, 64, 100), (data.to_vec(), 1));
        // It grew since (the metadata said 4), or gives a little at a time,
        // or its length is unknown: read to the end all the same.
        assert_eq!(read(4, 64, 100).0, data.to_vec());
        assert_eq!(read(10, 3, 100).0, data.to_vec());
        assert_eq!(read(0, 64, 100).0, data.to_vec());
        // Never more than the limit and one byte.
        assert_eq!(read(10, 64, 5).0, data[..6].to_vec());
        assert_eq!(read(4, 64, 5).0, data[..6].to_vec());
    }

    #[test]
    fn open_document_refuses_a_file_over_the_limit_with_the_callers_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'a'; 11]).unwrap();
        let err = open_document(&path, 10, || Error::in_file(&path, "mine")).unwrap_err();
        assert!(err.to_string().ends_with("mine"), "{err}");
        let (_, len) = open_document(&path, 11, || unreachable!()).unwrap();
        assert_eq!(len, 11);
        let err = Source::file_limited(&path, 10).unwrap_err();
        assert!(err.to_string().contains("is larger than 0 MiB"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_keeps_a_replaced_files_mode_and_gives_new_files_the_umask_default() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        // What open(2) gives a new file under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let new = dir.path().join("new.yaml");
        atomic_write(&new, b"one").unwrap();
        assert_eq!(mode(&new), mode(&plain), "a new file: 0666 less the umask");
        for kept in [0o644, 0o640, 0o755, 0o600] {
            std::fs::set_permissions(&new, std::fs::Permissions::from_mode(kept)).unwrap();
            atomic_write(&new, b"two").unwrap();
            assert_eq!(mode(&new), kept, "a rewritten file keeps {kept:o}");
        }
    }

    #[test]
    fn atomic_write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary files left"
        );
    }
}
