//! One error type for every tool. Each variant is one exit code of the table
//! every tool shares (README.md's opening, each man page's EXIT STATUS), so a
//! tool never has to decide its own exit code.

use std::fmt;
use std::path::Path;

/// The exit codes shared by all tools (README.md, each man page's EXIT STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Invalid = 1,
    Usage = 2,
    Remote = 3,
    TimedOut = 4,
    AddonFailed = 5,
}

/// The exit code of a tool that panicked: a bug in addon-flow, never the
/// input's fault (70 is EX_SOFTWARE of BSD's sysexits, "an internal
/// software error"), instead of Rust's 101. No [`Error`] maps to it: a
/// failure we foresaw has a variant.
pub const BUG_EXIT_CODE: u8 = 70;

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// Where in the input a problem sits: the file, the line and the field path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// A file path, or `<stdin>`.
    pub origin: String,
    pub line: Option<usize>,
    /// The field path inside the document, like `addOnParameters[0].default_value`.
    pub field: Option<String>,
}

impl Location {
    pub fn new(origin: impl Into<String>) -> Self {
        Location {
            origin: origin.into(),
            ..Location::default()
        }
    }

    pub fn of_path(path: &Path) -> Self {
        Location::new(path.display().to_string())
    }

    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        Ok(())
    }
}

/// Every failure a tool can report. `Clone`, so that a cached failure (a
/// discovery refusal met by many objects) is reported as what it was.
#[derive(Debug, Clone)]
pub enum Error {
    /// The input could not be read or understood (exit 1): a missing file, a
    /// document that is not YAML, a field of the wrong type.
    Input { at: Location, message: String },
    /// Validation found problems (exit 1); the findings were already reported.
    Invalid(String),
    /// The command line is wrong (exit 2).
    Usage(String),
    /// A remote system failed or refused us (exit 3): HTTP, auth, registry.
    /// `kind` says why, for callers that decide what to do next (a poller
    /// that gives up or polls again): they match on it, never on `message`.
    Remote {
        target: String,
        message: String,
        kind: RemoteKind,
    },
    /// Waiting for something took longer than allowed (exit 4).
    TimedOut(String),
    /// The add-on reported failure (exit 5, csv-wait).
    AddonFailed(String),
    /// Our own fault, not the input's (exit 1, said as a bug): a worker that
    /// panicked, a value we built that does not serialise, stdout we could not
    /// write. Kept apart so it never reads as "your input is invalid".
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a remote system failed us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteKind {
    /// No usable answer: the connection failed, dropped or was cut short,
    /// the host was not found, TLS failed.
    Transport,
    /// No answer within the request timeout.
    TimedOut,
    /// The server answered with this HTTP status, refusing the request.
    Status(u16),
    /// The server answered, with something that is not the API's answer (an
    /// HTML page, JSON of another shape).
    NotTheApi,
    /// The answer is larger than we accept from a server.
    Oversized,
    /// Any other remote failure (a registry client's own error, a summary of
    /// several failures): the message says what.
    Other,
}

impl Error {
    pub fn input(at: Location, message: impl Into<String>) -> Self {
        Error::Input {
            at,
            message: message.into(),
        }
    }

    /// An input problem in a whole file (no line or field known).
    pub fn in_file(path: &Path, message: impl Into<String>) -> Self {
        Error::input(Location::of_path(path), message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// A remote failure of no particular kind ([`RemoteKind::Other`]); see
    /// [`Error::remote_as`].
    pub fn remote(target: impl Into<String>, message: impl Into<String>) -> Self {
        Error::remote_as(RemoteKind::Other, target, message)
    }

    /// A remote failure of `kind`. Server text enters our messages here, so
    /// this is where credentials are taken out of it (and out of a URL's
    /// userinfo).
    pub fn remote_as(
        kind: RemoteKind,
        target: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Remote {
            target: crate::cli::redact::text(&crate::cli::redact::url(&target.into())),
            message: crate::cli::redact::text(&message.into()),
            kind,
        }
    }

    /// Why a remote failure happened; `None` for every other error.
    pub fn remote_kind(&self) -> Option<RemoteKind> {
        match self {
            Error::Remote { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// A failure of ours (see [`Error::Internal`]).
    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Input { .. } | Error::Invalid(_) => ExitStatus::Invalid,
            Error::Usage(_) => ExitStatus::Usage,
            Error::Remote { .. } => ExitStatus::Remote,
            Error::TimedOut(_) => ExitStatus::TimedOut,
            Error::AddonFailed(_) => ExitStatus::AddonFailed,
            Error::Internal(_) => ExitStatus::Invalid,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input { at, message } => write!(f, "{at}: {message}"),
            Error::Invalid(message) | Error::Usage(message) => f.write_str(message),
            Error::Remote {
                target, message, ..
            } => write!(f, "{target}: {message}"),
            Error::TimedOut(message) => write!(f, "timed out: {message}"),
            Error::AddonFailed(message) => write!(f, "add-on failed: {message}"),
            Error::Internal(message) => write!(
                f,
                "internal error (a bug in addon-flow, please report it): {message}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Runs a tool's body and turns its result into the process exit code,
/// printing the error (if any) on stderr as `tool: error: ...`.
///
/// A closed stdout (`addon-validate x | head -1`) is not an error: the reader
/// chose to stop reading.
pub fn run_tool(tool: &str, body: impl FnOnce() -> Result<()>) -> std::process::ExitCode {
    match body() {
        Ok(()) => ExitStatus::Success.into(),
        Err(Error::Invalid(message)) => {
            if !message.is_empty() {
                write_stderr(&format!("{tool}: {message}\n"));
            }
            ExitStatus::Invalid.into()
        }
        Err(err) => {
            write_stderr(&format!("{tool}: error: {err}\n"));
            err.exit_status().into()
        }
    }
}

/// Writes `text` to stderr as is. Every line the tools print on stderr goes
/// through here (or [`crate::cli::progress::eprint_line`], which comes here):
/// unlike `eprintln!`, which panics when stderr is a pipe whose reader has
/// gone (`tool 2>&1 | head`), a failed write is dropped, as stderr is where a
/// tool would report it.
pub fn write_stderr(text: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_spec_exit_code() {
        assert_eq!(Error::in_file(Path::new("a"), "x").exit_status() as u8, 1);
        assert_eq!(Error::Invalid(String::new()).exit_status() as u8, 1);
        assert_eq!(Error::usage("x").exit_status() as u8, 2);
        assert_eq!(Error::remote("r", "x").exit_status() as u8, 3);
        assert_eq!(Error::TimedOut("x".into()).exit_status() as u8, 4);
        assert_eq!(Error::AddonFailed("x".into()).exit_status() as u8, 5);
    }

    #[test]
    fn remote_errors_carry_their_kind_and_nothing_else_has_one() {
        let err = Error::remote_as(RemoteKind::Status(503), "http://h", "HTTP 503");
        assert_eq!(err.remote_kind(), Some(RemoteKind::Status(503)));
        assert_eq!(err.to_string(), "http://h: HTTP 503");
        assert_eq!(
            Error::remote("r", "x").remote_kind(),
            Some(RemoteKind::Other)
        );
        assert_eq!(Error::usage("x").remote_kind(), None);
    }

    #[test]
    fn input_errors_name_file_line_and_field() {
        let err = Error::input(
            Location::new("addon.yaml").line(3).field("icon"),
            "expected a PNG",
        );
        assert_eq!(err.to_string(), "addon.yaml:3: icon: expected a PNG");
    }
}
